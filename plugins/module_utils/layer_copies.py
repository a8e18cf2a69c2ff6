# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Copies the extractor makes instead of links where the filesystem refuses links (CIFS/SMB), as LocalAI's
fallback (pkg/oci extractTarCopyingLinks) does, and the copy of a directory source; every path is resolved inside
the staging root, through its descriptor, and every byte counts against the space budget."""

from __future__ import annotations

import os
import stat
import tarfile

from ansible_collections.localai.gallery.plugins.module_utils.descriptors import (
    O_CLOEXEC,
    iter_tree,
    open_directory,
    same_inode,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import SourceError
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import ExactReader
from ansible_collections.localai.gallery.plugins.module_utils.tar_stream import Member, quoted

_TAR_TYPES = {stat.S_IFREG: tarfile.REGTYPE, stat.S_IFDIR: tarfile.DIRTYPE, stat.S_IFLNK: tarfile.SYMTYPE}


def link_target_in_root(rel: str, target: str) -> str | None:
    """Where a link's target lies inside the root, relative to it (absolute targets are image-root
    relative, as in LocalAI's fallback); None when a relative target climbs out of the root."""
    if target.startswith("/"):
        resolved = os.path.normpath(target).lstrip("/")
    else:
        resolved = os.path.normpath(os.path.join(os.path.dirname(rel), target))
    if resolved == ".." or resolved.startswith("../"):
        return None
    return "" if resolved == "." else resolved


class CopyFallback:
    """The copying half of LayerExtractor (layers.py): it uses the extractor's steps (_mode, _write_file,
    _make_directory, _make_symlink) and its `root_fd`, `skipped`, `warnings` and `_deferred_copies`."""

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
            self._write_file(rel, member, ExactReader(descriptor_chunks(descriptor, info.st_size)))
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
                        self._write_file(rel, member, ExactReader(descriptor_chunks(descriptor, info.st_size)))
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
