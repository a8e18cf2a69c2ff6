# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LocalAI's own writers in the same backends path (core/gallery/backends.go InstallBackend stages in
`<name>.install-tmp`; core/gallery/upgrade.go UpgradeBackend in `<name>.upgrade-tmp`, renaming the backend to
`<name>.backup`): while one is at work on a backend we wait, then fail naming it; what an interrupted LocalAI
left is cleaned as LocalAI cleans it ("Clean any stale staging/backup dirs from a prior interrupted attempt")."""

from __future__ import annotations

import os
import threading
import time

import pytest

from helpers.engine import Engine
from ansible_collections.localai.gallery.plugins.module_utils.errors import LocalAIBusyError
from ansible_collections.localai.gallery.plugins.module_utils.localai_writers import FRESH_SECONDS


@pytest.fixture
def image(registry, pusher):
    pusher.push_backend("writers/b", "t", "v1")
    return "%s/writers/b:t" % registry.host


@pytest.mark.parametrize("entry", ["b.upgrade-tmp", "b.install-tmp", "b.backup", "b.install-backup"])
def test_a_fresh_localai_entry_makes_us_wait_then_fail_naming_it(backends_path, image, entry):
    os.mkdir(os.path.join(backends_path, entry))
    started = time.monotonic()
    with pytest.raises(LocalAIBusyError, match="LocalAI is installing or upgrading this backend itself .%s" % entry):
        Engine(backends_path, lock_timeout=2).install("b", [image])
    assert time.monotonic() - started >= 2
    assert not os.path.exists(os.path.join(backends_path, "b")), "nothing installed while LocalAI works on it"


def test_we_install_once_localai_is_done(backends_path, image):
    staging = os.path.join(backends_path, "b.upgrade-tmp")
    os.mkdir(staging)
    threading.Timer(1.5, os.rmdir, (staging,)).start()  # LocalAI's upgrade finishes
    result = Engine(backends_path, lock_timeout=30).install("b", [image])
    assert result.changed and os.path.isfile(os.path.join(backends_path, "b", "run.sh"))


def test_a_remove_waits_for_localai_too(backends_path, image):
    Engine(backends_path).install("b", [image])
    os.mkdir(os.path.join(backends_path, "b.install-tmp"))
    with pytest.raises(LocalAIBusyError, match="b.install-tmp"):
        Engine(backends_path, lock_timeout=1).remove("b")
    assert os.path.isdir(os.path.join(backends_path, "b"))


def test_what_an_interrupted_localai_left_is_cleaned_as_localai_cleans_it(backends_path, image):
    old = time.time() - FRESH_SECONDS - 60
    for entry in ("b.upgrade-tmp", "b.backup"):
        os.makedirs(os.path.join(backends_path, entry, "lib"))
        os.utime(os.path.join(backends_path, entry), (old, old))
    result = Engine(backends_path, lock_timeout=2).install("b", [image])
    assert result.changed
    assert not os.path.exists(os.path.join(backends_path, "b.upgrade-tmp")), "a stale staging directory goes"
    assert os.path.isdir(os.path.join(backends_path, "b.backup")), "a backup may be the only copy: it stays"
    assert any("b.upgrade-tmp" in warning and "interrupted LocalAI" in warning for warning in result.warnings)
    assert any("b.backup is a backup" in warning for warning in result.warnings)
