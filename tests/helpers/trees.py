# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A comparable picture of a directory tree: {relative path: (type, mode, content or link target)}."""

from __future__ import annotations

import os
import stat
import weakref


def snapshot(root, mode_mask: int = 0o7777) -> dict:
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, root)
            mode = oct(stat.S_IMODE(info.st_mode) & mode_mask)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("dir", mode)
            else:
                with open(path, "rb") as handle:
                    found[relative] = ("file", mode, handle.read())
    return found


def extractor_at(path, space_budget: int | None = None):
    """A LayerExtractor on the directory at `path` (the engine takes a descriptor); closed when the object goes."""
    from ansible_collections.localai.gallery.plugins.module_utils.layers import LayerExtractor

    descriptor = os.open(str(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    extractor = LayerExtractor(descriptor, space_budget)
    weakref.finalize(extractor, os.close, descriptor)
    return extractor


def read_metadata_at(path) -> dict:
    """metadata.json of the directory at `path`, read as the engine reads it."""
    from ansible_collections.localai.gallery.plugins.module_utils.metadata import read_metadata

    descriptor = os.open(str(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return read_metadata(descriptor, str(path))
    finally:
        os.close(descriptor)


def listing(backends_path, system_backends_path, capability: str):
    """list_backends on paths, as backend_facts calls it: ({name: row}, warnings)."""
    from ansible_collections.localai.gallery.plugins.module_utils.backend_listing import list_backends
    from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore, read_only_store

    with BackendStore(str(backends_path)) as store, read_only_store(system_backends_path) as system:
        return list_backends(store, system, capability)


def removal_plan(backends_path, system_backends_path, name: str, capability: str) -> list[str]:
    """plan_removal on a path, as backend_remove calls it."""
    from ansible_collections.localai.gallery.plugins.module_utils.flow_remove import plan_removal
    from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore

    with BackendStore(str(backends_path)) as store:
        return plan_removal(store, system_backends_path, name, capability)
