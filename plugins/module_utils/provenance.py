# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which installed digests had a verified signature, and whose: `<backends>/.localai-gallery/provenance/<name>.json`.

metadata.json stays exactly what LocalAI writes, so the signer is recorded beside it, in our root-only work
directory (store.py), reached only through its checked descriptor. A record speaks only for the digest it
names: once metadata.json records another digest (a reinstall by LocalAI itself, an unverified install), the
backend no longer counts as verified.
"""

from __future__ import annotations

import json
import os

from ansible_collections.localai.gallery.plugins.module_utils.descriptors import (
    open_real_directory,
    read_small_file,
    write_new_file,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import MetadataError
from ansible_collections.localai.gallery.plugins.module_utils.store import PROVENANCE_DIR, BackendStore


def _records_fd(store: BackendStore, create: bool) -> int | None:
    """The provenance directory in the work directory (created when asked); None when there is none (yet)."""
    work_fd = store.work_fd(create=create, replace_untrusted=create)
    if work_fd is None:
        return None
    if create:
        try:
            os.mkdir(PROVENANCE_DIR, 0o700, dir_fd=work_fd)
        except FileExistsError:
            pass
    return open_real_directory(PROVENANCE_DIR, work_fd)


def read_record(store: BackendStore, name: str) -> dict | None:
    records_fd = _records_fd(store, create=False)
    if records_fd is None:
        return None
    try:
        data = read_small_file(name + ".json", records_fd, "provenance record of %s" % name)
        record = json.loads(data) if data is not None else None
    except (OSError, ValueError, MetadataError):
        return None
    finally:
        os.close(records_fd)
    return record if isinstance(record, dict) else None


def verified_signer(store: BackendStore, name: str, digest: str | None) -> dict | None:
    """The signer recorded for this backend, when the record is for the digest now installed."""
    record = read_record(store, name) if digest else None
    if not record or record.get("digest") != digest:
        return None
    return record.get("signer") if isinstance(record.get("signer"), dict) else None


def write_record(store: BackendStore, name: str, digest: str, signer: dict) -> None:
    """Record (atomically) that `digest` of backend `name` was installed with a verified signature by `signer`."""
    records_fd = _records_fd(store, create=True)
    partial = "%s.json.%d.tmp" % (name, os.getpid())
    data = json.dumps({"name": name, "digest": digest, "signer": signer}, indent=2, sort_keys=True).encode("utf-8")
    try:
        try:
            os.unlink(partial, dir_fd=records_fd)
        except FileNotFoundError:
            pass
        write_new_file(partial, records_fd, data, 0o600)
        os.replace(partial, name + ".json", src_dir_fd=records_fd, dst_dir_fd=records_fd)
    finally:
        os.close(records_fd)


def forget(store: BackendStore, name: str) -> None:
    records_fd = _records_fd(store, create=False)
    if records_fd is None:
        return
    try:
        os.unlink(name + ".json", dir_fd=records_fd)
    except FileNotFoundError:
        pass
    finally:
        os.close(records_fd)
