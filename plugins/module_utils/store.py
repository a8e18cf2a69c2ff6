# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backends directory: lock, staging inside it, recovery, the run.sh gate and the atomic swap.

LocalAI registers every direct child of the backends path that holds a run.sh, dot-names included
(core/gallery/backends.go ListSystemBackends), so our work never appears as a direct child: it lives
in one hidden directory, `<backends>/.localai-gallery/`, on the same filesystem so that renames stay
atomic. Inside it: `lock`, `staging.<token>.<name>` while a backend is built, `backup.<token>.<name>`
for the replaced one between the two renames of a fallback swap, and `removing.<token>.<name>` for one
being deleted, and `provenance/` for signer records (provenance.py). A run killed at any point leaves at
most such directories; the next run that takes the lock puts a lost backup back and deletes the rest.

Releases before 0.2.0 kept `.staging.*`, `.backup.*`, `.removing.*` and `.localai-gallery.lock` as
direct children; recovery cleans those up the same way.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
import uuid
from contextlib import contextmanager

from ansible_collections.localai.gallery.plugins.module_utils import ownership as owners
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    InvalidBackendError,
    InvalidNameError,
    LockTimeoutError,
)
from ansible_collections.localai.gallery.plugins.module_utils.metadata import write_metadata
from ansible_collections.localai.gallery.plugins.module_utils.paths import lstat_mode, remove_entry

try:
    import ctypes
    _RENAMEAT2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
except (ImportError, OSError):
    ctypes = None
    _RENAMEAT2 = None

RUN_FILE = "run.sh"
WORK_DIR = ".localai-gallery"
LOCK_NAME = "lock"
PROVENANCE_DIR = "provenance"  # signer records (provenance.py), kept across runs
STAGING, BACKUP, REMOVING = "staging.", "backup.", "removing."
WORK_PREFIXES = (STAGING, BACKUP, REMOVING)
LEGACY_LOCK = ".localai-gallery.lock"
LEGACY_PREFIXES = (".staging.", ".backup.", ".removing.")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_EXCHANGE_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM)


def validate_backend_name(name: str) -> str:
    """A backend name is one path component: not empty, no '/', not '.' or '..', no NUL, not ours."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\0" in name:
        raise InvalidNameError("invalid backend name %r: a name must be a single path component (not empty, no '/', "
                               "not '.' or '..', no NUL byte)" % (name,))
    if is_work_entry(name):
        raise InvalidNameError("invalid backend name %r: %s and names starting with %s are reserved for this "
                               "collection's work directories" % (name, WORK_DIR, ", ".join(LEGACY_PREFIXES)))
    return name


def is_work_entry(entry_name: str) -> bool:
    """Our hidden work directory, and what releases before 0.2.0 left as direct children."""
    return entry_name in (WORK_DIR, LEGACY_LOCK) or entry_name.startswith(LEGACY_PREFIXES)


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


def work_entry_owner(entry_name: str, prefix: str) -> str | None:
    """The backend name a `<prefix><token>.<name>` work directory belongs to."""
    if not entry_name.startswith(prefix):
        return None
    return entry_name[len(prefix):].split(".", 1)[-1] or None


def is_runnable(directory: str) -> bool:
    """LocalAI's test: run.sh exists (os.Stat, links followed) and is not a directory (isBackendRunnable)."""
    try:
        return not stat.S_ISDIR(os.stat(os.path.join(directory, RUN_FILE)).st_mode)
    except OSError:
        return False


class BackendStore:
    """One backends directory and the operations that change it."""

    def __init__(self, backends_path: str, lock_timeout: float = 600) -> None:
        self.path = os.path.abspath(backends_path)
        self.work_path = os.path.join(self.path, WORK_DIR)
        self.lock_timeout = lock_timeout
        self.recovered: list[str] = []

    def backend_dir(self, name: str) -> str:
        return os.path.join(self.path, validate_backend_name(name))

    @contextmanager
    def locked(self):
        """Exclusive lock on the backends path; concurrent runs wait up to lock_timeout, then fail clearly.

        Taking the lock finishes what a killed run left (see recover), so callers see a clean directory.
        """
        os.makedirs(self.work_path, mode=0o755, exist_ok=True)
        lock_path = os.path.join(self.work_path, LOCK_NAME)
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
                                               "lock_timeout or wait for it to finish)"
                                               % (self.path, self.lock_timeout))
                    time.sleep(0.05)
            self.recovered = self.recover()
            yield self
        finally:
            os.close(descriptor)

    def _leftovers(self) -> list[tuple[str, str | None]]:
        """(path, backend name of a backup or None) for every work directory a killed run left."""
        found = []
        try:
            for entry in sorted(os.listdir(self.work_path)):
                if entry not in (LOCK_NAME, PROVENANCE_DIR):
                    found.append((os.path.join(self.work_path, entry), work_entry_owner(entry, BACKUP)))
        except (FileNotFoundError, NotADirectoryError):
            pass
        try:
            top_level = sorted(os.listdir(self.path))
        except FileNotFoundError:
            top_level = []
        for entry in top_level:
            if entry == LEGACY_LOCK or entry.startswith(LEGACY_PREFIXES):
                found.append((os.path.join(self.path, entry), work_entry_owner(entry, ".backup.")))
        return found

    def recover(self) -> list[str]:
        """Restore a backup whose backend is missing and delete every other work directory (lock held)."""
        actions = []
        for work_path, name in self._leftovers():
            if name and not os.path.lexists(os.path.join(self.path, name)):
                os.rename(work_path, os.path.join(self.path, name))
                actions.append("restored %s" % name)
                continue
            remove_entry(work_path, ignore_errors=True)
            actions.append("removed %s" % os.path.relpath(work_path, self.path))
        return actions

    def recover_leftovers(self) -> list[str]:
        """For runs that change nothing: finish what a killed run left, taking the lock only when there is any."""
        if not self.has_leftovers():
            return []
        with self.locked():
            return self.recovered

    def has_leftovers(self) -> bool:
        """True when a killed run left work directories (cheap: two listdirs, no lock)."""
        return bool(self._leftovers())

    def stranded_backups(self) -> list[str]:
        """Backends that exist only as a backup between the two renames of a killed fallback swap."""
        return sorted(name for _path, name in self._leftovers()
                      if name and not os.path.lexists(os.path.join(self.path, name)))

    def _work_dir(self, kind: str, name: str) -> str:
        os.makedirs(self.work_path, mode=0o755, exist_ok=True)
        return os.path.join(self.work_path, "%s%s.%s" % (kind, uuid.uuid4().hex[:12], name))

    @contextmanager
    def staging(self, name: str):
        """A fresh directory on the backends filesystem; removed unless committed by `commit`."""
        stage_dir = self._work_dir(STAGING, validate_backend_name(name))
        os.mkdir(stage_dir, 0o755)
        try:
            yield stage_dir
        finally:
            if os.path.lexists(stage_dir):
                remove_entry(stage_dir, ignore_errors=True)

    def commit(self, name: str, stage_dir: str, metadata: dict, require_run_file: bool = True,
               ownership: owners.Ownership | None = None) -> str:
        """Gate on run.sh, make it executable, write metadata.json, set ownership, then swap into place.

        Readers see the old tree or the new one, never neither: RENAME_EXCHANGE where the kernel has it;
        elsewhere two renames, and a backup stranded by a kill is restored by the next run.
        """
        if require_run_file:
            mode = lstat_mode(os.path.join(stage_dir, RUN_FILE))
            if mode is None or not stat.S_ISREG(mode):
                raise InvalidBackendError("%s is not a valid backend: run file not found (the image has no regular "
                                          "file run.sh at its root)" % name)
            owners.make_run_file_executable(stage_dir)
        ownership = ownership or owners.Ownership()
        write_metadata(stage_dir, metadata)
        os.chmod(stage_dir, 0o755)
        owners.apply(stage_dir, ownership)
        target = self.backend_dir(name)
        if os.path.lexists(target) and exchange_paths(stage_dir, target):
            remove_entry(stage_dir, ignore_errors=True)  # now the replaced version
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
            remove_entry(backup, ignore_errors=True)
        return target

    def delete(self, name: str) -> None:
        """Remove a backend directory: rename it aside (readers see it gone at once), then delete."""
        target = self.backend_dir(name)
        if not os.path.lexists(target):
            return
        aside = self._work_dir(REMOVING, name)
        os.rename(target, aside)
        remove_entry(aside, ignore_errors=True)
