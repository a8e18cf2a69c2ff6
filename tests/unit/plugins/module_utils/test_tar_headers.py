# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Our one-unpack tar header parser reads every field extraction uses exactly as tarfile.TarInfo.frombuf does."""

from __future__ import annotations

import tarfile

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.errors import CorruptLayerError
from ansible_collections.localai.gallery.plugins.module_utils.tar_stream import parse_header


def header(name: str, kind: bytes = tarfile.REGTYPE, tar_format: int = tarfile.USTAR_FORMAT, **fields) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info.tobuf(tar_format, "utf-8", "surrogateescape")[:512]


def as_tarfile_reads(buf: bytes) -> tuple:
    info = tarfile.TarInfo.frombuf(buf, "utf-8", "surrogateescape")
    return info.name, info.type, info.linkname, info.size, info.mode, info.mtime


CASES = {
    "file": header("lib/a.py", size=1234, mode=0o644, mtime=1700000000),
    "ustar prefix": header("p" * 120 + "/" + "n" * 90, size=7),
    "directory with slash": header("lib/", tarfile.DIRTYPE, mode=0o755),
    "v7 directory": header("old/", tarfile.AREGTYPE),
    "symlink": header("bin/python", tarfile.SYMTYPE, linkname="/usr/bin/python3"),
    "hardlink": header("lib/b", tarfile.LNKTYPE, linkname="lib/a.py"),
    "gnu base-256 size": header("big.bin", tar_format=tarfile.GNU_FORMAT, size=10 << 33),
    "gnu negative mtime": header("old.bin", tar_format=tarfile.GNU_FORMAT, mtime=-(1 << 40)),
    "utf-8 name": header("données/é.txt", tar_format=tarfile.GNU_FORMAT),
    "setuid mode": header("suid", mode=0o4755),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_field_extraction_uses_is_read_as_tarfile_reads_it(case):
    assert parse_header(CASES[case]) == as_tarfile_reads(CASES[case])


def test_a_signed_checksum_is_accepted_as_tarfile_accepts_it():
    buf = bytearray(header("é" * 10, tar_format=tarfile.GNU_FORMAT))
    signed = 256 + sum(b - 256 if b > 127 else b for index, b in enumerate(buf) if not 148 <= index < 156)
    buf[148:156] = b"%06o\0 " % (signed & 0o777777) if signed >= 0 else buf[148:156]
    assert parse_header(bytes(buf)) == as_tarfile_reads(bytes(buf))


@pytest.mark.parametrize("damage", ["checksum", "size"])
def test_a_damaged_header_is_refused_as_tarfile_refuses_it(damage):
    buf = bytearray(CASES["file"])
    if damage == "checksum":
        buf[0] ^= 1
    else:
        buf[124:136] = b"9z9z9z9z9z9\0"  # not octal; the checksum is fixed so only the field is wrong
        buf[148:156] = b"        "
        buf[148:156] = b"%06o\0 " % (256 + sum(buf[:148]) + sum(buf[156:]))
    with pytest.raises(tarfile.HeaderError):
        tarfile.TarInfo.frombuf(bytes(buf), "utf-8", "surrogateescape")
    with pytest.raises(CorruptLayerError, match="corrupt tar header"):
        parse_header(bytes(buf))
