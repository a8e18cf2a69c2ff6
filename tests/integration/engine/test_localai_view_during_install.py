# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a running LocalAI sees of a backends path while this collection works on it (real registry, real disk)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from helpers.images import backend_files, entry

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHILD = os.path.join(TESTS, "reliability", "install_child.py")


def localai_registered(backends_path: str) -> set[str]:
    """The directories LocalAI's ListSystemBackends registers: every direct child dir whose run.sh exists."""
    found = set()
    for name in os.listdir(backends_path):
        path = os.path.join(backends_path, name)
        if os.path.isdir(path) and not os.path.islink(path) and os.path.exists(os.path.join(path, "run.sh")):
            found.add(name)
    return found


def test_a_running_localai_never_sees_a_staging_directory(registry, pusher, backends_path):
    """Polling during the install of a large image: only installed backends ever hold a run.sh at the top."""
    repository = "interop/large"
    big = backend_files("v1") + [entry("lib/blob%03d.bin" % number, os.urandom(64 * 1024)) for number in range(600)]
    pusher.push_image(repository, "t", [big])
    uri = "%s/%s:t" % (registry.host, repository)
    seen: set[str] = set()
    staged_with_run_sh = threading.Event()
    done = threading.Event()

    def poll() -> None:
        work = os.path.join(backends_path, ".localai-gallery")
        while not done.is_set():
            seen.update(localai_registered(backends_path))
            if os.path.isdir(work) and any(os.path.exists(os.path.join(work, name, "run.sh"))
                                           for name in os.listdir(work) if name.startswith("staging.")):
                staged_with_run_sh.set()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        for force in ([], ["--force"]):  # a first install, then a reinstall over it
            process = subprocess.run([sys.executable, CHILD, backends_path, "cpu-large", uri, "--pace", "0.0005"]
                                     + force, capture_output=True, text=True, timeout=120, check=False)
            assert process.returncode == 0, process.stdout + process.stderr
    finally:
        done.set()
        poller.join(5)
    assert seen == {"cpu-large"}, "LocalAI would have registered %s" % sorted(seen - {"cpu-large"})
    assert staged_with_run_sh.is_set(), "the poller never overlapped a staging directory holding run.sh"
    assert sorted(os.listdir(backends_path)) == [".localai-gallery", "cpu-large"]
