# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading HTTP responses from servers that may be slow, broken or hostile.

- A speed limit like curl's `--speed-limit 1024 --speed-time T`: fewer than 1 KiB received in T seconds fails,
  however slowly the bytes drip (a socket timeout alone resets with every byte).
- Bodies that must stay small (manifests, token answers) are refused past a limit, by their Content-Length
  before reading or while reading.
- 429 and 503 answers are retried a bounded number of times, waiting what Retry-After asks within a cap.
"""

from __future__ import annotations

import datetime
import email.utils
import time

from ansible_collections.localai.gallery.plugins.module_utils.errors import ManifestError, StalledTransferError

MIN_BYTES_PER_WINDOW = 1024
# The size of the pieces bytes move in, from the socket to the disk (reads, inflated output, file reads).
CHUNK_SIZE = 1 << 20
RETRY_STATUS = (429, 503)
MAX_RETRY_AFTER = 60.0  # seconds; a server asking for longer is answered with a clear failure instead


class SpeedGuard:
    """Fails a transfer that receives fewer than MIN_BYTES_PER_WINDOW bytes in `seconds` seconds."""

    def __init__(self, seconds: float, label: str) -> None:
        self.seconds = seconds
        self.label = label
        self.window_start = time.monotonic()
        self.window_bytes = 0

    def feed(self, count: int) -> None:
        self.window_bytes += count
        now = time.monotonic()
        if now - self.window_start < self.seconds:
            return
        if self.window_bytes < MIN_BYTES_PER_WINDOW:
            raise StalledTransferError("transfer from %s stalled: %d bytes in the last %g seconds (less than 1 KiB); "
                                       "the source is too slow or hangs (raise timeout, or use a mirror)"
                                       % (self.label, self.window_bytes, self.seconds))
        self.window_start, self.window_bytes = now, 0


def chunks(response, guard: SpeedGuard, size: int = CHUNK_SIZE):
    """Yield pieces of up to `size` bytes as they arrive.

    Each receive (read1) is shown to the guard, so a drip is seen as it drips; receives are gathered up to
    `size` so that later stages handle few large pieces rather than many small ones.
    """
    read = getattr(response, "read1", None) or response.read
    while True:
        piece = read(size)
        guard.feed(len(piece))
        if not piece:
            return
        if len(piece) < size:
            gathered = bytearray(piece)
            while len(gathered) < size:
                piece = read(size - len(gathered))
                guard.feed(len(piece))
                if not piece:
                    break
                gathered += piece
            yield bytes(gathered)
            if not piece:
                return
        else:
            yield piece


def read_limited(response, limit: int, guard: SpeedGuard, what: str) -> bytes:
    """The whole body, refused when it declares or turns out to hold more than `limit` bytes."""
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise ManifestError("%s declares %s bytes, more than the %d allowed: refused" % (what, declared, limit))
    body = bytearray()
    for chunk in chunks(response, guard, 64 << 10):
        body += chunk
        if len(body) > limit:
            raise ManifestError("%s is larger than the %d bytes allowed: refused" % (what, limit))
    return bytes(body)


def retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait before retrying: Retry-After (seconds or an HTTP date), else a short backoff."""
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.timezone.utc)
            return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
    return min(0.5 * 2 ** attempt, 8.0)
