# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backend_install on the target: pick the concrete for this host (meta resolution), install it, link the meta."""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils.capability import (
    detect_capability,
    validate_capability_option,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.gallery import is_meta
from ansible_collections.localai.gallery.plugins.module_utils.installer import BackendInstaller, fallback_uris
from ansible_collections.localai.gallery.plugins.module_utils.resolve import is_compatible, resolve_meta
from ansible_collections.localai.gallery.plugins.module_utils.store import validate_backend_name


def _diff(label: str, change: dict) -> dict:
    return {"before_header": label, "after_header": label, "before": change["diff"]["before"],
            "after": change["diff"]["after"]}


class InstallRequest:
    """What to install: a direct uri, or a gallery entry (with the candidate builds of a meta)."""

    def __init__(self, params: dict) -> None:
        self.name = params["name"]
        self.uri = params["uri"]
        self.alias = params["alias"]
        self.sha256 = params["sha256"]
        self.entry = params["gallery_entry"]
        self.candidates = params["gallery_candidates"] or {}
        self.state = params["state"]
        self.force = params["force"]
        self.capability_option = params["capability"]


def run_install(request: InstallRequest, installer: BackendInstaller, probe, warn) -> dict:
    """The module's result; raises BackendError subclasses for main() to map to messages."""
    meta_keys = request.entry["capabilities"] if request.entry and is_meta(request.entry) else {}
    capability = detect_capability(probe, validate_capability_option(request.capability_option, meta_keys))
    result = {"capability": capability["capability"], "capability_source": capability["source"],
              "capability_reason": capability["reason"], "capability_key": None, "meta": None}
    if request.uri:
        concrete = {"name": request.name, "uri": request.uri, "alias": request.alias,
                    "sha256": request.sha256}
        gallery_url, meta = None, None
    elif request.entry:
        meta = request.entry if is_meta(request.entry) else None
        if meta:
            choice = resolve_meta(meta["name"], meta["capabilities"], capability["capability"])
            concrete = request.candidates.get(choice["concrete"])
            if concrete is None:
                raise BackendError("meta backend %s names %s for %s, but no gallery has an entry with that name and a "
                                   "uri" % (meta["name"], choice["concrete"], choice["key"]))
            result.update(capability_key=choice["key"], capability_reason=choice["reason"], meta=meta["name"])
        else:
            concrete = request.entry
        gallery_url = (concrete.get("gallery") or request.entry.get("gallery") or {}).get("url")
    else:
        raise BackendError("give uri for a direct install, or a gallery name resolved by the action plugin "
                           "(run the module as localai.gallery.backend_install)")
    if not is_compatible(concrete["name"], concrete["uri"], capability["capability"]):
        warn("backend %s does not look compatible with capability %s of this host; installing it anyway"
             % (concrete["name"], capability["capability"]))
    metadata = {"alias": concrete.get("alias") or "", "gallery_url": gallery_url or "",
                "version": concrete.get("version") or "", "uri": concrete["uri"]}
    change = installer.install(validate_backend_name(concrete["name"]),
                               fallback_uris(concrete["uri"], concrete.get("mirrors")), metadata, request.state,
                               request.force, concrete.get("sha256"))
    diffs = [_diff(change["path"] + "/metadata.json", change)]
    if change.get("repair_diff"):
        diffs.append(_diff(change["path"] + " (ownership and run.sh mode)", {"diff": change["repair_diff"]}))
    result.update({key: change[key] for key in ("backend", "path", "run_file", "source", "digest", "reason")})
    result["changed"] = change["changed"]
    if meta:
        link = installer.link_meta(validate_backend_name(meta["name"]), concrete["name"], gallery_url,
                                   concrete.get("version"))
        diffs.append(_diff(link["path"] + "/metadata.json", link))
        result["changed"] = result["changed"] or link["changed"]
        result["meta_path"] = link["path"]
    for warning in installer.warnings:
        warn(warning)
    result["diff"] = diffs
    return result
