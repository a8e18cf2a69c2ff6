# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Listing and removal on a backends directory laid out by LocalAI itself."""

from __future__ import annotations

import json
import os

import pytest

from helpers.trees import listing, removal_plan

from ansible_collections.localai.gallery.plugins.module_utils.errors import SystemBackendError


def backend(root, directory, metadata=None, run=True, raw=None):
    path = os.path.join(root, directory)
    os.makedirs(path)
    if run:
        with open(os.path.join(path, "run.sh"), "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\n")
    if raw is not None or metadata is not None:
        with open(os.path.join(path, "metadata.json"), "w", encoding="utf-8") as handle:
            handle.write(raw if raw is not None else json.dumps(metadata))


@pytest.fixture
def localai_layout(tmp_path):
    """Two builds sharing an alias, a meta, an orphaned meta, a broken metadata.json, a system path, leftovers."""
    root, system = str(tmp_path / "backends"), str(tmp_path / "system")
    backend(root, "cpu-llama-cpp", {"alias": "llama-cpp", "name": "cpu-llama-cpp"})
    backend(root, "cuda12-llama-cpp", {"alias": "llama-cpp", "name": "cuda12-llama-cpp"})
    backend(root, "llama-cpp", {"meta_backend_for": "cuda12-llama-cpp", "name": "llama-cpp"}, run=False)
    backend(root, "whisper", {"meta_backend_for": "cuda12-whisper", "name": "whisper"}, run=False)
    backend(root, "piper", raw="{broken")
    backend(root, "bare")  # no metadata.json at all
    backend(root, ".localai-gallery/staging.0123456789ab.cpu-x")  # a leftover of a killed run
    backend(system, "cpu-system-tts")
    backend(system, "not-a-backend", run=False)
    return root, system


def test_listing_rows_kinds_and_warnings(localai_layout):
    root, system = localai_layout
    rows, warnings = listing(root, system, "nvidia-cuda-12")
    assert sorted(rows) == ["bare", "cpu-llama-cpp", "cpu-system-tts", "cuda12-llama-cpp", "llama-cpp", "piper",
                            "whisper"]
    assert rows["cpu-system-tts"]["is_system"] and rows["cpu-system-tts"]["runnable"]
    assert rows["llama-cpp"]["is_alias"] and rows["llama-cpp"]["directory"] == "cuda12-llama-cpp"  # alias wins
    assert rows["whisper"]["is_meta"] and rows["whisper"]["runnable"] is False  # orphaned meta
    assert rows["whisper"]["run_file"] == os.path.join(root, "cuda12-whisper", "run.sh")
    assert rows["piper"]["runnable"] and rows["piper"]["metadata"] == {}
    assert len(warnings) == 1 and "piper" in warnings[0] and "not valid JSON" in warnings[0]


@pytest.mark.parametrize("capability, chosen", [("nvidia-cuda-12", "cuda12-llama-cpp"), ("default", "cpu-llama-cpp"),
                                                ("amd", "cpu-llama-cpp"), ("metal", "cpu-llama-cpp")])
def test_alias_preference_by_capability(localai_layout, capability, chosen):
    root, system = localai_layout
    rows, _warnings = listing(root, system, capability)
    assert rows["llama-cpp"]["directory"] == chosen


def test_kind_says_what_the_operator_installed(tmp_path):
    """llama-cpp installed as a meta: its build has alias llama-cpp, so LocalAI registers an alias row over the
    meta row; the kind stays "meta" (whisper's build has no such alias: a plain meta row)."""
    root = str(tmp_path)
    backend(root, "cpu-llama-cpp", {"alias": "llama-cpp", "name": "cpu-llama-cpp"})
    backend(root, "llama-cpp", {"meta_backend_for": "cpu-llama-cpp", "name": "llama-cpp"}, run=False)
    backend(root, "cpu-whisper", {"name": "cpu-whisper"})
    backend(root, "whisper", {"meta_backend_for": "cpu-whisper", "name": "whisper"}, run=False)
    backend(root, "my-piper", {"alias": "tts", "name": "my-piper"})
    rows, _warnings = listing(root, None, "default")
    assert {name: row["kind"] for name, row in rows.items()} == {
        "cpu-llama-cpp": "concrete", "llama-cpp": "meta", "cpu-whisper": "concrete", "whisper": "meta",
        "my-piper": "concrete", "tts": "alias"}
    assert rows["llama-cpp"]["is_alias"] and rows["llama-cpp"]["meta_directory"] == "llama-cpp"


def test_missing_backends_path_is_an_empty_list(tmp_path):
    assert listing(str(tmp_path / "nope"), None, "default") == ({}, [])


@pytest.mark.parametrize("name, removed", [
    ("llama-cpp", ["llama-cpp", "cuda12-llama-cpp"]),  # the meta directory and its build
    ("whisper", ["whisper"]),  # orphaned meta
    ("cpu-llama-cpp", ["cpu-llama-cpp"]),
    ("piper", ["piper"]),  # broken metadata.json does not stop removal
    ("not-installed", []),
])
def test_removal_plans(localai_layout, name, removed):
    root, system = localai_layout
    assert removal_plan(root, system, name, "nvidia-cuda-12") == removed


def test_removal_by_alias_and_recorded_gallery_name(tmp_path):
    root = str(tmp_path)
    backend(root, "my-dir", {"alias": "tts", "name": "gallery-piper"})
    assert removal_plan(root, None, "gallery-piper", "default") == ["my-dir"]
    assert removal_plan(root, None, "tts", "default") == ["my-dir"]


def test_system_backend_cannot_be_removed(localai_layout):
    root, system = localai_layout
    with pytest.raises(SystemBackendError, match="cpu-system-tts is a system backend .* cannot be removed"):
        removal_plan(root, system, "cpu-system-tts", "default")
