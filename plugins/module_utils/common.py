# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the modules (matching the doc fragments) and helpers that need an AnsibleModule."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.localai.gallery.plugins.module_utils.capability import HostProbe
from ansible_collections.localai.gallery.plugins.module_utils.registry import RegistryClient

DEFAULT_BACKENDS_PATH = "/backends"
DEFAULT_SYSTEM_BACKENDS_PATH = "/var/lib/local-ai/backends"

BACKENDS_PATH_SPEC = {
    "backends_path": {"type": "path", "default": DEFAULT_BACKENDS_PATH,
                      "fallback": (env_fallback, ["LOCALAI_BACKENDS_PATH"])},
    "system_backends_path": {"type": "path", "default": DEFAULT_SYSTEM_BACKENDS_PATH},
    "capability": {"type": "str"},
}

REGISTRY_SPEC = {
    "registry_mirrors": {"type": "dict", "default": {}},
    "insecure_registries": {"type": "list", "elements": "str", "default": []},
    "registry_username": {"type": "str"},
    "registry_password": {"type": "str", "no_log": True},
    "docker_config": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "timeout": {"type": "int", "default": 60},
    "retries": {"type": "int", "default": 3},
}

STORE_SPEC = {
    "lock_timeout": {"type": "int", "default": 600},
}


def host_probe(module) -> HostProbe:
    """Detection through the module: tools found on the target's PATH, run with run_command."""
    return HostProbe(find_tool=module.get_bin_path,
                     run=lambda argv: module.run_command(argv, environ_update={"LC_ALL": "C"}))


def registry_client(params: dict) -> RegistryClient:
    return RegistryClient(username=params["registry_username"], password=params["registry_password"],
                          validate_certs=params["validate_certs"], ca_path=params["ca_path"],
                          timeout=params["timeout"], retries=params["retries"],
                          insecure_registries=params["insecure_registries"],
                          docker_config_path=params["docker_config"])
