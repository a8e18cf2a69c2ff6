# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""On the controller only: copy the builds a fleet needs into a private registry (see plugin_utils/mirroring)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import Credentials
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import canonical_registry
from ansible_collections.localai.gallery.plugins.plugin_utils.action_base import CollectionActionBase
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import load_galleries
from ansible_collections.localai.gallery.plugins.plugin_utils.replication import (
    Replicator,
    bound_registries,
    builds_for,
)

ARGUMENT_SPEC = {
    "names": {"type": "list", "elements": "str", "required": True, "aliases": ["name"]},
    "capabilities": {"type": "list", "elements": "str", "default": []},
    "platforms": {"type": "list", "elements": "str", "default": []},
    "target": {"type": "str", "required": True},
    "galleries": {"type": "list", "elements": "dict"},
    "source_username": {"type": "str"},
    "source_password": {"type": "str", "no_log": True},
    "target_username": {"type": "str"},
    "target_password": {"type": "str", "no_log": True},
    "registry_auths": {"type": "dict", "default": {}, "no_log": True},
    "insecure_registries": {"type": "list", "elements": "str", "default": []},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "timeout": {"type": "int", "default": 60},
    "retries": {"type": "int", "default": 3},
}


def registry_client(params: dict, builds: list[dict]) -> RegistryClient:
    """One client for the sources and the target, each credential bound to its own registry: registry_auths as
    given; target_username/password to the target's registry; source_username/password to the primary registry
    of each build (never to another source, an alternate or a fallback)."""
    auths = dict(params["registry_auths"] or {})
    given = {canonical_registry(host) for host in auths}

    def bind(registry: str, role: str) -> None:
        if params[role + "_username"] and canonical_registry(registry) not in given:
            auths[registry] = {"username": params[role + "_username"], "password": params[role + "_password"]}
            given.add(canonical_registry(registry))

    bind(params["target"].strip().split("/", 1)[0], "target")
    for registry in sorted(bound_registries(builds)):
        bind(registry, "source")
    return RegistryClient(Credentials(auths), validate_certs=params["validate_certs"], ca_path=params["ca_path"],
                          timeout=params["timeout"], retries=params["retries"],
                          insecure_registries=params["insecure_registries"])


class ActionModule(CollectionActionBase):
    """Resolves the builds as backend_install would, copies each image, and returns the registry_mirrors map."""

    TRANSFERS_FILES = False
    _requires_connection = False
    argument_spec = ARGUMENT_SPEC
    failure_prefix = "cannot mirror"

    def _validated(self) -> dict:
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict(self._task.args))
        if validation.error_messages:
            raise AnsibleActionFail("; ".join(validation.error_messages))
        return validation.validated_parameters

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            params = self._validated()
            galleries, warnings = load_galleries(params["galleries"], self._loader.path_dwim, params["validate_certs"])
            builds = builds_for(galleries, params["names"], params["capabilities"])
            replicator = Replicator(params["target"], registry_client(params, builds), self._task.check_mode)
            images = [replicator.copy_build(build, params["platforms"] or None) for build in builds]
        except (BackendError, AnsibleActionFail) as exc:
            return self.failed(result, exc)
        sources = sorted({image["source_registry"] for image in images})
        changed = [image.pop("changed") for image in images]  # every row loses the key, not only those before a True
        result.update(changed=any(changed), images=images,
                      bytes_copied=sum(image["bytes_copied"] for image in images),
                      registry_mirrors={registry: replicator.target for registry in sources},
                      invocation={"module_args": self.censored(params)})
        if warnings:
            result["warnings"] = warnings
        return result
