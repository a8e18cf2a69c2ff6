# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backend_facts' main(): facts as LocalAI lists them, and the upgrade check where versions decide."""

from __future__ import annotations

import json

from helpers.modules import run_module
from ansible_collections.localai.gallery.plugins.modules import backend_facts


def test_facts_and_a_version_decided_upgrade(tmp_path):
    backends = tmp_path / "backends"
    (backends / "cpu-x").mkdir(parents=True)
    (backends / "cpu-x" / "run.sh").write_text("")
    (backends / "cpu-x" / "metadata.json").write_text(json.dumps({"name": "cpu-x", "alias": "x", "version": "1"}))
    index = [{"name": "cpu-x", "version": "2", "uri": "quay.io/a/b:c", "gallery": "g"}]
    result = run_module(backend_facts, {"backends_path": str(backends), "capability": "default",
                                        "gallery_index": index})
    facts = result["ansible_facts"]
    assert result["changed"] is False and facts["localai_capability"] == "default"
    assert sorted(facts["localai_backends"]) == ["cpu-x", "x"]
    assert facts["localai_backends_upgrades"] == {"cpu-x": {"backend_name": "cpu-x", "installed_version": "1",
                                                            "available_version": "2"}}
    assert facts["localai_backends"]["cpu-x"]["upgrade_available"] is True
    assert facts["localai_backends"]["x"]["upgrade_available"] is False  # alias rows are not checked, as upstream


def test_invalid_capability_fails_clearly(tmp_path):
    result = run_module(backend_facts, {"backends_path": str(tmp_path), "capability": "gpu"})
    assert result["failed"] and result["msg"].startswith("cannot gather backend facts: invalid capability 'gpu'")


def test_the_paths_come_from_the_environment_variables_localai_reads(tmp_path, monkeypatch):
    """core/cli/run.go: BackendsPath env:"LOCALAI_BACKENDS_PATH,BACKENDS_PATH", BackendsSystemPath
    env:"LOCALAI_BACKENDS_SYSTEM_PATH,BACKEND_SYSTEM_PATH"."""
    for directory, name in (("user", "cpu-user"), ("system", "cpu-system")):
        (tmp_path / directory / name).mkdir(parents=True)
        (tmp_path / directory / name / "run.sh").write_text("")
    monkeypatch.delenv("LOCALAI_BACKENDS_PATH", raising=False)
    monkeypatch.delenv("LOCALAI_BACKENDS_SYSTEM_PATH", raising=False)
    monkeypatch.setenv("BACKENDS_PATH", str(tmp_path / "user"))
    monkeypatch.setenv("BACKEND_SYSTEM_PATH", str(tmp_path / "system"))
    facts = run_module(backend_facts, {"capability": "default"})["ansible_facts"]
    assert sorted(facts["localai_backends"]) == ["cpu-system", "cpu-user"]
    assert facts["localai_backends"]["cpu-system"]["is_system"] is True
