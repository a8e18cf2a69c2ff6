# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backends directory: lock, staging inside it, recovery, the run.sh gate and the atomic swap.

Work directories are hidden siblings of the backends: `.staging.<token>.<name>` while a backend is
built, `.backup.<token>.<name>` for the replaced one between the two renames of a swap, and
`.removing.<token>.<name>` for one being deleted. They are never listed. A run killed at any point
leaves at most such directories; the next run that takes the lock puts a lost backup back and
deletes the rest.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
import time
import uuid
from contextlib import contextmanager

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    InvalidBackendError,
    InvalidNameError,
    LockTimeoutError,
)
from ansible_collections.localai.gallery.plugins.module_utils.metadata import write_metadata

try:
    import ctypes
    _RENAMEAT2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
except (ImportError, OSError):
    ctypes = None
    _RENAMEAT2 = None

RUN_FILE = "run.sh"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_EXCHANGE_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM)
LOCK_FILE = ".localai-gallery.lock"
STAGING, BACKUP, REMOVING = ".staging.", ".backup.", ".removing."
WORK_PREFIXES = (STAGING, BACKUP, REMOVING)


def validate_backend_name(name: str) -> str:
    """A backend name is one path component: not empty, no '/', not '.' or '..', no NUL."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\0" in name:
        raise InvalidNameError("invalid backend name %r: a name must be a single path component (not empty, no '/', "
                               "not '.' or '..', no NUL byte)" % (name,))
    if name.startswith(WORK_PREFIXES) or name == LOCK_FILE:
        raise InvalidNameError("invalid backend name %r: names starting with %s are reserved for work directories"
                               % (name, ", ".join(WORK_PREFIXES)))
    return name


def is_work_entry(entry_name: str) -> bool:
    return entry_name.startswith(WORK_PREFIXES) or entry_name == LOCK_FILE


def exchange_paths(first: str, second: str) -> bool:
    """Swap two existing paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in _EXCHANGE_UNSUPPORTED:
        return False
    raise OSError(error, os.strerror(error), second)


def backup_owner(entry_name: str) -> str | None:
    """The backend name a `.backup.<token>.<name>` directory belongs to."""
    if not entry_name.startswith(BACKUP):
        return None
    return entry_name.split(".", 3)[-1] or None


def has_run_file(directory: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(os.path.join(directory, RUN_FILE)).st_mode)
    except OSError:
        return False


class BackendStore:
    """One backends directory and the operations that change it."""

    def __init__(self, backends_path: str, lock_timeout: float = 600) -> None:
        self.path = os.path.abspath(backends_path)
        self.lock_timeout = lock_timeout

    def backend_dir(self, name: str) -> str:
        return os.path.join(self.path, validate_backend_name(name))

    @contextmanager
    def locked(self):
        """Exclusive lock on the backends path; concurrent runs wait up to lock_timeout, then fail clearly."""
        os.makedirs(self.path, mode=0o755, exist_ok=True)
        lock_path = os.path.join(self.path, LOCK_FILE)
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise LockTimeoutError("another run holds the lock on %s; gave up after %g seconds (raise "
                                               "lock_timeout or wait for it to finish)" % (self.path, self.lock_timeout))
                    time.sleep(0.05)
            self.recover()
            yield self
        finally:
            os.close(descriptor)

    def recover(self) -> list[str]:
        """Finish what a killed run left: restore a backup whose backend is missing, delete other work dirs."""
        actions = []
        for entry in sorted(os.listdir(self.path)):
            if not entry.startswith(WORK_PREFIXES):
                continue
            work_path = os.path.join(self.path, entry)
            name = backup_owner(entry)
            if name and not os.path.lexists(os.path.join(self.path, name)):
                os.rename(work_path, os.path.join(self.path, name))
                actions.append("restored %s" % name)
                continue
            shutil.rmtree(work_path, ignore_errors=True)
            actions.append("removed %s" % entry)
        return actions

    def has_leftovers(self) -> bool:
        """True when a killed run left work directories (cheap: one listdir, no lock)."""
        try:
            return any(entry.startswith(WORK_PREFIXES) for entry in os.listdir(self.path))
        except FileNotFoundError:
            return False

    def _work_dir(self, kind: str, name: str) -> str:
        return os.path.join(self.path, "%s%s.%s" % (kind, uuid.uuid4().hex[:12], name))

    @contextmanager
    def staging(self, name: str):
        """A fresh directory on the backends filesystem; removed unless committed by `commit`."""
        stage_dir = self._work_dir(STAGING, validate_backend_name(name))
        os.mkdir(stage_dir, 0o755)
        try:
            yield stage_dir
        finally:
            if os.path.lexists(stage_dir):
                shutil.rmtree(stage_dir, ignore_errors=True)

    def commit(self, name: str, stage_dir: str, metadata: dict, require_run_file: bool = True) -> str:
        """Gate on run.sh, write metadata.json, then swap staging into place atomically.

        Readers see the old tree or the new one, never neither: RENAME_EXCHANGE where the kernel has it;
        elsewhere two renames, with listings showing a stranded backup under its name until recovery.
        """
        if require_run_file:
            try:
                mode = os.lstat(os.path.join(stage_dir, RUN_FILE)).st_mode
            except FileNotFoundError:
                mode = None
            if mode is None or not stat.S_ISREG(mode):
                raise InvalidBackendError("%s is not a valid backend: run file not found (the image has no regular "
                                          "file run.sh at its root)" % name)
        write_metadata(stage_dir, metadata)
        os.chmod(stage_dir, 0o755)
        target = self.backend_dir(name)
        if os.path.lexists(target) and exchange_paths(stage_dir, target):
            shutil.rmtree(stage_dir, ignore_errors=True)  # now the replaced version
            return target
        # Fallback without an atomic exchange: current -> backup, staging -> current, restore on failure.
        backup = None
        if os.path.lexists(target):
            backup = self._work_dir(BACKUP, name)
            os.rename(target, backup)
        try:
            os.rename(stage_dir, target)
        except OSError:
            if backup:
                os.rename(backup, target)
            raise
        if backup:
            shutil.rmtree(backup, ignore_errors=True)
        return target

    def delete(self, name: str) -> None:
        """Remove a backend directory: rename it aside (readers see it gone at once), then delete."""
        target = self.backend_dir(name)
        if not os.path.lexists(target):
            return
        aside = self._work_dir(REMOVING, name)
        os.rename(target, aside)
        shutil.rmtree(aside, ignore_errors=True)
