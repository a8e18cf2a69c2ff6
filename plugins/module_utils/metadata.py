# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metadata.json exactly as LocalAI writes it (Go's json.MarshalIndent of BackendMetadata)."""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.localai.gallery.plugins.module_utils.errors import MetadataError

METADATA_FILE = "metadata.json"
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


def write_metadata(directory: str, metadata: dict) -> None:
    with open(os.path.join(directory, METADATA_FILE), "w", encoding="utf-8") as metadata_file:
        metadata_file.write(render_metadata(metadata))


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
