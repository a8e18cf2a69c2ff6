# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json
import os
import re
import time

import pytest

from helpers.trees import listing, read_metadata_at

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    InvalidBackendError,
    InvalidNameError,
    LockTimeoutError,
    MetadataError,
)
from ansible_collections.localai.gallery.plugins.module_utils.metadata import now_rfc3339, render_metadata
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore, validate_backend_name


def test_metadata_is_localai_key_order_with_empty_keys_omitted_and_extra_keys_kept():
    text = render_metadata({"digest": "sha256:x", "uri": "quay.io/a:b", "name": "cuda12-llama-cpp",
                            "alias": "llama-cpp",
                            "version": "", "future_key": {"a": 1}, "installed_at": "2026-01-01T00:00:00Z",
                            "gallery_url": "https://g/index.yaml?a=1&b=<2>"})
    assert list(json.loads(text)) == ["alias", "name", "gallery_url", "installed_at", "uri", "digest", "future_key"]
    assert text.startswith('{\n  "alias": "llama-cpp",\n  "name"')
    assert "\\u0026b=\\u003c2\\u003e" in text  # Go's json escapes & < >
    assert not text.endswith("\n")


def test_read_metadata_accepts_missing_and_empty_and_reports_broken(tmp_path):
    assert read_metadata_at(tmp_path) == {}
    (tmp_path / "metadata.json").write_text("{}")
    assert read_metadata_at(tmp_path) == {}
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(MetadataError, match="not valid JSON"):
        read_metadata_at(tmp_path)
    (tmp_path / "metadata.json").write_text("[1]")
    with pytest.raises(MetadataError, match="not an object"):
        read_metadata_at(tmp_path)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "a\0b", ".localai-gallery.x", ".localai-gallery"])
def test_invalid_names_are_refused(name):
    with pytest.raises(InvalidNameError, match="invalid backend name"):
        validate_backend_name(name)


def _stage_with(store, name, files):
    with store.locked(), store.staging(name) as staged:
        for relative, content in files.items():
            with open(os.path.join(staged.path, relative), "w", encoding="utf-8") as handle:
                handle.write(content)
        return store.commit(name, staged, {"name": name})


def test_commit_requires_run_sh_and_leaves_nothing(backends_path):
    store = BackendStore(backends_path)
    with pytest.raises(InvalidBackendError, match="not a valid backend: run file not found"):
        _stage_with(store, "broken", {"lib.so": "x"})
    assert os.listdir(backends_path) == [".localai-gallery"]


def test_commit_swaps_and_removes_the_backup(backends_path):
    store = BackendStore(backends_path)
    _stage_with(store, "cpu-x", {"run.sh": "v1"})
    _stage_with(store, "cpu-x", {"run.sh": "v2"})
    assert sorted(os.listdir(backends_path)) == [".localai-gallery", "cpu-x"]
    assert open(os.path.join(backends_path, "cpu-x", "run.sh"), encoding="utf-8").read() == "v2"


def test_recovery_restores_a_backup_left_between_the_two_renames(backends_path):
    store = BackendStore(backends_path)
    _stage_with(store, "cpu-x", {"run.sh": "v1"})
    os.rename(os.path.join(backends_path, "cpu-x"),
              os.path.join(backends_path, ".localai-gallery", "backup.0123456789ab.cpu-x"))
    os.mkdir(os.path.join(backends_path, ".localai-gallery", "staging.0123456789ab.cpu-x"))
    with store.locked():
        pass
    assert sorted(os.listdir(backends_path)) == [".localai-gallery", "cpu-x"]
    assert open(os.path.join(backends_path, "cpu-x", "run.sh"), encoding="utf-8").read() == "v1"


def test_lock_timeout_is_a_clear_error(backends_path):
    holder = BackendStore(backends_path)
    waiter = BackendStore(backends_path, lock_timeout=0.2)
    with holder.locked():
        with pytest.raises(LockTimeoutError, match="another run holds the lock on .*gave up after 0.2 seconds"):
            with waiter.locked():
                pass


def test_swap_is_one_atomic_exchange_where_the_kernel_has_it(backends_path, monkeypatch):
    from ansible_collections.localai.gallery.plugins.module_utils import store as store_module

    store = BackendStore(backends_path)
    _stage_with(store, "cpu-x", {"run.sh": "v1"})
    renames = []
    monkeypatch.setattr(store_module.os, "rename", lambda *args: renames.append(args) or os.replace(*args))
    _stage_with(store, "cpu-x", {"run.sh": "v2"})
    assert renames == [] and open(os.path.join(backends_path, "cpu-x", "run.sh")).read() == "v2"


def test_fallback_swap_and_a_stranded_backup_is_restored(backends_path, monkeypatch):
    from ansible_collections.localai.gallery.plugins.module_utils import store as store_module

    store = BackendStore(backends_path)
    _stage_with(store, "cpu-x", {"run.sh": "v1"})
    monkeypatch.setattr(store_module, "rename_at", lambda *args: False)  # no renameat2 here
    _stage_with(store, "cpu-x", {"run.sh": "v2"})
    assert open(os.path.join(backends_path, "cpu-x", "run.sh")).read() == "v2"
    # A run killed between the two renames: the backend exists only as our backup, which LocalAI never sees.
    os.rename(os.path.join(backends_path, "cpu-x"),
              os.path.join(backends_path, ".localai-gallery", "backup.0123456789ab.cpu-x"))
    assert listing(backends_path, None, "default")[0] == {}
    assert store.stranded_backups() == ["cpu-x"]
    with store.locked():
        pass
    assert open(os.path.join(backends_path, "cpu-x", "run.sh")).read() == "v2"
    assert store.stranded_backups() == []


def test_work_directories_are_never_direct_children(backends_path):
    """LocalAI lists every direct child with a run.sh (ListSystemBackends); staging lives one level down."""
    store = BackendStore(backends_path)
    with store.locked(), store.staging("cpu-x") as staged:
        open(os.path.join(staged.path, "run.sh"), "w").close()
        assert os.path.dirname(staged.path) == os.path.join(backends_path, ".localai-gallery")
        assert sorted(os.listdir(backends_path)) == [".localai-gallery"]


def test_metadata_json_in_the_image_is_replaced_never_written_through(backends_path, tmp_path):
    """An image may ship metadata.json as a link to anywhere: the write replaces the link."""
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    store = BackendStore(backends_path)
    with store.locked(), store.staging("cpu-x") as staged:
        open(os.path.join(staged.path, "run.sh"), "w").close()
        os.symlink(str(outside), os.path.join(staged.path, "metadata.json"))
        store.commit("cpu-x", staged, {"name": "cpu-x"})
    assert outside.read_text() == "precious"
    assert read_metadata_at(os.path.join(backends_path, "cpu-x")) == {"name": "cpu-x"}
    assert not os.path.islink(os.path.join(backends_path, "cpu-x", "metadata.json"))


def test_run_sh_without_execute_bit_ends_executable(backends_path):
    """LocalAI chmods a non-executable run.sh to 0700 at start (pkg/model/process.go startProcess), which fails
    for a LocalAI user that does not own it: we make it executable at install."""
    store = BackendStore(backends_path)
    with store.locked(), store.staging("cpu-x") as staged:
        with open(os.path.join(staged.path, "run.sh"), "w") as handle:
            handle.write("#!/bin/sh\n")
        os.chmod(os.path.join(staged.path, "run.sh"), 0o644)
        store.commit("cpu-x", staged, {"name": "cpu-x"})
    assert oct(os.stat(os.path.join(backends_path, "cpu-x", "run.sh")).st_mode & 0o777) == "0o755"


# POSIX TZ strings (no tzdata needed): the offset is the opposite of the sign written.
@pytest.mark.parametrize("zone, suffix", [("UTC0", r"Z"), ("CET-1", r"\+01:00"), ("NST3:30", r"-03:30")])
def test_installed_at_is_written_as_go_formats_time_rfc3339(monkeypatch, zone, suffix):
    """core/gallery/backends.go: InstalledAt: time.Now().Format(time.RFC3339), local time, Z only for UTC."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d" + suffix, now_rfc3339())
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
