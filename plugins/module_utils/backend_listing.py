# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What LocalAI lists in a backends directory (core/gallery/backends.go ListSystemBackends).

Parity with upstream, rule by rule:
- only real directories count (Go's os.ReadDir DirEntry.IsDir: a link to a directory is not one),
  visited in name order;
- a directory is a concrete row when its run.sh exists (os.Stat, links followed);
- per directory, the concrete row is written first, then the meta row keyed by metadata `name`,
  so later directories win over earlier ones and a meta over its own directory's row;
- every directory with an `alias` is an alias candidate whether or not it holds run.sh; the alias row
  goes to the first candidate (name order) whose lowercased name contains the first matching
  capability token, else to the first candidate; alias rows are written last.

Deviations (docs/behaviour.md): a missing backends path is an empty list; an unreadable metadata.json
is a warning for that entry (upstream fails the whole listing), and so is one that is a link, not a regular
file, or over 1 MiB (never read: root does not read files for the LocalAI user); our work directory is never
listed. Every directory is opened with O_NOFOLLOW relative to the backends path's descriptor.
"""

from __future__ import annotations

import os

from ansible_collections.localai.gallery.plugins.module_utils import provenance
from ansible_collections.localai.gallery.plugins.module_utils.capability import preference_tokens
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    InvalidNameError,
    MetadataError,
    UntrustedDirectoryError,
)
from ansible_collections.localai.gallery.plugins.module_utils.metadata import read_metadata
from ansible_collections.localai.gallery.plugins.module_utils.store import (
    RUN_FILE,
    BackendStore,
    is_runnable_at,
    is_work_entry,
)


def prefer_directory(directories: list[str], capability: str) -> str:
    """Among directories sharing an alias: the first capability token found in a lowercased name wins, then order."""
    for token in preference_tokens(capability):
        for directory in directories:
            if token in directory.lower():
                return directory
    return directories[0]


class InstalledBackend:
    """One directory of a backends path with its metadata (or the warning that it could not be read)."""

    def __init__(self, root: BackendStore, directory: str, is_system: bool = False) -> None:
        self.directory = directory
        self.path = os.path.join(root.path, directory)
        self.is_system = is_system
        self.warning = None
        with root.backend(directory) as backend_fd:
            self.runnable = is_runnable_at(backend_fd)
            try:
                self.metadata = read_metadata(backend_fd, self.path) if backend_fd is not None else {}
            except MetadataError as exc:
                self.metadata = {}
                self.warning = str(exc)

    @property
    def meta_backend_for(self) -> str | None:
        return self.metadata.get("meta_backend_for") or None

    @property
    def name(self) -> str:
        """Upstream reads a missing metadata.json as {name: directory}."""
        return self.metadata.get("name") or self.directory


def _target_state(root: BackendStore, directory: str) -> tuple[dict, bool]:
    """(metadata or {}, runnable) of the directory a meta or alias row runs."""
    try:
        with root.backend(directory) as backend_fd:
            if backend_fd is None:
                return {}, False
            try:
                return read_metadata(backend_fd, os.path.join(root.path, directory)), is_runnable_at(backend_fd)
            except MetadataError:
                return {}, is_runnable_at(backend_fd)
    except InvalidNameError:
        return {}, False  # a meta_backend_for that is not a directory name


def _directories(root: BackendStore) -> list[str]:
    root_fd = root.directory_fd()
    if root_fd is None:
        return []
    with os.scandir(root_fd) as entries:
        return sorted(entry.name for entry in entries if entry.is_dir(follow_symlinks=False))


def scan(root: BackendStore | None, is_system: bool = False) -> list[InstalledBackend]:
    """Every backend directory of a backends path in name order (our work directory skipped); a missing path
    (or none given) is empty."""
    if root is None:
        return []
    return [InstalledBackend(root, entry, is_system) for entry in _directories(root) if not is_work_entry(entry)]


def ui_meta_directories(installed: list[InstalledBackend], name: str) -> list[str]:
    """Meta directories LocalAI's web UI made for meta `name`: it installs `gallery@name` under that very name
    (core/gallery/backends.go InstallBackendFromGallery: `metaBackendPath := filepath.Join(BackendsPath, name)`),
    so the directory is `<gallery>@<name>`."""
    wanted = name.lower()
    return [backend.directory for backend in installed
            if backend.meta_backend_for and backend.directory.partition("@")[2].lower() == wanted]


def _row(root: BackendStore, backend: InstalledBackend, name: str, target_dir: str, kind: str, **flags) -> dict:
    path = os.path.join(root.path, target_dir)
    # A meta or alias row runs its build: the build's metadata decides which digest was verified.
    if target_dir == backend.directory:
        target_metadata, runnable = backend.metadata, backend.runnable
    else:
        target_metadata, runnable = _target_state(root, target_dir)
    signer = None if backend.is_system else \
        provenance.verified_signer(root, target_dir, target_metadata.get("digest"))
    row = {"name": name, "kind": kind, "directory": target_dir, "path": path, "run_file": os.path.join(path, RUN_FILE),
           "verified": signer is not None, "signer": signer, "runnable": runnable,
           # What runs: a meta or alias row reports its build's digest and version.
           "digest": target_metadata.get("digest") or None, "version": target_metadata.get("version") or None,
           "is_system": backend.is_system, "is_meta": False, "is_alias": False,
           "meta_backend_for": backend.meta_backend_for, "alias": backend.metadata.get("alias"),
           "metadata": backend.metadata}
    row.update(flags)
    return row


def list_backends(store: BackendStore, system_store: BackendStore | None, capability: str) -> tuple[dict, list[str]]:
    """({name: row}, warnings): the rows LocalAI would register, in its order (later rows win)."""
    warnings = []
    rows: dict[str, dict] = {}
    try:
        system_backends = scan(system_store, is_system=True)
    except UntrustedDirectoryError as exc:
        system_backends, warnings = [], ["system backends path not listed: %s" % exc]
    for backend in system_backends:
        if backend.runnable:
            rows[backend.directory] = _row(system_store, backend, backend.directory, backend.directory, "system")
    aliases: dict[str, list[InstalledBackend]] = {}
    for backend in scan(store):
        if backend.warning:
            warnings.append("backend %s: %s" % (backend.directory, backend.warning))
        if backend.runnable:
            rows[backend.directory] = _row(store, backend, backend.directory, backend.directory, "concrete")
        if backend.metadata.get("alias"):
            aliases.setdefault(backend.metadata["alias"], []).append(backend)
        if backend.meta_backend_for:
            rows[backend.name] = _row(store, backend, backend.name, backend.meta_backend_for, "meta",
                                      is_meta=True, meta_directory=backend.directory)
    for alias, candidates in aliases.items():
        chosen_dir = prefer_directory([candidate.directory for candidate in candidates], capability)
        chosen = next(candidate for candidate in candidates if candidate.directory == chosen_dir)
        shadowed = rows.get(alias)
        if shadowed is not None and shadowed["is_meta"] and shadowed["directory"] == chosen_dir:
            # A meta install whose build carries the meta's name as alias (llama-cpp -> cpu-llama-cpp): LocalAI
            # registers the alias row, an operator installed a meta; both run the same run.sh.
            rows[alias] = _row(store, chosen, alias, chosen_dir, "meta", is_alias=True,
                               meta_directory=shadowed["meta_directory"])
        else:
            rows[alias] = _row(store, chosen, alias, chosen_dir, "alias", is_alias=True)
    return rows, warnings + store.warnings
