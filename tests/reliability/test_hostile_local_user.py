# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The LocalAI user against root: a real unprivileged uid (nobody) owns the backends path, as the backends role
lays it out (`backends_owner`), and acts in it while the modules run as root. Nothing outside the backends path
may be read, written or chowned for it; credentials go only to their own registry (RELIABILITY.md, threat model).

The modules run in-process (their main(), as Ansible runs them); the attacker is a forked child that called
setuid(nobody). The race runs RACE_SECONDS (40 by default; LOCALAI_GALLERY_RACE_SECONDS changes it).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

from helpers.attacker import Attacker, exchange
from helpers.hostile_registry import REPOSITORY, HostileRegistry
from helpers.modules import run_module

from ansible_collections.localai.gallery.plugins.modules import backend_facts, backend_install, backend_remove

RACE_SECONDS = float(os.environ.get("LOCALAI_GALLERY_RACE_SECONDS", "40"))
SECRET = "TOP-SECRET-root-only-content"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="root runs the modules; the attacker is another uid")


def tree_state(root: str) -> dict:
    """{path: (type, uid, gid, mode, content or target)} of everything under root: what must never change."""
    state = {}
    for directory, dirs, files in os.walk(root):
        for name in [""] + dirs + files:
            path = os.path.join(directory, name) if name else directory
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    content = handle.read()
            else:
                content = None
            state[path] = (stat.S_IFMT(info.st_mode), info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), content)
    return state


@pytest.fixture
def layout():
    """A base every user can traverse: `backends/` owned by nobody (the role's backends_owner), `outside/` root's
    (files a root-only secret among them), `src/` a directory source with a backend in it."""
    base = tempfile.mkdtemp(prefix="hostile-", dir="/tmp")
    os.chmod(base, 0o755)
    nobody = pwd.getpwnam("nobody")
    backends = os.path.join(base, "backends")
    os.mkdir(backends, 0o755)
    os.chown(backends, nobody.pw_uid, nobody.pw_gid)
    outside = os.path.join(base, "outside")
    os.makedirs(os.path.join(outside, "sub"))
    os.makedirs(os.path.join(outside, "staging.0123456789ab.x"))  # looks like a leftover of ours
    for name, content, mode in (("shadow", SECRET, 0o600), ("tool", "#!/bin/sh\n", 0o644), ("sub/lib.so", "x", 0o644)):
        with open(os.path.join(outside, name), "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(os.path.join(outside, name), mode)
    source = os.path.join(base, "src")
    os.makedirs(os.path.join(source, "lib", "deep"))
    with open(os.path.join(source, "run.sh"), "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\necho ok\n")
    os.chmod(os.path.join(source, "run.sh"), 0o755)
    for index in range(20):
        with open(os.path.join(source, "lib", "deep", "f%02d" % index), "w", encoding="utf-8") as handle:
            handle.write("data %d\n" % index)
    yield {"base": base, "backends": backends, "outside": outside, "source": source, "uid": nobody.pw_uid,
           "gid": nobody.pw_gid}
    shutil.rmtree(base)


def install(layout: dict, name: str = "cpu-x", **options) -> dict:
    args = {"name": name, "uri": layout["source"], "backends_path": layout["backends"], "capability": "default",
            "owner": "nobody", "group": "nogroup", "lock_timeout": 5}
    args.update(options)
    return run_module(backend_install, args)


def facts(layout: dict) -> dict:
    return run_module(backend_facts, {"backends_path": layout["backends"], "capability": "default"})


def work_dir_is_ours(layout: dict) -> bool:
    info = os.lstat(os.path.join(layout["backends"], ".localai-gallery"))
    return stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o700


# --- the work directory ----------------------------------------------------------------------------------
def _swap_work_dir_for_link(backends: str, target: str) -> None:
    os.rename(os.path.join(backends, ".localai-gallery"), os.path.join(backends, ".moved-aside"))
    os.symlink(target, os.path.join(backends, ".localai-gallery"))


@pytest.mark.parametrize("run", ["install", "remove", "facts"])
def test_a_work_directory_swapped_for_a_link_is_never_followed(layout, run):
    """Issue 20: the next no-op run used to empty the directory the link named, as root."""
    assert not install(layout)["failed"]
    before = tree_state(layout["outside"])
    Attacker().run(_swap_work_dir_for_link, layout["backends"], layout["outside"])
    if run == "install":
        result = install(layout)
    elif run == "remove":
        result = run_module(backend_remove, {"name": "not-installed", "backends_path": layout["backends"],
                                             "capability": "default"})
    else:
        result = facts(layout)
    assert not result["failed"] and not result["changed"], result
    assert tree_state(layout["outside"]) == before
    warnings = " ".join(result.get("warnings", []))
    assert "a symbolic link, which root does not trust" in warnings
    if run == "facts":  # read-only: it says so, changes nothing
        assert os.path.islink(os.path.join(layout["backends"], ".localai-gallery"))
    else:
        assert work_dir_is_ours(layout)


def _plant_hostile_work_dir(backends: str, outside: str) -> None:
    work = os.path.join(backends, ".localai-gallery")
    os.rename(work, os.path.join(backends, ".moved-aside"))
    os.mkdir(work, 0o777)
    os.symlink(os.path.join(outside, "shadow"), os.path.join(work, "lock"))
    os.symlink(outside, os.path.join(work, "provenance"))
    os.symlink(outside, os.path.join(work, "staging.0123456789ab.cpu-x"))
    os.mkdir(os.path.join(work, "backup.0123456789ab.cpu-y"))


def test_a_work_directory_of_the_localai_user_is_replaced_and_nothing_in_it_is_followed(layout):
    assert not install(layout)["failed"]
    before = tree_state(layout["outside"])
    Attacker().run(_plant_hostile_work_dir, layout["backends"], layout["outside"])
    result = install(layout, force=True)  # a change: lock, staging, swap and recovery all run
    assert not result["failed"] and result["changed"], result
    assert tree_state(layout["outside"]) == before
    assert "a directory owned by uid %d, which root does not trust" % layout["uid"] in " ".join(result["warnings"])
    assert work_dir_is_ours(layout)
    assert not os.path.exists(os.path.join(layout["backends"], "cpu-y")), "a planted backup is never restored"


def _try_to_hold_the_lock(backends: str) -> list[str]:
    refused = []
    for path in (os.path.join(backends, ".localai-gallery", "lock"), os.path.join(backends, ".localai-gallery")):
        try:
            os.open(path, os.O_RDONLY)
        except PermissionError:
            refused.append(path)
    return refused


def test_the_localai_user_cannot_open_or_hold_the_lock(layout):
    assert not install(layout)["failed"]
    lock = os.path.join(layout["backends"], ".localai-gallery", "lock")
    assert stat.S_IMODE(os.stat(lock).st_mode) == 0o600
    assert len(Attacker().run(_try_to_hold_the_lock, layout["backends"])) == 2
    started = time.monotonic()
    assert install(layout, force=True)["changed"]
    assert time.monotonic() - started < 5


def test_an_earlier_release_work_directory_is_tightened(layout):
    """Releases before 0.3.0 made the work directory 0755 and the lock 0644: root-owned, so trusted, and tightened."""
    assert not install(layout)["failed"]
    work = os.path.join(layout["backends"], ".localai-gallery")
    os.chmod(work, 0o755)
    os.chmod(os.path.join(work, "lock"), 0o644)
    result = install(layout, force=True, localai={})  # LocalAI described: no restart warning either
    assert result["changed"] and not result.get("warnings")
    assert stat.S_IMODE(os.stat(work).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(work, "lock")).st_mode) == 0o600


# --- what root reads ---------------------------------------------------------------------------------------
def _plant_metadata(backends: str, outside: str) -> None:
    for name in ("linked", "fifo", "huge"):
        os.mkdir(os.path.join(backends, name))
        with open(os.path.join(backends, name, "run.sh"), "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\n")
    os.symlink(os.path.join(outside, "shadow"), os.path.join(backends, "linked", "metadata.json"))
    os.mkfifo(os.path.join(backends, "fifo", "metadata.json"))
    with open(os.path.join(backends, "huge", "metadata.json"), "w", encoding="utf-8") as handle:
        handle.write('{"name": "huge", "pad": "%s"}' % ("x" * (2 << 20)))


def test_a_metadata_json_root_must_not_read_is_a_warning_not_content(layout):
    Attacker().run(_plant_metadata, layout["backends"], layout["outside"])
    started = time.monotonic()
    result = facts(layout)
    assert time.monotonic() - started < 10, "a FIFO must not hang the listing"
    assert not result["failed"]
    assert SECRET not in json.dumps(result)
    warnings = " ".join(result["warnings"])
    assert "linked/metadata.json is a symbolic link: not read" in warnings
    assert "fifo/metadata.json is not a regular file: not read" in warnings
    assert "huge/metadata.json is larger than 1048576 bytes: not read" in warnings
    # LocalAI lists them (run.sh exists); their metadata reads as empty.
    assert {"linked", "fifo", "huge"} <= set(result["ansible_facts"]["localai_backends"])


# --- ownership repairs under a race -------------------------------------------------------------------------
def _race(backend: str, outside: str, seconds: float) -> dict:
    """Exchange lib/ with a link to root's directory, and run.sh with a link to root's file, as fast as possible;
    take run.sh's execute bit away so that every root run repairs. Hard-link root's file in where allowed."""
    os.symlink(outside, os.path.join(backend, "evil-dir"))
    os.symlink(os.path.join(outside, "tool"), os.path.join(backend, "evil-run"))
    try:
        os.link(os.path.join(outside, "tool"), os.path.join(backend, "hardlinked"))
        hardlinked = True
    except OSError:
        hardlinked = False  # fs.protected_hardlinks: the kernel refuses; the engine's own check covers the rest
    deadline = time.monotonic() + seconds
    swaps = 0
    while time.monotonic() < deadline:
        try:
            os.chmod(os.path.join(backend, "run.sh"), 0o644)
        except OSError:
            pass
        for first, second in (("lib", "evil-dir"), ("run.sh", "evil-run")):
            swaps += exchange(os.path.join(backend, first), os.path.join(backend, second))
            swaps += exchange(os.path.join(backend, first), os.path.join(backend, second))
    return {"swaps": swaps, "hardlinked": hardlinked}


def test_repairs_racing_the_localai_user_never_touch_anything_outside(layout, record_property):
    assert not install(layout)["failed"]
    backend = os.path.join(layout["backends"], "cpu-x")
    before = tree_state(layout["outside"])
    attacker = Attacker()
    racing = attacker.start(_race, backend, layout["outside"], RACE_SECONDS)
    runs = repairs = failures = 0
    deadline = time.monotonic() + RACE_SECONDS
    while time.monotonic() < deadline:
        result = install(layout)
        runs += 1
        repairs += bool(result.get("changed"))
        if result["failed"]:
            failures += 1
            assert "\n" not in result["msg"], result["msg"]
        assert tree_state(layout["outside"]) == before, "root changed something outside after %d runs" % runs
    raced = attacker.stop(racing)
    assert tree_state(layout["outside"]) == before
    assert runs > 20 and repairs > 0 and raced["swaps"] > 1000, (runs, repairs, raced)
    record_property("race", {"seconds": RACE_SECONDS, "root_runs": runs, "repairs": repairs, "failed_runs": failures,
                             "swaps": raced["swaps"], "hardlink_planted": raced["hardlinked"]})
    print("\nrace: %.0f s, %d root runs (%d repairs, %d clean failures), %d exchanges, hard link planted: %s"
          % (RACE_SECONDS, runs, repairs, failures, raced["swaps"], raced["hardlinked"]))


# --- credentials ---------------------------------------------------------------------------------------------
def _install_from(layout: dict, uri: str, mirrors: list[str], **options) -> dict:
    entry = {"name": "cpu-x", "uri": uri, "mirrors": mirrors, "gallery": {"name": "g", "url": "https://g/index.yaml"}}
    args = {"name": "cpu-x", "gallery_entry": entry, "backends_path": layout["backends"], "capability": "default",
            "timeout": 5, "retries": 0}
    args.update(options)
    return run_module(backend_install, args)


def test_credentials_go_only_to_the_registry_they_are_for(tmp_path, layout):
    """registry_username/password belong to the primary uri's registry; the entry's other sources never get them,
    not even when they ask for Basic auth. registry_auths gives each registry its own."""
    primary = HostileRegistry(username="alice", password="alice-pass")
    other = HostileRegistry(username="bob", password="bob-pass")
    try:
        missing = "%s/%s:not-there" % (primary.host, REPOSITORY)
        result = _install_from(layout, missing, [other.uri], registry_username="alice", registry_password="alice-pass")
        assert result["failed"] and "requires authentication (HTTP 401)" in result["msg"]
        assert any(auth == "Basic " + primary.credentials for _m, _p, auth in primary.requests)
        assert other.requests and all(auth is None for _m, _p, auth in other.requests), other.requests
        result = _install_from(layout, missing, [other.uri], registry_username="alice", registry_password="alice-pass",
                               registry_auths={other.host: {"username": "bob", "password": "bob-pass"}})
        assert not result["failed"] and result["source"] == other.uri, result
        assert {auth for _m, _p, auth in other.requests} <= {None, "Basic " + other.credentials}
        assert {auth for _m, _p, auth in primary.requests} <= {None, "Basic " + primary.credentials}
    finally:
        primary.server.stop()
        other.server.stop()


def test_a_registry_mirror_takes_the_credentials_and_the_upstream_fallback_gets_none(layout):
    """For a gallery entry the credentials are bound to its primary uri after registry_mirrors: the mirror."""
    upstream = HostileRegistry(username="alice", password="alice-pass")
    mirror = HostileRegistry(username="carol", password="carol-pass")  # refuses alice: the upstream is tried next
    try:
        result = _install_from(layout, upstream.uri, [], registry_username="alice", registry_password="alice-pass",
                               registry_mirrors={upstream.host: mirror.host})
        assert result["failed"]
        alice = "Basic " + upstream.credentials
        assert any(auth == alice for _m, _p, auth in mirror.requests), "the mirror is the registry they are bound to"
        assert upstream.requests and all(auth is None for _m, _p, auth in upstream.requests), upstream.requests
    finally:
        upstream.server.stop()
        mirror.server.stop()


# --- bounded parsers and bad input -----------------------------------------------------------------------------
BOMB = b"""- &a0 {name: x, v: [l, l, l, l, l, l, l, l, l, l]}
- &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
- &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
- &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
- &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
- &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
- &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
- &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
- &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
- {name: boom, uri: quay.io/x/y:z, tags: [*a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8]}
"""
BOMB_CHILD = """
import json, sys, time
from ansible_collections.localai.gallery.plugins.module_utils.errors import GalleryError
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import parse_gallery


def peak_rss_kib():
    # VmHWM belongs to this program's memory map; ru_maxrss would count the parent's from before exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


started = time.monotonic()
try:
    parse_gallery(open(sys.argv[1], "rb").read(), "bomb", sys.argv[1])
    message = None
except GalleryError as exc:
    message = str(exc)
print(json.dumps({"message": message, "seconds": time.monotonic() - started,
                  "max_rss_mib": peak_rss_kib() / 1024}))
"""


def test_a_billion_laughs_gallery_is_refused_in_seconds_and_little_memory(tmp_path, record_property):
    assert len(BOMB) < 700
    bomb = tmp_path / "bomb.yaml"
    bomb.write_bytes(BOMB)
    output = subprocess.run([sys.executable, "-c", BOMB_CHILD, str(bomb)], check=True, capture_output=True, text=True,
                            timeout=60, env=dict(os.environ)).stdout
    measured = json.loads(output)
    assert measured["message"] and "\n" not in measured["message"]
    assert "expands to more than 2000000 values" in measured["message"]
    assert measured["seconds"] < 10 and measured["max_rss_mib"] < 256, measured
    record_property("yaml_bomb", measured)
    print("\nYAML bomb of %d bytes: refused in %.2f s, peak RSS %.0f MiB"
          % (len(BOMB), measured["seconds"], measured["max_rss_mib"]))


def _tarball_with(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_long_pax_name_is_refused_in_one_short_line(tmp_path, layout):
    run = tarfile.TarInfo("run.sh")
    run.size, run.mode = 3, 0o755
    long_name = tarfile.TarInfo("lib/" + "n" * (2 << 20))
    long_name.size = 1
    data = gzip.compress(_tarball_with([(run, b"#!\n"), (long_name, b"x")]))
    archive = tmp_path / "long.tar.gz"
    archive.write_bytes(data)
    result = install(layout, uri=str(archive), sha256=hashlib.sha256(data).hexdigest())
    assert result["failed"] and "more than the 1048576 allowed: refused" in result["msg"]
    assert len(result["msg"]) < 600 and "\n" not in result["msg"]
    assert sorted(os.listdir(layout["backends"])) == [".localai-gallery"]
    assert os.listdir(os.path.join(layout["backends"], ".localai-gallery")) == ["lock"]


def test_a_directory_source_copies_files_directories_and_links_only(layout):
    source = layout["source"]
    os.mknod(os.path.join(source, "lib", "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mkfifo(os.path.join(source, "lib", "fifo"))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(os.path.join(source, "lib", "sock"))
    os.symlink("deep/f00", os.path.join(source, "lib", "link"))
    try:
        result = install(layout)
    finally:
        listener.close()
    assert not result["failed"] and result["changed"], result
    installed = os.path.join(layout["backends"], "cpu-x", "lib")
    assert sorted(os.listdir(installed)) == ["deep", "link"]
    assert os.readlink(os.path.join(installed, "link")) == "deep/f00"
    for name in ("null", "fifo", "sock"):
        assert "'lib/%s' in the source directory is not a file, directory or link" % name in " ".join(result["warnings"])


def test_a_directory_source_is_copied_within_the_space_budget(layout, monkeypatch):
    from ansible_collections.localai.gallery.plugins.module_utils import layers

    monkeypatch.setattr(layers.os, "fstatvfs", lambda _fd: os.statvfs_result((4096, 4096, 0, 0, 0, 0, 0, 0, 0, 255)))
    result = install(layout)
    assert result["failed"] and "no space left for the backend" in result["msg"]
    assert sorted(os.listdir(layout["backends"])) == [".localai-gallery"]


@pytest.mark.parametrize("uri", ["ftp://mirror.example/cpu-x.tar.gz", "gopher://mirror.example/1/cpu-x"])
def test_an_unsupported_scheme_is_refused_before_anything_is_created(layout, uri):
    backends = os.path.join(layout["base"], "not-yet")
    result = run_module(backend_install, {"name": "cpu-x", "uri": uri, "backends_path": backends,
                                          "capability": "default"})
    assert result["failed"]
    assert "unsupported URI scheme %s://" % uri.split(":")[0] in result["msg"]
    assert not os.path.exists(backends)
