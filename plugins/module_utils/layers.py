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
import os
import stat
import tarfile

from ansible_collections.localai.gallery.plugins.module_utils.descriptors import (
    O_CLOEXEC,
    entry_stat,
    list_names,
    open_directory,
    remove_entry_at,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import NoSpaceError, UnsafeEntryError
from ansible_collections.localai.gallery.plugins.module_utils.layer_copies import CopyFallback, link_target_in_root
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import ExactReader
from ansible_collections.localai.gallery.plugins.module_utils.tar_stream import (
    Member,
    iter_members,
    quoted,
    safe_relative_path,
)

_WHITEOUT_PREFIX = ".wh."
_OPAQUE_MARKER = ".wh..wh..opq"
_LINK_REFUSED = (errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_SKIPPED_TYPES = (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | O_CLOEXEC


def current_umask() -> int:
    """This process's umask, read without changing it (Linux 4.7+); 0o777 when unknown, so that every file is
    fchmod-ed to its exact mode."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o777


class LayerExtractor(CopyFallback):
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
        self._umask_or_sticky = current_umask() | 0o1000

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
    def _write_file(self, rel: str, member: Member, reader: ExactReader) -> None:
        """A regular file at rel with the next member.size bytes of the reader. Created with its final mode
        (staging is root's alone), so fchmod is needed only for bits the umask takes or the sticky bit; a
        small file is one write of a view of the chunk in hand."""
        self._claim_space(member.name, member.size)
        self._make_parents(rel)
        mode = member.mode & 0o1777
        try:
            descriptor = os.open(rel, _CREATE_FLAGS, mode & 0o777, dir_fd=self.root_fd)
        except FileExistsError:
            self._remove(rel)
            descriptor = os.open(rel, _CREATE_FLAGS, mode & 0o777, dir_fd=self.root_fd)
        try:
            whole = reader.take(member.size)
            for piece in (whole,) if whole is not None else reader.iter_slices(member.size):
                while piece:
                    written = os.write(descriptor, piece)
                    piece = piece[written:]
            if mode & self._umask_or_sticky:
                os.fchmod(descriptor, mode)
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
            self._deferred_copies.append((rel, link_target_in_root(rel, target)))

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
            self._write_file(rel, member, reader)
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
        try:
            self._finish(apply_entries)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # an inflater in a pipe is killed and reaped now, also when extraction failed
