# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/architecture.md names every file of plugins/: a newcomer reading it finds where each piece is."""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_plugin_file_is_named_in_the_architecture_document():
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as handle:
        document = handle.read()
    missing = []
    for directory, _dirs, files in os.walk(os.path.join(ROOT, "plugins")):
        for name in files:
            if not name.endswith(".py") or name == "__init__.py":
                continue
            relative = os.path.relpath(os.path.join(directory, name), os.path.join(ROOT, "plugins"))
            # Named by its path, or by its name in a row that names its directory.
            if relative not in document and "`%s`" % name not in document and \
                    "`%s`" % relative.split("/", 1)[-1] not in document:
                missing.append(relative)
    assert not missing, "docs/architecture.md does not name: %s" % ", ".join(sorted(missing))
