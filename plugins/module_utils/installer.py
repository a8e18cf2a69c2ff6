# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install one concrete backend (and optionally its meta directory) with exact `changed` and check mode."""

from __future__ import annotations

import os

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AllSourcesFailedError,
    DigestMismatchError,
    MetadataError,
    RegistryError,
    SourceError,
)
from ansible_collections.localai.gallery.plugins.module_utils.metadata import now_rfc3339, read_metadata
from ansible_collections.localai.gallery.plugins.module_utils.reference import is_image_reference, parse_reference
from ansible_collections.localai.gallery.plugins.module_utils.sources import open_source
from ansible_collections.localai.gallery.plugins.module_utils.store import RUN_FILE, BackendStore, has_run_file

# Errors of one source that are worth trying the next one for; unsafe or invalid content is not.
_SOURCE_FAILURES = (RegistryError, DigestMismatchError, SourceError)


def fallback_uris(uri: str, mirrors: list[str] | None = None) -> list[str]:
    """LocalAI's order: the uri, each mirror, then `latest-` -> `master-`, then that plus `-development`."""
    chain = [uri] + [mirror for mirror in mirrors or [] if mirror and mirror != uri]
    if is_image_reference(uri):
        reference = parse_reference(uri)
        if reference.tag and "latest-" in reference.tag and not reference.digest:
            master_tag = reference.tag.replace("latest-", "master-", 1)
            chain.append(str(reference.with_tag(master_tag)))
            if not master_tag.endswith("-development"):
                chain.append(str(reference.with_tag(master_tag + "-development")))
    return chain


def _read_metadata_or_none(directory: str) -> dict | None:
    try:
        return read_metadata(directory)
    except MetadataError:
        return None


class BackendInstaller:
    """Decides whether a backend must change, and installs it from the first source that works."""

    def __init__(self, store: BackendStore, client, registry_mirrors: dict[str, str] | None = None,
                 check_mode: bool = False) -> None:
        self.store = store
        self.client = client
        self.registry_mirrors = registry_mirrors
        self.check_mode = check_mode

    def _sources(self, uris: list[str], sha256: str | None):
        return [open_source(uri, self.client, self.registry_mirrors, sha256) for uri in uris]

    def _current_digest(self, sources) -> str | None:
        attempts = []
        for source in sources:
            try:
                return source.current_digest()
            except _SOURCE_FAILURES as exc:
                attempts.append((str(source), exc))
        raise attempts[0][1] if len(attempts) == 1 else AllSourcesFailedError(attempts)

    def _reason(self, name: str, sources, state: str, force: bool,
                current: str | None = None) -> tuple[str | None, str | None]:
        """Why the backend must be (re)installed, or None; plus the registry's digest when it was asked.

        `current` is a digest already fetched in this run, so a re-check under the lock asks nothing again.
        """
        directory = os.path.join(self.store.path, name)
        if force:
            return "forced", None
        if not has_run_file(directory):
            return ("not runnable (run.sh missing)" if os.path.lexists(directory) else "not installed"), None
        if state != "latest":
            return None, None
        recorded = (_read_metadata_or_none(directory) or {}).get("digest")
        current = current or self._current_digest(sources)
        if current is None or current != recorded:
            return "digest changed from %s to %s" % (recorded or "unknown", current or "unknown"), current
        return None, current

    def install(self, name: str, uris: list[str], metadata: dict, state: str = "present", force: bool = False,
                sha256: str | None = None) -> dict:
        """Install `name` from the first of `uris` that works; metadata holds alias/gallery_url/version/uri."""
        directory = self.store.backend_dir(name)
        sources = self._sources(uris, sha256)
        before = _read_metadata_or_none(directory) if os.path.isdir(directory) else None
        reason, digest = self._reason(name, sources, state, force)
        result = {"backend": name, "path": directory, "run_file": os.path.join(directory, RUN_FILE),
                  "changed": False, "reason": reason or "up to date", "source": None,
                  "digest": (before or {}).get("digest") if digest is None else digest,
                  "diff": {"before": before or {}, "after": before or {}}}
        if reason is None or self.check_mode:
            result["changed"] = reason is not None
            if reason is None and not self.check_mode and self.store.has_leftovers():
                with self.store.locked():  # recovery of a killed run's work directories; the backend is unchanged
                    pass
            return result
        with self.store.locked():
            if not force:  # another run may have installed it while this one waited for the lock
                reason, digest = self._reason(name, sources, state, False, digest)
                if reason is None:
                    return result
            attempts = []
            for source in sources:
                try:
                    with self.store.staging(name) as stage_dir:
                        installed_digest = source.fill(stage_dir)
                        written = dict(before or {})  # keys of newer LocalAI versions are kept
                        written.update({key: value for key, value in metadata.items() if value})
                        written.update({"name": name, "installed_at": now_rfc3339(), "uri": metadata.get("uri") or uris[0],
                                        "digest": installed_digest or ""})
                        written.pop("meta_backend_for", None)
                        self.store.commit(name, stage_dir, written)
                except _SOURCE_FAILURES as exc:
                    attempts.append((str(source), exc))
                    continue
                result.update(changed=True, source=str(source), digest=installed_digest,
                              diff={"before": before or {}, "after": written})
                return result
        raise attempts[0][1] if len(attempts) == 1 else AllSourcesFailedError(attempts)

    def link_meta(self, meta_name: str, concrete_name: str, gallery_url: str | None = None) -> dict:
        """Write `<meta>/metadata.json` pointing at the concrete; no change when it already does."""
        directory = self.store.backend_dir(meta_name)
        before = _read_metadata_or_none(directory) if os.path.isdir(directory) else None
        result = {"changed": False, "path": directory, "diff": {"before": before or {}, "after": before or {}}}
        if before and before.get("meta_backend_for") == concrete_name and not has_run_file(directory):
            return result
        written = {key: value for key, value in (before or {}).items() if key not in ("alias", "uri", "digest")}
        written.update({"meta_backend_for": concrete_name, "name": meta_name, "gallery_url": gallery_url or "",
                        "installed_at": now_rfc3339()})
        result.update(changed=True, diff={"before": before or {}, "after": written})
        if self.check_mode:
            return result
        with self.store.locked():
            with self.store.staging(meta_name) as stage_dir:
                self.store.commit(meta_name, stage_dir, written, require_run_file=False)
        return result
