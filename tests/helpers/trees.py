# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A comparable picture of a directory tree: {relative path: (type, mode, content or link target)}."""

from __future__ import annotations

import os
import stat


def snapshot(root, mode_mask: int = 0o7777) -> dict:
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, root)
            mode = oct(stat.S_IMODE(info.st_mode) & mode_mask)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("dir", mode)
            else:
                with open(path, "rb") as handle:
                    found[relative] = ("file", mode, handle.read())
    return found
