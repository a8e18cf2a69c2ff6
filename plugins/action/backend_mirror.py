# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""On the controller only: copy the builds a fleet needs into a private registry (see plugin_utils/mirroring)."""

from __future__ import annotations

import traceback

from ansible.errors import AnsibleActionFail
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError, MissingLibraryError
from ansible_collections.localai.gallery.plugins.module_utils.reference import canonical_registry
from ansible_collections.localai.gallery.plugins.plugin_utils.catalogue import load_galleries
from ansible_collections.localai.gallery.plugins.plugin_utils.mirroring import Mirror, builds_for
from ansible_collections.localai.gallery.plugins.plugin_utils.oci_endpoint import Endpoint

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
SECRETS = ("source_password", "target_password", "registry_auths")


class ActionModule(ActionBase):
    """Resolves the builds as backend_install would, copies each image, and returns the registry_mirrors map."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def _validated(self) -> dict:
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict(self._task.args))
        if validation.error_messages:
            raise AnsibleActionFail("; ".join(validation.error_messages))
        return validation.validated_parameters

    def _endpoint_factory(self, params: dict):
        """`endpoint(registry, api_host, role, bound)`: source_username/password go to a source registry only where
        it is the primary uri's (`bound`), target_username/password to the target only; registry_auths to their
        own registries. No credential ever goes to another registry."""
        auths = {canonical_registry(host): value for host, value in (params["registry_auths"] or {}).items()}

        def endpoint(registry: str, api_host: str, role: str, bound: bool) -> Endpoint:
            explicit = auths.get(canonical_registry(registry))
            if isinstance(explicit, dict) and explicit.get("username"):
                username, password = explicit["username"], explicit.get("password")
            elif bound:
                username, password = params[role + "_username"], params[role + "_password"]
            else:
                username = password = None
            return Endpoint(api_host, username, password, params["insecure_registries"], params["validate_certs"],
                            params["ca_path"], params["timeout"], params["retries"], role)
        return endpoint

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            params = self._validated()
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg="cannot mirror: %s" % exc.message)
        result["invocation"] = {"module_args": {key: "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" if key in SECRETS and value
                                                else value for key, value in params.items()}}
        try:
            galleries, warnings = load_galleries(params["galleries"], self._loader.path_dwim, params["validate_certs"])
            builds = builds_for(galleries, params["names"], params["capabilities"])
            mirror = Mirror(params["target"], self._endpoint_factory(params), self._task.check_mode)
            images = [mirror.copy_build(build, params["platforms"] or None) for build in builds]
        except MissingLibraryError as exc:
            return dict(result, failed=True, msg=missing_required_lib(exc.library, reason=exc.reason),
                        exception=traceback.format_exc())
        except BackendError as exc:
            return dict(result, failed=True, msg="cannot mirror: %s" % exc, exception=traceback.format_exc())
        sources = sorted({image["source_registry"] for image in images})
        changed = [image.pop("changed") for image in images]  # every row loses the key, not only those before a True
        result.update(changed=any(changed), images=images,
                      bytes_copied=sum(image["bytes_copied"] for image in images),
                      registry_mirrors={registry: mirror.target for registry in sources})
        if warnings:
            result["warnings"] = warnings
        return result
