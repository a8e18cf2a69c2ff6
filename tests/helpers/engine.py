# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The install and remove flows driven exactly as the modules drive them (flow_install.run_install,
flow_remove.run_remove), for engine tests, the reliability child and benchmarks."""

from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.localai.gallery.plugins.module_utils.uris import fallback_tags
from ansible_collections.localai.gallery.plugins.module_utils.install_plan import InstallPlanner
from ansible_collections.localai.gallery.plugins.module_utils.capability import HostProbe
from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import Credentials
from ansible_collections.localai.gallery.plugins.module_utils.flow_install import InstallRequest, run_install
from ansible_collections.localai.gallery.plugins.module_utils.flow_remove import RemoveRequest, run_remove
from ansible_collections.localai.gallery.plugins.module_utils.ownership import Ownership
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore

# A host with no GPU tools: detection reads nothing of this machine's (the capability is given anyway).
NO_TOOLS_PROBE = HostProbe(find_tool=lambda name: None, run=lambda argv: (1, "", ""), environ={})


class Engine:
    """One backends path and the module options that are not per call (check mode, lock timeout, ownership, the
    registry client's options: username/password/registry_auths/docker_config_path, ca_path, ...)."""

    def __init__(self, backends_path: str, mirrors: dict | None = None, check_mode: bool = False,
                 lock_timeout: float = 600, ownership: Ownership | None = None, upstream_fallback: bool = True,
                 username: str | None = None, password: str | None = None, registry_auths: dict | None = None,
                 docker_config_path: str | None = None, inflaters=None, **client_options) -> None:
        self.backends_path = backends_path
        self.check_mode = check_mode
        self.lock_timeout = lock_timeout
        self.mirrors = mirrors
        self.ownership = ownership
        self.upstream_fallback = upstream_fallback
        self.credentials = (registry_auths, username, password, docker_config_path)
        self.client_options = client_options
        self.inflaters = inflaters

    def install(self, name: str, uris: list[str], metadata: dict | None = None, state: str = "present",
                force: bool = False, sha256: str | None = None, capability: str = "default",
                tags: dict | None = None) -> SimpleNamespace:
        """Install `name` from the gallery entry {uri: uris[0], mirrors: uris[1:], ...metadata}; the result's keys
        (changed, reason, digest, source, ...) as attributes."""
        metadata = metadata or {}
        entry = {"name": name, "uri": uris[0], "mirrors": uris[1:], "alias": metadata.get("alias", ""),
                 "version": metadata.get("version", ""), "sha256": sha256,
                 "gallery": {"url": metadata.get("gallery_url", "")}}
        if metadata.get("warning"):
            entry["warning"] = metadata["warning"]  # what the controller's Pinner said about this source
        request = InstallRequest({"name": name, "uri": None, "alias": None, "sha256": sha256, "gallery_entry": entry,
                                  "gallery_candidates": None, "uri_pin": None, "state": state, "force": force,
                                  "capability": capability, **fallback_tags(tags)}, self.check_mode)
        client = RegistryClient(Credentials(*self.credentials), **self.client_options)
        with BackendStore(self.backends_path, self.lock_timeout) as store:
            installer = InstallPlanner(store, client, self.mirrors, self.ownership, self.upstream_fallback,
                                       self.inflaters)
            return SimpleNamespace(**run_install(request, installer, NO_TOOLS_PROBE))

    def remove(self, name: str, capability: str = "default") -> SimpleNamespace:
        request = RemoveRequest({"name": name, "system_backends_path": None, "capability": capability},
                                self.check_mode)
        with BackendStore(self.backends_path, self.lock_timeout) as store:
            return SimpleNamespace(**run_remove(request, store, NO_TOOLS_PROBE))
