# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tar members from a layer's byte stream, by our own reader: long names and pax records applied, each bounded
(1 MiB), gathered once (no quadratic buffering); names checked to stay inside the root; names quoted short."""

from __future__ import annotations

import math
import tarfile

from ansible_collections.localai.gallery.plugins.module_utils.errors import CorruptLayerError, UnsafeEntryError
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import ExactReader

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
_PAX_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
_MAX_MTIME = 1 << 40
MAX_HEADER_DATA = 1 << 20  # a long name, long link or pax record set: real ones are a few hundred bytes
MAX_QUOTED = 200


def quoted(name: str) -> str:
    """A name as error messages show it: at most 200 characters (a hostile name may be a megabyte long)."""
    return name if len(name) <= MAX_QUOTED else name[:MAX_QUOTED] + "..."


def _padded(size: int) -> int:
    return (size + BLOCK - 1) & ~(BLOCK - 1)


def _parse_pax(data: bytes) -> dict[str, str]:
    """Parse `LEN key=value\\n` records."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data) and data[position:position + 1] not in (b"\0", b""):
        space = data.index(b" ", position)
        length = int(data[position:space])
        if length <= 0:
            raise ValueError("bad pax record length")
        key, _sep, value = data[space + 1:position + length - 1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        position += length
    return records


class Member:
    """One tar entry as the extractor needs it: long names and pax records applied; the data follows in the stream."""

    __slots__ = ("name", "type", "linkname", "size", "mode", "mtime")

    def __init__(self, name: str, entry_type: bytes, linkname: str, size: int, mode: int, mtime: float) -> None:
        self.name = name
        self.type = entry_type
        self.linkname = linkname
        self.size = size
        self.mode = mode
        self.mtime = mtime


def iter_members(reader: ExactReader):
    """Yield tar members; the caller consumes exactly `member.size` bytes (not the padding) before the next."""
    pax: dict[str, str] = {}
    long_name = long_link = None
    while True:
        header = reader.read(BLOCK)
        if not header or header == _ZERO_BLOCK:
            reader.drain()
            return
        if len(header) < BLOCK:
            raise CorruptLayerError("a layer is truncated inside a tar header")
        try:
            info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            raise CorruptLayerError("a layer has a corrupt tar header: %s" % exc)
        if info.size < 0:
            raise CorruptLayerError("a layer has a header with a negative size (%d) for %r" % (info.size,
                                                                                               quoted(info.name)))
        if info.type in _PAX_TYPES or info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
            if info.size > MAX_HEADER_DATA:
                raise CorruptLayerError("a layer has a long-name or pax header of %d bytes before %r, more than the "
                                        "%d allowed: refused" % (info.size, quoted(info.name), MAX_HEADER_DATA))
            data = reader.read(_padded(info.size))[:info.size]
            if info.type == tarfile.GNUTYPE_LONGNAME:
                long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif info.type == tarfile.GNUTYPE_LONGLINK:
                long_link = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif info.type != tarfile.XGLTYPE:
                try:
                    pax.update(_parse_pax(data))
                except ValueError as exc:
                    raise CorruptLayerError("a layer has a corrupt pax header: %s" % exc)
            continue
        try:
            size = int(pax["size"]) if "size" in pax else info.size
            mtime = float(pax["mtime"]) if "mtime" in pax else info.mtime
        except ValueError:
            raise CorruptLayerError("a layer has a corrupt pax size or mtime for %r" % quoted(info.name))
        if size < 0:  # a base-256 size field can be negative; it would never end a read
            raise CorruptLayerError("a layer has an entry with a negative size (%d) for %r"
                                    % (size, quoted(info.name)))
        if not math.isfinite(mtime) or abs(mtime) > _MAX_MTIME:
            mtime = 0.0  # nonsense times are not worth refusing an image for; the epoch will do
        member = Member(pax.get("path") or long_name or info.name, info.type,
                        pax.get("linkpath") or long_link or info.linkname, size, info.mode, mtime)
        pax = {}
        long_name = long_link = None
        yield member
        reader.skip(_padded(size) - size)


def safe_relative_path(name: str, what: str = "entry") -> str:
    """`a/./b/` -> `a/b`; refuse absolute paths, `..` and NUL (raises UnsafeEntryError naming the rule)."""
    if "\0" in name:
        raise UnsafeEntryError("unsafe %s %r: the name contains a NUL byte" % (what, quoted(name)))
    if name.startswith("/"):
        raise UnsafeEntryError("unsafe %s %r: absolute paths are not allowed" % (what, quoted(name)))
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeEntryError("unsafe %s %r: '..' would leave the backend directory" % (what, quoted(name)))
    return "/".join(parts)
