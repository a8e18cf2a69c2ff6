# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LocalAI's last good copy of a gallery index, seeded on a host so that a LocalAI with no network lists it.

LocalAI (core/gallery/gallery_mirrors.go at 82c191a) serves `<basePath>/../cache/gallery/<sha256 of the gallery
URL>.yaml` when no source of a gallery answers; for backend galleries basePath is the backends path, and only an
absolute one has a cache (`if !filepath.IsAbs(basePath) { return "" }`). A usable copy is a non-empty YAML
sequence (isUsableGalleryIndex); the JSON list written here is one.

The cache directory is LocalAI's own (it creates it 0750 as its user), so root trusts nothing there: every step is
relative to a descriptor opened with O_NOFOLLOW and checked, the file is created anew, never through a link, owned
by LocalAI's user, and renamed into place.
"""

from __future__ import annotations

import os
import stat
import uuid

from ansible_collections.localai.gallery.plugins.module_utils.descriptors import (
    entry_stat,
    open_real_directory,
    read_small_file,
    remove_entry_at,
    write_new_file,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import UnsafeFileError, UntrustedDirectoryError
from ansible_collections.localai.gallery.plugins.module_utils.ownership import Ownership

MAX_INDEX_BYTES = 32 << 20  # the galleries' own bound on the controller (gallery_cache.MAX_GALLERY_BYTES)
DIRECTORY_MODE, FILE_MODE = 0o750, 0o640  # as LocalAI makes them


def cache_directory(backends_path: str) -> str:
    """filepath.Join(basePath, "..", "cache", "gallery"): Go cleans the path, so `..` is the parent."""
    if not os.path.isabs(backends_path):
        raise UntrustedDirectoryError("backends path %s is not absolute: LocalAI keeps no gallery cache for it "
                                      "(galleryCachePath); give an absolute backends_path" % backends_path)
    return os.path.join(os.path.dirname(os.path.normpath(backends_path)), "cache", "gallery")


def _checked_directory(name: str, parent_fd: int, label: str, ownership: Ownership, create: bool) -> int | None:
    """A descriptor of the real directory `name`, owned by root or LocalAI's user; made (theirs) when missing."""
    descriptor = open_real_directory(name, parent_fd)
    if descriptor is None and entry_stat(name, parent_fd) is not None:
        raise UntrustedDirectoryError("%s is not a real directory (a link or a file): not used; remove it" % label)
    if descriptor is None:
        if not create:
            return None
        os.mkdir(name, DIRECTORY_MODE, dir_fd=parent_fd)
        descriptor = open_real_directory(name, parent_fd)
        os.fchmod(descriptor, DIRECTORY_MODE)
        if ownership.wanted:
            os.fchown(descriptor, -1 if ownership.uid is None else ownership.uid,
                      -1 if ownership.gid is None else ownership.gid)
    info = os.fstat(descriptor)
    if info.st_uid not in (0, os.geteuid(), ownership.uid):
        os.close(descriptor)
        raise UntrustedDirectoryError("%s belongs to uid %d, neither root nor LocalAI's user: not used"
                                      % (label, info.st_uid))
    return descriptor


def seed(backends_path: str, seeds: list[dict], ownership: Ownership, check_mode: bool) -> list[dict]:
    """Write each seed ({name, key, content}) as `<key>.yaml`; [{name, path, changed}] in the seeds' order."""
    directory = cache_directory(backends_path)
    parent = os.path.dirname(os.path.dirname(directory))
    parent_fd = open_real_directory(parent)
    if parent_fd is None:
        raise UntrustedDirectoryError("%s (the backends path's parent) is not a real directory" % parent)
    results = []
    opened = [parent_fd]
    try:
        cache_fd = _checked_directory("cache", parent_fd, os.path.dirname(directory), ownership, not check_mode)
        gallery_fd = None
        if cache_fd is not None:
            opened.append(cache_fd)
            gallery_fd = _checked_directory("gallery", cache_fd, directory, ownership, not check_mode)
            if gallery_fd is not None:
                opened.append(gallery_fd)
        for item in seeds:
            name = "%s.yaml" % item["key"]
            data = item["content"].encode("utf-8")
            path = os.path.join(directory, name)
            current = _current(name, gallery_fd, path)
            changed = current != data or (gallery_fd is not None and not _owned_as_wanted(name, gallery_fd, ownership))
            if changed and not check_mode:
                _replace(name, gallery_fd, data, ownership)
            results.append({"name": item["name"], "path": path, "changed": changed})
    finally:
        for descriptor in reversed(opened):
            os.close(descriptor)
    return results


def _current(name: str, gallery_fd: int | None, label: str) -> bytes | None:
    if gallery_fd is None:
        return None
    try:
        return read_small_file(name, gallery_fd, label, MAX_INDEX_BYTES)
    except UnsafeFileError:
        return None  # a link or a FIFO where the copy goes: replaced by a real file


def _owned_as_wanted(name: str, gallery_fd: int, ownership: Ownership) -> bool:
    info = os.stat(name, dir_fd=gallery_fd, follow_symlinks=False)
    return stat.S_IMODE(info.st_mode) == FILE_MODE and ownership.matches(info)


def _replace(name: str, gallery_fd: int, data: bytes, ownership: Ownership) -> None:
    staged = ".gallery-%s.tmp" % uuid.uuid4().hex  # LocalAI's own temporary names (os.CreateTemp ".gallery-*.tmp")
    write_new_file(staged, gallery_fd, data, FILE_MODE, -1 if ownership.uid is None else ownership.uid,
                   -1 if ownership.gid is None else ownership.gid)
    try:
        os.rename(staged, name, src_dir_fd=gallery_fd, dst_dir_fd=gallery_fd)
    except OSError:
        remove_entry_at(staged, gallery_fd, ignore_errors=True)
        raise
