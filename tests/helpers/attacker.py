# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The LocalAI user as an attacker: a forked child that drops to a real unprivileged uid (nobody) and acts."""

from __future__ import annotations

import ctypes
import os
import pickle
import pwd

AT_FDCWD = -100
RENAME_EXCHANGE = 2
_LIBC = ctypes.CDLL(None, use_errno=True)


def exchange(first: str, second: str) -> bool:
    """renameat2(RENAME_EXCHANGE): swap two names in one step, as an attacker racing root would."""
    return _LIBC.renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0


class Attacker:
    """Runs functions as `user` in forked children: `run` waits for the result, `start`/`stop` race in background."""

    def __init__(self, user: str = "nobody") -> None:
        entry = pwd.getpwnam(user)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def _child(self, write_fd: int, function, args) -> None:
        """Never returns: a forked child must not go back into pytest (as another user)."""
        try:
            try:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
                outcome = ("ok", function(*args))
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                # whatever happened is reported to the parent, which fails the test with it
                outcome = ("error", "%s: %s" % (type(exc).__name__, exc))
            os.write(write_fd, pickle.dumps(outcome))
        finally:
            os._exit(0)  # pylint: disable=protected-access

    def start(self, function, *args) -> tuple[int, int]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            self._child(write_fd, function, args)
        os.close(write_fd)
        return pid, read_fd

    def stop(self, started: tuple[int, int]):
        """The function's return value, once the child ends."""
        pid, read_fd = started
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
        status, value = pickle.loads(data)
        if status != "ok":
            raise AssertionError("the attacker failed: %s" % value)
        return value

    def run(self, function, *args):
        return self.stop(self.start(function, *args))
