# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Content addressed by digest: bytes checked against the digest (and size) they were asked for, as they stream."""

from __future__ import annotations

import hashlib

from ansible_collections.localai.gallery.plugins.module_utils.errors import DigestMismatchError, SourceError


def verified(chunks, digest: str, size: int | None = None, label: str = "", user_checksum: bool = False):
    """Yield the chunks while hashing them: more than `size` bytes fails at once, a wrong digest at the end.

    `user_checksum` says the digest is a sha256 the user gave (a tarball), not one a manifest names.
    """
    algorithm, _sep, expected = digest.partition(":")
    try:
        hasher = hashlib.new(algorithm)
    except ValueError:
        raise SourceError("digest %s of %s uses an unsupported algorithm" % (digest, label))
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if size is not None and received > size:
            raise DigestMismatchError("blob %s of %s is larger than its manifest says (%d bytes)"
                                      % (digest, label, size))
        hasher.update(chunk)
        yield chunk
    if user_checksum and hasher.hexdigest() != expected:
        raise DigestMismatchError("%s does not match the sha256 given: expected %s, the download hashes to %s; check "
                                  "the sha256 option (or the gallery entry's sha256)"
                                  % (label, expected, hasher.hexdigest()))
    if hasher.hexdigest() != expected or (size is not None and received != size):
        raise DigestMismatchError("blob %s of %s is corrupt: its content hashes to %s:%s (%d bytes)"
                                  % (digest, label, algorithm, hasher.hexdigest(), received))
