# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugins on the controller: what they hand the module, and their failures (module execution stubbed)."""

from __future__ import annotations

from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader

from ansible_collections.localai.gallery.plugins.action import backend_facts as facts_action
from ansible_collections.localai.gallery.plugins.action import backend_install as install_action
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import validate_certs_option

GALLERY = """
- &meta
  name: llama-cpp
  description: the long description stays on the controller
  icon: https://example/icon.png
  capabilities: {default: cpu-llama-cpp, nvidia: cuda12-llama-cpp}
- !!merge <<: *meta
  name: cpu-llama-cpp
  uri: quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp
  version: "1.0"
- !!merge <<: *meta
  name: cuda12-llama-cpp
  uri: quay.io/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-12-llama-cpp
"""


@pytest.fixture
def gallery(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALAI_GALLERY_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "index.yaml"
    path.write_text(GALLERY)
    return [{"name": "g", "url": str(path)}]


def run_action(plugin_module, args: dict, action: str, async_val: int = 0, task_vars: dict | None = None,
               module_result: dict | None = None, task_uuid: str = "task-1"):
    """Run the action plugin with the module's execution stubbed; (result, module args it was given)."""
    task = mock.MagicMock(args=args, action=action, async_val=async_val, check_mode=False, no_log=False,
                          _uuid=task_uuid)
    connection = mock.MagicMock(has_native_async=False)
    connection._shell.tmpdir = "/tmp/remote"
    plugin = plugin_module.ActionModule(task, connection, mock.MagicMock(), DataLoader(), None, None)
    given = {}

    def execute_module(module_name=None, module_args=None, task_vars=None, wrap_async=False, **_kwargs):
        given.update(module_name=module_name, module_args=module_args, wrap_async=wrap_async)
        return dict(module_result or {"changed": False})

    plugin._execute_module = execute_module
    plugin._remove_tmp_path = lambda path: given.setdefault("removed_tmp", path)
    return plugin.run(task_vars=task_vars or {}), given


def test_install_hands_the_entry_and_the_builds_of_a_meta(gallery):
    result, given = run_action(install_action, {"name": "LLAMA-CPP", "galleries": gallery, "pin_digests": False},
                               "localai.gallery.backend_install")
    module_args = given["module_args"]
    assert given["module_name"] == "localai.gallery.backend_install" and "warnings" not in result
    for name in ("cpu-llama-cpp", "cuda12-llama-cpp"):  # LocalAI's warning, shown by the host that installs it
        assert module_args["gallery_candidates"][name]["warning"] == (
            "installing OCI backends of gallery g without signature verification: gallery g has no verification policy")
    assert "galleries" not in module_args
    assert module_args["gallery_entry"]["name"] == "llama-cpp" and "description" not in module_args["gallery_entry"]
    assert sorted(module_args["gallery_candidates"]) == ["cpu-llama-cpp", "cuda12-llama-cpp"]
    assert module_args["gallery_candidates"]["cpu-llama-cpp"]["version"] == "1.0"
    assert "pin_digests" not in module_args, "controller options stay on the controller"


def test_the_unsigned_warning_is_shown_once_per_gallery_per_run(gallery):
    unsigned = "installing OCI backends of gallery g without signature verification: gallery g has no policy"
    other = "backend x does not look compatible with capability default of this host; installing it anyway"
    shown = []
    for task_uuid, host in (("task-1", "a"), ("task-1", "b"), ("task-2", "a")):
        result, _given = run_action(install_action, {"name": "llama-cpp", "galleries": gallery, "pin_digests": False},
                                    "localai.gallery.backend_install", task_vars={"inventory_hostname": host},
                                    module_result={"changed": True, "warnings": [unsigned, other]},
                                    task_uuid=task_uuid)
        shown.append(result["warnings"])
    assert shown == [[unsigned, other], [other], [other]]


@pytest.mark.parametrize("async_val, wrapped", [(0, False), (3600, True)])
def test_async_jobs_are_wrapped_and_keep_their_temporary_files(gallery, async_val, wrapped):
    _result, given = run_action(install_action, {"name": "llama-cpp", "galleries": gallery, "pin_digests": False},
                                "localai.gallery.backend_install", async_val)
    assert bool(given["wrap_async"]) is wrapped and ("removed_tmp" in given) is not wrapped


def test_install_of_an_unknown_name_fails_on_the_controller_with_censored_invocation(gallery):
    result, given = run_action(install_action, {"name": "llama-cp", "galleries": gallery, "registry_password": "pw"},
                               "localai.gallery.backend_install")
    assert given == {} and result["failed"]
    assert result["msg"].startswith("cannot install llama-cp: unknown backend 'llama-cp' in galleries g; did you mean")
    assert result["invocation"]["module_args"]["registry_password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert "pw" not in str(result)


def test_a_direct_uri_reads_no_gallery(tmp_path):
    result, given = run_action(install_action, {"name": "x", "uri": "quay.io/a/b:c", "pin_digests": "no",
                                                "galleries": [{"name": "g", "url": str(tmp_path / "absent.yaml")}]},
                               "localai.gallery.backend_install")
    assert "gallery_entry" not in given["module_args"] and "warnings" not in result
    assert given["module_args"]["uri_pin"] == {"warning": "installing OCI backend x without signature verification: "
                                                          "it is given by uri, outside any gallery, so no verification "
                                                          "policy applies"}


def test_require_integrity_applies_without_pinning(gallery, tmp_path):
    gallery[0]["verification"] = {"issuer": "https://token.actions.githubusercontent.com", "identity": "x"}
    _result, given = run_action(install_action, {"name": "cpu-llama-cpp", "galleries": gallery, "pin_digests": False},
                                "localai.gallery.backend_install")
    assert given["module_args"]["gallery_entry"]["refusal"] == (
        "gallery g has a verification policy, which needs pin_digests: true (signatures are checked on the digest "
        "the controller pins for the run)")
    result, given = run_action(install_action, {"name": "x", "uri": "quay.io/a/b:c", "pin_digests": False,
                                                "require_integrity": True}, "localai.gallery.backend_install")
    assert given["module_args"]["uri_pin"]["refusal"].startswith("require_integrity: it is given by uri")


def test_controller_flags_must_be_booleans(gallery):
    result, given = run_action(install_action, {"name": "x", "uri": "quay.io/a/b:c", "require_integrity": "maybe"},
                               "localai.gallery.backend_install")
    assert given == {} and result["msg"].startswith("cannot install x: require_integrity must be a boolean")


def test_facts_get_an_index_cut_to_what_the_upgrade_check_reads(gallery):
    _result, given = run_action(facts_action, {"galleries": gallery}, "localai.gallery.backend_facts")
    assert given["module_args"]["gallery_index"] == [
        {"name": "llama-cpp", "gallery": "g"},
        {"name": "cpu-llama-cpp", "version": "1.0", "uri": "quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp",
         "gallery": "g"},
        {"name": "cuda12-llama-cpp", "uri": "quay.io/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-12-llama-cpp",
         "gallery": "g"}]


def test_facts_without_galleries_read_nothing():
    _result, given = run_action(facts_action, {"backends_path": "/b"}, "localai.gallery.backend_facts")
    assert given["module_args"] == {"backends_path": "/b"}


@pytest.mark.parametrize("value, expected", [("no", False), ("false", False), ("0", False), (False, False),
                                             ("yes", True), (True, True)])
def test_validate_certs_strings_are_booleans(value, expected):
    assert validate_certs_option({"validate_certs": value}) is expected


def test_validate_certs_nonsense_is_an_error():
    with pytest.raises(AnsibleActionFail, match="validate_certs must be a boolean"):
        validate_certs_option({"validate_certs": "maybe"})


@pytest.mark.parametrize("task_vars,args", [({"localai_capability": "default"}, {}),
                                            ({"localai_capability": "nvidia-cuda-12"}, {"capability": "default"})])
def test_only_the_build_the_host_needs_is_pinned(gallery, task_vars, args):
    """The capability option, else localai_capability from backend_facts, says which build the host will pick."""
    gallery[0]["verification"] = {"issuer": "https://token.actions.githubusercontent.com", "identity": "x"}
    _result, given = run_action(install_action, dict(args, name="llama-cpp", galleries=gallery, pin_digests=False),
                                "localai.gallery.backend_install", task_vars=task_vars)
    candidates = given["module_args"]["gallery_candidates"]
    assert candidates["cpu-llama-cpp"]["refusal"].startswith("gallery g has a verification policy, which needs "
                                                             "pin_digests: true")
    assert candidates["cuda12-llama-cpp"]["refusal"] == (
        "build cuda12-llama-cpp was not verified: the controller expected this host to need cpu-llama-cpp (from its "
        "capability); gather localai.gallery.backend_facts again, or set capability")
