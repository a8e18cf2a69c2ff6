# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backend_remove's main(): a meta with its build, idempotence, check mode, and system backends."""

from __future__ import annotations

import json

from helpers.modules import run_module
from ansible_collections.localai.gallery.plugins.modules import backend_remove


def layout(tmp_path):
    backends, system = tmp_path / "backends", tmp_path / "system"
    for root, name, metadata, run in ((backends, "cpu-x", {"name": "cpu-x", "alias": "x"}, True),
                                      (backends, "x", {"name": "x", "meta_backend_for": "cpu-x"}, False),
                                      (system, "cpu-tts", None, True)):
        (root / name).mkdir(parents=True)
        if run:
            (root / name / "run.sh").write_text("#!/bin/sh\n")
        if metadata:
            (root / name / "metadata.json").write_text(json.dumps(metadata))
    return {"backends_path": str(backends), "system_backends_path": str(system), "capability": "default"}


def test_meta_and_build_removed_then_nothing(tmp_path):
    options = layout(tmp_path)
    check = run_module(backend_remove, dict(options, name="x"), check_mode=True, diff=True)
    removed = run_module(backend_remove, dict(options, name="x"))
    again = run_module(backend_remove, dict(options, name="x"))
    assert check["changed"] and check["removed"] == ["x", "cpu-x"]
    assert check["diff"]["before"]["backends"] == ["cpu-x", "x"]
    assert removed["changed"] and sorted(p.name for p in (tmp_path / "backends").iterdir()) == [".localai-gallery"]
    assert again == {"changed": False, "removed": [], "failed": False, "warnings": []}


def test_system_backend_is_refused(tmp_path):
    result = run_module(backend_remove, dict(layout(tmp_path), name="cpu-tts"))
    assert result["failed"] and result["msg"].startswith("cannot remove cpu-tts: backend cpu-tts is a system backend")
    assert (tmp_path / "system" / "cpu-tts" / "run.sh").is_file()
