# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install one concrete backend (and optionally its meta directory) with exact `changed` and check mode.

What `state: latest` compares is LocalAI's upgrade rule (core/gallery/upgrade.go CheckUpgradesAgainst):
the gallery entry's `version` when it has one, else the digest recorded at install against the digest
the tag names now (one manifest request, no blob).
"""

from __future__ import annotations

import os

from ansible_collections.localai.gallery.plugins.module_utils import ownership as owners
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AllSourcesFailedError,
    DigestMismatchError,
    MetadataError,
    RegistryError,
    SourceError,
)
from ansible_collections.localai.gallery.plugins.module_utils.metadata import (
    now_rfc3339,
    ordered_metadata,
    read_metadata,
    replace_metadata,
)
from ansible_collections.localai.gallery.plugins.module_utils.reference import is_image_reference, parse_reference
from ansible_collections.localai.gallery.plugins.module_utils.sources import open_source
from ansible_collections.localai.gallery.plugins.module_utils.store import RUN_FILE, BackendStore, is_runnable

# Errors of one source that are worth trying the next one for; unsafe or invalid content is not.
_SOURCE_FAILURES = (RegistryError, DigestMismatchError, SourceError)
INSTALL, REWRITE, REPAIR = "install", "rewrite", "repair"


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


class Decision:
    """What a backend needs: `action` is None (nothing), INSTALL, REWRITE (metadata only) or REPAIR (ownership)."""

    def __init__(self, action: str | None, reason: str, revision=None) -> None:
        self.action = action
        self.reason = reason
        self.revision = revision  # what the registry said the tag names now, when it was asked

    @property
    def digest(self) -> str | None:
        return self.revision.digest if self.revision is not None else None


class BackendInstaller:
    """Decides whether a backend must change, and installs it from the first source that works."""

    def __init__(self, store: BackendStore, client, registry_mirrors: dict[str, str] | None = None,
                 check_mode: bool = False, ownership: owners.Ownership | None = None) -> None:
        self.store = store
        self.client = client
        self.registry_mirrors = registry_mirrors
        self.check_mode = check_mode
        self.ownership = ownership or owners.Ownership()
        self.warnings: list[str] = []

    def _sources(self, uris: list[str], sha256: str | None):
        return [open_source(uri, self.client, self.registry_mirrors, sha256) for uri in uris]

    @staticmethod
    def _current_revision(sources):
        attempts = []
        for source in sources:
            try:
                return source.current_revision()
            except _SOURCE_FAILURES as exc:
                attempts.append((str(source), exc))
        raise attempts[0][1] if len(attempts) == 1 else AllSourcesFailedError(attempts)

    def _repair_diff(self, directory: str) -> dict:
        """Before/after of what a repair in place changes, for diff mode."""
        wanted = {"owner": self.ownership.uid, "group": self.ownership.gid, "entries_owned_otherwise": 0,
                  "run_sh_executable": True}
        before = dict(wanted, entries_owned_otherwise=owners.differing_entries(directory, self.ownership),
                      run_sh_executable=not owners.run_file_needs_exec(directory))
        return {"before": before, "after": wanted}

    def _repair_reason(self, directory: str) -> str | None:
        """Why an installed tree needs fixing in place (ownership, run.sh mode), or None."""
        reasons = []
        differing = owners.differing_entries(directory, self.ownership)
        if differing:
            reasons.append("ownership of %d entries differs from owner %s group %s"
                           % (differing, _id_text(self.ownership.uid), _id_text(self.ownership.gid)))
        if owners.run_file_needs_exec(directory):
            reasons.append("run.sh is not executable by its owner")
        return "; ".join(reasons) or None

    def _decide(self, name: str, sources, wanted_version: str, state: str, force: bool,
                known_revision=None) -> Decision:
        """What the backend needs; `known_revision` was fetched earlier in this run (no second request)."""
        directory = os.path.join(self.store.path, name)
        if force:
            return Decision(INSTALL, "forced", known_revision)
        if not is_runnable(directory):
            return Decision(INSTALL, "not runnable (run.sh missing)" if os.path.lexists(directory) else "not installed",
                            known_revision)
        if state != "latest":
            return self._unchanged(directory)
        recorded = _read_metadata_or_none(directory) or {}
        if wanted_version:
            if recorded.get("version") != wanted_version:
                return Decision(INSTALL, "version changed from %s to %s"
                                % (recorded.get("version") or "unknown", wanted_version))
            return self._unchanged(directory)
        revision = known_revision or self._current_revision(sources)
        if revision is None or revision.digest == recorded.get("digest"):
            return self._unchanged(directory, revision)
        if revision.platform_digest and revision.platform_digest == recorded.get("digest"):
            return Decision(REWRITE, "the recorded digest is this platform's manifest in index %s (as releases "
                            "before 0.2.0 recorded it); metadata.json updated, nothing downloaded"
                            % revision.digest, revision)
        return Decision(INSTALL, "digest changed from %s to %s" % (recorded.get("digest") or "unknown",
                                                                   revision.digest), revision)

    def _unchanged(self, directory: str, revision=None) -> Decision:
        repair = self._repair_reason(directory)
        return Decision(REPAIR, repair, revision) if repair else Decision(None, "up to date", revision)

    def _written_metadata(self, name: str, metadata: dict, uris: list[str], digest: str | None) -> dict:
        """metadata.json of a fresh install: nothing of an earlier install survives (LocalAI writes it afresh)."""
        written = {key: value for key, value in metadata.items() if value and key in ("alias", "gallery_url", "version")}
        written.update({"name": name, "installed_at": now_rfc3339(), "uri": metadata.get("uri") or uris[0],
                        "digest": digest or ""})
        return ordered_metadata(written)

    def install(self, name: str, uris: list[str], metadata: dict, state: str = "present", force: bool = False,
                sha256: str | None = None) -> dict:
        """Install `name` from the first of `uris` that works; metadata holds alias/gallery_url/version/uri."""
        directory = self.store.backend_dir(name)
        sources = self._sources(uris, sha256)
        before = _read_metadata_or_none(directory) if os.path.isdir(directory) else None
        wanted_version = metadata.get("version") or ""
        decision = self._decide(name, sources, wanted_version, state, force)
        result = {"backend": name, "path": directory, "run_file": os.path.join(directory, RUN_FILE),
                  "changed": decision.action is not None, "reason": decision.reason, "source": None,
                  "digest": decision.digest or (before or {}).get("digest"),
                  "diff": {"before": before or {}, "after": before or {}}}
        if decision.action == REPAIR:
            result["repair_diff"] = self._repair_diff(directory)
        if decision.action is None:
            if not self.check_mode and self.store.has_leftovers():
                with self.store.locked():  # recovery of a killed run's work directories; the backend is unchanged
                    pass
            return result
        if self.check_mode:
            result["diff"]["after"] = self._planned(decision, name, metadata, uris, before)
            return result
        with self.store.locked():
            if not force:  # another run may have changed it while this one waited for the lock
                decision = self._decide(name, sources, wanted_version, state, False, decision.revision)
                result.update(changed=decision.action is not None, reason=decision.reason)
            if decision.action in (REWRITE, REPAIR):
                result["diff"]["after"] = self._fix_in_place(directory, decision, before or {})
                return result
            if decision.action is None:
                return result
            return self._install_from_sources(name, uris, metadata, sources, before, result)

    def _planned(self, decision: Decision, name: str, metadata: dict, uris: list[str], before: dict | None) -> dict:
        if decision.action == INSTALL:
            return self._written_metadata(name, metadata, uris, decision.digest)
        if decision.action == REWRITE:
            return ordered_metadata(dict(before or {}, digest=decision.digest))
        return before or {}

    def _fix_in_place(self, directory: str, decision: Decision, before: dict) -> dict:
        """Digest migration and ownership/run.sh repairs: no download, keys of newer LocalAI versions kept."""
        after = before
        uid = -1 if self.ownership.uid is None else self.ownership.uid
        gid = -1 if self.ownership.gid is None else self.ownership.gid
        if decision.action == REWRITE:
            after = ordered_metadata(dict(before, digest=decision.digest))
            replace_metadata(directory, after, uid, gid)
        owners.make_run_file_executable(directory)
        owners.apply(directory, self.ownership)
        return after

    def _install_from_sources(self, name: str, uris: list[str], metadata: dict, sources, before, result) -> dict:
        attempts = []
        for source in sources:
            try:
                with self.store.staging(name) as stage_dir:
                    installed_digest = source.fill(stage_dir)
                    written = self._written_metadata(name, metadata, uris, installed_digest)
                    self.store.commit(name, stage_dir, written, ownership=self.ownership)
            except _SOURCE_FAILURES as exc:
                attempts.append((str(source), exc))
                continue
            self.warnings.extend(source.warnings)
            result.update(changed=True, source=str(source), digest=installed_digest,
                          diff={"before": before or {}, "after": written})
            return result
        raise attempts[0][1] if len(attempts) == 1 else AllSourcesFailedError(attempts)

    def link_meta(self, meta_name: str, concrete_name: str, gallery_url: str | None = None,
                  version: str | None = None) -> dict:
        """Write `<meta>/metadata.json` pointing at the concrete (upstream records the concrete's version)."""
        directory = self.store.backend_dir(meta_name)
        before = _read_metadata_or_none(directory) if os.path.isdir(directory) else None
        wanted = ordered_metadata({"meta_backend_for": concrete_name, "name": meta_name,
                                   "gallery_url": gallery_url or "", "version": version or ""})
        result = {"changed": False, "reason": "up to date", "path": directory,
                  "diff": {"before": before or {}, "after": before or {}}}
        current = before is not None and not is_runnable(directory) and all(
            (before.get(key) or "") == (wanted.get(key) or "")
            for key in ("meta_backend_for", "name", "gallery_url", "version"))
        if current:
            repair = owners.differing_entries(directory, self.ownership)
            if repair:
                result.update(changed=True, reason="ownership of %d entries differs" % repair)
                if not self.check_mode:
                    with self.store.locked():
                        owners.apply(directory, self.ownership)
            return result
        written = dict(wanted, installed_at=now_rfc3339())
        result.update(changed=True, reason="points at %s" % concrete_name if before else "not installed",
                      diff={"before": before or {}, "after": ordered_metadata(written)})
        if self.check_mode:
            return result
        with self.store.locked():
            with self.store.staging(meta_name) as stage_dir:
                self.store.commit(meta_name, stage_dir, ordered_metadata(written), require_run_file=False,
                                  ownership=self.ownership)
        return result


def _id_text(value: int | None) -> str:
    return "unchanged" if value is None else str(value)
