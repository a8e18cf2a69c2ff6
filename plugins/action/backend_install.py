# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""On the controller: look the backend up in the galleries, pin each image it may install to one digest for
the whole run and verify its signature against the gallery's policy, then run the module with the result."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.localai.gallery.plugins.module_utils.backends_module import FRAGMENT_SPECS, RESTART_WARNING
from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import primary_registry
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.meta_resolution import is_meta, resolve_meta
from ansible_collections.localai.gallery.plugins.module_utils.uris import FALLBACK_TAG_SPEC, fallback_tags
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
from ansible_collections.localai.gallery.plugins.plugin_utils.action_base import GalleryActionBase
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import find_entry, meta_candidates, slim_entry
from ansible_collections.localai.gallery.plugins.plugin_utils.cache_warming import CacheWarmer, one_pin
from ansible_collections.localai.gallery.plugins.plugin_utils.pinning import UNSIGNED_MARK, Pinner
from ansible_collections.localai.gallery.plugins.plugin_utils.run_cache import RunCache


def _flag(module_args: dict, option: str, default: bool) -> bool:
    try:
        return boolean(module_args.pop(option, default), strict=True)
    except TypeError as exc:
        raise AnsibleActionFail("%s must be a boolean: %s" % (option, exc))


def registry_client(module_args: dict) -> tuple[RegistryClient, dict, bool]:
    """The client the module would build, from the same options checked by the same spec."""
    spec = FRAGMENT_SPECS["registry"]
    result = ArgumentSpecValidator(spec).validate({key: module_args[key] for key in spec if key in module_args})
    if result.error_messages:
        raise AnsibleActionFail("; ".join(result.error_messages))
    params = result.validated_parameters
    return RegistryClient.from_options(params), params["registry_mirrors"], params["upstream_fallback"]


def _fallback_tags(module_args: dict) -> dict:
    """release_tag, branch_tag and prefer_development, checked as the module checks them: the controller pins the
    images of the same fallback chain the target will try."""
    result = ArgumentSpecValidator(FALLBACK_TAG_SPEC).validate(
        {key: module_args[key] for key in FALLBACK_TAG_SPEC if key in module_args})
    if result.error_messages:
        raise AnsibleActionFail("; ".join(result.error_messages))
    return fallback_tags(result.validated_parameters)


def _warning_text(warning) -> str:
    """A module's warning as text: a str, or (ansible-core 2.19 and later) a summary object holding its event."""
    return warning if isinstance(warning, str) else str(getattr(getattr(warning, "event", None), "msg", warning))


class ActionModule(GalleryActionBase):
    """Resolves `name` against the galleries (read once per run on the controller) and runs the module on the target."""

    failure_prefix = "cannot install"

    def module_args_from_galleries(self, module_args: dict, galleries) -> dict:
        trusted_root = module_args.pop("trusted_root", None)
        require_integrity = _flag(module_args, "require_integrity", False)
        warm_mirrors = _flag(module_args, "warm_mirrors", True)
        client, mirrors, fallback = registry_client(module_args) if _flag(module_args, "pin_digests", True) \
            else (None, None, True)
        pinner = Pinner(client, RunCache("pins"), mirrors, self._loader.path_dwim(trusted_root) if trusted_root else None,
                        require_integrity, fallback)
        if not module_args.get("name"):
            return module_args  # the module says what is missing
        tags = _fallback_tags(module_args)
        if module_args.get("uri"):
            module_args["uri_pin"] = pinner.pin({"name": module_args["name"], "uri": module_args["uri"],
                                                 "sha256": module_args.get("sha256"), "fallback_tags": tags}, None)
        else:
            loaded = self.load_galleries(galleries, module_args)
            gallery, entry = find_entry(loaded, module_args["name"])
            module_args["gallery_entry"] = slim_entry(entry, gallery)
            if is_meta(entry):
                module_args["gallery_candidates"] = self._pinned_candidates(pinner, loaded, gallery, entry,
                                                                            module_args.get("capability"), tags)
            elif entry.get("uri"):
                module_args["gallery_entry"].update(pinner.pin(dict(module_args["gallery_entry"], fallback_tags=tags),
                                                               gallery))
        self.controller_warnings = pinner.warnings
        self._drop_warnings_shown(module_args)
        pin = one_pin(module_args)
        if warm_mirrors and client is not None and pin:
            client.credentials.bind(primary_registry(pin["uri"], mirrors))
            warmed = CacheWarmer(client, RunCache("warm"), mirrors).warm(pin, self.task_vars.get("localai_platform"))
            if "warning" in warmed:
                self.controller_warnings = self.controller_warnings + [warmed["warning"]]
        return module_args

    def _drop_warnings_shown(self, module_args: dict) -> None:
        """Warnings an earlier task or host of this run showed are not handed to the module again: ansible-core 2.21
        keeps what a module warned even when the action plugin drops it from the result. What is handed is
        remembered, for module_done."""
        seen = RunCache("warned")
        host = self.task_vars.get("inventory_hostname", "")
        self._task_token = "%s/%s" % (self._task._uuid, host)
        self._handed = []
        entries = [module_args.get("uri_pin"), module_args.get("gallery_entry")]
        entries += list((module_args.get("gallery_candidates") or {}).values())
        for entry in entries:
            if entry and UNSIGNED_MARK in (entry.get("warning") or ""):
                if seen.recorded(entry["warning"]):
                    del entry["warning"]
                else:
                    self._handed.append(entry["warning"])
        self._restart_key = "%s: %s" % (host, RESTART_WARNING)
        if seen.recorded(self._restart_key):
            module_args["restart_warning"] = False
        check_mode = bool(self._task.check_mode or self._play_context.check_mode)
        self._restart_possible = not check_mode and module_args.get("localai") is None \
            and module_args.get("restart_warning") is not False

    def module_done(self, result: dict) -> None:
        """Record the warnings this call showed: an unsigned source it installed from, the restart after a change."""
        seen = RunCache("warned")
        if result.get("source"):
            for text in getattr(self, "_handed", []):
                seen.once_per_run(text, lambda: {"shown_by": self._task_token})
        if result.get("changed") and getattr(self, "_restart_possible", False):
            seen.once_per_run(self._restart_key, lambda: {"shown": True})

    def shown_warnings(self, warnings: list[str]) -> list[str]:
        """"Without signature verification" once per run for each gallery (the warning names the gallery): the first
        host and task that installs from it shows it; every later install from it in the run would repeat it. (Hosts
        of one task install side by side, so this is decided after the module too; the restart warning, per host, is
        decided before it, by restart_warning.)"""
        token = getattr(self, "_task_token", "%s/%s" % (self._task._uuid, self.task_vars.get("inventory_hostname", "")))
        seen = RunCache("warned")
        shown = []
        for warning in warnings:
            text = _warning_text(warning)
            if UNSIGNED_MARK not in text or seen.once_per_run(text, lambda: {"shown_by": token})["shown_by"] == token:
                shown.append(warning)
        return shown

    def _pinned_candidates(self, pinner: Pinner, loaded: list[dict], gallery: dict, entry: dict,
                           capability_option, tags: dict) -> dict:
        """The builds of a meta, each pinned under its own gallery's policy. When the host's capability is known
        (the option, or localai_capability from backend_facts), only the build it needs is asked for."""
        expected = None
        capability = capability_option or self.task_vars.get("localai_capability")
        by_url = {item.get("url"): item for item in loaded}
        candidates = meta_candidates(loaded, gallery, entry)
        if capability:
            try:
                expected = resolve_meta(entry["name"], entry.get("capabilities") or {}, str(capability),
                                        candidates)["concrete"]
            except BackendError:
                expected = None  # the module will say there is no build for it
        if expected not in candidates:
            expected = None
        for name, candidate in candidates.items():
            source = by_url.get(candidate["gallery"]["url"])
            tagged = dict(candidate, fallback_tags=tags)
            candidate.update(pinner.pin(tagged, source) if expected in (None, name)
                             else pinner.unpinned(tagged, source, expected))
        return candidates
