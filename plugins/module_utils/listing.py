# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What LocalAI would list in a backends directory, and which directories a removal takes.

Deviation from upstream: a missing backends path is an empty list, and an unreadable metadata.json
is a warning for that entry rather than a failure of the whole listing.
"""

from __future__ import annotations

import os

from ansible_collections.localai.gallery.plugins.module_utils.errors import MetadataError, SystemBackendError
from ansible_collections.localai.gallery.plugins.module_utils.metadata import read_metadata
from ansible_collections.localai.gallery.plugins.module_utils.store import (
    RUN_FILE,
    backup_owner,
    has_run_file,
    is_work_entry,
    validate_backend_name,
)

_ALIAS_TOKENS = {
    "amd": ("rocm", "hip", "vulkan", "cpu"), "intel": ("sycl", "intel", "cpu"), "metal": ("metal", "cpu"),
    "darwin-x86": ("darwin-x86", "cpu"), "vulkan": ("vulkan", "cpu"),
}


def alias_tokens(capability: str) -> tuple[str, ...]:
    if capability.startswith("nvidia"):
        return ("cuda", "vulkan", "cpu")
    return _ALIAS_TOKENS.get(capability, ("cpu",))


def prefer_directory(directories: list[str], capability: str) -> str:
    """Among directories sharing an alias: the first capability token found in a name wins, then name order."""
    ordered = sorted(directories)
    for token in alias_tokens(capability):
        for directory in ordered:
            if token in directory:
                return directory
    return ordered[0]


class InstalledBackend:
    """One directory of a backends path with its metadata (or the warning that it could not be read)."""

    def __init__(self, root: str, directory: str, is_system: bool = False, listed_as: str | None = None) -> None:
        self.directory = listed_as or directory
        self.path = os.path.join(root, directory)
        self.is_system = is_system
        self.runnable = has_run_file(self.path)
        self.warning = None
        try:
            self.metadata = read_metadata(self.path)
        except MetadataError as exc:
            self.metadata = {}
            self.warning = str(exc)

    @property
    def meta_backend_for(self) -> str | None:
        return self.metadata.get("meta_backend_for") or None

    @property
    def name(self) -> str:
        return self.metadata.get("name") or self.directory


def scan(root: str | None, is_system: bool = False) -> list[InstalledBackend]:
    """Every backend directory under root (work directories skipped); a missing root is empty."""
    if not root:
        return []
    try:
        entries = sorted(os.listdir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    present = set(entries)
    backends = []
    for entry in entries:
        if not os.path.isdir(os.path.join(root, entry)):
            continue
        if not is_work_entry(entry):
            backends.append(InstalledBackend(root, entry, is_system))
            continue
        owner = backup_owner(entry)
        if owner and owner not in present:
            # A run killed between the two renames of a fallback swap: the previous version, intact.
            backends.append(InstalledBackend(root, entry, is_system, listed_as=owner))
            present.add(owner)
    return backends


def _row(backend: InstalledBackend, name: str, target_dir: str, root: str, **flags) -> dict:
    is_own_directory = target_dir == backend.directory
    path = backend.path if is_own_directory else os.path.join(root, target_dir)
    run_file = os.path.join(path, RUN_FILE)
    row = {"name": name, "directory": target_dir, "path": path, "run_file": run_file,
           "runnable": backend.runnable if is_own_directory else os.path.isfile(run_file), "is_system": backend.is_system, "is_meta": False, "is_alias": False,
           "meta_backend_for": backend.meta_backend_for, "alias": backend.metadata.get("alias"),
           "metadata": backend.metadata}
    row.update(flags)
    return row


def list_backends(backends_path: str, system_backends_path: str | None, capability: str) -> tuple[dict, list[str]]:
    """({name: row}, warnings): rows for system, concrete, meta and alias names; later kinds win."""
    warnings = []
    rows: dict[str, dict] = {}
    for backend in scan(system_backends_path, is_system=True):
        if backend.runnable:
            rows[backend.directory] = _row(backend, backend.directory, backend.directory, system_backends_path)
    installed = scan(backends_path)
    metas, aliases = [], {}
    for backend in installed:
        if backend.warning:
            warnings.append("backend %s: %s" % (backend.directory, backend.warning))
        if backend.runnable:
            rows[backend.directory] = _row(backend, backend.directory, backend.directory, backends_path)
        if backend.meta_backend_for:
            metas.append(backend)
        elif backend.metadata.get("alias") and backend.runnable:
            aliases.setdefault(backend.metadata["alias"], []).append(backend)
    for backend in metas:
        rows[backend.name] = _row(backend, backend.name, backend.meta_backend_for, backends_path, is_meta=True,
                                  meta_directory=backend.directory)
    for alias, backends in aliases.items():
        chosen_dir = prefer_directory([backend.directory for backend in backends], capability)
        chosen = next(backend for backend in backends if backend.directory == chosen_dir)
        rows[alias] = _row(chosen, alias, chosen_dir, backends_path, is_alias=True)
    return rows, warnings


def plan_removal(backends_path: str, system_backends_path: str | None, name: str, capability: str) -> list[str]:
    """Directories to delete for `name` (a directory, meta name, alias or recorded gallery name), meta first.

    An empty list means nothing is installed under that name. A system backend raises SystemBackendError.
    """
    validate_backend_name(name)
    installed = scan(backends_path)
    by_directory = {backend.directory: backend for backend in installed}
    target = by_directory.get(name)
    if target is None:
        target = next((backend for backend in installed if backend.name == name), None)
    if target is None:
        aliased = [backend for backend in installed if backend.metadata.get("alias") == name
                   and not backend.meta_backend_for]
        if aliased:
            chosen = prefer_directory([backend.directory for backend in aliased], capability)
            target = by_directory[chosen]
    if target is None:
        if any(backend.directory == name for backend in scan(system_backends_path, is_system=True)):
            raise SystemBackendError("backend %s is a system backend in %s and cannot be removed (the system "
                                     "backends path is read-only)" % (name, system_backends_path))
        return []
    directories = [target.directory]
    concrete = target.meta_backend_for
    if concrete and concrete in by_directory and concrete != target.directory:
        directories.append(concrete)
    return directories
