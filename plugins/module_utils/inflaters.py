# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fastest inflater a host has, chosen per host as containerd pipes layers through unpigz when it is on the
PATH. gzip: the zlib_ng or isal Python modules, then igzip or pigz on the PATH (a pipe), then the stdlib's zlib.
zstd: the zstandard module, then the zstd binary. All are optional: a bare Python uses zlib (and refuses zstd
layers with a message). `decompressor: stdlib` or LOCALAI_GALLERY_DECOMPRESSOR=stdlib on the host turns the
accelerators off. Whatever inflates, the bytes are the same and every digest check is made on the compressed
blob as it streams (oci/digests.py), before and independent of the inflater.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import zlib

from ansible_collections.localai.gallery.plugins.module_utils.errors import CorruptLayerError, MissingLibraryError
from ansible_collections.localai.gallery.plugins.module_utils.oci.responses import CHUNK_SIZE

try:
    from zlib_ng import zlib_ng
except ImportError:
    zlib_ng = None
if zlib_ng is None:  # the second choice is imported only when needed (each costs about 0.5 MiB of RSS)
    try:
        from isal import isal_zlib
    except ImportError:
        isal_zlib = None
else:
    isal_zlib = None
try:
    import zstandard
except ImportError:
    zstandard = None

DECOMPRESSOR_ENV = "LOCALAI_GALLERY_DECOMPRESSOR"
AUTO, STDLIB = "auto", "stdlib"
# (route name, argv) for the binaries, fastest first; each reads the compressed stream on stdin.
GZIP_TOOLS = (("igzip", ["igzip", "-d", "-c"]), ("pigz", ["pigz", "-d", "-c"]))
ZSTD_TOOL = ("zstd", ["zstd", "-d", "-c", "-q"])
STDERR_LIMIT = 4096


class Inflaters:
    """The routes chosen for one host (`mode` auto or stdlib; the environment variable can only turn them off),
    and the names of those that inflated something in this run (`used`, for the result's `decompressor`)."""

    def __init__(self, mode: str = AUTO, environ=None, find_tool=shutil.which) -> None:
        environ = os.environ if environ is None else environ
        self.mode = STDLIB if STDLIB in (mode, environ.get(DECOMPRESSOR_ENV, "").strip().lower()) else AUTO
        self.find_tool = find_tool
        self.used: list[str] = []

    def gzip_route(self) -> tuple[str, object]:
        """(name, a zlib-like module or an argv list)."""
        if self.mode == AUTO:
            for name, module in (("zlib-ng", zlib_ng), ("isal", isal_zlib)):
                if module is not None:
                    return name, module
            for name, argv in GZIP_TOOLS:
                path = self.find_tool(argv[0])
                if path:
                    return name, [path] + argv[1:]
        return "zlib", zlib

    def zstd_route(self) -> tuple[str, object]:
        if zstandard is not None:
            return "zstandard", zstandard
        path = self.find_tool(ZSTD_TOOL[1][0]) if self.mode == AUTO else None
        if path:
            return ZSTD_TOOL[0], [path] + ZSTD_TOOL[1][1:]
        raise MissingLibraryError("zstandard", "to extract zstd-compressed layers (pip install zstandard on the "
                                  "target, or install the zstd command)")

    def gunzip(self, first: bytes, rest):
        name, route = self.gzip_route()
        self._note(name)
        if isinstance(route, list):
            return piped(route, name, "gzip", first, rest)
        return inflated_with(route, first, rest)

    def unzstd(self, first: bytes, rest):
        name, route = self.zstd_route()
        self._note(name)
        if isinstance(route, list):
            return piped(route, name, "zstd", first, rest)
        return unzstd_module(first, rest)

    def _note(self, name: str) -> None:
        if name not in self.used:
            self.used.append(name)

    def describe(self) -> str | None:
        """What inflated the layers of this run ("zlib-ng", "pigz, zstandard"), None when nothing did."""
        return ", ".join(self.used) or None


def inflated_with(module, first: bytes, rest):
    """Inflate gzip (several members allowed) with a zlib-like module (zlib, zlib_ng, isal_zlib: the same
    decompressobj interface), with bounded output per step, so a bomb cannot fill memory."""
    inflater = module.decompressobj(31)
    pending = first
    while True:
        while pending:
            try:
                output = inflater.decompress(pending, CHUNK_SIZE)
            except module.error as exc:
                raise CorruptLayerError("a gzip layer is corrupt: %s" % exc)
            if output:
                yield output
            if inflater.eof:
                pending = inflater.unused_data
                inflater = module.decompressobj(31) if pending else inflater
            else:
                pending = inflater.unconsumed_tail
        pending = next(rest, None)
        if pending is None:
            break
    if not inflater.eof:
        raise CorruptLayerError("a gzip layer is truncated")


class _ChunkReader:
    """A file-like `read(n)` over an iterator of byte chunks (what zstandard wants to pull from)."""

    def __init__(self, first: bytes, rest) -> None:
        self._pending = first
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            self._pending = next(self._rest, b"")
            if not self._pending:
                return b""
        if size < 0 or size >= len(self._pending):
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data


def unzstd_module(first: bytes, rest):
    """Inflate zstd across frames (pzstd and parallel encoders write several) with bounded output per read."""
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(_ChunkReader(first, rest), read_size=CHUNK_SIZE,
                                                            read_across_frames=True)
    except TypeError:
        raise MissingLibraryError("zstandard", "0.18 or later to extract zstd layers of several frames")
    try:
        while True:
            output = reader.read(CHUNK_SIZE)
            if not output:
                return
            yield output
    except zstandard.ZstdError as exc:
        raise CorruptLayerError("a zstd layer is corrupt: %s" % exc)


class _Feeder(threading.Thread):
    """Writes the compressed chunks into the tool's stdin; owns `rest` (iterates and closes it, so the fetch
    stage stops when the tool goes away). An error of the source (a digest mismatch) is kept for the reader."""

    def __init__(self, process: subprocess.Popen, first: bytes, rest) -> None:
        super().__init__(name="layer-inflate-feed", daemon=True)
        self.process, self.first, self.rest = process, first, rest
        self.error: BaseException | None = None

    def _write(self, chunk: bytes) -> bool:
        """False when the tool is gone (exited or killed): its status says why."""
        try:
            self.process.stdin.write(chunk)
            return True
        except (ValueError, OSError):
            return False

    def run(self) -> None:
        try:
            if self._write(self.first):
                for chunk in self.rest:
                    if not self._write(chunk):
                        break
        except BaseException as exc:  # pylint: disable=broad-except  # the source's error, raised by the reader
            self.error = exc
        finally:
            close = getattr(self.rest, "close", None)
            if close is not None:
                close()
            try:
                self.process.stdin.close()
            except OSError:
                pass


class _StderrTail(threading.Thread):
    """Keeps the first STDERR_LIMIT bytes of the tool's messages and drains the rest (so it never blocks)."""

    def __init__(self, stream) -> None:
        super().__init__(name="layer-inflate-stderr", daemon=True)
        self.stream = stream
        self.text = b""

    def run(self) -> None:
        for line in iter(lambda: self.stream.read(STDERR_LIMIT), b""):
            if len(self.text) < STDERR_LIMIT:
                self.text += line[:STDERR_LIMIT - len(self.text)]


def piped(argv: list[str], name: str, kind: str, first: bytes, rest):
    """Inflate through a tool's stdin and stdout. The tool is killed and reaped on every way out (the end, an
    error, the consumer leaving early); a source error wins over the tool's complaint about a cut stream."""
    try:
        # A stream through a tool's stdin and stdout, which run_command (whole output at the end) cannot be.
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                                   stderr=subprocess.PIPE, close_fds=True)
    except OSError as exc:
        raise CorruptLayerError("cannot start %s to inflate a %s layer: %s (decompressor: stdlib avoids it)"
                                % (name, kind, exc.strerror or exc))
    feeder, messages = _Feeder(process, first, rest), _StderrTail(process.stderr)
    feeder.start()
    messages.start()
    try:
        output = process.stdout.fileno()
        while True:
            chunk = os.read(output, CHUNK_SIZE)
            if not chunk:
                break
            yield chunk
        status = process.wait()
        feeder.join()
        messages.join()
        if feeder.error is not None:
            raise feeder.error
        if status != 0:
            said = messages.text.decode("utf-8", "replace").strip().replace("\n", "; ")
            raise CorruptLayerError("a %s layer is corrupt: %s exited with status %d%s"
                                    % (kind, name, status, (": " + said) if said else ""))
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()
        feeder.join(timeout=5)
        messages.join(timeout=5)
