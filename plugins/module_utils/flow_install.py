# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backend_install on the target: pick the build for this host (meta resolution), install it, link the meta.

Both directories are planned first without the lock; when anything must change, the lock is taken once,
both are planned again under it (another run may have done the work) and applied, the concrete first.
"""

from __future__ import annotations

import os

from ansible_collections.localai.gallery.plugins.module_utils import provenance
from ansible_collections.localai.gallery.plugins.module_utils.backend_listing import scan, ui_meta_directories
from ansible_collections.localai.gallery.plugins.module_utils.install_plan import (
    INSTALL,
    InstallPlanner,
    Change,
    ConcreteBackend,
)
from ansible_collections.localai.gallery.plugins.module_utils.backends_module import ModuleRequest
from ansible_collections.localai.gallery.plugins.module_utils.capability import (
    detect_capability,
    validate_capability_option,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import primary_registry
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError, SignatureError
from ansible_collections.localai.gallery.plugins.module_utils.localai_writers import wait_for_localai
from ansible_collections.localai.gallery.plugins.module_utils.meta_resolution import (
    choose_build,
    is_compatible,
    is_meta,
)
from ansible_collections.localai.gallery.plugins.module_utils.store import RUN_FILE, validate_backend_name
from ansible_collections.localai.gallery.plugins.module_utils.uris import classify, fallback_tags


class InstallRequest(ModuleRequest):
    """What to install: a direct uri, or a gallery entry (with the candidate builds of a meta)."""

    options = ("name", "uri", "alias", "sha256", "gallery_entry", "gallery_candidates", "uri_pin", "state", "force",
               "capability", "release_tag", "branch_tag", "prefer_development")

    @property
    def fallback_tags(self) -> dict:
        return fallback_tags({"release_tag": self.release_tag, "branch_tag": self.branch_tag,
                              "prefer_development": self.prefer_development})

    @property
    def meta(self) -> dict | None:
        return self.gallery_entry if self.gallery_entry and is_meta(self.gallery_entry) else None


def _choose_concrete(request: InstallRequest, capability: str, result: dict) -> ConcreteBackend:
    """The concrete build to install: the direct uri (LocalAI does not filter those: a warning only when it does
    not look compatible), or what the gallery entry means on this host (meta_resolution.choose_build)."""
    if request.uri:
        if not is_compatible(request.name, request.uri, capability):
            result["warnings"].append("backend %s does not look compatible with capability %s of this host; "
                                      "installing it anyway" % (request.name, capability))
        return ConcreteBackend.from_entry(_refuse_or_pass(dict(
            request.uri_pin or {}, name=request.name, uri=request.uri, alias=request.alias, sha256=request.sha256,
            fallback_tags=request.fallback_tags), result))
    if not request.gallery_entry:
        raise BackendError("give uri for a direct install, or a gallery name resolved by the action plugin "
                           "(run the module as localai.gallery.backend_install)")
    entry, choice, forced = choose_build(request.gallery_entry, capability, request.gallery_candidates,
                                         request.force)
    if choice:
        result.update(capability_key=choice["key"], capability_reason=choice["reason"], meta=request.meta["name"])
    if forced:
        result["warnings"].append(forced)
    gallery_url = (entry.get("gallery") or request.gallery_entry.get("gallery") or {}).get("url") or ""
    return ConcreteBackend.from_entry(_refuse_or_pass(dict(entry, fallback_tags=request.fallback_tags), result),
                                      gallery_url)


def _refuse_or_pass(entry: dict, result: dict) -> dict:
    """An entry the controller refused (signature, integrity) stops here, before anything is planned; one it
    warned about (unverified, not pinned) carries the warning to the host, shown only if it installs."""
    if entry.get("refusal"):
        raise SignatureError(entry["refusal"])
    if entry.get("warning"):
        result["install_warnings"].append(entry["warning"])
    return entry


def _signer_after(installer: InstallPlanner, concrete: ConcreteBackend, change: Change) -> dict | None:
    """Who signed what is installed after this run (or would be, in check mode)."""
    digest = (change.after or {}).get("digest") or change.digest
    if concrete.signer and digest == concrete.pin["digest"]:
        return concrete.signer
    return provenance.verified_signer(installer.store, concrete.name, digest)


def _record_provenance(installer: InstallPlanner, concrete: ConcreteBackend, change: Change) -> None:
    """Bookkeeping beside metadata.json, not a change of the backend: a verified digest gets its signer
    recorded; a fresh install of unverified bytes drops an older record."""
    digest = (change.after or {}).get("digest")
    if concrete.signer and digest == concrete.pin["digest"]:
        if provenance.read_record(installer.store, concrete.name) != {
                "name": concrete.name, "digest": digest, "signer": concrete.signer}:
            provenance.write_record(installer.store, concrete.name, digest, concrete.signer)
    elif change.action == INSTALL:
        provenance.forget(installer.store, concrete.name)


def run_install(request: InstallRequest, installer: InstallPlanner, probe) -> dict:
    """The module's result; raises BackendError subclasses for BackendsModule.run to map to messages."""
    meta_keys = request.meta["capabilities"] if request.meta else {}
    capability = detect_capability(probe, validate_capability_option(request.capability, meta_keys))
    result = {"capability": capability["capability"], "capability_source": capability["source"],
              "capability_reason": capability["reason"], "capability_key": None, "meta": None, "warnings": [],
              "install_warnings": []}
    concrete = _choose_concrete(request, capability["capability"], result)
    validate_backend_name(concrete.name)
    classify(concrete.uri)  # an unsupported scheme is refused before anything is created
    installer.client.credentials.bind(primary_registry(concrete.uri, installer.registry_mirrors))
    meta_name = _meta_directory(installer.store, request.meta["name"]) if request.meta else None
    concrete_change = installer.plan(concrete, request.state, request.force)
    meta_change = installer.plan_meta(meta_name, concrete) if meta_name else None
    changes = [change for change in (concrete_change, meta_change) if change is not None]
    # What the controller said about the source (unverified, unpinned) matters only when bytes come from it.
    install_warnings = result.pop("install_warnings")
    if concrete_change.action == INSTALL:
        result["warnings"] += install_warnings
    if not request.check_mode:
        if any(change.changed for change in changes):
            concrete_change, meta_change = _apply_under_lock(installer, request, concrete, concrete_change, meta_name)
        else:
            installer.store.recover_leftovers()
        if installer.store.directory_fd() is not None:
            _record_provenance(installer, concrete, concrete_change)
    result["warnings"] += installer.warnings + installer.store.warnings
    signer = _signer_after(installer, concrete, concrete_change)
    result.update(verified=signer is not None, signer=signer,
                  pinned_digest=concrete.pin["digest"] if concrete.pin else None,
                  decompressor=installer.inflaters.describe())
    return _result(result, concrete_change, meta_change)


def _meta_directory(store, name: str) -> str:
    """The meta's directory: its name, or the `<gallery>@<name>` directory LocalAI's web UI made for it (updated
    in place rather than duplicated)."""
    validate_backend_name(name)
    installed = scan(store)
    if any(backend.directory == name for backend in installed):
        return name
    made_by_ui = ui_meta_directories(installed, name)
    return made_by_ui[0] if made_by_ui else name


def _apply_under_lock(installer: InstallPlanner, request: InstallRequest, concrete: ConcreteBackend,
                      planned: Change, meta_name: str | None) -> tuple[Change, Change | None]:
    """Take the lock once; plan both directories again under it and apply them, the concrete first."""
    with installer.store.locked():
        backends_fd = installer.store.directory_fd()
        if backends_fd is not None:  # LocalAI itself may be installing or upgrading the same backend
            installer.store.warnings.extend(wait_for_localai(
                backends_fd, [concrete.name] + ([meta_name] if meta_name else []), installer.store.lock_timeout))
        if request.force:
            concrete_change = planned
        else:
            concrete_change = installer.plan(concrete, request.state, False, planned.revision)
        installer.apply(concrete_change, concrete)
        meta_change = None
        if meta_name:
            meta_change = installer.apply(installer.plan_meta(meta_name, concrete))
    return concrete_change, meta_change


def _result(result: dict, concrete: Change, meta: Change | None) -> dict:
    result.update(backend=concrete.name, path=concrete.path, run_file=os.path.join(concrete.path, RUN_FILE),
                  source=concrete.source, digest=concrete.digest, reason=concrete.reason,
                  changed=concrete.changed or bool(meta and meta.changed), diff=concrete.diff())
    if meta:
        result["meta_path"] = meta.path
        result["diff"] += meta.diff()
    return result
