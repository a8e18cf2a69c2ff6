# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backends directory: our work directory in it, the lock, staging, recovery, the run.sh gate and the swap.

Trust (docs/architecture.md "Trust boundary"): the backends path belongs to the user LocalAI runs as, so
anything in it can change at any moment. Root opens the backends path once, with O_DIRECTORY|O_NOFOLLOW, and
does everything relative to that descriptor (descriptors.py). Its own work lives in one hidden directory,
`<backends>/.localai-gallery/`, that root owns with mode 0700, opened the same way and checked with fstat; one
that is not that (a link, a directory of another user, a mode that lets others write) is replaced, with a
warning that says what was found. Inside it, out of the LocalAI user's reach: `lock` (0600),
`staging.<token>.<name>` while a backend is built and its ownership applied, `backup.<token>.<name>` between
the two renames of a fallback swap, `removing.<token>.<name>` for one being deleted, and `provenance/`.

LocalAI registers every direct child of the backends path that holds a run.sh, dot-names included
(core/gallery/backends.go ListSystemBackends), so nothing of ours is ever a direct child. A run killed at any
point leaves at most such directories; the next run that takes the lock puts a lost backup back and deletes
the rest.
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
from ansible_collections.localai.gallery.plugins.module_utils.descriptors import (
    O_CLOEXEC,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    entry_stat,
    list_names,
    open_directory,
    open_real_directory,
    remove_entry_at,
    rename_at,
    same_inode,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    InvalidBackendError,
    InvalidNameError,
    LockTimeoutError,
    UntrustedDirectoryError,
)
from ansible_collections.localai.gallery.plugins.module_utils.metadata import write_metadata

RUN_FILE = "run.sh"
WORK_DIR = ".localai-gallery"
WORK_DIR_MODE = 0o700
LOCK_NAME = "lock"
PROVENANCE_DIR = "provenance"  # signer records (provenance.py), kept across runs
STAGING, BACKUP, REMOVING = "staging.", "backup.", "removing."
_REPLACE_ATTEMPTS = 5


def validate_backend_name(name: str) -> str:
    """A backend name is one path component: not empty, no '/', not '.' or '..', no NUL, not ours."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\0" in name:
        raise InvalidNameError("invalid backend name %r: a name must be a single path component (not empty, no '/', "
                               "not '.' or '..', no NUL byte)" % (name[:200] if isinstance(name, str) else name,))
    if is_work_entry(name):
        raise InvalidNameError("invalid backend name %r: %s and names starting with %s. are reserved for this "
                               "collection's work directory" % (name[:200], WORK_DIR, WORK_DIR))
    return name


def is_work_entry(entry_name: str) -> bool:
    """Our hidden work directory (and an untrusted one being replaced): never a backend."""
    return entry_name == WORK_DIR or entry_name.startswith(WORK_DIR + ".")


def work_entry_owner(entry_name: str, prefix: str) -> str | None:
    """The backend name a `<prefix><token>.<name>` work directory belongs to."""
    if not entry_name.startswith(prefix):
        return None
    return entry_name[len(prefix):].split(".", 1)[-1] or None


def is_runnable_at(dir_fd: int | None) -> bool:
    """LocalAI's test, in the backend directory dir_fd: run.sh exists (os.Stat, a link followed, as LocalAI
    does) and is not a directory (isBackendRunnable)."""
    if dir_fd is None:
        return False
    try:
        return not stat.S_ISDIR(os.stat(RUN_FILE, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def untrusted_reason(info: os.stat_result | None) -> str | None:
    """Why an entry cannot be our work directory (None: it can): root must be the only one who can change it."""
    if info is None:
        return None
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "not a directory"
    if info.st_uid != os.geteuid():
        return "a directory owned by uid %d" % info.st_uid
    if info.st_mode & 0o022:
        return "a directory with mode %04o (writable by others)" % stat.S_IMODE(info.st_mode)
    return None


@contextmanager
def read_only_store(path: str | None):
    """A BackendStore to list `path` (None when no path is given), its descriptors closed on the way out."""
    if not path:
        yield None
        return
    store = BackendStore(path)
    try:
        yield store
    finally:
        store.close()


class Staging:
    """A staging directory inside the work directory: its descriptor, and its entry name there."""

    def __init__(self, fd: int, entry: str, path: str) -> None:
        self.fd = fd
        self.entry = entry
        self.path = path


class BackendStore:
    """One backends directory, opened once, and the operations that change it.

    The descriptors are opened on first use and closed by `close()` (a module run simply ends).
    `warnings` collects what the user should hear of (an untrusted work directory replaced or ignored).
    """

    def __init__(self, backends_path: str, lock_timeout: float = 600) -> None:
        self.path = os.path.abspath(backends_path)
        self.work_path = os.path.join(self.path, WORK_DIR)
        self.lock_timeout = lock_timeout
        self.recovered: list[str] = []
        self.warnings: list[str] = []
        self._fd: int | None = None
        self._work_fd: int | None = None

    def close(self) -> None:
        for descriptor in (self._work_fd, self._fd):
            if descriptor is not None:
                os.close(descriptor)
        self._fd = self._work_fd = None

    def __enter__(self) -> "BackendStore":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def backend_path(self, name: str) -> str:
        return os.path.join(self.path, validate_backend_name(name))

    # --- descriptors -------------------------------------------------------------------------------------
    def directory_fd(self, create: bool = False) -> int | None:
        """The backends path, opened once with O_NOFOLLOW; None when it does not exist (and `create` is false)."""
        if self._fd is None:
            if create:
                os.makedirs(self.path, mode=0o755, exist_ok=True)
            try:
                self._fd = open_directory(self.path)
            except FileNotFoundError:
                if create:
                    raise
                return None
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                what = "a symbolic link to %s" % os.path.realpath(self.path) if os.path.islink(self.path) \
                    else "not a directory"
                raise UntrustedDirectoryError("backends path %s is %s: give the real directory as backends_path "
                                              "(root never follows a link there)" % (self.path, what))
        return self._fd

    def open_backend(self, name: str) -> int | None:
        """A descriptor of the backend directory `name` (O_NOFOLLOW); None when it is missing or not a real
        directory. The caller closes it."""
        backends_fd = self.directory_fd()
        return None if backends_fd is None else open_real_directory(validate_backend_name(name), backends_fd)

    @contextmanager
    def backend(self, name: str):
        """open_backend as a context: the descriptor (or None), closed on the way out."""
        descriptor = self.open_backend(name)
        try:
            yield descriptor
        finally:
            if descriptor is not None:
                os.close(descriptor)

    def entry_exists(self, name: str) -> bool:
        """Whether anything (a directory, a link, a file) is at `<backends>/<name>`."""
        backends_fd = self.directory_fd()
        return backends_fd is not None and entry_stat(validate_backend_name(name), backends_fd) is not None

    def work_fd(self, create: bool = False, replace_untrusted: bool = True) -> int | None:
        """Our work directory, checked: a real directory owned by this process's euid, mode 0700.

        Missing: created when `create`, else None. Untrusted: replaced (with a warning) when
        `replace_untrusted`, else None (with a warning): read-only callers never trust or change it.
        """
        if self._work_fd is not None:
            return self._work_fd
        backends_fd = self.directory_fd(create)
        if backends_fd is None:
            return None
        for _attempt in range(_REPLACE_ATTEMPTS):
            descriptor = open_real_directory(WORK_DIR, backends_fd)
            info = os.fstat(descriptor) if descriptor is not None else entry_stat(WORK_DIR, backends_fd)
            problem = untrusted_reason(info)
            if descriptor is not None and problem is None:
                if stat.S_IMODE(info.st_mode) != WORK_DIR_MODE:
                    os.fchmod(descriptor, WORK_DIR_MODE)  # releases before 0.3.0 made it 0755
                self._work_fd = descriptor
                return descriptor
            if descriptor is not None:
                os.close(descriptor)
            if info is None:
                if not create:
                    return None
                try:
                    os.mkdir(WORK_DIR, WORK_DIR_MODE, dir_fd=backends_fd)
                except FileExistsError:
                    pass  # another run made it meanwhile: check it on the next turn
                continue
            if not replace_untrusted:
                self._warn("%s is %s, which root does not trust: it was ignored (the next install or removal on "
                           "this host replaces it)" % (self.work_path, problem))
                return None
            self._replace_untrusted(backends_fd, info, problem)
            create = True
        raise UntrustedDirectoryError("%s keeps being replaced by something root does not trust while this run "
                                      "works in %s: find who changes the backends path and stop them"
                                      % (self.work_path, self.path))

    def _replace_untrusted(self, backends_fd: int, info: os.stat_result, problem: str) -> None:
        """Move what is at our work directory's name aside and delete it (never following a link in it)."""
        aside = "%s.untrusted.%s" % (WORK_DIR, uuid.uuid4().hex[:12])
        current = entry_stat(WORK_DIR, backends_fd)
        if current is None or not same_inode(current, info):
            return  # it changed meanwhile: look again
        try:
            os.rename(WORK_DIR, aside, src_dir_fd=backends_fd, dst_dir_fd=backends_fd)
        except FileNotFoundError:
            return
        self._warn("%s was %s, which root does not trust: replaced it with a new work directory (owned by uid %d, "
                   "mode 0700); signer records kept there were lost" % (self.work_path, problem, os.geteuid()))
        remove_entry_at(aside, backends_fd, ignore_errors=True)

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    # --- the lock and recovery --------------------------------------------------------------------------
    @contextmanager
    def locked(self):
        """Exclusive lock on the backends path; concurrent runs wait up to lock_timeout, then fail clearly.

        The lock file lives in the work directory, mode 0600: the LocalAI user cannot open it, so cannot hold
        it. Taking the lock finishes what a killed run left (see recover), so callers see a clean directory.
        """
        work_fd = self.work_fd(create=True)
        descriptor = os.open(LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | O_CLOEXEC, 0o600, dir_fd=work_fd)
        try:
            if stat.S_IMODE(os.fstat(descriptor).st_mode) != 0o600:
                os.fchmod(descriptor, 0o600)
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

    def _leftovers(self, replace_untrusted: bool = True) -> list[tuple[str, str | None]]:
        """(entry in the work directory, backend name of a backup or None) for everything a killed run left."""
        work_fd = self.work_fd(replace_untrusted=replace_untrusted)
        if work_fd is None:
            return []
        return [(entry, work_entry_owner(entry, BACKUP)) for entry in sorted(list_names(work_fd))
                if entry not in (LOCK_NAME, PROVENANCE_DIR)]

    def recover(self) -> list[str]:
        """Restore a backup whose backend is missing and delete every other work directory (lock held)."""
        actions = []
        work_fd, backends_fd = self.work_fd(), self.directory_fd()
        for entry, name in self._leftovers():
            if name and entry_stat(name, backends_fd) is None and self._place(entry, name):
                actions.append("restored %s" % name)
                continue
            remove_entry_at(entry, work_fd, ignore_errors=True)
            actions.append("removed %s/%s" % (WORK_DIR, entry))
        return actions

    def recover_leftovers(self) -> list[str]:
        """For runs that change nothing: finish what a killed run left, taking the lock only when there is any."""
        if not self.has_leftovers():
            return []
        with self.locked():
            return self.recovered

    def has_leftovers(self) -> bool:
        """True when a killed run left work directories (one listing, no lock); an untrusted work directory is
        replaced on the way."""
        return bool(self._leftovers())

    def stranded_backups(self) -> list[str]:
        """Backends that exist only as a backup between the two renames of a killed fallback swap (read-only)."""
        return sorted(name for _entry, name in self._leftovers(replace_untrusted=False)
                      if name and not self.entry_exists(name))

    # --- staging and the swap ---------------------------------------------------------------------------
    def _work_entry_name(self, kind: str, name: str) -> str:
        return "%s%s.%s" % (kind, uuid.uuid4().hex[:12], name)

    @contextmanager
    def staging(self, name: str):
        """A fresh directory in the work directory (same filesystem); removed unless `commit` moved it."""
        work_fd = self.work_fd(create=True)
        entry = self._work_entry_name(STAGING, validate_backend_name(name))
        os.mkdir(entry, 0o700, dir_fd=work_fd)
        descriptor = open_directory(entry, work_fd)
        try:
            yield Staging(descriptor, entry, os.path.join(self.work_path, entry))
        finally:
            os.close(descriptor)
            remove_entry_at(entry, work_fd, ignore_errors=True)

    def commit(self, name: str, staged: Staging, metadata: dict, require_run_file: bool = True,
               ownership: owners.Ownership | None = None) -> str:
        """Gate on run.sh, make it executable, write metadata.json, apply ownership (all in staging, where the
        LocalAI user cannot race it), then swap into place: readers see the old tree or the new one."""
        if require_run_file:
            info = entry_stat(RUN_FILE, staged.fd)
            if info is not None and stat.S_ISLNK(info.st_mode):
                # LocalAI's os.Stat follows a link: run.sh -> bin/start.sh is a run file (only its metadata read)
                try:
                    info = os.stat(RUN_FILE, dir_fd=staged.fd)
                except OSError:
                    info = None
            if info is None or not stat.S_ISREG(info.st_mode):
                raise InvalidBackendError("%s is not a valid backend: run file not found (the image has no regular "
                                          "file run.sh at its root, nor a link to one)" % name)
            owners.make_run_file_executable(staged.fd)
        write_metadata(staged.fd, metadata)
        os.fchmod(staged.fd, 0o755)
        owners.apply_in_staging(staged.fd, ownership or owners.Ownership())
        self._swap_into_place(staged.entry, validate_backend_name(name))
        return self.backend_path(name)

    def _place(self, entry: str, name: str) -> bool:
        """Move a work entry to `<backends>/<name>` unless something is there by now."""
        try:
            if rename_at(self.work_fd(), entry, self.directory_fd(), name, RENAME_NOREPLACE):
                return True
        except FileExistsError:
            return False
        if entry_stat(name, self.directory_fd()) is not None:
            return False
        os.rename(entry, name, src_dir_fd=self.work_fd(), dst_dir_fd=self.directory_fd())
        return True

    def _swap_into_place(self, entry: str, name: str) -> None:
        """RENAME_EXCHANGE where the kernel has it (what was at <name> lands in our work directory and is deleted
        there); elsewhere two renames, and a backup stranded by a kill is restored by the next run."""
        work_fd, backends_fd = self.work_fd(), self.directory_fd()
        for _attempt in range(3):
            try:
                if entry_stat(name, backends_fd) is None:
                    if rename_at(work_fd, entry, backends_fd, name, RENAME_NOREPLACE):
                        return
                elif rename_at(work_fd, entry, backends_fd, name, RENAME_EXCHANGE):
                    remove_entry_at(entry, work_fd, ignore_errors=True)  # now the replaced version
                    return
                break  # not supported here
            except (FileExistsError, FileNotFoundError):
                continue  # <name> appeared or vanished meanwhile: decide again
        backup = None
        if entry_stat(name, backends_fd) is not None:
            backup = self._work_entry_name(BACKUP, name)
            os.rename(name, backup, src_dir_fd=backends_fd, dst_dir_fd=work_fd)
        try:
            os.rename(entry, name, src_dir_fd=work_fd, dst_dir_fd=backends_fd)
        except OSError:
            if backup:
                os.rename(backup, name, src_dir_fd=work_fd, dst_dir_fd=backends_fd)
            raise
        if backup:
            remove_entry_at(backup, work_fd, ignore_errors=True)

    def delete(self, name: str) -> None:
        """Remove a backend: move it into the work directory (readers see it gone at once), then delete it there."""
        if not self.entry_exists(name):
            return
        aside = self._work_entry_name(REMOVING, name)
        work_fd = self.work_fd(create=True)
        try:
            os.rename(name, aside, src_dir_fd=self.directory_fd(), dst_dir_fd=work_fd)
        except FileNotFoundError:
            return
        remove_entry_at(aside, work_fd, ignore_errors=True)
