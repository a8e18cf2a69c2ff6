# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""metadata.json exactly as LocalAI writes it (Go's json.MarshalIndent of BackendMetadata)."""

from __future__ import annotations

import datetime
import json
import os
import uuid

from ansible_collections.localai.gallery.plugins.module_utils.errors import MetadataError
from ansible_collections.localai.gallery.plugins.module_utils.paths import remove_entry

METADATA_FILE = "metadata.json"
METADATA_MODE = 0o644
KEY_ORDER = ("alias", "meta_backend_for", "name", "gallery_url", "installed_at", "version", "uri", "digest")


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ordered_metadata(metadata: dict) -> dict:
    """Known keys in LocalAI's order with empty ones omitted, then unknown keys (kept from newer LocalAI)."""
    ordered = {key: metadata[key] for key in KEY_ORDER if metadata.get(key)}
    ordered.update((key, value) for key, value in metadata.items() if key not in KEY_ORDER)
    return ordered


def render_metadata(metadata: dict) -> str:
    text = json.dumps(ordered_metadata(metadata), indent=2, ensure_ascii=False)
    # Go escapes these inside strings by default; match it byte for byte.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _create(path: str, metadata: dict, uid: int = -1, gid: int = -1) -> None:
    """A new file (never through a link), mode 0644 whatever the umask, owned as asked."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags, 0o644)
    try:
        os.fchmod(descriptor, METADATA_MODE)
        if uid != -1 or gid != -1:
            os.fchown(descriptor, uid, gid)
        data = render_metadata(metadata).encode("utf-8")
        while data:
            data = data[os.write(descriptor, data):]
    finally:
        os.close(descriptor)


def write_metadata(directory: str, metadata: dict, uid: int = -1, gid: int = -1) -> None:
    """Write metadata.json afresh into a directory being built (staging): whatever the image put there goes."""
    path = os.path.join(directory, METADATA_FILE)
    remove_entry(path)
    _create(path, metadata, uid, gid)


def replace_metadata(directory: str, metadata: dict, uid: int = -1, gid: int = -1) -> None:
    """Rewrite metadata.json of an installed backend in one rename, so a reader sees the old or the new file."""
    partial = os.path.join(directory, ".%s.%s" % (METADATA_FILE, uuid.uuid4().hex[:12]))
    _create(partial, metadata, uid, gid)
    try:
        os.rename(partial, os.path.join(directory, METADATA_FILE))
    except OSError:
        os.unlink(partial)
        raise


def read_metadata(directory: str) -> dict:
    """The parsed metadata.json; a missing file reads as {} and a broken one raises MetadataError."""
    path = os.path.join(directory, METADATA_FILE)
    try:
        with open(path, encoding="utf-8") as metadata_file:
            text = metadata_file.read()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError("cannot read %s: %s" % (path, exc))
    try:
        metadata = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise MetadataError("%s is not valid JSON: %s" % (path, exc))
    if not isinstance(metadata, dict):
        raise MetadataError("%s holds a %s, not an object" % (path, type(metadata).__name__))
    return metadata
