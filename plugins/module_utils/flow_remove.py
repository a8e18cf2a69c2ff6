# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backend_remove on the target: which directories a name stands for, and their removal under the lock.

As LocalAI's DeleteBackendFromSystem: a directory name, a meta name, an alias, or the gallery name recorded
in metadata.json; a meta takes its build along (even when that build is already gone); system backends are
refused. Deviation (docs/behaviour.md, Remove): a name that is not installed is no change, not an error.
"""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils import provenance
from ansible_collections.localai.gallery.plugins.module_utils.backend_listing import (
    prefer_directory,
    scan,
    ui_meta_directories,
)
from ansible_collections.localai.gallery.plugins.module_utils.backends_module import ModuleRequest
from ansible_collections.localai.gallery.plugins.module_utils.capability import (
    detect_capability,
    validate_capability_option,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import SystemBackendError
from ansible_collections.localai.gallery.plugins.module_utils.localai_writers import wait_for_localai
from ansible_collections.localai.gallery.plugins.module_utils.store import (
    BackendStore,
    read_only_store,
    validate_backend_name,
)


class RemoveRequest(ModuleRequest):
    """What to remove, from where, and for which capability (an alias names the build it prefers)."""

    options = ("name", "system_backends_path", "capability")


def plan_removal(store: BackendStore, system_backends_path: str | None, name: str, capability: str) -> list[str]:
    """Directories to delete for `name`, meta first; empty when nothing is installed under that name."""
    validate_backend_name(name)
    installed = scan(store)
    by_directory = {backend.directory: backend for backend in installed}
    target = by_directory.get(name)
    if target is None:
        target = next((backend for backend in installed if backend.name == name), None)
    if target is None:
        aliased = [backend.directory for backend in installed
                   if backend.metadata.get("alias") == name and not backend.meta_backend_for]
        if aliased:
            target = by_directory[prefer_directory(aliased, capability)]
    ui_metas = ui_meta_directories(installed, name) if "@" not in name else []
    if target is None and ui_metas:
        target = by_directory[ui_metas[0]]
    if target is None:
        with read_only_store(system_backends_path) as system_store:
            system_names = [backend.directory for backend in scan(system_store, is_system=True)]
        if name in system_names:
            raise SystemBackendError("backend %s is a system backend in %s and cannot be removed (the system "
                                     "backends path is read-only)" % (name, system_backends_path))
        return []
    directories = [target.directory]
    concrete = target.meta_backend_for
    if concrete and concrete in by_directory and concrete != target.directory:
        directories.append(concrete)
    # Beyond LocalAI (which leaves it behind, pointing at nothing): the UI's meta of this name goes with its build.
    dangling = [ui for ui in ui_metas if ui not in directories and by_directory[ui].meta_backend_for in directories]
    return dangling + directories


def run_remove(request: RemoveRequest, store: BackendStore, probe) -> dict:
    """The module's result; planned without the lock, planned again and carried out under it."""
    capability = detect_capability(probe, validate_capability_option(request.capability))["capability"]
    removed = plan_removal(store, request.system_backends_path, request.name, capability)
    if removed and not request.check_mode:
        with store.locked():
            removed = plan_removal(store, request.system_backends_path, request.name, capability)
            if removed:  # LocalAI itself may be installing or upgrading them
                store.warnings.extend(wait_for_localai(store.directory_fd(), removed, store.lock_timeout))
            for directory in removed:
                store.delete(directory)
                provenance.forget(store, directory)
    elif not request.check_mode:
        store.recover_leftovers()
    return {"changed": bool(removed), "removed": removed, "warnings": list(store.warnings),
            "diff": {"before": {"backends": sorted(removed)}, "after": {"backends": []},
                     "before_header": store.path, "after_header": store.path}}
