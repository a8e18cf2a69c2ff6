# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filesystem steps relative to directory descriptors, never following a symbolic link.

The backends path belongs to the user LocalAI runs as, and so does every backend directory in it: anything
there may change between two system calls (a directory exchanged with a link to /etc, a metadata.json linked
to a root-only file). So root opens each directory once, with O_DIRECTORY|O_NOFOLLOW, and names everything
else relative to that descriptor, one path component at a time, with AT_SYMLINK_NOFOLLOW where the call has
it: a name resolved that way is whatever sits in that directory now, never what a link points at. This is
what containerd's continuity/fs, runc's filepath-securejoin and umoci's unpriv package do in Go.

The walks below are iterative (a hostile tree may nest thousands of levels; os.fwalk recurses, one Python
frame per level) and open every directory with O_NOFOLLOW, then check with fstat that the descriptor is
the entry that was listed, so a directory exchanged with a link between the two calls is skipped.
"""

from __future__ import annotations

import errno
import os
import stat

try:
    import ctypes
    _LIBC = ctypes.CDLL(None, use_errno=True)
    _RENAMEAT2 = getattr(_LIBC, "renameat2", None)
    _FCHOWNAT = getattr(_LIBC, "fchownat", None)
except (ImportError, OSError):
    ctypes = None
    _RENAMEAT2 = _FCHOWNAT = None

from ansible_collections.localai.gallery.plugins.module_utils.errors import UnsafeFileError

O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | O_CLOEXEC
# O_NONBLOCK: opening a FIFO someone put in place of a file must not hang the module.
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | O_CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | O_CLOEXEC
MAX_SMALL_FILE = 1 << 20  # metadata.json, records: what a reader accepts of a file another user can write
_NOT_A_REAL_DIRECTORY = (errno.ELOOP, errno.ENOTDIR, errno.ENOENT)
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
_AT_EMPTY_PATH = 0x1000
_O_PATH = getattr(os, "O_PATH", 0)
_RENAME_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM)


def open_directory(name: str, dir_fd: int | None = None) -> int:
    """A descriptor of the real directory `name` (relative to dir_fd); OSError for a link, a file, nothing."""
    return os.open(name, DIRECTORY_FLAGS, dir_fd=dir_fd)


def open_real_directory(name: str, dir_fd: int | None = None) -> int | None:
    """Like open_directory, but None when `name` is missing, a link or not a directory."""
    try:
        return open_directory(name, dir_fd)
    except OSError as exc:
        if exc.errno in _NOT_A_REAL_DIRECTORY:
            return None
        raise


def entry_stat(name: str, dir_fd: int) -> os.stat_result | None:
    """lstat of `name` in the directory dir_fd, or None when nothing is there."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def same_inode(first: os.stat_result, second: os.stat_result) -> bool:
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def list_names(dir_fd: int) -> list[str]:
    """The entry names of the directory dir_fd (os.scandir works on its own duplicate of the descriptor)."""
    with os.scandir(dir_fd) as entries:
        return [entry.name for entry in entries]


def read_small_file(name: str, dir_fd: int, label: str, limit: int = MAX_SMALL_FILE) -> bytes | None:
    """The bytes of the regular file `name` (relative to dir_fd), or None when it is missing.

    A link, a FIFO, a device or a directory is refused, as is a file over `limit` bytes (UnsafeFileError
    naming `label`): the LocalAI user may put anything there, and root must not read it for them.
    """
    try:
        descriptor = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError("%s is a symbolic link: not read (it must be a regular file)" % label)
        raise
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError("%s is not a regular file: not read" % label)
        data = bytearray()
        while len(data) <= limit:
            piece = os.read(descriptor, limit + 1 - len(data))
            if not piece:
                break
            data += piece
        if len(data) > limit:
            raise UnsafeFileError("%s is larger than %d bytes: not read" % (label, limit))
        return bytes(data)
    finally:
        os.close(descriptor)


def write_new_file(name: str, dir_fd: int, data: bytes, mode: int, uid: int = -1, gid: int = -1) -> None:
    """Create `name` (never through a link; it must not exist), with exactly `mode` and the owner asked."""
    descriptor = os.open(name, CREATE_FLAGS, mode, dir_fd=dir_fd)
    try:
        os.fchmod(descriptor, mode)  # whatever the umask
        if uid != -1 or gid != -1:
            os.fchown(descriptor, uid, gid)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)


def iter_tree(root_fd: int):
    """(directory descriptor, name, lstat, path relative to the root) for every entry below the directory
    root_fd, parents first, names sorted.

    Never follows a link; a directory that is no longer the one listed when it is opened is not entered.
    A descriptor yielded is valid until the next step of the iteration.
    """
    levels = [(root_fd, iter(sorted(list_names(root_fd))), "")]
    try:
        while levels:
            dir_fd, names, prefix = levels[-1]
            name = next(names, None)
            if name is None:
                levels.pop()
                if dir_fd != root_fd:
                    os.close(dir_fd)
                continue
            info = entry_stat(name, dir_fd)
            if info is None:
                continue
            rel = prefix + name
            yield dir_fd, name, info, rel
            if stat.S_ISDIR(info.st_mode):
                child = open_real_directory(name, dir_fd)
                if child is None:
                    continue
                if not same_inode(os.fstat(child), info):
                    os.close(child)
                    continue
                levels.append((child, iter(sorted(list_names(child))), rel + "/"))
    finally:
        for dir_fd, _names, _prefix in levels:
            if dir_fd != root_fd:
                os.close(dir_fd)


def _empty_directory(root_fd: int) -> None:
    """Delete everything below the directory root_fd, deepest first, never following a link."""
    levels = [(root_fd, list_names(root_fd), None)]
    try:
        while levels:
            dir_fd, names, own_name = levels[-1]
            if not names:
                levels.pop()
                if dir_fd != root_fd:
                    os.close(dir_fd)
                    os.rmdir(own_name, dir_fd=levels[-1][0])
                continue
            name = names.pop()
            info = entry_stat(name, dir_fd)
            if info is None:
                continue
            child = open_real_directory(name, dir_fd) if stat.S_ISDIR(info.st_mode) else None
            if child is None:
                try:
                    os.unlink(name, dir_fd=dir_fd)
                except FileNotFoundError:
                    pass
                continue
            levels.append((child, list_names(child), name))
    finally:
        for dir_fd, _names, _own_name in levels:
            if dir_fd != root_fd:
                os.close(dir_fd)


def remove_entry_at(name: str, dir_fd: int, ignore_errors: bool = False) -> None:
    """Remove the file, link or directory tree `name` of dir_fd; a link is removed, never followed.

    `ignore_errors` is for our own leftovers: what cannot be deleted now is retried by the next run.
    """
    try:
        info = entry_stat(name, dir_fd)
        if info is None:
            return
        child = open_real_directory(name, dir_fd) if stat.S_ISDIR(info.st_mode) else None
        if child is None:
            os.unlink(name, dir_fd=dir_fd)
            return
        try:
            _empty_directory(child)
        finally:
            os.close(child)
        os.rmdir(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    except OSError:
        if not ignore_errors:
            raise


def rename_at(old_dir_fd: int, old: str, new_dir_fd: int, new: str, flags: int) -> bool:
    """Linux renameat2 with RENAME_EXCHANGE (swap two entries in one step) or RENAME_NOREPLACE (fail with
    FileExistsError rather than replace); False where the kernel, libc or filesystem lacks it."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(old_dir_fd, os.fsencode(old), new_dir_fd, os.fsencode(new), flags) == 0:
        return True
    error = ctypes.get_errno()
    if error in _RENAME_UNSUPPORTED:
        return False
    raise OSError(error, os.strerror(error), new)


def chown_link(name: str, dir_fd: int, info: os.stat_result, uid: int, gid: int) -> bool:
    """Change the owner of the symbolic link `name` itself, if it is still the link `info` describes: opened with
    O_PATH|O_NOFOLLOW and changed through that descriptor (fchownat AT_EMPTY_PATH), so a link exchanged for another
    file between the check and the change is never what changes. False where Linux's O_PATH is missing."""
    if not _O_PATH or _FCHOWNAT is None:
        return False
    try:
        descriptor = os.open(name, _O_PATH | os.O_NOFOLLOW | O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False  # gone meanwhile
    try:
        current = os.fstat(descriptor)
        if not stat.S_ISLNK(current.st_mode) or not same_inode(current, info):
            return False
        if _FCHOWNAT(descriptor, b"", uid, gid, _AT_EMPTY_PATH) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), name)
        return True
    finally:
        os.close(descriptor)
