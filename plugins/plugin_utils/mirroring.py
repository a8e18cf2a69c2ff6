# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: which images a fleet needs, and each one copied into a private registry.

The builds are chosen as backend_install chooses them (a meta's map for each capability, LocalAI's
resolution rules); each image is read from the first of its sources that answers (the entry's uri, its
mirrors, then the `master-` tags, as install walks them) and written under the primary uri's repository
path in the target, so that `registry_mirrors: {<primary registry>: <target>}` makes installs find it.
"""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils.uris import fallback_uris
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AllSourcesFailedError,
    BackendError,
    InvalidReferenceError,
    RegistryError,
)
from ansible_collections.localai.gallery.plugins.module_utils.meta_resolution import is_meta, resolve_meta
from ansible_collections.localai.gallery.plugins.module_utils.reference import (
    apply_mirrors,
    is_image_reference,
    parse_reference,
)
from ansible_collections.localai.gallery.plugins.plugin_utils.catalogue import find_entry, meta_candidates
from ansible_collections.localai.gallery.plugins.plugin_utils.image_copy import ImageCopier


def builds_for(galleries: list[dict], names: list[str], capabilities: list[str]) -> list[dict]:
    """[{backend, build, entry}] without repeats: each name, and for a meta the build of each capability."""
    builds, seen = [], set()
    for name in names:
        gallery, entry = find_entry(galleries, name)
        if is_meta(entry):
            if not capabilities:
                raise BackendError("%s is a meta backend: give capabilities (or run backend_facts on the fleet) "
                                   "to choose its builds" % entry["name"])
            candidates = meta_candidates(galleries, gallery, entry)
            chosen = []
            for capability in capabilities:
                concrete = resolve_meta(entry["name"], entry.get("capabilities") or {}, capability,
                                        candidates)["concrete"]
                if concrete not in candidates:
                    raise BackendError("meta backend %s names %s for %s, but no gallery has an entry with that name "
                                       "and a uri" % (entry["name"], concrete, capability))
                chosen.append(candidates[concrete])
        else:
            chosen = [dict(entry, gallery={"name": gallery.get("name"), "url": gallery.get("url")})]
        for build in chosen:
            if build["name"] not in seen:
                seen.add(build["name"])
                builds.append({"backend": entry["name"], "build": build["name"], "entry": build})
    return builds


def image_sources(entry: dict) -> list[str]:
    """The image references install would try for this entry, in its order (archives and paths left out)."""
    uri = entry.get("uri") or ""
    if not is_image_reference(uri):
        raise InvalidReferenceError("%s's uri %r is not an image reference: only registry images can be mirrored"
                                    % (entry.get("name"), uri))
    return [item for item in fallback_uris(uri, entry.get("mirrors")) if is_image_reference(item)]


class Mirror:
    """Copies builds into `target` (`host[/path-prefix]`); `endpoint(registry, api_host, role, bound)` opens a
    registry, with the task's source credentials only where `bound` (the build's primary registry)."""

    def __init__(self, target: str, endpoint, check_mode: bool = False) -> None:
        self.target = target.strip().rstrip("/")
        self.endpoint = endpoint
        self.check_mode = check_mode
        self._endpoints: dict = {}

    def _open(self, reference, role: str, bound: bool):
        key = (reference.api_host, role, bound)
        if key not in self._endpoints:
            self._endpoints[key] = self.endpoint(reference.registry, reference.api_host, role, bound)
        return self._endpoints[key]

    def copy_build(self, build: dict, platforms: list[str] | None = None) -> dict:
        primary = parse_reference(build["entry"]["uri"])
        sources = image_sources(build["entry"])
        target = self._open(apply_mirrors(primary, {primary.registry: self.target}), "target", True)
        attempts = []
        for uri in sources:
            source = parse_reference(uri)
            destination = apply_mirrors(primary.with_tag(source.tag or "latest"), {primary.registry: self.target})
            reference = source.digest or source.tag or "latest"
            try:
                copier = ImageCopier(self._open(source, "source", source.registry == primary.registry),
                                     source.repository, target,
                                     destination.repository, self.check_mode)
                top = copier.read(reference)
            except RegistryError as exc:  # this source does not have it, or cannot be reached: the next one
                attempts.append((uri, exc))
                continue
            copied = copier.copy(reference, platforms, top)
            return dict(copied, backend=build["backend"], build=build["build"], source=uri,
                        source_registry=primary.registry, target=str(destination.with_tag(source.tag or "latest")))
        raise AllSourcesFailedError(attempts)
