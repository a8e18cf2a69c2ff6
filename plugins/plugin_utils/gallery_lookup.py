# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: the `galleries` option, read through the once-per-run cache, and lookups in it.

Targets receive only what they need of an entry (slim_entry, upgrade_index): descriptions, icons and the
other entries stay on the controller.
"""

from __future__ import annotations

import difflib

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.localai.gallery.plugins.module_utils.errors import UnknownBackendError
from ansible_collections.localai.gallery.plugins.module_utils.results import redact_url
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import DEFAULT_GALLERIES, GalleryCache

# What the targets need of an entry to install it, and to decide an upgrade.
INSTALL_FIELDS = ("name", "alias", "uri", "mirrors", "capabilities", "version", "sha256")
UPGRADE_FIELDS = ("name", "version", "uri")


def gallery_list(raw) -> list[dict]:
    """The galleries option; ad hoc (`-a galleries=...`) it may be a JSON/YAML list or one URL."""
    galleries = raw or DEFAULT_GALLERIES
    if isinstance(galleries, str):
        try:
            parsed = yaml.safe_load(galleries)
        except yaml.YAMLError:
            parsed = None
        galleries = parsed if isinstance(parsed, list) else [{"name": "gallery", "url": galleries.strip()}]
    if not isinstance(galleries, list) or not all(isinstance(item, dict) and item.get("url") for item in galleries):
        raise AnsibleActionFail("galleries must be a list of {name, url, mirrors} dictionaries, each with a url")
    return galleries


def validate_certs_option(module_args: dict) -> bool:
    """validate_certs as the module would read it: `no`, `false`, `0` (ad hoc strings) are False."""
    try:
        return boolean(module_args.get("validate_certs", True), strict=True)
    except TypeError:
        raise AnsibleActionFail("validate_certs must be a boolean, got %r" % (module_args.get("validate_certs"),))


def load_galleries(raw, resolve_path, validate_certs: bool) -> tuple[list[dict], list[str]]:
    """([{name, url, mirrors, entries}], warnings): each gallery read at most once per playbook run."""
    cache = GalleryCache(resolve_path=resolve_path, validate_certs=validate_certs)
    # Credentials in a gallery URL are for fetching it only: never in results, messages or metadata.json.
    loaded = [dict(gallery, entries=cache.load(gallery), url=redact_url(gallery["url"]),
                   mirrors=[redact_url(mirror) for mirror in gallery.get("mirrors") or []])
              for gallery in gallery_list(raw)]
    return loaded, cache.warnings


def upgrade_index(galleries: list[dict]) -> list[dict]:
    """Every entry with a name, in lookup order, cut to what the upgrade check reads."""
    index = []
    for gallery in galleries:
        for entry in gallery["entries"]:
            if entry.get("name"):
                slim = {field: str(entry[field]) for field in UPGRADE_FIELDS if entry.get(field)}
                if isinstance(entry.get("mirrors"), list) and entry["mirrors"]:
                    slim["mirrors"] = [str(mirror) for mirror in entry["mirrors"]]  # the sources install tries
                slim["gallery"] = gallery.get("name") or ""
                index.append(slim)
    return index


def slim_entry(entry: dict, gallery: dict) -> dict:
    """Only what installing needs, plus where it came from (descriptions and icons stay on the controller)."""
    slim = {key: entry[key] for key in INSTALL_FIELDS if entry.get(key)}
    slim["gallery"] = {"name": gallery.get("name"), "url": gallery.get("url")}
    return slim


def split_gallery_name(name: str) -> tuple[str | None, str]:
    """`gallery@backend` -> (gallery, backend); a bare name -> (None, name)."""
    if "@" in name:
        gallery, _sep, backend = name.partition("@")
        return gallery, backend
    return None, name


def find_entry(galleries: list[dict], name: str) -> tuple[dict, dict]:
    """(gallery, entry) for `name` or `gallery@name`: case-insensitive, first gallery first, first entry first.

    Each gallery is {name, url, entries}. Raises UnknownBackendError with close names.
    """
    wanted_gallery, backend = split_gallery_name(name)
    searched = [gallery for gallery in galleries if wanted_gallery is None or gallery.get("name") == wanted_gallery]
    if wanted_gallery is not None and not searched:
        raise UnknownBackendError("unknown gallery %r in %r (galleries: %s)"
                                  % (wanted_gallery, name, ", ".join(g.get("name") or "?" for g in galleries)))
    lowered = backend.lower()
    for gallery in searched:
        for entry in gallery.get("entries") or []:
            if str(entry.get("name", "")).lower() == lowered:
                return gallery, entry
    names = sorted({str(entry.get("name")) for gallery in searched for entry in gallery.get("entries") or []})
    raise UnknownBackendError("unknown backend %r in galleries %s%s" % (
        backend, ", ".join(g.get("name") or "?" for g in searched), suggestion_text(backend, names)))


def suggestion_text(name: str, names: list[str]) -> str:
    lowered = {candidate.lower(): candidate for candidate in names}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=5, cutoff=0.6)
    close += [key for key in lowered if name.lower() in key and key not in close][:5 - len(close)]
    return "; did you mean: %s?" % ", ".join(lowered[key] for key in close) if close else ""


def meta_candidates(galleries: list[dict], gallery: dict, meta: dict) -> dict[str, dict]:
    """{concrete name: slim entry} for every build a meta names, looked up in its own gallery first."""
    ordered = [gallery] + [other for other in galleries if other is not gallery]
    candidates = {}
    for concrete_name in sorted(set((meta.get("capabilities") or {}).values())):
        for source in ordered:
            match = next((entry for entry in source.get("entries") or []
                          if str(entry.get("name", "")).lower() == concrete_name.lower() and entry.get("uri")), None)
            if match is not None:
                candidates[concrete_name] = slim_entry(match, source)
                break
    return candidates
