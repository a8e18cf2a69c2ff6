# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backend_install's main() with directory sources: results, check and diff mode, and its one-line errors."""

from __future__ import annotations

import json
import os

import pytest

from helpers.modules import run_module
from ansible_collections.localai.gallery.plugins.modules import backend_install


@pytest.fixture
def source(tmp_path):
    directory = tmp_path / "source"
    (directory / "lib").mkdir(parents=True)
    (directory / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(directory / "run.sh", 0o644)
    (directory / "lib" / "model.bin").write_text("weights")
    return str(directory)


def args(tmp_path, **extra):
    return dict({"backends_path": str(tmp_path / "backends"), "capability": "default"}, **extra)


def test_direct_install_then_no_change(tmp_path, source):
    first = run_module(backend_install, args(tmp_path, name="cpu-x", uri=source, alias="x"), diff=True)
    second = run_module(backend_install, args(tmp_path, name="cpu-x", uri=source, alias="x"))
    metadata = json.loads((tmp_path / "backends" / "cpu-x" / "metadata.json").read_text())
    assert first["changed"] and first["reason"] == "not installed" and first["source"] == source
    assert first["diff"][0]["before"] == {} and first["diff"][0]["after"]["alias"] == "x"
    assert metadata["alias"] == "x" and metadata["uri"] == source and "digest" not in metadata
    assert os.stat(tmp_path / "backends" / "cpu-x" / "run.sh").st_mode & 0o100  # made executable
    assert second["changed"] is False and second["reason"] == "up to date" and "diff" not in second


def test_check_mode_writes_nothing(tmp_path, source):
    result = run_module(backend_install, args(tmp_path, name="cpu-x", uri=source), check_mode=True)
    assert result["changed"] and not (tmp_path / "backends").exists()


def test_meta_entry_resolves_for_the_capability_and_links_the_meta(tmp_path, source):
    meta = {"name": "x", "capabilities": {"default": "cpu-x", "nvidia": "cuda12-x"},
            "gallery": {"name": "g", "url": "https://g/index.yaml"}}
    candidates = {"cpu-x": {"name": "cpu-x", "uri": source, "alias": "x", "version": "2.1",
                            "gallery": {"name": "g", "url": "https://g/index.yaml"}}}
    result = run_module(backend_install, args(tmp_path, name="x", gallery_entry=meta, gallery_candidates=candidates))
    meta_metadata = json.loads((tmp_path / "backends" / "x" / "metadata.json").read_text())
    assert result["backend"] == "cpu-x" and result["meta"] == "x" and result["capability_key"] == "default"
    assert meta_metadata == {"meta_backend_for": "cpu-x", "name": "x", "gallery_url": "https://g/index.yaml",
                             "installed_at": meta_metadata["installed_at"], "version": "2.1"}


@pytest.mark.parametrize("extra, message", [
    ({"capability": "nvidia-cuda12"}, "cannot install cpu-x: invalid capability 'nvidia-cuda12': use one of default,"),
    ({"owner": "no-such-user-here"}, "cannot install cpu-x: user 'no-such-user-here' does not exist on this host"),
    ({"name": "../up"}, "cannot install ../up: invalid backend name '../up'"),
])
def test_errors_are_one_line_with_a_traceback_for_vvv(tmp_path, source, extra, message):
    result = run_module(backend_install, dict(args(tmp_path, name="cpu-x", uri=source), **extra))
    assert result["failed"] and result["msg"].startswith(message) and "\n" not in result["msg"]
    assert "Traceback" in result["exception"]
    assert not (tmp_path / "backends" / "cpu-x").exists()


def test_neither_uri_nor_gallery_entry(tmp_path):
    result = run_module(backend_install, args(tmp_path, name="cpu-x"))
    assert result["failed"] and "one of the following is required: uri, gallery_entry" in result["msg"]


def test_ownership_by_numeric_ids(tmp_path, source):
    ids = {"owner": str(os.getuid()), "group": str(os.getgid())}
    result = run_module(backend_install, args(tmp_path, name="cpu-x", uri=source, **ids))
    again = run_module(backend_install, args(tmp_path, name="cpu-x", uri=source, **ids))
    assert result["changed"] and again["changed"] is False
