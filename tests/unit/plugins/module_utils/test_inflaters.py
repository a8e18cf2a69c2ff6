# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every inflater route gives the same bytes and the same errors; a tool in a pipe is reaped on every way out."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import tarfile

import pytest
import zstandard

from helpers.inflater_routes import GZIP_ROUTES, ZSTD_ROUTES, forced
from ansible_collections.localai.gallery.plugins.module_utils import inflaters
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    CorruptLayerError,
    DecompressionBombError,
    DigestMismatchError,
    MissingLibraryError,
    UnsafeEntryError,
)
from ansible_collections.localai.gallery.plugins.module_utils.inflaters import Inflaters
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import layer_stream
from ansible_collections.localai.gallery.plugins.module_utils.layers import LayerExtractor
from ansible_collections.localai.gallery.plugins.module_utils.oci.digests import verified

PAYLOAD = os.urandom(3 << 20) + b"x" * (5 << 20)
GZIP_TWO_MEMBERS = gzip.compress(PAYLOAD[:1 << 20], compresslevel=1) + gzip.compress(PAYLOAD[1 << 20:], compresslevel=1)
ZSTD_TWO_FRAMES = zstandard.ZstdCompressor().compress(PAYLOAD[:1 << 20]) + \
    zstandard.ZstdCompressor().compress(PAYLOAD[1 << 20:])


@pytest.fixture
def started(monkeypatch) -> list:
    """The processes the inflaters start, recorded."""
    processes = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        processes.append(real_popen(*args, **kwargs))
        return processes[-1]

    monkeypatch.setattr(inflaters.subprocess, "Popen", recording_popen)
    return processes


def pieces(data: bytes, size: int = 65536):
    for offset in range(0, len(data), size):
        yield data[offset:offset + size]


def checked(data: bytes):
    return verified(pieces(data), "sha256:" + hashlib.sha256(data).hexdigest(), len(data), "t")


@pytest.mark.parametrize("route", GZIP_ROUTES)
def test_every_gzip_route_gives_the_same_bytes_and_names_itself(monkeypatch, route):
    chosen = forced(monkeypatch, route)
    assert b"".join(layer_stream(checked(GZIP_TWO_MEMBERS), chosen)) == PAYLOAD
    assert chosen.describe() == route


@pytest.mark.parametrize("route", ZSTD_ROUTES)
def test_every_zstd_route_gives_the_same_bytes_across_frames(monkeypatch, route):
    chosen = forced(monkeypatch, route)
    assert b"".join(layer_stream(checked(ZSTD_TWO_FRAMES), chosen)) == PAYLOAD
    assert chosen.describe() == route


@pytest.mark.parametrize("route", GZIP_ROUTES)
@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_a_corrupt_gzip_layer_is_refused_by_every_route(monkeypatch, route, damage):
    broken = bytearray(GZIP_TWO_MEMBERS)
    if damage == "flipped":
        broken[len(broken) // 3] ^= 0xFF
    else:
        del broken[-100:]
    with pytest.raises(CorruptLayerError, match="gzip layer is (corrupt|truncated)"):
        for _chunk in layer_stream(pieces(bytes(broken)), forced(monkeypatch, route)):
            pass


@pytest.mark.parametrize("route", GZIP_ROUTES)
def test_a_source_error_wins_over_the_inflaters_complaint(monkeypatch, route):
    def failing_fetch():
        yield from pieces(GZIP_TWO_MEMBERS[:1 << 20])
        raise DigestMismatchError("blob sha256:x of t is corrupt")

    with pytest.raises(DigestMismatchError, match="is corrupt"):
        for _chunk in layer_stream(failing_fetch(), forced(monkeypatch, route)):
            pass


@pytest.mark.parametrize("route", ["igzip", "pigz", "zstd"])
def test_a_tool_is_killed_and_reaped_when_the_writer_stops_early(monkeypatch, route, started):
    chosen = forced(monkeypatch, route)
    block = gzip.compress(b"y" * (1 << 20)) if route != "zstd" else zstandard.ZstdCompressor().compress(b"y" * (1 << 20))

    def endless():
        while True:
            yield block

    stream = layer_stream(endless(), chosen)
    for number, _chunk in enumerate(stream):
        if number == 5:
            break
    stream.close()
    assert len(started) == 1 and started[0].returncode is not None, "the tool was reaped"
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0].pid, os.WNOHANG)  # no zombie left to collect


@pytest.mark.parametrize("route", ["igzip", "pigz"])
def test_a_bomb_is_refused_through_a_pipe_too(monkeypatch, route):
    monkeypatch.setattr("ansible_collections.localai.gallery.plugins.module_utils.layer_streams.BOMB_MIN_BYTES", 1 << 20)
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    with pytest.raises(DecompressionBombError, match="decompression bomb"):
        for _chunk in layer_stream(pieces(bomb), forced(monkeypatch, route)):
            pass


def test_stdlib_by_option_or_by_the_environment():
    assert Inflaters("stdlib").gzip_route()[0] == "zlib"
    assert Inflaters("auto", environ={"LOCALAI_GALLERY_DECOMPRESSOR": "stdlib"}).gzip_route()[0] == "zlib"
    bare = Inflaters("auto", environ={}, find_tool=lambda tool: None)
    assert bare.describe() is None


def test_without_zstandard_or_zstd_a_zstd_layer_is_refused_with_what_to_install(monkeypatch):
    monkeypatch.setattr(inflaters, "zstandard", None)
    with pytest.raises(MissingLibraryError, match="zstandard"):
        for _chunk in layer_stream(pieces(ZSTD_TWO_FRAMES), Inflaters("auto", environ={}, find_tool=lambda t: None)):
            pass


@pytest.mark.parametrize("route", ["igzip", "pigz"])
def test_a_tool_is_reaped_when_extraction_fails_on_a_small_inline_layer(monkeypatch, route, tmp_path, started):
    """A small layer inflates in the writer's thread (no pipeline): the extractor closes the stream it failed on."""
    chosen = forced(monkeypatch, route)
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as archive:
        for name in ("ok.txt", "../escape.txt"):
            info = tarfile.TarInfo(name)
            info.size = 4
            archive.addfile(info, io.BytesIO(b"data"))
    compressed = gzip.compress(layer.getvalue() + os.urandom(1 << 20))
    root_fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(UnsafeEntryError, match="would leave the backend directory"):
            LayerExtractor(root_fd).extract(layer_stream(pieces(compressed), chosen, len(compressed)))
    finally:
        os.close(root_fd)
    assert len(started) == 1 and started[0].returncode is not None, "the tool was reaped"
