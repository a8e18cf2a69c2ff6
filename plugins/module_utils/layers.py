# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Safe, streaming extraction of image layers (tar) into a staging directory.

Rules (docs/behaviour.md "Extraction rules"): nothing is written outside the root; absolute names and `..`
are refused; symlinks are created verbatim whatever their target, exactly as containerd's
archive.Apply does for LocalAI (a link is data: real images carry absolute ones such as a venv's
`bin/python -> /usr/bin/python3`), and safety comes from never following one while writing: a path
component that is a symlink is replaced by a directory, files are opened with O_NOFOLLOW and an
existing link is replaced, not written through. Hardlinks must point at an entry inside the root;
whiteouts and opaque markers delete lower-layer content and are never written; device nodes and FIFOs
are skipped; setuid/setgid bits are dropped; directories get at least u+rwx. Where the filesystem
refuses links (CIFS/SMB), the target's content is copied instead, absolute targets resolved inside the
root as LocalAI's fallback (pkg/oci extractTarCopyingLinks) does.
"""

from __future__ import annotations

import errno
import math
import os
import stat
import tarfile

from ansible_collections.localai.gallery.plugins.module_utils.descriptors import (
    O_CLOEXEC,
    entry_stat,
    iter_tree,
    list_names,
    open_directory,
    remove_entry_at,
    same_inode,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    CorruptLayerError,
    NoSpaceError,
    SourceError,
    UnsafeEntryError,
)
from ansible_collections.localai.gallery.plugins.module_utils.streams import ExactReader

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
_WHITEOUT_PREFIX = ".wh."
_OPAQUE_MARKER = ".wh..wh..opq"
_LINK_REFUSED = (errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_PAX_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
_SKIPPED_TYPES = (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)
_MAX_MTIME = 1 << 40
MAX_HEADER_DATA = 1 << 20  # a long name, long link or pax record set: real ones are a few hundred bytes
MAX_QUOTED = 200
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | O_CLOEXEC
_TAR_TYPES = {stat.S_IFREG: tarfile.REGTYPE, stat.S_IFDIR: tarfile.DIRTYPE, stat.S_IFLNK: tarfile.SYMTYPE}


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


def _link_target_in_root(rel: str, target: str) -> str | None:
    """Where a link's target lies inside the root, relative to it (absolute targets are image-root
    relative, as in LocalAI's fallback); None when a relative target climbs out of the root."""
    if target.startswith("/"):
        resolved = os.path.normpath(target).lstrip("/")
    else:
        resolved = os.path.normpath(os.path.join(os.path.dirname(rel), target))
    if resolved == ".." or resolved.startswith("../"):
        return None
    return "" if resolved == "." else resolved


class LayerExtractor:
    """Apply layers, one after the other, to a staging directory given by its descriptor.

    Every step names its path relative to that descriptor (`dir_fd=`), never through the staging directory's
    own path, which runs through the backends path another user owns. Inside staging only this process writes,
    and every parent is checked to be a real directory before a path through it is used.
    """

    def __init__(self, root_fd: int, space_budget: int | None = None) -> None:
        self.root_fd = root_fd
        if space_budget is None:
            usage = os.fstatvfs(root_fd)
            space_budget = usage.f_bavail * usage.f_frsize
        self.space_budget = space_budget
        self.bytes_written = 0
        self.skipped: list[str] = []
        self.warnings: list[str] = []
        self._real_dirs = {""}
        self._layer_paths: set[str] = set()
        self._deferred_copies: list[tuple[str, str | None]] = []

    # --- helpers ---------------------------------------------------------------------------------
    def _mode(self, rel: str) -> int | None:
        """The mode of whatever is at rel (a link itself, not its target), or None when nothing is."""
        if not rel:
            return os.fstat(self.root_fd).st_mode
        info = entry_stat(rel, self.root_fd)
        return None if info is None else info.st_mode

    def _forget(self, rel: str) -> None:
        prefix = rel + "/"
        self._real_dirs = {known for known in self._real_dirs if known != rel and not known.startswith(prefix)}

    def _remove(self, rel: str) -> None:
        """Remove whatever is at rel (never following a link)."""
        if stat.S_ISDIR(self._mode(rel) or 0):
            self._forget(rel)
        remove_entry_at(rel, self.root_fd)

    def _make_parents(self, rel: str) -> None:
        """Make every ancestor of rel a real directory; a symlink in the way is replaced, never followed."""
        parent = rel.rpartition("/")[0]
        if parent in self._real_dirs:
            return
        walked = ""
        for part in parent.split("/"):
            walked = walked + "/" + part if walked else part
            if walked in self._real_dirs:
                continue
            mode = self._mode(walked)
            if mode is None or not stat.S_ISDIR(mode):
                if mode is not None:
                    os.unlink(walked, dir_fd=self.root_fd)
                os.mkdir(walked, 0o755, dir_fd=self.root_fd)
                self._layer_paths.add(walked)
            self._real_dirs.add(walked)

    def _existing_is_real_path(self, rel: str) -> bool:
        """True when every ancestor of rel is a real directory (checked, not created)."""
        walked = ""
        for part in rel.split("/")[:-1]:
            walked = walked + "/" + part if walked else part
            if walked in self._real_dirs:
                continue
            if not stat.S_ISDIR(self._mode(walked) or 0):
                return False
        return True

    def _claim_space(self, name: str, size: int) -> None:
        if self.bytes_written + size > self.space_budget:
            raise NoSpaceError("no space left for the backend: entry %r needs %d bytes, %d of %d available are "
                               "used; free at least %d bytes in the backends path"
                               % (quoted(name), size, self.bytes_written, self.space_budget,
                                  self.bytes_written + size - self.space_budget))
        self.bytes_written += size

    # --- entries ---------------------------------------------------------------------------------
    def _write_file(self, rel: str, member: Member, pieces) -> None:
        """A regular file at rel with the bytes of `pieces` (an iterable of buffers adding up to member.size)."""
        self._claim_space(member.name, member.size)
        self._make_parents(rel)
        try:
            descriptor = os.open(rel, _CREATE_FLAGS, 0o600, dir_fd=self.root_fd)
        except FileExistsError:
            self._remove(rel)
            descriptor = os.open(rel, _CREATE_FLAGS, 0o600, dir_fd=self.root_fd)
        try:
            for piece in pieces:
                while piece:
                    written = os.write(descriptor, piece)
                    piece = piece[written:]
            os.fchmod(descriptor, member.mode & 0o1777)
            os.utime(descriptor, (member.mtime, member.mtime))
        finally:
            os.close(descriptor)

    def _make_directory(self, rel: str, member: Member) -> None:
        if not rel:
            return
        self._make_parents(rel)
        mode = self._mode(rel)
        if mode is not None and not stat.S_ISDIR(mode):
            os.unlink(rel, dir_fd=self.root_fd)
            mode = None
        if mode is None:
            os.mkdir(rel, 0o700, dir_fd=self.root_fd)
        os.chmod(rel, (member.mode & 0o1777) | 0o700, dir_fd=self.root_fd)  # checked: not a link
        self._real_dirs.add(rel)

    def _make_symlink(self, rel: str, member: Member) -> None:
        target = member.linkname
        if not target or "\0" in target:
            raise UnsafeEntryError("invalid symlink %r -> %r: a link needs a target without NUL bytes"
                                   % (quoted(member.name), quoted(target)))
        self._make_parents(rel)
        self._remove(rel)
        try:
            os.symlink(target, rel, dir_fd=self.root_fd)
        except OSError as exc:
            if exc.errno not in _LINK_REFUSED:
                raise
            self._deferred_copies.append((rel, _link_target_in_root(rel, target)))

    def _hardlink_target_mode(self, target_rel: str, member: Member) -> int:
        target_mode = self._mode(target_rel) if target_rel and self._existing_is_real_path(target_rel) else None
        if target_mode is None or stat.S_ISDIR(target_mode):
            raise UnsafeEntryError("unsafe hardlink %r -> %r: the target is not a file extracted inside the backend "
                                   "directory" % (quoted(member.name), quoted(member.linkname)))
        return target_mode

    def _make_hardlink(self, rel: str, member: Member) -> None:
        target_rel = safe_relative_path(member.linkname, "hardlink target of %r" % quoted(member.name))
        self._hardlink_target_mode(target_rel, member)
        if target_rel == rel:
            return
        self._make_parents(rel)
        self._remove(rel)
        # Asked again: making the link's parents, or clearing its place, may have replaced or removed the target
        # (`_` a file, then a link `_/0` -> `_` makes `_` a directory).
        target_mode = self._hardlink_target_mode(target_rel, member)
        try:
            os.link(target_rel, rel, src_dir_fd=self.root_fd, dst_dir_fd=self.root_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _LINK_REFUSED:
                raise
            self._copy_entry(target_rel, rel)
            return
        if not stat.S_ISLNK(target_mode):
            # As containerd's handleLChmod and Chtimes (and tarfile): the link entry's own mode and time apply,
            # to the inode it shares with its target.
            os.chmod(rel, member.mode & 0o1777, dir_fd=self.root_fd)  # checked: not a link
            os.utime(rel, (member.mtime, member.mtime), dir_fd=self.root_fd, follow_symlinks=False)

    def _apply_whiteout(self, rel: str) -> None:
        directory, _sep, marker = rel.rpartition("/")
        if not self._existing_is_real_path(rel):
            return  # nothing of a lower layer can sit below a non-directory
        if marker == _OPAQUE_MARKER:
            children = []
            if stat.S_ISDIR(self._mode(directory) or 0):
                directory_fd = open_directory(directory, self.root_fd) if directory else None
                try:
                    children = list_names(directory_fd if directory_fd is not None else self.root_fd)
                finally:
                    if directory_fd is not None:
                        os.close(directory_fd)
            for child in children:
                child_rel = directory + "/" + child if directory else child
                if child_rel not in self._layer_paths:
                    self._remove(child_rel)
            return
        victim = marker[len(_WHITEOUT_PREFIX):]
        if victim in ("", ".", ".."):
            raise UnsafeEntryError("unsafe whiteout %r: it names no entry" % quoted(rel))
        self._remove(directory + "/" + victim if directory else victim)

    # --- where the filesystem refuses links: copies -------------------------------------------------------
    def _resolve_in_root(self, rel: str) -> str | None:
        """Where rel leads inside the root, following links as the root were `/` (absolute targets re-rooted, as
        LocalAI's fallback resolves them; `..` stops at the root, as filepath-securejoin does); None when it
        leads nowhere that exists, or through more than 40 links."""
        pending = [part for part in rel.split("/") if part]
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/".join(resolved + [part])
            mode = self._mode(candidate)
            if mode is None:
                return None
            if stat.S_ISLNK(mode):
                hops += 1
                if hops > 40:
                    return None
                target = os.readlink(candidate, dir_fd=self.root_fd)
                if target.startswith("/"):
                    resolved = []
                pending = [item for item in target.split("/") if item] + pending
                continue
            resolved.append(part)
        return "/".join(resolved)

    def _copy_file(self, source_rel: str, rel: str) -> None:
        mode = self._mode(source_rel) or 0
        descriptor = os.open(source_rel, os.O_RDONLY | os.O_NOFOLLOW | O_CLOEXEC, dir_fd=self.root_fd)
        try:
            info = os.fstat(descriptor)
            member = Member(rel, tarfile.REGTYPE, "", info.st_size, stat.S_IMODE(mode), info.st_mtime)
            self._write_file(rel, member, descriptor_chunks(descriptor, info.st_size))
        finally:
            os.close(descriptor)

    def _copy_entry(self, source_rel: str, rel: str) -> None:
        """Copy the file or tree at source_rel (inside the root) to rel, within the space budget; links in a tree
        are made again (and, refused, resolved and copied later)."""
        mode = self._mode(source_rel) or 0
        if not stat.S_ISDIR(mode):
            self._copy_file(source_rel, rel)
            return
        self._make_directory(rel, Member(rel, tarfile.DIRTYPE, "", 0, stat.S_IMODE(mode), 0))
        source_fd = open_directory(source_rel, self.root_fd) if source_rel else os.dup(self.root_fd)
        try:
            for _dir_fd, _name, info, below in iter_tree(source_fd):
                source_below, target_below = source_rel + "/" + below if source_rel else below, rel + "/" + below
                if stat.S_ISDIR(info.st_mode):
                    self._make_directory(target_below, Member(target_below, tarfile.DIRTYPE, "", 0,
                                                              stat.S_IMODE(info.st_mode), 0))
                elif stat.S_ISLNK(info.st_mode):
                    target = os.readlink(source_below, dir_fd=self.root_fd)
                    self._make_symlink(target_below, Member(target_below, tarfile.SYMTYPE, target, 0, 0o777, 0))
                elif stat.S_ISREG(info.st_mode):
                    self._copy_file(source_below, target_below)
        finally:
            os.close(source_fd)

    def _copy_source(self, rel: str, target_rel: str | None) -> str | None:
        """What to copy for a refused link, relative to the root, or None (with a warning) when it is not inside."""
        source = self._resolve_in_root(target_rel) if target_rel is not None else None
        if source is None or source == rel or (rel + "/").startswith(source + "/") and source != "":
            self.skipped.append(rel)
            self.warnings.append("link %r could not be created on this filesystem and its target is not in the "
                                 "image, so it was skipped" % quoted(rel))
            return None
        return source

    def _copy_refused_links(self) -> None:
        """Copy link targets where the filesystem refused links, in dependency order (soname chains)."""
        pending = self._deferred_copies
        self._deferred_copies = []
        while pending:
            waiting = []
            for rel, target_rel in pending:
                if target_rel is not None and any(target_rel == other or target_rel.startswith(other + "/")
                                                  for other, _t in pending):
                    waiting.append((rel, target_rel))
                    continue
                source = self._copy_source(rel, target_rel)
                if source is not None:
                    self._copy_entry(source, rel)
            if len(waiting) == len(pending):
                for rel, _target in waiting:  # links that only point at each other: nothing to copy
                    self.skipped.append(rel)
                    self.warnings.append("link %r is part of a cycle of links and was skipped" % quoted(rel))
                return
            pending = waiting + self._deferred_copies
            self._deferred_copies = []

    # --- one entry -------------------------------------------------------------------------------------
    def _apply(self, member: Member, reader: ExactReader) -> None:
        rel = safe_relative_path(member.name)
        entry_type = member.type
        is_regular = entry_type in tarfile.REGULAR_TYPES and entry_type != tarfile.GNUTYPE_SPARSE
        if rel.rpartition("/")[2].startswith(_WHITEOUT_PREFIX):
            reader.skip(member.size)
            self._apply_whiteout(rel)
            return
        if entry_type == tarfile.GNUTYPE_SPARSE:
            raise UnsafeEntryError("unsupported entry %r: GNU sparse files are not supported" % quoted(member.name))
        if not rel and entry_type != tarfile.DIRTYPE:
            # "." or "./" as a link or a file would replace the staging root itself (and a link there would be
            # written through by every later entry).
            reader.skip(member.size)
            if entry_type in _SKIPPED_TYPES:
                self.skipped.append(member.name)
                return
            raise UnsafeEntryError("unsafe entry %r: only a directory may stand for the backend directory itself"
                                   % quoted(member.name))
        if is_regular and rel:
            self._write_file(rel, member, reader.iter_slices(member.size))
        else:
            reader.skip(member.size)
            if entry_type == tarfile.DIRTYPE:
                self._make_directory(rel, member)
            elif entry_type == tarfile.SYMTYPE:
                self._make_symlink(rel, member)
            elif entry_type == tarfile.LNKTYPE:
                self._make_hardlink(rel, member)
            else:
                self.skipped.append(rel)  # device nodes, FIFOs and unknown types are never created
                return
        self._layer_paths.add(rel)

    def _finish(self, apply_entries) -> None:
        """Run `apply_entries()` and then the copies for refused links; a full disk becomes NoSpaceError."""
        self._layer_paths = set()
        try:
            apply_entries()
            self._copy_refused_links()
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise NoSpaceError("no space left in the backends path after writing %d bytes: %s; free space and "
                                   "retry" % (self.bytes_written, exc))
            raise

    def extract(self, chunks) -> None:
        """Apply one uncompressed tar stream (an iterator of byte chunks) on top of what is in root."""
        reader = ExactReader(chunks)

        def apply_entries() -> None:
            for member in iter_members(reader):
                self._apply(member, reader)
        self._finish(apply_entries)

    def copy_directory(self, source_fd: int) -> None:
        """Copy a directory source (opened with O_NOFOLLOW) into root: regular files, directories and links only
        (a device, FIFO or socket is skipped with a warning), within the space budget, nothing followed."""
        def apply_entries() -> None:
            for dir_fd, name, info, rel in iter_tree(source_fd):
                kind = stat.S_IFMT(info.st_mode)
                member = Member(rel, _TAR_TYPES.get(kind, b"?"), "", info.st_size, stat.S_IMODE(info.st_mode),
                                info.st_mtime)
                if kind == stat.S_IFREG:
                    descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | O_CLOEXEC, dir_fd=dir_fd)
                    try:
                        if not same_inode(os.fstat(descriptor), info):
                            raise SourceError("source directory entry %r changed while it was copied" % quoted(rel))
                        self._write_file(rel, member, descriptor_chunks(descriptor, info.st_size))
                    finally:
                        os.close(descriptor)
                elif kind == stat.S_IFDIR:
                    self._make_directory(rel, member)
                elif kind == stat.S_IFLNK:
                    member.linkname = os.readlink(name, dir_fd=dir_fd)
                    self._make_symlink(rel, member)
                else:
                    self.skipped.append(rel)
                    self.warnings.append("%r in the source directory is not a file, directory or link (a device, FIFO "
                                         "or socket): skipped" % quoted(rel))
        self._finish(apply_entries)


def descriptor_chunks(descriptor: int, size: int, chunk_size: int = 1 << 20):
    """Exactly `size` bytes of an open file, in pieces; a file that shrank meanwhile is an error."""
    remaining = size
    while remaining:
        piece = os.read(descriptor, min(chunk_size, remaining))
        if not piece:
            raise SourceError("a file shrank while it was copied (%d bytes missing)" % remaining)
        remaining -= len(piece)
        yield piece
