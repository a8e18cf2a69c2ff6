# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The order sources are tried in, decided once for every caller (install, upgrade checks, pinning, replication).

LocalAI's fallback order gives the uris (uris.fallback_uris: the uri, the entry's alternates, the `master-` tags);
Docker's `registry-mirrors` rule then rewrites each image through its pull-through mirror, and, when
`upstream_fallback` is on, tries the upstream of every image a mirror took after all of them.
"""

from __future__ import annotations

from typing import NamedTuple

from ansible_collections.localai.gallery.plugins.module_utils.errors import AllSourcesFailedError, BackendError
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import (
    ImageReference,
    apply_mirrors,
    parse_reference,
)
from ansible_collections.localai.gallery.plugins.module_utils.uris import IMAGE, classify


class Attempt(NamedTuple):
    """One source to try: its uri; for an image, the reference to ask (after mirrors) and whether a mirror took it."""

    uri: str
    reference: ImageReference | None
    mirrored: bool

    def __str__(self) -> str:
        return str(self.reference) if self.reference is not None else self.uri


def source_chain(uris: list[str], registry_mirrors: dict | None = None,
                 upstream_fallback: bool = True) -> list[Attempt]:
    """Every uri in order (images through their mirror), then the upstream of each image a mirror took."""
    attempts = []
    for uri in uris:
        if classify(uri) != IMAGE:
            attempts.append(Attempt(uri, None, False))
            continue
        upstream = parse_reference(uri)
        mirrored = apply_mirrors(upstream, registry_mirrors)
        attempts.append(Attempt(uri, mirrored, str(mirrored) != str(upstream)))
    if upstream_fallback:
        attempts += [Attempt(attempt.uri, parse_reference(attempt.uri), False) for attempt in list(attempts)
                     if attempt.mirrored]
    return attempts


def first_answer(attempts: list, ask, failures: tuple = (BackendError,), name_each: bool = False):
    """`ask(attempt)` for each attempt in order; the first answer. When every attempt fails with one of
    `failures`: AllSourcesFailedError naming each source with its own error (the only error itself, when there
    was one attempt and not `name_each`)."""
    errors = []
    for attempt in attempts:
        try:
            return ask(attempt)
        except failures as exc:
            errors.append((str(attempt), exc))
    if not errors:
        raise BackendError("no source to try")
    raise errors[0][1] if len(errors) == 1 and not name_each else AllSourcesFailedError(errors)
