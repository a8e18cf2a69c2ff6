# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which installed digests had a verified signature, and whose: `<backends>/.localai-gallery/provenance/<name>.json`.

metadata.json stays exactly what LocalAI writes, so the signer is recorded beside it, in our hidden work
directory. A record speaks only for the digest it names: once metadata.json records another digest (a
reinstall by LocalAI itself, an unverified install), the backend no longer counts as verified.
"""

from __future__ import annotations

import json
import os

from ansible_collections.localai.gallery.plugins.module_utils.store import PROVENANCE_DIR, WORK_DIR


def record_path(backends_path: str, name: str) -> str:
    return os.path.join(backends_path, WORK_DIR, PROVENANCE_DIR, name + ".json")


def read_record(backends_path: str, name: str) -> dict | None:
    try:
        with open(record_path(backends_path, name), encoding="utf-8") as record_file:
            record = json.load(record_file)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def verified_signer(backends_path: str, name: str, digest: str | None) -> dict | None:
    """The signer recorded for this backend, when the record is for the digest now installed."""
    record = read_record(backends_path, name)
    if not digest or not record or record.get("digest") != digest:
        return None
    return record.get("signer") if isinstance(record.get("signer"), dict) else None


def write_record(backends_path: str, name: str, digest: str, signer: dict, uid: int = -1, gid: int = -1) -> None:
    """Record (atomically) that `digest` of backend `name` was installed with a verified signature by `signer`."""
    path = record_path(backends_path, name)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    partial = "%s.%d.tmp" % (path, os.getpid())
    with open(partial, "w", encoding="utf-8") as record_file:
        json.dump({"name": name, "digest": digest, "signer": signer}, record_file, indent=2, sort_keys=True)
    os.chmod(partial, 0o644)
    if uid != -1 or gid != -1:
        os.chown(partial, uid, gid)
    os.replace(partial, path)


def forget(backends_path: str, name: str) -> None:
    try:
        os.unlink(record_path(backends_path, name))
    except FileNotFoundError:
        pass
