# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who owns an installed backend, and its run.sh execute bit.

LocalAI often runs as its own user; at start it chmods a run.sh that lacks the execute bit
(pkg/model/process.go) and Python backends rewrite files under venv/, so every entry of a backend
must belong to that user.

Ownership is applied in staging, inside root's own work directory, before the swap: there nobody can race it.
A repair of an installed backend (a tree the LocalAI user can change at any moment) walks it by descriptor and
changes each entry through a descriptor of the inode it checked (docs/architecture.md "Trust boundary").
"""

from __future__ import annotations

import grp
import os
import pwd
import stat

from ansible_collections.localai.gallery.plugins.module_utils.descriptors import (
    O_CLOEXEC,
    chown_link,
    entry_stat,
    iter_tree,
    same_inode,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import OwnershipError

RUN_FILE = "run.sh"


class Ownership:
    """A wanted uid/gid pair; None leaves that id as it is (as ansible.builtin.file does)."""

    def __init__(self, uid: int | None = None, gid: int | None = None) -> None:
        self.uid = uid
        self.gid = gid

    @classmethod
    def from_names(cls, owner: str | None, group: str | None) -> "Ownership":
        """Names or numeric ids, resolved on the target; an unknown name raises OwnershipError."""
        return cls(_resolve(owner, pwd.getpwnam, "pw_uid", "user"), _resolve(group, grp.getgrnam, "gr_gid", "group"))

    @property
    def wanted(self) -> bool:
        return self.uid is not None or self.gid is not None

    def matches(self, info: os.stat_result) -> bool:
        return (self.uid is None or info.st_uid == self.uid) and (self.gid is None or info.st_gid == self.gid)


def _resolve(value: str | None, lookup, attribute: str, what: str) -> int | None:
    if value is None or value == "":
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return getattr(lookup(text), attribute)
    except KeyError:
        raise OwnershipError("%s %r does not exist on this host: create it first or give a numeric id" % (what, text))


def _ids(ownership: Ownership) -> tuple[int, int]:
    return (-1 if ownership.uid is None else ownership.uid, -1 if ownership.gid is None else ownership.gid)


def apply_in_staging(stage_fd: int, ownership: Ownership) -> int:
    """lchown every entry of a staging tree (links included) that differs; returns how many were changed.

    Only for a tree in our root-only work directory: nobody else can change it while it is walked.
    """
    if not ownership.wanted:
        return 0
    uid, gid = _ids(ownership)
    changed = 0
    if not ownership.matches(os.fstat(stage_fd)):
        os.fchown(stage_fd, uid, gid)
        changed += 1
    for dir_fd, name, info, _rel in iter_tree(stage_fd):
        if not ownership.matches(info):
            os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
            changed += 1
    return changed


class _RepairWalk:
    """The entries of an installed backend (a tree the LocalAI user can change while it is walked) whose owner
    differs: directories, single-link regular files and links, each changed only as the very inode that was
    checked (a descriptor of it). A file with several hard links is only listed in `shared`: it may be a link to
    a file outside the backend, and chowning it would hand that file to the LocalAI user."""

    def __init__(self, ownership: Ownership) -> None:
        self.ownership = ownership
        self.shared: list[str] = []

    def __call__(self, backend_fd: int):
        """(dir_fd, name, info, descriptor or None for a link) of each entry to change."""
        for dir_fd, name, info, rel in iter_tree(backend_fd):
            kind = stat.S_IFMT(info.st_mode)
            if self.ownership.matches(info) or kind not in (stat.S_IFDIR, stat.S_IFREG, stat.S_IFLNK):
                continue
            if kind == stat.S_IFREG and info.st_nlink > 1:
                self.shared.append(rel)
                continue
            if kind == stat.S_IFLNK:
                yield dir_fd, name, info, None
                continue
            descriptor = _open_checked(name, dir_fd, info)
            if descriptor is not None:
                yield dir_fd, name, info, descriptor


def _open_checked(name: str, dir_fd: int, info: os.stat_result) -> int | None:
    """A descriptor of `name` if it is still the inode `info` describes (never through a link), else None."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | O_CLOEXEC
    if stat.S_ISDIR(info.st_mode):
        flags |= os.O_DIRECTORY
    try:
        descriptor = os.open(name, flags, dir_fd=dir_fd)
    except OSError:
        return None  # gone or swapped meanwhile: nothing of ours to change
    current = os.fstat(descriptor)
    if not same_inode(current, info) or (stat.S_ISREG(current.st_mode) and current.st_nlink > 1):
        os.close(descriptor)
        return None
    return descriptor


def differing_entries(backend_fd: int, ownership: Ownership) -> tuple[int, list[str]]:
    """(entries of an installed backend a repair would change, hard-linked files it would leave as they are)."""
    if not ownership.wanted:
        return 0, []
    walk = _RepairWalk(ownership)
    count = 0 if ownership.matches(os.fstat(backend_fd)) else 1
    for _dir_fd, _name, _info, descriptor in walk(backend_fd):
        if descriptor is not None:
            os.close(descriptor)
        count += 1
    return count, walk.shared


def repair(backend_fd: int, ownership: Ownership) -> tuple[int, list[str]]:
    """fchown what differing_entries counts; returns (how many were changed, hard-linked files left as they are)."""
    if not ownership.wanted:
        return 0, []
    uid, gid = _ids(ownership)
    walk = _RepairWalk(ownership)
    changed = 0
    if not ownership.matches(os.fstat(backend_fd)):
        os.fchown(backend_fd, uid, gid)
        changed += 1
    for dir_fd, name, info, descriptor in walk(backend_fd):
        if descriptor is None:
            changed += chown_link(name, dir_fd, info, uid, gid)
            continue
        try:
            os.fchown(descriptor, uid, gid)
        finally:
            os.close(descriptor)
        changed += 1
    return changed, walk.shared


def run_file_needs_exec(dir_fd: int) -> bool:
    """True when run.sh is a regular file its owner cannot execute."""
    info = entry_stat(RUN_FILE, dir_fd)
    return info is not None and stat.S_ISREG(info.st_mode) and not info.st_mode & stat.S_IXUSR


def make_run_file_executable(dir_fd: int) -> bool:
    """Add u+x (and g+x/o+x where read is granted) to a regular, single-link run.sh; True when it changed."""
    info = entry_stat(RUN_FILE, dir_fd)
    if info is None or not stat.S_ISREG(info.st_mode) or info.st_mode & stat.S_IXUSR:
        return False
    descriptor = _open_checked(RUN_FILE, dir_fd, info)
    if descriptor is None:
        return False
    try:
        mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
        # Execute follows read, as `chmod +x` under a 022 umask would give: 0644 -> 0755, 0600 -> 0700.
        mode |= stat.S_IXUSR | (stat.S_IXGRP if mode & stat.S_IRGRP else 0) | \
            (stat.S_IXOTH if mode & stat.S_IROTH else 0)
        os.fchmod(descriptor, mode)
    finally:
        os.close(descriptor)
    return True
