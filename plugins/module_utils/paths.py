# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filesystem steps that never follow a symbolic link: what an image may have put in a path is data."""

from __future__ import annotations

import os
import shutil
import stat


FILE_SCHEME = "file://"


def local_path(uri: str) -> str:
    """`file:///srv/x` -> `/srv/x`; a plain path stays as it is."""
    return uri[len(FILE_SCHEME):] if uri.startswith(FILE_SCHEME) else uri


def lstat_mode(path: str) -> int | None:
    """The mode of whatever is at path (a link itself, not its target), or None when nothing is."""
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return None


def remove_entry(path: str, ignore_errors: bool = False) -> None:
    """Remove a file, link or directory tree at path; a link is removed, never followed; nothing there is fine.

    `ignore_errors` is for our own leftovers: what cannot be deleted now is retried by the next run.
    """
    mode = lstat_mode(path)
    if mode is None:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path, ignore_errors=ignore_errors)
        return
    try:
        os.unlink(path)
    except OSError:
        if not ignore_errors:
            raise
