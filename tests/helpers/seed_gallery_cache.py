# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Put a gallery file into the controller's cache as the last good copy of a URL (default: LocalAI's index).

    python seed_gallery_cache.py CACHE_DIR GALLERY_FILE [URL]

Machines without internet then run commands that name no gallery: the fetch fails and the last good copy is
used, with a warning, exactly as on a controller that lost its connection.
"""

from __future__ import annotations

import os
import sys
import time

from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import (
    DEFAULT_GALLERIES,
    GalleryCache,
    parse_gallery,
)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    url = argv[2] if len(argv) == 3 else DEFAULT_GALLERIES[0]["url"]
    with open(argv[1], "rb") as gallery_file:
        entries = parse_gallery(gallery_file.read(), "seeded", argv[1])
    os.makedirs(argv[0], exist_ok=True)
    cache = GalleryCache(argv[0], run_id="seeded")
    # The cache's own record layout, written as GalleryCache.load writes it after a successful fetch.
    cache_path = cache.records.paths(url)[0]
    record = {"url": url, "source": url, "etag": None, "run_id": "seeded", "fetched_at": time.time(),
              "entries": entries}
    cache.records.write(cache_path, record)
    print(cache_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
