# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LocalAI's own writers in the same backends path. LocalAI installs into `<name>.install-tmp` and swaps through
`<name>.install-backup` (core/gallery/backends.go InstallBackend); it upgrades, also every 6 hours on its own
with LOCALAI_AUTO_UPGRADE_BACKENDS=true, into `<name>.upgrade-tmp`, renaming the backend to `<name>.backup`
(core/gallery/upgrade.go UpgradeBackend). Each removes them when it is done ("defer os.RemoveAll(stagingPath)",
"os.RemoveAll(backupPath)"). While such an entry is fresh, LocalAI is at work on the backend: we wait, up to
lock_timeout, then fail naming it. An old one is what an interrupted LocalAI left: LocalAI removes it before its
next attempt ("Clean any stale staging/backup dirs from a prior interrupted attempt"), and so do we, for its
staging directories only (a backup may be the only copy of the backend: it is left alone, with a warning).
"""

from __future__ import annotations

import time

from ansible_collections.localai.gallery.plugins.module_utils.descriptors import entry_stat, remove_entry_at
from ansible_collections.localai.gallery.plugins.module_utils.errors import LocalAIBusyError

STAGING_SUFFIXES = (".install-tmp", ".upgrade-tmp")
BACKUP_SUFFIXES = (".install-backup", ".backup")
# Fresher than this, an entry means LocalAI is at work (a download writes below it, a swap takes milliseconds);
# older, it is a leftover. A multi-GB download keeps its staging directory's own mtime only while entries are
# added at its top, so the window is generous.
FRESH_SECONDS = 3600
POLL_SECONDS = 1.0


def localai_entries(backends_fd: int, name: str, now: float | None = None) -> tuple[list[str], list[str]]:
    """(fresh, stale) entries of LocalAI's writers for backend `name`, each as `<entry> (modified N s ago)`."""
    now = time.time() if now is None else now
    fresh, stale = [], []
    for suffix in STAGING_SUFFIXES + BACKUP_SUFFIXES:
        info = entry_stat(name + suffix, backends_fd)
        if info is None:
            continue
        age = max(0, int(now - info.st_mtime))
        (fresh if age < FRESH_SECONDS else stale).append("%s%s (modified %d s ago)" % (name, suffix, age))
    return fresh, stale


def wait_for_localai(backends_fd: int, names: list[str], timeout: float, sleep=time.sleep,
                     clock=time.monotonic) -> list[str]:
    """Wait while LocalAI installs or upgrades any of `names`; raise LocalAIBusyError after `timeout` seconds.
    Then remove what an interrupted LocalAI left in its staging directories; returns warnings (old backups)."""
    deadline = clock() + timeout
    while True:
        busy = [entry for name in names for entry in localai_entries(backends_fd, name)[0]]
        if not busy:
            break
        if clock() >= deadline:
            raise LocalAIBusyError(
                "LocalAI is installing or upgrading this backend itself (%s; its own install, or the upgrade it "
                "runs every 6 hours with LOCALAI_AUTO_UPGRADE_BACKENDS=true): waited %d s (lock_timeout); retry when it "
                "is done, turn LocalAI's auto-upgrade off on hosts Ansible manages, or remove the entry if no "
                "LocalAI is running" % (", ".join(busy), timeout))
        sleep(POLL_SECONDS)
    warnings = []
    for name in names:
        for suffix in STAGING_SUFFIXES:
            info = entry_stat(name + suffix, backends_fd)
            if info is not None and time.time() - info.st_mtime >= FRESH_SECONDS:
                remove_entry_at(name + suffix, backends_fd)
                warnings.append("removed %s%s, a staging directory an interrupted LocalAI install or upgrade left "
                                "(as LocalAI does before its next attempt)" % (name, suffix))
        for suffix in BACKUP_SUFFIXES:
            if entry_stat(name + suffix, backends_fd) is not None:
                warnings.append("%s%s is a backup an interrupted LocalAI upgrade left; it may hold the only copy of "
                                "a backend, so it is left in place: remove it when it is not needed" % (name, suffix))
    return warnings
