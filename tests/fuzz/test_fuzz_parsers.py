# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property-based fuzzing of what parses untrusted bytes besides the extractor's file writing: raw tar headers and
pax records, gzip and zstd streams, manifests and indexes. Only BackendError may escape; round trips hold."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import tarfile
import tempfile

import zstandard
from hypothesis import given
from hypothesis import strategies as st

from helpers.trees import extractor_at

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import (
    follow_to_platform,
    layers,
    parse_document,
)
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import ExactReader, decompressed

AMD64 = {"os": "linux", "architecture": "amd64", "variant": None}


def _header(name: bytes, mode: bytes, size: bytes, typeflag: bytes, linkname: bytes, magic: bytes) -> bytes:
    """A 512-byte ustar header block with a correct checksum, fields as given (possibly nonsense)."""
    block = bytearray(512)
    block[0:100] = name[:100].ljust(100, b"\0")
    block[100:108] = mode[:8].ljust(8, b"\0")
    block[124:136] = size[:12].ljust(12, b"\0")
    block[136:148] = b"00000000000\0"
    block[156:157] = typeflag[:1] or b"0"
    block[157:257] = linkname[:100].ljust(100, b"\0")
    block[257:265] = magic[:8].ljust(8, b"\0")
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


SIZE_FIELDS = st.one_of(st.integers(0, 5000).map(lambda value: b"%011o" % value),
                        st.binary(min_size=12, max_size=12),
                        st.integers(0, 2 ** 64).map(lambda value: b"\x80" + value.to_bytes(11, "big", signed=False)
                                                    if value < 2 ** 88 else b"\x80" * 12),
                        st.just(b"\xff" * 12), st.just(b"-0000000001"))


def _pax_record(key: bytes, value: bytes) -> bytes:
    """A record whose length field is right: `LEN key=value\n`, LEN counting itself."""
    body = b" %s=%s\n" % (key, value)
    length = len(body) + 1
    while len(b"%d" % length) + len(body) != length:
        length += 1
    return b"%d%s" % (length, body)


PAX_RECORD = st.one_of(
    st.builds(_pax_record,
              st.sampled_from([b"path", b"linkpath", b"size", b"mtime", b"uid", b"x"]),
              st.one_of(st.binary(max_size=40),
                        st.sampled_from([b"-5", b"99999999999999999999", b"1e9", b"../x", b"/abs", b"nan", b""]))),
    st.binary(max_size=60),
    st.builds(lambda length, rest: b"%d %s" % (length, rest), st.integers(-3, 200), st.binary(max_size=40)))


@st.composite
def raw_archives(draw):
    blocks = []
    for _number in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            records = b"".join(draw(st.lists(PAX_RECORD, max_size=4)))
            blocks.append(_header(b"././@PaxHeader", b"0000644", b"%011o" % len(records), b"x", b"", b"ustar\x0000"))
            blocks.append(records + bytes(-len(records) % 512))
        size_field = draw(SIZE_FIELDS)
        blocks.append(_header(draw(st.binary(min_size=1, max_size=100)), draw(st.binary(max_size=8)), size_field,
                              draw(st.binary(min_size=1, max_size=1)), draw(st.binary(max_size=100)),
                              draw(st.sampled_from([b"ustar\x0000", b"ustar  \0", b"", b"garbage!"]))))
        blocks.append(draw(st.binary(max_size=1500)))
    if draw(st.booleans()):
        blocks.append(bytes(1024))
    return b"".join(blocks)


class Hang(Exception):
    """An input of a few KiB kept a parser busy for seconds: a loop that does not end."""


@contextlib.contextmanager
def finishes_within(seconds: float):
    def alarm(_signum, _frame):
        raise Hang("still running after %g seconds" % seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _extract(data_chunks) -> None:
    with tempfile.TemporaryDirectory() as sandbox:
        root = os.path.join(sandbox, "root")
        os.mkdir(root)
        with finishes_within(5):
            try:
                extractor_at(root, space_budget=4 << 20).extract(data_chunks)
            except BackendError:
                pass
        assert sorted(os.listdir(sandbox)) == ["root"]


@given(raw_archives(), st.integers(1, 700))
def test_raw_headers_and_pax_records_fail_only_clearly(data, chunk_size):
    _extract([data[offset:offset + chunk_size] for offset in range(0, len(data), chunk_size)])


@given(st.lists(st.binary(max_size=5000), min_size=1, max_size=4), st.sampled_from(["gzip", "zstd"]),
       st.integers(1, 3000))
def test_compressed_members_and_frames_round_trip(pieces, compression, chunk_size):
    """Several gzip members or zstd frames back to back decode to the concatenation, whatever the chunking."""
    if compression == "gzip":
        stream = b"".join(gzip.compress(piece, mtime=0) for piece in pieces)
    else:
        stream = b"".join(zstandard.ZstdCompressor().compress(piece) for piece in pieces)
    chunks = [stream[offset:offset + chunk_size] for offset in range(0, len(stream), chunk_size)]
    assert b"".join(decompressed(chunks)) == b"".join(pieces)


@given(st.binary(min_size=1, max_size=6000), st.sampled_from(["gzip", "zstd"]), st.data())
def test_broken_compressed_streams_fail_only_clearly(payload, compression, data):
    stream = bytearray(gzip.compress(payload, mtime=0) if compression == "gzip"
                       else zstandard.ZstdCompressor().compress(payload))
    action = data.draw(st.sampled_from(["truncate", "flip", "append"]))
    where = data.draw(st.integers(0, len(stream) - 1))
    if action == "truncate":
        del stream[where:]
    elif action == "flip":
        stream[where] ^= data.draw(st.integers(1, 255))
    else:
        stream += data.draw(st.binary(min_size=1, max_size=100))
    try:
        reader = ExactReader(decompressed([bytes(stream)]))
        while reader.read(4096):
            pass
    except BackendError:
        pass


def _json_containers(children):
    return st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["mediaType", "manifests", "layers", "digest", "size", "platform", "os", "architecture",
                         "variant", "schemaVersion", "config", "x"]),
        children, max_size=6)


# A named function, not a lambda: Hypothesis reads the source of `extend` to check that it recurses.
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2, 2 ** 70) | st.floats(allow_nan=True)
                    | st.text(max_size=70), _json_containers, max_leaves=25)
DIGESTS = st.sampled_from(["sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64])


@st.composite
def documents(draw):
    """Index-or-manifest shaped documents with fields of any type, and sometimes the right types."""
    document = draw(st.dictionaries(st.sampled_from(["mediaType", "manifests", "layers", "schemaVersion"]), JSON,
                                    max_size=4))
    if draw(st.booleans()):
        document["manifests"] = [draw(st.fixed_dictionaries(
            {"digest": DIGESTS, "size": st.integers(-1, 100)},
            optional={"platform": st.one_of(JSON, st.just(AMD64), st.just({"os": "linux", "architecture": "amd64"}))}))
            for _number in range(draw(st.integers(0, 3)))]
    if draw(st.booleans()):
        document["layers"] = [draw(st.fixed_dictionaries({"digest": st.one_of(DIGESTS, JSON),
                                                          "size": st.one_of(st.integers(-1, 100), JSON)}))
                              for _number in range(draw(st.integers(0, 3)))]
    return document


@given(documents(), st.dictionaries(DIGESTS, documents(), max_size=3), st.sampled_from(["", "application/json"]))
def test_manifests_and_indexes_fail_only_clearly(top, others, content_type):
    fetched = {}

    def fetch(digest):
        if digest not in others:
            raise BackendError("not found")
        body = json.dumps(others[digest]).encode()
        fetched[digest] = body
        return parse_document(body, "fuzz", None, content_type)

    try:
        image = follow_to_platform(parse_document(json.dumps(top).encode(), "fuzz", None, content_type), fetch,
                                   AMD64, "fuzz")
        for layer in layers(image.document, "fuzz"):
            assert isinstance(layer["digest"], str) and isinstance(layer["size"], int) and layer["size"] >= 0
    except BackendError:
        pass


@given(st.binary(max_size=300))
def test_manifest_bytes_fail_only_clearly(body):
    try:
        parse_document(body, "fuzz", None)
    except BackendError:
        pass
    try:
        parse_document(body, "fuzz", "sha256:" + "0" * 64)
    except BackendError:
        pass


def test_tarfile_agrees_that_raw_archives_are_what_they_are():
    """Keep the header builder honest: a well-formed header it builds is one tarfile reads."""
    header = _header(b"run.sh", b"0000755", b"%011o" % 3, b"0", b"", b"ustar\x0000")
    info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
    assert (info.name, info.size, info.mode) == ("run.sh", 3, 0o755)
