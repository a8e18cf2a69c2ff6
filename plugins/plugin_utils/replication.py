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
    BackendError,
    InvalidReferenceError,
    RegistryError,
)
from ansible_collections.localai.gallery.plugins.module_utils.meta_resolution import is_meta, resolve_meta
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import (
    apply_mirrors,
    is_image_reference,
    parse_reference,
)
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import find_entry, meta_candidates
from ansible_collections.localai.gallery.plugins.module_utils.oci.source_chain import first_answer, source_chain
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


def bound_registries(builds: list[dict]) -> set[str]:
    """The primary registries of the builds: where backend_mirror's source_username/password may go."""
    return {parse_reference(build["entry"]["uri"]).registry for build in builds}


class Replicator:
    """Copies builds into `target` (`host[/path-prefix]`) through one RegistryClient, whose credentials each go to
    their own registry (the action binds them)."""

    def __init__(self, target: str, client, check_mode: bool = False) -> None:
        self.target = target.strip().rstrip("/")
        self.client = client
        self.check_mode = check_mode

    def copy_build(self, build: dict, platforms: list[str] | None = None) -> dict:
        """Read the build from the first of its sources that has it (install's order), copy it, tag it last."""
        primary = parse_reference(build["entry"]["uri"])

        def read(attempt):
            source = attempt.reference
            destination = apply_mirrors(primary.with_tag(source.tag or "latest"), {primary.registry: self.target})
            copier = ImageCopier(self.client, source, destination, self.check_mode)
            return attempt, copier, copier.read(source.manifest_key)

        # A source that does not have it, or cannot be reached, is followed by the next one; a failed copy is not.
        attempt, copier, top = first_answer(source_chain(image_sources(build["entry"]), None, False), read,
                                            (RegistryError,), name_each=True)
        source = attempt.reference
        copied = copier.copy(source.manifest_key, platforms, top)
        return dict(copied, backend=build["backend"], build=build["build"], source=attempt.uri,
                    source_registry=primary.registry, target=str(copier.target.with_tag(source.tag or "latest")))
