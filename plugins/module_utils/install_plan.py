# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One backend directory at a time: decide what it needs (plan), then do it under the lock (apply).

Planning reads the disk and, for `state: latest`, asks the registry once; it never writes. Applying
re-plans under the lock (another run may have done the work meanwhile, reusing what the registry said) and
then installs from the first source that works, rewrites metadata in place, or repairs ownership.

What `state: latest` compares is LocalAI's upgrade rule (core/gallery/upgrade.go CheckUpgradesAgainst):
the gallery entry's `version` when it has one, else the digest recorded at install against the digest the
tag names now (one manifest request, no blob).
"""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils import ownership as owners
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    DigestMismatchError,
    InvalidBackendError,
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
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import parse_reference
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RemoteRevision
from ansible_collections.localai.gallery.plugins.module_utils.oci.source_chain import first_answer, source_chain
from ansible_collections.localai.gallery.plugins.module_utils.inflaters import Inflaters
from ansible_collections.localai.gallery.plugins.module_utils.sources import open_source
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore, is_runnable_at
from ansible_collections.localai.gallery.plugins.module_utils.uris import IMAGE, classify, fallback_uris

# Errors of one source that are worth trying the next one for; unsafe or invalid content is not.
_SOURCE_FAILURES = (RegistryError, DigestMismatchError, SourceError)
INSTALL, REWRITE, REPAIR, WRITE_META = "install", "rewrite", "repair", "write meta"


def pinned_uris(uris: list[str], pin: dict) -> list[str]:
    """The digest the controller pinned, from the repository it resolved first, then the chain's other
    repositories (mirrors hold the same content); tags and non-image sources cannot promise that digest."""
    ordered = [pin["uri"]] + [uri for uri in uris if uri != pin["uri"]]
    pinned = []
    for uri in ordered:
        if classify(uri) == IMAGE:
            candidate = str(parse_reference(uri).with_digest(pin["digest"]))
            if candidate not in pinned:
                pinned.append(candidate)
    return pinned


class ConcreteBackend:
    """A concrete backend to install: its directory name, the sources to try in order, and what
    metadata.json records (the primary uri, alias, gallery URL and version of its gallery entry).

    `pin` is what the controller resolved for the whole run ({uri, digest, verified, signer,
    verified_manifests}): then only that digest is installed, whatever the tag names by now.
    """

    def __init__(self, name: str, uris: list[str], uri: str | None = None, alias: str = "", gallery_url: str = "",
                 version: str = "", sha256: str | None = None, pin: dict | None = None) -> None:
        self.name = name
        self.uri = uri or uris[0]
        self.uris = pinned_uris(uris, pin) if pin else uris
        self.alias = alias or ""
        self.gallery_url = gallery_url or ""
        self.version = version or ""
        self.sha256 = sha256
        self.pin = pin

    @classmethod
    def from_entry(cls, entry: dict, gallery_url: str = "") -> "ConcreteBackend":
        """From a gallery entry (or a direct install shaped like one): its uri, mirrors and LocalAI's fallbacks. The
        uri recorded is the first of the chain: the development image under prefer_development, as LocalAI records
        its primaryURI."""
        chain = fallback_uris(entry["uri"], entry.get("mirrors"), entry.get("fallback_tags"))
        return cls(entry["name"], chain, chain[0], entry.get("alias") or "", gallery_url, entry.get("version") or "",
                   entry.get("sha256"), entry.get("pin"))

    @property
    def signer(self) -> dict | None:
        return self.pin.get("signer") if self.pin and self.pin.get("verified") else None

    def metadata(self, digest: str | None) -> dict:
        """metadata.json of a fresh install: nothing of an earlier install survives (LocalAI writes it afresh)."""
        return ordered_metadata({"alias": self.alias, "name": self.name, "gallery_url": self.gallery_url,
                                 "installed_at": now_rfc3339(), "version": self.version, "uri": self.uri,
                                 "digest": digest or ""})


class Change:
    """What one backend directory needs and, once applied, what happened to it.

    `action` is None (nothing), INSTALL, REWRITE (metadata only), REPAIR (ownership, run.sh mode) or
    WRITE_META (a meta directory). `revision` is what the registry said the tag names, when it was asked.
    """

    def __init__(self, name: str, path: str, action: str | None, reason: str, before: dict | None,
                 after: dict | None = None, revision=None) -> None:
        self.name = name
        self.path = path
        self.action = action
        self.reason = reason
        self.before = before
        self.after = after if after is not None else before
        self.revision = revision
        self.source: str | None = None
        self.repair_diff: dict | None = None

    @property
    def changed(self) -> bool:
        return self.action is not None

    @property
    def digest(self) -> str | None:
        return self.revision.digest if self.revision is not None else (self.after or {}).get("digest")

    def diff(self, label: str = "metadata.json") -> list[dict]:
        """Diff-mode items: metadata.json before/after, and ownership/run.sh mode when repaired."""
        header = "%s/%s" % (self.path, label)
        items = [{"before_header": header, "after_header": header, "before": self.before or {},
                  "after": self.after or {}}]
        if self.repair_diff:
            header = "%s (ownership and run.sh mode)" % self.path
            items.append(dict(self.repair_diff, before_header=header, after_header=header))
        return items


class InstallPlanner:
    """Plans and applies changes to backend directories of one store."""

    def __init__(self, store: BackendStore, client, registry_mirrors: dict[str, str] | None = None,
                 ownership: owners.Ownership | None = None, upstream_fallback: bool = True,
                 inflaters: Inflaters | None = None) -> None:
        self.store = store
        self.client = client
        self.inflaters = inflaters or Inflaters()
        self.registry_mirrors = registry_mirrors
        self.upstream_fallback = upstream_fallback
        self.ownership = ownership or owners.Ownership()
        self.warnings: list[str] = []

    # --- planning (no writes) -----------------------------------------------------------------------
    def _sources(self, backend: ConcreteBackend) -> list:
        """The source of each attempt of the chain (oci/source_chain.py), in order."""
        verified_manifests = (backend.pin or {}).get("verified_manifests")
        return [open_source(attempt, self.client, backend.sha256, verified_manifests, self.inflaters)
                for attempt in source_chain(backend.uris, self.registry_mirrors, self.upstream_fallback)]

    def _current_revision(self, backend: ConcreteBackend):
        return first_answer(self._sources(backend), lambda source: source.current_revision(), _SOURCE_FAILURES)

    def _repair(self, change: Change, backend_fd: int) -> Change:
        """Turn an unchanged plan into a repair when ownership or run.sh mode differ from what is wanted."""
        differing, shared = owners.differing_entries(backend_fd, self.ownership)
        if shared:
            self._warn("backend %s: %d hard-linked files (%s) are not owned as asked; a repair never changes the owner "
                       "of a file with several links (one may be outside the backend): reinstall with force: true"
                       % (change.name, len(shared), ", ".join(rel[:200] for rel in shared[:3])))
        not_executable = owners.run_file_needs_exec(backend_fd)
        if not differing and not not_executable:
            return change
        reasons = []
        if differing:
            reasons.append("ownership of %d entries differs from owner %s group %s"
                           % (differing, _id_text(self.ownership.uid), _id_text(self.ownership.gid)))
        if not_executable:
            reasons.append("run.sh is not executable by its owner")
        change.action, change.reason = REPAIR, "; ".join(reasons)
        wanted = {"owner": self.ownership.uid, "group": self.ownership.gid, "entries_owned_otherwise": 0,
                  "run_sh_executable": True}
        change.repair_diff = {"before": dict(wanted, entries_owned_otherwise=differing,
                                             run_sh_executable=not not_executable), "after": wanted}
        return change

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _read_state(self, backend_fd: int | None, path: str) -> dict | None:
        """metadata.json of an installed directory (None when there is no directory or it is unreadable)."""
        if backend_fd is None:
            return None
        try:
            return read_metadata(backend_fd, path)
        except MetadataError:
            return None

    def plan(self, backend: ConcreteBackend, state: str = "present", force: bool = False,
             known_revision=None) -> Change:
        """What the concrete backend needs; `known_revision` was fetched earlier in this run (no second request)."""
        with self.store.backend(backend.name) as backend_fd:
            return self._plan(backend, backend_fd, state, force, known_revision)

    def _plan(self, backend: ConcreteBackend, backend_fd: int | None, state: str, force: bool,
              known_revision) -> Change:
        directory = self.store.backend_path(backend.name)
        before = self._read_state(backend_fd, directory)
        if known_revision is None and backend.pin:
            known_revision = RemoteRevision(backend.pin["digest"])  # what the controller resolved for this run

        def install(reason: str, revision=known_revision) -> Change:
            return Change(backend.name, directory, INSTALL, reason, before,
                          backend.metadata(revision.digest if revision else None), revision)

        if force:
            return install("forced")
        if not is_runnable_at(backend_fd):
            return install("not runnable (run.sh missing)" if self.store.entry_exists(backend.name)
                           else "not installed")
        unchanged = Change(backend.name, directory, None, "up to date", before)
        if state != "latest":
            return self._repair(unchanged, backend_fd)
        recorded = before or {}
        if backend.version:
            if recorded.get("version") != backend.version:
                return install("version changed from %s to %s" % (recorded.get("version") or "unknown",
                                                                  backend.version))
            return self._repair(unchanged, backend_fd)
        revision = known_revision or self._current_revision(backend)
        unchanged.revision = revision
        if revision is None or revision.digest == recorded.get("digest"):
            return self._repair(unchanged, backend_fd)
        if revision.platform_digest and revision.platform_digest == recorded.get("digest"):
            return Change(backend.name, directory, REWRITE,
                          "the recorded digest is this platform's manifest in index %s (as releases before 0.2.0 "
                          "recorded it); metadata.json updated, nothing downloaded" % revision.digest,
                          before, ordered_metadata(dict(recorded, digest=revision.digest)), revision)
        return install("digest changed from %s to %s" % (recorded.get("digest") or "unknown", revision.digest),
                       revision)

    def plan_meta(self, meta_name: str, concrete: ConcreteBackend) -> Change:
        """`<meta>/metadata.json` pointing at the concrete, with the concrete's version (as upstream writes it)."""
        directory = self.store.backend_path(meta_name)
        with self.store.backend(meta_name) as meta_fd:
            before = self._read_state(meta_fd, directory)
            wanted = ordered_metadata({"meta_backend_for": concrete.name, "name": meta_name,
                                       "gallery_url": concrete.gallery_url, "version": concrete.version})
            current = before is not None and not is_runnable_at(meta_fd) and all(
                (before.get(key) or "") == (wanted.get(key) or "")
                for key in ("meta_backend_for", "name", "gallery_url", "version"))
            if current:
                differing, _shared = owners.differing_entries(meta_fd, self.ownership)
                if not differing:
                    return Change(meta_name, directory, None, "up to date", before)
                return Change(meta_name, directory, REPAIR, "ownership of %d entries differs" % differing, before)
        written = ordered_metadata(dict(wanted, installed_at=now_rfc3339()))
        return Change(meta_name, directory, WRITE_META,
                      "points at %s" % concrete.name if before else "not installed", before, written)

    # --- applying (lock held) ---------------------------------------------------------------------------
    def apply(self, change: Change, backend: ConcreteBackend | None = None) -> Change:
        """Carry out a change planned under the lock the caller holds (`backend` is needed to install)."""
        if change.action == INSTALL:
            return self._install_from_sources(change, backend)
        if change.action == WRITE_META:
            with self.store.staging(change.name) as staged:
                self.store.commit(change.name, staged, change.after, require_run_file=False,
                                  ownership=self.ownership)
        elif change.action in (REWRITE, REPAIR):
            with self.store.backend(change.name) as backend_fd:
                if backend_fd is None:
                    raise InvalidBackendError("backend %s vanished from %s while this run repaired it"
                                              % (change.name, self.store.path))
                if change.action == REWRITE:
                    uid = -1 if self.ownership.uid is None else self.ownership.uid
                    gid = -1 if self.ownership.gid is None else self.ownership.gid
                    replace_metadata(backend_fd, change.after, uid, gid)
                owners.make_run_file_executable(backend_fd)
                owners.repair(backend_fd, self.ownership)
        return change

    def _install_from_sources(self, change: Change, backend: ConcreteBackend) -> Change:
        def install(source) -> Change:
            with self.store.staging(backend.name) as staged:
                digest = source.fill(staged.fd)
                written = backend.metadata(digest)
                self.store.commit(backend.name, staged, written, ownership=self.ownership)
            self.warnings.extend(source.warnings)
            change.after, change.source = written, str(source)
            change.revision = None  # the digest is now what metadata.json records
            return change
        return first_answer(self._sources(backend), install, _SOURCE_FAILURES)


def _id_text(value: int | None) -> str:
    return "unchanged" if value is None else str(value)
