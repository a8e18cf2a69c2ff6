# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who owns an installed backend, and its run.sh execute bit.

LocalAI often runs as its own user; at start it chmods a run.sh that lacks the execute bit
(pkg/model/process.go) and Python backends rewrite files under venv/, so every entry of a backend
must belong to that user. Links are changed with lchown and never followed.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat

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

    def describe(self) -> dict:
        return {"owner": self.uid, "group": self.gid}


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


def _entries(root: str):
    """The root and every path below it, never descending into a linked directory."""
    yield root
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            yield os.path.join(directory, name)


def differing_entries(root: str, ownership: Ownership) -> int:
    """How many entries of the tree at root are not owned as wanted (0 when nothing is wanted)."""
    if not ownership.wanted:
        return 0
    return sum(1 for path in _entries(root) if not ownership.matches(os.lstat(path)))


def apply(root: str, ownership: Ownership) -> int:
    """lchown every entry of the tree that differs; returns how many were changed."""
    if not ownership.wanted:
        return 0
    changed = 0
    uid = -1 if ownership.uid is None else ownership.uid
    gid = -1 if ownership.gid is None else ownership.gid
    for path in _entries(root):
        if not ownership.matches(os.lstat(path)):
            os.chown(path, uid, gid, follow_symlinks=False)
            changed += 1
    return changed


def run_file_needs_exec(directory: str) -> bool:
    """True when run.sh is a regular file its owner cannot execute."""
    try:
        info = os.lstat(os.path.join(directory, RUN_FILE))
    except FileNotFoundError:
        return False
    return stat.S_ISREG(info.st_mode) and not info.st_mode & stat.S_IXUSR


def make_run_file_executable(directory: str) -> bool:
    """Add u+x (and g+x/o+x where read is granted) to a regular run.sh; True when it changed."""
    if not run_file_needs_exec(directory):
        return False
    path = os.path.join(directory, RUN_FILE)
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    # Execute follows read, as `chmod +x` under a 022 umask would give: 0644 -> 0755, 0600 -> 0700.
    mode |= stat.S_IXUSR | (stat.S_IXGRP if mode & stat.S_IRGRP else 0) | (stat.S_IXOTH if mode & stat.S_IROTH else 0)
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fchmod(descriptor, mode)
    finally:
        os.close(descriptor)
    return True
