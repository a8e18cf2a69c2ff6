# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local paths given as URIs (`file:///srv/x`)."""

from __future__ import annotations


FILE_SCHEME = "file://"


def local_path(uri: str) -> str:
    """`file:///srv/x` -> `/srv/x`; a plain path stays as it is."""
    return uri[len(FILE_SCHEME):] if uri.startswith(FILE_SCHEME) else uri
