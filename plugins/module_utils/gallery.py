# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gallery entries and lookup, shared by the controller (action plugin) and the target (modules)."""

from __future__ import annotations

import difflib

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError

INSTALL_FIELDS = ("name", "alias", "uri", "mirrors", "capabilities", "version", "sha256")


class UnknownBackendError(BackendError):
    """No gallery has an entry of that name."""


def is_meta(entry: dict) -> bool:
    """A meta backend has a non-empty capabilities map and no uri (concretes inherit the map by anchors)."""
    return bool(entry.get("capabilities")) and not entry.get("uri")


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
