# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AnsibleModule of this collection's modules, in the spirit of community.docker's AnsibleDockerClient
and kubernetes.core's AnsibleK8SModule.

A module names the doc fragments it extends; their argument specs are added here, so a fragment and its spec
never drift apart. The module builds what the flows need from its options (store, host probe, ownership; the
modules that talk to registries build their client themselves, so backend_remove ships no registry code), and
`run` maps every exception of the engine to one fail_json (results.failure_result), traceback for -vvv.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.localai.gallery.plugins.module_utils.capability import HostProbe
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.localai_target import LOCALAI_SPEC, localai_probe
from ansible_collections.localai.gallery.plugins.module_utils.ownership import Ownership
from ansible_collections.localai.gallery.plugins.module_utils.results import failure_result
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore

# One spec per doc fragment (plugins/doc_fragments/backends.py): localai.gallery.backends, .registry, .store.
FRAGMENT_SPECS = {
    "backends": {
        # The environment variables LocalAI reads, in its order (core/cli/run.go BackendsPath, BackendsSystemPath).
        "backends_path": {"type": "path", "default": "/backends",
                          "fallback": (env_fallback, ["LOCALAI_BACKENDS_PATH", "BACKENDS_PATH"])},
        "system_backends_path": {"type": "path", "default": "/var/lib/local-ai/backends",
                                 "fallback": (env_fallback, ["LOCALAI_BACKENDS_SYSTEM_PATH", "BACKEND_SYSTEM_PATH"])},
        "capability": {"type": "str"},
        "localai": LOCALAI_SPEC,
    },
    "registry": {
        "registry_mirrors": {"type": "dict", "default": {}},
        "registry_auths": {"type": "dict", "default": {}, "no_log": True},
        "upstream_fallback": {"type": "bool", "default": True},
        "insecure_registries": {"type": "list", "elements": "str", "default": []},
        "registry_username": {"type": "str"},
        "registry_password": {"type": "str", "no_log": True},
        "docker_config": {"type": "path"},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "timeout": {"type": "int", "default": 60},
        "retries": {"type": "int", "default": 3},
    },
    "store": {
        "lock_timeout": {"type": "int", "default": 600},
    },
}


# Shown once per host and run (the backend_install action plugin drops repeats); names the remedy.
RESTART_WARNING = ("a running LocalAI loads backends only when it starts (core/application/startup.go "
                   "RegisterBackends): restart LocalAI on this host before its models use what changed, or set the "
                   "localai option (the backends role's backends_localai_* variables restart it and check it)")


class ModuleRequest:
    """The module options a flow reads, as attributes of the same names, and whether this is check mode."""

    options: tuple[str, ...] = ()

    def __init__(self, params: dict, check_mode: bool = False) -> None:
        for option in self.options:
            setattr(self, option, params[option])
        self.check_mode = check_mode


class BackendsModule(AnsibleModule):
    """An AnsibleModule with the argument specs of its doc fragments and the engine's objects built from them."""

    def __init__(self, argument_spec: dict, fragments: tuple[str, ...] = ("backends",), changes_backends: bool = False,
                 **kwargs) -> None:
        """`changes_backends`: the module installs or removes, which a running LocalAI does not see by itself."""
        self.changes_backends = changes_backends
        spec = {}
        for fragment in fragments:
            spec.update(FRAGMENT_SPECS[fragment])
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        self._stores: list[BackendStore] = []

    def store(self) -> BackendStore:
        """The backends path of this run; its descriptors are closed when `run` ends."""
        store = BackendStore(self.params["backends_path"], self.params.get("lock_timeout", 600))
        self._stores.append(store)
        return store

    def host_probe(self) -> HostProbe:
        """Detection through the module: tools found on the target's PATH, run with run_command."""
        host = HostProbe(find_tool=self.get_bin_path,
                         run=lambda argv: self.run_command(argv, environ_update={"LC_ALL": "C"}))
        return localai_probe(host, self.params.get("localai"))

    def ownership(self) -> Ownership:
        return Ownership.from_names(self.params.get("owner"), self.params.get("group"))

    def _run_flow(self, flow) -> dict:
        try:
            return flow()
        finally:
            for store in self._stores:
                store.close()

    def run(self, flow, failure: str) -> None:
        """exit_json with what `flow()` returns, or fail_json with one line that starts with `failure`.

        The flow's `warnings` become module warnings; its `diff` is dropped unless diff mode is on.
        """
        try:
            result = self._run_flow(flow)
        except (BackendError, OSError) as exc:
            self.fail_json(**failure_result(exc, failure, self.params["backends_path"]))
        for warning in result.pop("warnings", []):
            self.warn(warning)
        undescribed = self.params.get("localai") is None and self.params.get("restart_warning", True)
        if self.changes_backends and result.get("changed") and not self.check_mode and undescribed:
            self.warn(RESTART_WARNING)
        if not self._diff:
            result.pop("diff", None)
        self.exit_json(**result)
