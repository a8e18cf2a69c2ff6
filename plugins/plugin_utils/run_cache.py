# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: JSON records shared by every worker of one playbook run.

Ansible forks a worker process per host and task; they all descend from the one ansible-playbook (or
ansible) process, whose pid and start time name the run. A record is a JSON file under the cache directory
with the run id that wrote it; a file lock per key makes the workers of a run wait for the first one
instead of all doing the same requests.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
from contextlib import contextmanager

from ansible_collections.localai.gallery.plugins.module_utils.errors import CacheDirectoryError

CACHE_DIR_ENV = "LOCALAI_GALLERY_CACHE_DIR"


def current_run_id() -> str:
    """The ansible process this worker was forked from (with its start time, so a reused pid is another run)."""
    parent = os.getppid()
    try:
        with open("/proc/%d/stat" % parent, encoding="utf-8") as stat_file:
            started = stat_file.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "?"
    return "%d-%s" % (parent, started)


def default_cache_dir() -> str:
    return os.environ.get(CACHE_DIR_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "localai.gallery")


def trusted_directory(path: str) -> str:
    """Make `path` (mode 0700) or check it: it must be ours and writable by nobody else, else CacheDirectoryError.

    What is cached decides what hosts install (pinned digests, galleries), so a directory another user can write
    is never read. One an earlier release made 0755 is tightened to 0700.
    """
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.stat(path)
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise CacheDirectoryError("the controller cache directory %s is owned by uid %d with mode %04o: it must belong "
                                  "to uid %d and be writable by nobody else (chmod 700 it, or set %s to a directory "
                                  "of your own)" % (path, info.st_uid, stat.S_IMODE(info.st_mode), os.geteuid(),
                                                    CACHE_DIR_ENV))
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


class RunCache:
    """Records under `<cache_dir>/<kind>/`, one JSON file and one lock file per key."""

    def __init__(self, kind: str = "", cache_dir: str | None = None, run_id: str | None = None) -> None:
        self.base = cache_dir or default_cache_dir()
        self.directory = os.path.join(self.base, kind)
        self.run_id = run_id or current_run_id()
        self._checked = False

    def paths(self, key: str) -> tuple[str, str]:
        """The record and lock files of `key`, in the cache directory (checked the first time)."""
        if not self._checked:
            trusted_directory(self.base)
            trusted_directory(self.directory)
            self._checked = True
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        return os.path.join(self.directory, name + ".json"), os.path.join(self.directory, name + ".lock")

    @contextmanager
    def locked(self, lock_path: str):
        with open(lock_path, "a", encoding="utf-8") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield

    @staticmethod
    def read(record_path: str) -> dict | None:
        try:
            with open(record_path, encoding="utf-8") as record_file:
                record = json.load(record_file)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    @staticmethod
    def write(record_path: str, record: dict) -> None:
        partial = "%s.%d.tmp" % (record_path, os.getpid())
        with open(partial, "w", encoding="utf-8") as record_file:
            json.dump(record, record_file)
        os.replace(partial, record_path)

    def this_run(self, record_path: str) -> dict | None:
        record = self.read(record_path)
        return record if record and record.get("run_id") == self.run_id else None

    def recorded(self, key: str) -> dict | None:
        """What a worker of this run recorded for `key`, without recording anything."""
        record = self.this_run(self.paths(key)[0])
        return record["value"] if record else None

    def once_per_run(self, key: str, compute) -> dict:
        """`compute()` (a JSON-able dict) the first time a worker of this run asks for `key`; the same dict after."""
        record_path, lock_path = self.paths(key)
        record = self.this_run(record_path)
        if record is None:
            with self.locked(lock_path):
                record = self.this_run(record_path)
                if record is None:
                    record = {"run_id": self.run_id, "key": key, "value": compute()}
                    self.write(record_path, record)
        return record["value"]
