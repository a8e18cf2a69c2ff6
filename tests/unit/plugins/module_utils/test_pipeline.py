# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The three-stage layer pipeline (fetch+hash, inflate, write): results, errors raised once, no thread left."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import time

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.errors import CorruptLayerError, DigestMismatchError
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import layer_stream
from ansible_collections.localai.gallery.plugins.module_utils.oci.digests import verified

PAYLOAD = os.urandom(3 << 20) + b"x" * (5 << 20)


def stage_threads() -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        alive = [thread.name for thread in threading.enumerate() if thread.name.startswith("layer-")]
        if not alive:
            return []
        time.sleep(0.02)
    return alive


def pieces(data: bytes, size: int = 65536):
    for offset in range(0, len(data), size):
        yield data[offset:offset + size]


def test_the_pipeline_yields_the_inflated_bytes_in_order():
    compressed = gzip.compress(PAYLOAD, compresslevel=1)
    digest = "sha256:" + hashlib.sha256(compressed).hexdigest()
    assert b"".join(layer_stream(verified(pieces(compressed), digest, len(compressed), "t"))) == PAYLOAD
    assert stage_threads() == []


def test_a_fetch_error_is_raised_once_in_the_writer_and_no_thread_is_left():
    def failing_fetch():
        yield from pieces(gzip.compress(PAYLOAD)[:1 << 20])
        raise DigestMismatchError("blob sha256:x of t is corrupt")

    with pytest.raises(DigestMismatchError, match="is corrupt"):
        for _chunk in layer_stream(failing_fetch()):
            pass
    assert stage_threads() == []


def test_an_inflate_error_is_raised_once_and_no_thread_is_left():
    broken = bytearray(gzip.compress(PAYLOAD))
    broken[len(broken) // 2] ^= 0xFF
    with pytest.raises(CorruptLayerError, match="gzip layer is corrupt"):
        for _chunk in layer_stream(pieces(bytes(broken))):
            pass
    assert stage_threads() == []


def test_a_writer_that_stops_early_stops_both_stages():
    fetched = []

    def endless():
        block = gzip.compress(b"y" * (1 << 20))
        while True:
            fetched.append(len(block))
            yield block  # several gzip members: an endless valid stream

    stream = layer_stream(endless())
    for number, _chunk in enumerate(stream):
        if number == 5:
            break
    stream.close()
    assert stage_threads() == []
    settled = len(fetched)
    time.sleep(0.3)
    assert len(fetched) == settled and settled < 64  # bounded queues: the fetcher stopped, far from endless
