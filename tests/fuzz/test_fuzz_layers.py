# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property-based fuzzing of the layer extractor (Hypothesis).

Invariants:
- valid archives: the extracted tree equals what Python's tarfile extracts (differential);
- any archive, generated hostile or mutated byte by byte: nothing is ever written outside the staging root,
  and only our own error types (BackendError) escape.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import tempfile

from hypothesis import assume, given
from hypothesis import strategies as st

from helpers.trees import extractor_at, snapshot
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import decompressed

NAME = st.text(alphabet="abcxyz-_.", min_size=1, max_size=12).filter(lambda part: part not in (".", ".."))
LONG_NAME = st.text(alphabet="abcdefghij", min_size=100, max_size=160)
DATA = st.binary(max_size=3000)
FILE_MODES = st.sampled_from([0o644, 0o755, 0o600, 0o700, 0o444, 0o640])
DIR_MODES = st.sampled_from([0o755, 0o700, 0o750, 0o775])
FORMATS = st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])


def _add(archive: tarfile.TarFile, name: str, kind: str, data: bytes = b"", mode: int = 0o644, target: str = "",
         mtime: int = 1700000000, entry_type: bytes | None = None, size: int | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.mode = mtime, mode
    info.type = entry_type if entry_type is not None else {
        "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
        "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]
    if kind in ("symlink", "hardlink"):
        info.linkname = target
    if kind == "file":
        info.size = len(data) if size is None else size
        archive.addfile(info, io.BytesIO(data))
    else:
        archive.addfile(info)


@st.composite
def valid_trees(draw):
    """Entries with unique paths, parents that are directories, hardlinks to earlier files, links as leaves."""
    entries, dirs, files, taken = [], [""], [], set()
    for _number in range(draw(st.integers(1, 25))):
        parent = draw(st.sampled_from(dirs))
        name = draw(st.one_of(NAME, LONG_NAME) if draw(st.integers(0, 9)) == 0 else NAME)
        path = parent + "/" + name if parent else name
        if path in taken:
            continue
        taken.add(path)
        kind = draw(st.sampled_from(["file", "file", "dir", "symlink", "hardlink"] if files else
                                    ["file", "dir", "symlink"]))
        if kind == "file":
            entries.append((path, "file", draw(DATA), draw(FILE_MODES), ""))
            files.append(path)
        elif kind == "dir":
            entries.append((path, "dir", b"", draw(DIR_MODES), ""))
            dirs.append(path)
        elif kind == "symlink":
            target = draw(st.one_of(NAME, st.just("/usr/bin/python3"), st.just("../" + name), st.just(".")))
            entries.append((path, "symlink", b"", 0o777, target))
        else:
            entries.append((path, "hardlink", b"", 0o644, draw(st.sampled_from(files))))
    return entries, draw(FORMATS)


def _tar(entries, tar_format) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as archive:
        for path, kind, data, mode, target in entries:
            _add(archive, path, kind, data, mode, target)
    return buffer.getvalue()


def _chunks(data: bytes, size: int = 4096):
    return [data[offset:offset + size] for offset in range(0, len(data), size)]


@given(valid_trees(), st.integers(1, 9000))
def test_valid_archives_extract_as_python_tarfile_does(tree, chunk_size):
    entries, tar_format = tree
    data = _tar(entries, tar_format)
    with tempfile.TemporaryDirectory() as work:
        ours, theirs = os.path.join(work, "ours"), os.path.join(work, "theirs")
        os.mkdir(ours)
        os.mkdir(theirs)
        extractor_at(ours).extract(_chunks(data, chunk_size))
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            archive.extractall(theirs, filter="fully_trusted")
        assert snapshot(ours) == snapshot(theirs)


# --- hostile archives -------------------------------------------------------------------------------------
HOSTILE_NAMES = st.one_of(
    NAME, st.builds(lambda a, b: a + "/" + b, NAME, NAME), st.sampled_from(
        ["../escape", "a/../../escape", "/etc/passwd", "./a", "a//b", "a/./b", ".wh.a", "a/.wh..wh..opq", ".wh..wh..opq",
         "a/.wh.b", ".wh..", "lib/../lib/x", "..", ".", "a\\b", "run.sh", "metadata.json"]),
    st.text(min_size=1, max_size=30))
HOSTILE_TARGETS = st.one_of(NAME, st.sampled_from(["..", "../..", "/", "/etc", "../outside", "a/b", "", "."]),
                            st.text(max_size=20))


@st.composite
def hostile_archives(draw):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=draw(FORMATS)) as archive:
        for _number in range(draw(st.integers(1, 20))):
            kind = draw(st.sampled_from(["file", "dir", "symlink", "hardlink", "fifo", "chr"]))
            try:
                _add(archive, draw(HOSTILE_NAMES), kind, draw(DATA), draw(st.integers(0, 0o7777)),
                     draw(HOSTILE_TARGETS))
            except (ValueError, UnicodeEncodeError):
                continue  # tarfile cannot even write this name: not an archive anyone can send
    return buffer.getvalue()


def _mutated(data: bytes, draw) -> bytes:
    """Flip, delete, insert or truncate at random places of a real archive (headers included)."""
    data = bytearray(data)
    for _number in range(draw(st.integers(1, 8))):
        if not data:
            break
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "header"]))
        where = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[where] ^= draw(st.integers(1, 255))
        elif action == "delete":
            del data[where:where + draw(st.integers(1, 600))]
        elif action == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=600))
        elif action == "truncate":
            del data[where:]
        else:  # overwrite a header field area (name, mode, size, type, link name) of a 512-byte block
            block = where - where % 512
            offset = block + draw(st.sampled_from([0, 100, 124, 156, 157, 345]))
            data[offset:offset + 12] = draw(st.binary(min_size=12, max_size=12))
    return bytes(data)


def _extract_in_sandbox(layers: list[bytes]) -> None:
    """Extract into sandbox/root; the sandbox's other contents (a sentinel tree) must never change."""
    with tempfile.TemporaryDirectory() as sandbox:
        root = os.path.join(sandbox, "stage", "root")
        os.makedirs(root)
        outside = os.path.join(sandbox, "outside")
        os.makedirs(os.path.join(outside, "lib"))
        with open(os.path.join(outside, "lib", "precious"), "w", encoding="utf-8") as handle:
            handle.write("precious")
        before = snapshot(sandbox)
        extractor = extractor_at(root, space_budget=8 << 20)
        try:
            for layer in layers:
                extractor.extract(decompressed(_chunks(layer, 777)))
        except BackendError:
            pass  # a clear refusal is a correct outcome; anything else escaping fails the test
        after = snapshot(sandbox)
        assert {path: entry for path, entry in after.items() if not path.startswith("stage/root")} == \
            {path: entry for path, entry in before.items() if not path.startswith("stage/root")}
        assert stat.S_ISDIR(os.lstat(root).st_mode)
        shutil.rmtree(os.path.join(sandbox, "stage"))


@given(st.lists(hostile_archives(), min_size=1, max_size=3))
def test_hostile_archives_write_nothing_outside_and_fail_only_clearly(layers):
    _extract_in_sandbox(layers)


@given(st.data())
def test_mutated_archives_write_nothing_outside_and_fail_only_clearly(data):
    entries, tar_format = data.draw(valid_trees())
    original = _tar(entries, tar_format)
    assume(original)
    _extract_in_sandbox([_mutated(original, data.draw)])


@given(hostile_archives(), st.data())
def test_mutated_hostile_archives(archive, data):
    _extract_in_sandbox([_mutated(archive, data.draw)])
