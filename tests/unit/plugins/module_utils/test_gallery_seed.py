# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where LocalAI looks for its last good copy of a gallery (core/gallery/gallery_mirrors.go at 82c191a):

    func galleryCachePath(basePath, url string) string {
        if !filepath.IsAbs(basePath) {
            return ""
        }
        sum := sha256.Sum256([]byte(url))
        return filepath.Join(basePath, "..", "cache", "gallery", hex.EncodeToString(sum[:])+".yaml")
"""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.errors import UntrustedDirectoryError
from ansible_collections.localai.gallery.plugins.module_utils.gallery_seed import cache_directory, seed
from ansible_collections.localai.gallery.plugins.module_utils.ownership import Ownership

URL = "https://index.localai.io/backends"
KEY = hashlib.sha256(URL.encode()).hexdigest()


def test_the_path_localai_reads():
    assert cache_directory("/var/lib/local-ai/backends") == "/var/lib/local-ai/cache/gallery"
    assert cache_directory("/backends/") == "/cache/gallery"
    with pytest.raises(UntrustedDirectoryError, match="backends path backends is not absolute: LocalAI keeps no "
                                                      "gallery cache for it"):
        cache_directory("backends")


def test_seeded_once_then_unchanged_and_check_mode_writes_nothing(tmp_path):
    backends = str(tmp_path / "backends")
    seeds = [{"name": "localai", "key": KEY, "content": '[{"name": "llama-cpp"}]'}]
    assert seed(backends, seeds, Ownership(), check_mode=True)[0]["changed"]
    assert not os.path.exists(str(tmp_path / "cache"))
    first = seed(backends, seeds, Ownership(), check_mode=False)
    path = os.path.join(str(tmp_path), "cache", "gallery", KEY + ".yaml")
    assert first == [{"name": "localai", "path": path, "changed": True}]
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == '[{"name": "llama-cpp"}]'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o750
    assert not seed(backends, seeds, Ownership(), check_mode=False)[0]["changed"]
    assert os.listdir(os.path.dirname(path)) == [KEY + ".yaml"]  # no temporary file left
