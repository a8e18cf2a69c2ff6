# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""metadata.json exactly as LocalAI writes it (Go's json.MarshalIndent of BackendMetadata)."""

from __future__ import annotations

import datetime
import json
import os
import uuid

from ansible_collections.localai.gallery.plugins.module_utils.descriptors import (
    read_small_file,
    remove_entry_at,
    write_new_file,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import MetadataError

METADATA_FILE = "metadata.json"
METADATA_MODE = 0o644
KEY_ORDER = ("alias", "meta_backend_for", "name", "gallery_url", "installed_at", "version", "uri", "digest")


def now_rfc3339() -> str:
    """`time.Now().Format(time.RFC3339)`, as LocalAI writes installed_at (core/gallery/backends.go): the host's
    local time, `Z` when it is UTC, else the offset as +hh:mm."""
    now = datetime.datetime.now().astimezone()
    minutes = int((now.utcoffset() or datetime.timedelta(0)).total_seconds() // 60)
    if not minutes:
        return now.strftime("%Y-%m-%dT%H:%M:%SZ")
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return now.strftime("%Y-%m-%dT%H:%M:%S") + "%s%02d:%02d" % (sign, minutes // 60, minutes % 60)


def ordered_metadata(metadata: dict) -> dict:
    """Known keys in LocalAI's order with empty ones omitted, then unknown keys (kept from newer LocalAI)."""
    ordered = {key: metadata[key] for key in KEY_ORDER if metadata.get(key)}
    ordered.update((key, value) for key, value in metadata.items() if key not in KEY_ORDER)
    return ordered


def render_metadata(metadata: dict) -> str:
    text = json.dumps(ordered_metadata(metadata), indent=2, ensure_ascii=False)
    # Go escapes these inside strings by default; match it byte for byte.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_metadata(dir_fd: int, metadata: dict, uid: int = -1, gid: int = -1) -> None:
    """Write metadata.json afresh into a directory being built (staging): whatever the image put there goes."""
    remove_entry_at(METADATA_FILE, dir_fd)
    write_new_file(METADATA_FILE, dir_fd, render_metadata(metadata).encode("utf-8"), METADATA_MODE, uid, gid)


def replace_metadata(dir_fd: int, metadata: dict, uid: int = -1, gid: int = -1) -> None:
    """Rewrite metadata.json of an installed backend in one rename, so a reader sees the old or the new file.

    dir_fd is the backend directory, opened with O_NOFOLLOW: the new file is created there (O_EXCL|O_NOFOLLOW)
    and renamed over whatever is at metadata.json, never written through a link.
    """
    partial = ".%s.%s" % (METADATA_FILE, uuid.uuid4().hex[:12])
    write_new_file(partial, dir_fd, render_metadata(metadata).encode("utf-8"), METADATA_MODE, uid, gid)
    try:
        os.rename(partial, METADATA_FILE, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        os.unlink(partial, dir_fd=dir_fd)
        raise


def read_metadata(dir_fd: int, directory_label: str) -> dict:
    """The parsed metadata.json of the directory dir_fd; a missing file reads as {}, a broken one (or a link, a
    FIFO, a file over 1 MiB: never read) raises MetadataError. `directory_label` names it in messages."""
    label = os.path.join(directory_label, METADATA_FILE)
    try:
        data = read_small_file(METADATA_FILE, dir_fd, label)
    except OSError as exc:
        raise MetadataError("cannot read %s: %s" % (label, exc.strerror or exc))
    if data is None:
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MetadataError("cannot read %s: %s" % (label, exc))
    try:
        metadata = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise MetadataError("%s is not valid JSON: %s" % (label, exc))
    if not isinstance(metadata, dict):
        raise MetadataError("%s holds a %s, not an object" % (label, type(metadata).__name__))
    return metadata
