# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Extraction rules of docs/behaviour.md, on real tar streams written by Python's tarfile."""

from __future__ import annotations

import errno
import os
import tarfile

import pytest

from helpers.images import compress, entry, tar_bytes
from helpers.trees import extractor_at, snapshot as tree
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError, NoSpaceError, UnsafeEntryError
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import decompressed, layer_stream


def chunks_of(data: bytes, size: int = 7000):
    return [data[offset:offset + size] for offset in range(0, len(data), size)]


def extract(root, *layers, compression="none", budget=None):
    extractor = extractor_at(str(root), space_budget=budget)
    for layer in layers:
        extractor.extract(layer_stream(chunks_of(compress(tar_bytes(layer), compression))))
    return extractor


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_files_dirs_links_and_modes(tmp_path, compression):
    root = tmp_path / "root"
    root.mkdir()
    extract(root, [entry("bin", kind="dir", mode=0o500), entry("bin/run", "x", mode=0o4755),
                   entry("bin/alias", kind="symlink", target="run"),
                   entry("bin/hard", kind="hardlink", target="bin/run", mode=0o4755),  # its mode applies to the inode
                   entry("deep/implicit/file.txt", "content" * 5000)], compression=compression)
    found = tree(root)
    assert found["bin"] == ("dir", "0o700")  # u+rwx added
    assert found["bin/run"] == ("file", "0o755", b"x")  # setuid dropped
    assert found["bin/alias"] == ("link", "run")
    assert os.stat(root / "bin/hard").st_ino == os.stat(root / "bin/run").st_ino
    assert found["deep/implicit/file.txt"][2] == b"content" * 5000


def test_gnu_and_pax_long_names(tmp_path):
    long_name = "d/" + "n" * 150 + "/file"
    for tar_format in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        root = tmp_path / str(tar_format)
        root.mkdir()
        data = tar_bytes([entry(long_name, "x"), entry("l", kind="symlink", target="d/" + "n" * 150 + "/file")],
                         tar_format)
        extractor_at(str(root)).extract(chunks_of(data, 100))
        assert (root / long_name).read_text() == "x"
        assert os.readlink(root / "l").endswith("/file")


def test_whiteouts_and_opaque_directories(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    extract(root,
            [entry("a/keep"), entry("a/gone"), entry("b/old1"), entry("b/sub/old2"), entry("c")],
            [entry("a/.wh.gone"), entry("b/new"), entry("b/.wh..wh..opq"), entry(".wh.c")])
    assert sorted(tree(root)) == ["a", "a/keep", "b", "b/new"]


def test_device_nodes_and_fifos_are_skipped(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    extractor = extract(root, [entry("dev/null", kind="chr"), entry("fifo", kind="fifo"), entry("run.sh", "x")])
    assert sorted(tree(root)) == ["run.sh"]  # a skipped node creates nothing, not even its parent
    assert extractor.skipped == ["dev/null", "fifo"]


@pytest.mark.parametrize("layer, rule", [
    ([entry("../escape", "x")], "'..' would leave the backend directory"),
    ([entry("a/../../escape", "x")], "'..' would leave"),
    ([entry("/etc/passwd", "x")], "absolute paths are not allowed"),
    ([entry("hard", kind="hardlink", target="../outside/file")], "'..' would leave"),
    ([entry("hard", kind="hardlink", target="/etc/passwd")], "absolute paths are not allowed"),
    ([entry("hard", kind="hardlink", target="missing")], "target is not a file extracted inside"),
    ([entry("../.wh.x")], "'..' would leave"),
])
def test_hostile_entries_are_refused_naming_entry_and_rule(tmp_path, layer, rule):
    root = tmp_path / "stage" / "root"
    root.mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "file").write_text("precious")
    (tmp_path / "stage" / "x").write_text("sibling")
    with pytest.raises(UnsafeEntryError, match=rule) as raised:
        extract(root, layer)
    assert repr(layer[0]["name"]) in str(raised.value)
    assert (tmp_path / "outside" / "file").read_text() == "precious"
    assert (tmp_path / "stage" / "x").read_text() == "sibling"
    assert sorted(os.listdir(tmp_path)) == ["outside", "stage"]


def test_symlinks_are_created_verbatim_whatever_their_target(tmp_path):
    """containerd's archive.Apply (LocalAI's extractor) creates every symlink as it is: a link is data."""
    root = tmp_path / "root"
    root.mkdir()
    extract(root, [entry("venv/bin/python", kind="symlink", target="/usr/bin/python3"),
                   entry("venv/bin/python3", kind="symlink", target="python"),
                   entry("lib/libcuda.so", kind="symlink", target="../../outside/libcuda.so.1"),
                   entry("up", kind="symlink", target="..")])
    found = tree(root)
    assert found["venv/bin/python"] == ("link", "/usr/bin/python3")
    assert found["venv/bin/python3"] == ("link", "python")
    assert found["lib/libcuda.so"] == ("link", "../../outside/libcuda.so.1")
    assert found["up"] == ("link", "..")


@pytest.mark.parametrize("link_target", ["../outside", "/OUTSIDE"])
def test_nothing_is_written_through_a_link_pointing_outside(tmp_path, link_target):
    """A later entry below a link, or replacing it, replaces the link: never follows it (docs/behaviour.md)."""
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    target = link_target.replace("/OUTSIDE", str(tmp_path / "outside"))
    extract(root, [entry("lib", kind="symlink", target=target), entry("file", kind="symlink", target=target + "/f")],
            [entry("lib/evil.so", "x"), entry("file", "now a file"), entry("lib", kind="dir")])
    assert os.listdir(tmp_path / "outside") == []
    found = tree(root)
    assert found["lib"][0] == "dir" and found["lib/evil.so"][2] == b"x" and found["file"][0] == "file"


def test_a_link_in_the_path_is_replaced_not_written_through(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    extract(root, [entry("real", kind="dir"), entry("lib", kind="symlink", target="real")],
            [entry("lib/file.so", "x"), entry("real2", kind="symlink", target="real"), entry("real2", "now a file")])
    found = tree(root)
    assert found["lib"][0] == "dir" and found["lib/file.so"][2] == b"x"
    assert "real/file.so" not in found
    assert found["real2"][0] == "file"


def test_decompression_bomb_is_bounded_by_the_space_budget(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    bomb = [entry("zeros%d" % number, bytes(4 << 20)) for number in range(8)]  # 32 MiB of zeros, ~32 KiB gzipped
    with pytest.raises(NoSpaceError, match="entry 'zeros2' needs 4194304 bytes.*free at least"):
        extract(root, bomb, compression="gzip", budget=10 << 20)


def test_filesystem_refusing_symlinks_gets_copies_in_dependency_order(tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", refuse)
    root = tmp_path / "root"
    root.mkdir()
    extract(root, [entry("second", kind="symlink", target="first"),
                   entry("first", kind="symlink", target="lib/real.so"),
                   entry("lib/real.so", "payload"), entry("libdir", kind="symlink", target="lib")])
    found = tree(root)
    assert found["first"][2] == found["second"][2] == b"payload"
    assert found["libdir/real.so"][2] == b"payload"


def test_refused_links_resolve_absolute_targets_inside_the_root(tmp_path, monkeypatch):
    """LocalAI's fallback (extractTarCopyingLinks) maps an absolute target under the root; one not in the
    image is skipped with a warning that names it (upstream fails the whole install)."""
    def refuse(*_args, **_kwargs):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "symlink", refuse)
    root = tmp_path / "root"
    root.mkdir()
    extractor = extract(root, [entry("usr/lib/libx.so.1", "real"),
                               entry("lib/libx.so", kind="symlink", target="/usr/lib/libx.so.1"),
                               entry("bin/python", kind="symlink", target="/usr/bin/python3"),
                               entry("escape", kind="symlink", target="../../etc/passwd")])
    found = tree(root)
    assert found["lib/libx.so"][2] == b"real"
    assert "bin/python" not in found and "escape" not in found
    assert sorted(extractor.skipped) == ["bin/python", "escape"]
    assert any("'bin/python'" in warning for warning in extractor.warnings)


def test_truncated_and_corrupt_streams_fail_clearly(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    data = compress(tar_bytes([entry("big", b"x" * 100000)]), "gzip")
    with pytest.raises(BackendError, match="truncated|ended in the middle"):
        extractor_at(str(root)).extract(decompressed(chunks_of(data[:len(data) // 2])))
