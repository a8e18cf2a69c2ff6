# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What fuzzing (tests/fuzz) found, each the minimal failing example Hypothesis reported, fixed and kept."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from helpers.images import entry, tar_bytes
from helpers.trees import extractor_at, snapshot
from ansible_collections.localai.gallery.plugins.module_utils.errors import CorruptLayerError, UnsafeEntryError


def test_fuzz_hardlink_entry_mode_applies_to_the_shared_inode(tmp_path):
    """test_valid_archives_extract_as_python_tarfile_does: a hardlink entry (mode 0644) to a 0755 file left both
    0755; tarfile and containerd (archive.handleLChmod) chmod the link path, so both are 0644."""
    data = tar_bytes([entry("_", b""), entry("__", b"", mode=0o755), entry("___", kind="hardlink", target="__")],
                     tarfile.GNU_FORMAT)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    extractor_at(str(ours)).extract([data])
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(str(theirs), filter="fully_trusted")
    assert snapshot(ours) == snapshot(theirs)
    assert oct(os.stat(ours / "__").st_mode & 0o777) == "0o644"


def test_fuzz_hardlink_whose_parent_replaces_its_target_is_refused(tmp_path):
    """test_mutated_hostile_archives: `_` a file, then a hardlink `_/0` -> `_`. Making the link's parent turns `_`
    into a directory after the target was checked, and os.link then failed with EPERM (a crash, not a refusal)."""
    data = tar_bytes([entry("_", b"x"), entry("_/0", kind="hardlink", target="_")], tarfile.GNU_FORMAT)
    with pytest.raises(UnsafeEntryError, match=r"unsafe hardlink '_/0' -> '_': the target is not a file"):
        extractor_at(str(tmp_path)).extract([data])


def _header_block(size_field: bytes, typeflag: bytes = b"0") -> bytes:
    block = bytearray(512)
    block[0:6] = b"run.sh"
    block[100:108] = b"0000644\0"
    block[124:136] = size_field.ljust(12, b"\0")
    block[136:148] = b"00000000000\0"
    block[156:157] = typeflag
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


@pytest.mark.parametrize("typeflag", [b"0", b"x", b"L"])
def test_fuzz_negative_base256_size_is_refused_not_looped_on(tmp_path, typeflag):
    """test_raw_headers_and_pax_records_fail_only_clearly: a size field of twelve 0xff bytes is -1 in GNU base-256;
    the extractor read "minus one byte" for ever. Now a clear error."""
    with pytest.raises(CorruptLayerError, match="negative size \\(-1\\)"):
        extractor_at(str(tmp_path)).extract([_header_block(b"\xff" * 12, typeflag) + bytes(1024)])


def test_fuzz_negative_pax_size_is_refused(tmp_path):
    records = b"11 size=-5\n"
    pax = _header_block(b"%011o" % len(records), b"x") + records + bytes(512 - len(records))
    with pytest.raises(CorruptLayerError, match="negative size \\(-5\\)"):
        extractor_at(str(tmp_path)).extract([pax + _header_block(b"%011o" % 0) + bytes(1024)])


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "file"])
def test_fuzz_dot_entry_cannot_replace_the_root(tmp_path, kind):
    """test_hostile_archives_write_nothing_outside_and_fail_only_clearly: an entry "." of type symlink replaced the
    staging root by a link; with target /etc the next entry would have been written there. Now refused."""
    from ansible_collections.localai.gallery.plugins.module_utils.errors import UnsafeEntryError

    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    target = {"symlink": str(tmp_path / "outside"), "hardlink": "run.sh"}.get(kind, "")
    layer = [entry("run.sh", "x"), entry(".", "data" if kind == "file" else b"", kind=kind, target=target),
             entry("passwd", "owned")]
    with pytest.raises(UnsafeEntryError, match="only a directory may stand for the backend directory itself"):
        extractor_at(str(root)).extract([tar_bytes(layer)])
    assert os.path.isdir(root) and not os.path.islink(root)
    assert os.listdir(tmp_path / "outside") == []
