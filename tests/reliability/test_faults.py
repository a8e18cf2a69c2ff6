# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults on a real registry and a real filesystem: no fault loses an installed backend or shows a broken one.

Each scenario runs RUNS times; RELIABILITY.md records the figures.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from helpers.engine import Engine
from helpers.fault_proxy import FaultProxy
from helpers.images import Pusher, backend_files, entry
from helpers.registry_server import RegistryServer
from helpers.trees import listing
from ansible_collections.localai.gallery.plugins.module_utils.errors import NoSpaceError
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore, validate_backend_name

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "install_child.py")
RUNS = 3


def child(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, CHILD] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def install(backends_path: str, name: str, uri: str, **kwargs):
    return Engine(backends_path, retries=0).install(name, [uri], {}, **kwargs)


def visible(backends_path: str) -> dict[str, str]:
    """What a reader sees: {listed name: version.txt of the tree it points at}; every listed tree is whole."""
    rows, _warnings = listing(backends_path, None, "default")
    seen = {}
    for name, row in rows.items():
        assert not name.startswith("."), "a work directory is listed: %s" % name
        assert row["runnable"], "%s is listed but not runnable" % name
        with open(os.path.join(row["path"], "lib", "version.txt"), encoding="utf-8") as handle:
            seen[name] = handle.read().strip()
        assert len(os.listdir(os.path.join(row["path"], "lib"))) == 201, "%s is incomplete" % name
    return seen


def on_disk(backends_path: str) -> list[str]:
    """The direct children, and what is inside our work directory (".localai-gallery/<entry>")."""
    found = sorted(os.listdir(backends_path))
    work = os.path.join(backends_path, ".localai-gallery")
    if os.path.isdir(work):
        found += [".localai-gallery/" + entry for entry in sorted(os.listdir(work))]
    return sorted(found)


CLEAN = [".localai-gallery", ".localai-gallery/lock"]


@pytest.fixture
def two_versions(registry, pusher, backends_path):
    """Backend b installed at v1; its tag then moved to v2."""
    uri = "%s/faults/b%d:t" % (registry.host, time.monotonic_ns())
    repository = uri.split("/", 1)[1].split(":")[0]
    pusher.push_image(repository, "t", [backend_files("v1", extra=200)])
    install(backends_path, "b", uri)
    pusher.push_image(repository, "t", [backend_files("v2", extra=200)])
    return uri


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("point", ["download", "extraction", "after-exchange", "between-renames"])
def test_sigkill_keeps_a_whole_backend_listed_and_the_next_run_converges(two_versions, registry, backends_path,
                                                                         point, run):
    del run
    if point == "download":
        with FaultProxy(registry.host) as proxy:
            proxy.stall_after = 100
            process = child(backends_path, "b", two_versions.replace(registry.host, proxy.host), "--force")
            assert proxy.stalled.wait(20)
            process.send_signal(signal.SIGKILL)
            process.wait()
    else:
        hooks = {"extraction": ["--kill-after-files", "50"], "after-exchange": ["--kill-after-swap"],
                 "between-renames": ["--kill-after-swap", "--no-exchange"]}[point]
        process = child(backends_path, "b", two_versions, "--force", *hooks)
        process.wait(60)
    assert process.returncode == -signal.SIGKILL
    if point == "between-renames":
        # Only the fallback swap (no RENAME_EXCHANGE) has this window: the backend exists only as our backup,
        # which LocalAI never lists; the next run that takes the lock restores it.
        assert visible(backends_path) == {} and BackendStore(backends_path).stranded_backups() == ["b"]
    else:
        assert visible(backends_path) == {"b": "v2" if point == "after-exchange" else "v1"}
    assert set(on_disk(backends_path)) - set(CLEAN) - {"b"}, "the killed run left no work directory"
    assert all(not name.startswith(".") or name.startswith(".localai-gallery") for name in on_disk(backends_path))

    result = install(backends_path, "b", two_versions, state="latest")
    assert visible(backends_path) == {"b": "v2"}
    assert result.changed is (point != "after-exchange")
    assert on_disk(backends_path) == CLEAN + ["b"]


def _big_image(pusher, repository: str, label: str) -> None:
    files = backend_files(label) + [entry("lib/blob%03d.bin" % number, os.urandom(100_000)) for number in range(200)]
    pusher.push_image(repository, "t", [files])


@pytest.mark.parametrize("restart_after", [0.5, None])
def test_registry_stopped_mid_blob(tmp_path, backends_path, restart_after):
    """Restarted in time: the download resumes with Range. Not restarted: a clean failure; the next run converges."""
    server = RegistryServer(str(tmp_path / "registry")).start()
    try:
        pusher = Pusher(server.url)
        uri = "%s/stop/b:t" % server.host
        _big_image(pusher, "stop/b", "v1")
        install(backends_path, "b", uri)
        _big_image(pusher, "stop/b", "v2")
        process = child(backends_path, "b", uri, "--force", "--pace", "0.01", "--retries", "4")
        deadline = time.monotonic() + 30
        work = os.path.join(backends_path, ".localai-gallery")
        while time.monotonic() < deadline and not any(
                name.startswith("staging.") and len(os.listdir(os.path.join(work, name, "lib"))) > 20
                for name in os.listdir(work) if os.path.isdir(os.path.join(work, name, "lib"))):
            time.sleep(0.02)
        server.process.kill()
        server.process.wait()
        if restart_after is not None:
            time.sleep(restart_after)
            server.start()
        output, _errors = process.communicate(timeout=120)
        if restart_after is not None:
            assert process.returncode == 0, output
            assert visible(backends_path) == {"b": "v2"}
        else:
            assert process.returncode == 3 and "failed after" in output and "retries" in output
            assert visible(backends_path) == {"b": "v1"}
            server.start()
            install(backends_path, "b", uri, state="latest")
            assert visible(backends_path) == {"b": "v2"}
        assert on_disk(backends_path) == CLEAN + ["b"]
    finally:
        server.stop()


@pytest.fixture
def small_filesystem(tmp_path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a size-limited tmpfs here (needs root): %s" % mounted.stderr.decode().strip())
    yield str(mount_point)
    subprocess.run(["umount", str(mount_point)], check=False)


def test_disk_full_is_a_clear_error_and_keeps_the_previous_version(registry, pusher, small_filesystem):
    uri = "%s/full/b:t" % registry.host
    pusher.push_image("full/b", "t", [backend_files("v1", extra=200)])
    install(small_filesystem, "b", uri)
    pusher.push_image("full/b", "t", [backend_files("v2", extra=200) + [entry("lib/model.bin", os.urandom(4 << 20))]])
    with pytest.raises(NoSpaceError, match="entry 'lib/model.bin' needs 4194304 bytes.*free at least"):
        install(small_filesystem, "b", uri, force=True)
    assert visible(small_filesystem) == {"b": "v1"}
    assert on_disk(small_filesystem) == CLEAN + ["b"]


@pytest.mark.parametrize("run", range(RUNS))
def test_eight_concurrent_installs_and_removals(registry, pusher, backends_path, run):
    del run
    uris = {}
    for name in ("a", "b", "c"):
        pusher.push_image("concurrent/" + name, "t", [backend_files(name, extra=200)])
        uris[name] = "%s/concurrent/%s:t" % (registry.host, name)
    plan = [("a", False), ("a", False), ("a", True), ("a", False), ("b", False), ("b", True), ("c", False),
            ("c", False)]
    processes = [child(backends_path, name, "--remove") if remove else child(backends_path, name, uris[name], "--force")
                 for name, remove in plan]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 8, outputs
    seen = visible(backends_path)
    assert set(seen) <= {"a", "b", "c"} and "c" in seen and all(seen[name] == name for name in seen)
    assert [name for name in on_disk(backends_path) if name.startswith(".")] == CLEAN
    for name in seen:
        with open(os.path.join(backends_path, name, "metadata.json"), encoding="utf-8") as handle:
            assert json.load(handle)["name"] == name


def test_a_waiting_run_honours_the_lock_timeout(registry, pusher, backends_path):
    pusher.push_image("locked/b", "t", [backend_files("v1")])
    with BackendStore(backends_path).locked():
        process = child(backends_path, "b", "%s/locked/b:t" % registry.host, "--lock-timeout", "0.5")
        output, _errors = process.communicate(timeout=30)
    assert process.returncode == 3
    assert "another run holds the lock on %s; gave up after 0.5 seconds" % backends_path in output
    assert on_disk(backends_path) == CLEAN


def test_a_corrupted_metadata_json_is_reported_and_removal_still_works(registry, pusher, backends_path):
    for name in ("a", "b", "c"):
        pusher.push_image("corrupt-meta/" + name, "t", [backend_files(name, extra=200)])
        install(backends_path, name, "%s/corrupt-meta/%s:t" % (registry.host, name))
    with open(os.path.join(backends_path, "b", "metadata.json"), "w", encoding="utf-8") as handle:
        handle.write('{"name": "b", "digest": ')
    rows, warnings = listing(backends_path, None, "default")
    assert sorted(rows) == ["a", "b", "c"] and len(warnings) == 1 and "b" in warnings[0]
    process = child(backends_path, "b", "--remove")
    assert process.communicate(timeout=30)[0].strip() == json.dumps({"removed": ["b"]})
    assert sorted(visible(backends_path)) == ["a", "c"]
    assert validate_backend_name("b") == "b"


def test_secrets_never_leak(auth_registry, auth_pusher, tmp_path):
    """The password is not in -vvvv output, metadata.json, the process list, or error messages."""
    from conftest import REGISTRY_PASSWORD, REGISTRY_USER

    auth_pusher.push_image("secret/b", "t", [backend_files("v1", extra=200)])
    backends = tmp_path / "backends"
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("registry_password: %s\n" % REGISTRY_PASSWORD)
    playbook = tmp_path / "install.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Install with credentials
      localai.gallery.backend_install:
        name: "{{ item.name }}"
        uri: %s/secret/b:t
        backends_path: %s
        registry_username: "{{ item.user }}"
        registry_password: "{{ registry_password }}"
        ca_path: %s
      loop:
        - {name: good, user: %s}
        - {name: bad, user: wrong-user}
      ignore_errors: true
""" % (auth_registry.host, backends, auth_registry.ca_path, REGISTRY_USER))
    seen_in_ps = []
    done = threading.Event()

    def sample_process_list():
        while not done.is_set():
            listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False).stdout
            seen_in_ps.append(REGISTRY_PASSWORD in listing)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample_process_list)
    sampler.start()
    bin_dir = os.path.dirname(sys.executable)
    run = subprocess.run([os.path.join(bin_dir, "ansible-playbook"), "-vvvv", "-i", "localhost,", "-c", "local",
                          "-e", "@%s" % secrets, "-e", "ansible_python_interpreter=%s" % sys.executable,
                          str(playbook)], capture_output=True, text=True, check=False)
    done.set()
    sampler.join()
    output = run.stdout + run.stderr
    assert "authentication failed" in output and "HTTP 401" in output  # the bad user's error was printed
    assert (backends / "good" / "run.sh").is_file()
    assert REGISTRY_PASSWORD not in output
    assert len(seen_in_ps) > 10 and not any(seen_in_ps)
    for directory, _dirs, files in os.walk(backends):
        for name in files:
            with open(os.path.join(directory, name), "rb") as handle:
                assert REGISTRY_PASSWORD.encode() not in handle.read()
