# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backend_facts on the target: the accelerator, the capability, what LocalAI lists, and its upgrade offers."""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils.backend_listing import list_backends
from ansible_collections.localai.gallery.plugins.module_utils.backends_module import ModuleRequest
from ansible_collections.localai.gallery.plugins.module_utils.capability import (
    detect_capability,
    detect_gpus,
    validate_capability_option,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import primary_registry
from ansible_collections.localai.gallery.plugins.module_utils.errors import LocalAIAPIError, RegistryError
from ansible_collections.localai.gallery.plugins.module_utils.localai_api import live_state
from ansible_collections.localai.gallery.plugins.module_utils.localai_target import describe
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import host_platform
from ansible_collections.localai.gallery.plugins.module_utils.oci.source_chain import first_answer, source_chain
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import is_image_reference
from ansible_collections.localai.gallery.plugins.module_utils.uris import fallback_uris
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore, read_only_store
from ansible_collections.localai.gallery.plugins.module_utils.upgrade_check import annotate_rows, check_upgrades


class FactsRequest(ModuleRequest):
    """Where to look, and (with a gallery index from the controller) what to check upgrades against."""

    options = ("system_backends_path", "capability", "gallery_index", "registry_mirrors", "upstream_fallback",
               "localai")


def describe_instance(options: dict | None, capability: dict, backends: dict, warnings: list[str]) -> dict | None:
    """The LocalAI the `localai` option describes: where it runs, the capability it would choose, and (with its
    url) its version and which installed backends its running process has registered."""
    instance = describe(options)
    if instance is None:
        return None
    instance.update(capability=capability["capability"], capability_source=capability["source"], version=None,
                    registered=None, not_registered=None)
    if options.get("url"):
        try:
            live = live_state(options["url"], options.get("api_key"))
        except LocalAIAPIError as exc:
            warnings.append(str(exc))
            return instance
        instance.update(live, not_registered=sorted(set(backends) - set(live["registered"])))
        if instance["not_registered"]:
            warnings.append("the running LocalAI has not registered %s: restart it to use them"
                            % ", ".join(instance["not_registered"]))
    return instance


def gather_facts(request: FactsRequest, store: BackendStore, probe, client_factory) -> dict:
    """The module's result (ansible_facts, warnings); `client_factory()` builds a registry client when needed."""
    gpu = detect_gpus(probe)
    capability = detect_capability(probe, validate_capability_option(request.capability), gpu)
    with read_only_store(request.system_backends_path) as system_store:
        backends, warnings = list_backends(store, system_store, capability["capability"])
    if store.directory_fd() is None:
        warnings.append("backends path %s does not exist: nothing is installed there (check backends_path, or "
                        "LOCALAI_BACKENDS_PATH on the host)" % store.path)
    upgrades = {}
    if request.gallery_index is not None:
        client = client_factory()

        def remote_digest(uri: str, alternates: list[str]) -> str:
            client.credentials.bind(primary_registry(uri, request.registry_mirrors))
            images = [item for item in fallback_uris(uri, alternates) if is_image_reference(item)]
            attempts = source_chain(images, request.registry_mirrors, request.upstream_fallback)
            return first_answer(attempts, lambda attempt: client.current_revision(attempt.reference).digest,
                                (RegistryError,))

        upgrades, checked, check_warnings = check_upgrades(backends, request.gallery_index, remote_digest)
        annotate_rows(backends, checked)
        warnings += check_warnings
    for name in store.stranded_backups():
        warnings.append("backend %s is stranded in a backup by a killed run; the next install or removal on this "
                        "host restores it" % name)
    warnings += [warning for warning in store.warnings if warning not in warnings]
    instance = describe_instance(request.localai, capability, backends, warnings)
    return {"changed": False, "warnings": list(warnings), "ansible_facts": {
        "localai_gpu_vendor": gpu["vendor"], "localai_gpu_vendor_source": gpu["vendor_source"],
        "localai_gpu_vram_bytes": gpu["vram_bytes"], "localai_gpu_vram_source": gpu["vram_source"],
        "localai_gpus": gpu["gpus"],
        "localai_capability": capability["capability"], "localai_capability_source": capability["source"],
        "localai_capability_reason": capability["reason"], "localai_backends": backends,
        "localai_backends_warnings": warnings, "localai_backends_upgrades": upgrades,
        "localai_platform": host_platform(), "localai_instance": instance,
    }}
