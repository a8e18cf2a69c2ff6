# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""On the controller: fill a pull-through cache with each pinned image once per run, before the fleet pulls.

docker-registry 2.8 in proxy mode (what the registry_cache role runs) serves a blob it does not store by copying it
from upstream to the client while a second, background fetch stores it (registry/proxy/proxyblobstore.go, ServeBlob
and storeLocal); a request that arrives while that store runs gets a copy of its own from upstream. So a cold cache
costs two upstream downloads for one host and one more for every host asking at the same time: ten hosts cost up
to eleven (4.0-4.4x the image in benchmarks/fleet_scale.py). One worker of the run warms the cache first, and the
workers of the other hosts wait on the run's lock (RunCache):

- each blob is asked for with `Range: bytes=0-0`. A blob the cache stores answers 206 with one byte: done;
- a blob it does not store answers 200: the connection is dropped at once. The copy to us stops after what the
  socket buffers held, and the background fetch goes on storing the blob;
- the largest blob is asked again, less and less often, until it answers 206, then the others; past a deadline
  what is still missing is read whole instead.

A warm cache costs one small request per blob and run. A cache that cannot be warmed is a warning: the hosts
still pull through it (or from upstream, see upstream_fallback).
"""

from __future__ import annotations

import json
import socket
import struct
import time

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import (
    describe_platform,
    follow_to_platform,
    is_image_entry,
    layers,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import apply_mirrors, parse_reference
from ansible_collections.localai.gallery.plugins.module_utils.oci.digests import verified
from ansible_collections.localai.gallery.plugins.module_utils.oci.responses import SpeedGuard, chunks

FIRST_POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 3.0
# For the deadline only: a cache still not storing a blob after this long at 5 MB/s gets it read through once.
ASSUMED_UPSTREAM_BYTES_PER_SECOND = 5 * 1024 * 1024


def _drop(response) -> None:
    """Close the connection without reading the body: a reset, so the server stops sending at once."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # a plain close still ends the transfer, a little later
    response.close()


def one_pin(module_args: dict) -> dict | None:
    """The digest this host's task will install, when exactly one image is pinned for it (a meta whose build is
    not known yet pins every build: then nothing is warmed rather than every build)."""
    pins = [item.get("pin") for item in [module_args.get("uri_pin") or {}, module_args.get("gallery_entry") or {}]
            + list((module_args.get("gallery_candidates") or {}).values())]
    pins = [pin for pin in pins if pin]
    return pins[0] if len(pins) == 1 else None


class CacheWarmer:
    """Warms the registry mirror of each pinned image, once per run and platform."""

    def __init__(self, client, cache, registry_mirrors: dict | None) -> None:
        self.client = client
        self.cache = cache
        self.registry_mirrors = registry_mirrors or {}

    def warm(self, pin: dict, platform: dict | None) -> dict:
        """What was done for the run ({reference, blobs_fetched, bytes_fetched, blobs_stored} or {warning});
        nothing when no mirror applies to the image."""
        upstream = parse_reference(pin["uri"])
        mirrored = apply_mirrors(upstream, self.registry_mirrors)
        if str(mirrored) == str(upstream):
            return {}
        reference = mirrored.with_digest(pin["digest"])
        key = json.dumps({"reference": str(reference), "platform": platform}, sort_keys=True)
        return self.cache.once_per_run(key, lambda: self._warm(reference, platform))

    def _images(self, reference, platform: dict | None) -> list:
        top = self.client.get_document(reference, reference.digest)
        if not top.is_index:
            return [top]

        def fetch(digest):
            return self.client.get_document(reference, digest)

        if platform:
            return [follow_to_platform(top, fetch, platform, str(reference))]
        # The host's platform is unknown (backend_facts not gathered): every platform of the index.
        descriptors = [item for item in top.document.get("manifests") or [] if is_image_entry(item)]
        return [image for image in map(fetch, (item["digest"] for item in descriptors)) if not image.is_index]

    def _stored(self, reference, digest: str) -> bool:
        """Whether the mirror serves the blob from its storage (a range answer); if not, the request it started
        upstream is cut short, and the cache's own fetch into its storage goes on."""
        response = self.client.open_api(reference, "blobs/" + digest, {"Range": "bytes=0-0"})
        if response.status == 206:
            response.close()
            return True
        _drop(response)
        return False

    def _read_whole(self, reference, descriptor: dict) -> int:
        """A mirror that never stored the blob (no range support, or a fetch that died): read it through once."""
        digest = descriptor["digest"]
        label = "%s (blob %s)" % (reference, digest)
        with self.client.open_api(reference, "blobs/" + digest) as response:
            return sum(len(chunk) for chunk in verified(chunks(response, SpeedGuard(self.client.timeout, label)),
                                                        digest, descriptor.get("size"), label))

    def _warm_blobs(self, reference, descriptors: list[dict], record: dict) -> None:
        pending = [item for item in descriptors if not self._stored(reference, item["digest"])]
        record["blobs_stored"] += len(descriptors) - len(pending)
        record["blobs_fetched"] += len(pending)
        total = sum(item.get("size") or 0 for item in pending)
        deadline = time.monotonic() + self.client.timeout + total / ASSUMED_UPSTREAM_BYTES_PER_SECOND
        # Each ask while a blob is still being stored costs a cut-short copy from upstream (a few MB of socket
        # buffers): ask about the largest blob only, as the cache fetches them all at once, then about the rest.
        pending.sort(key=lambda item: item.get("size") or 0, reverse=True)
        delay = FIRST_POLL_SECONDS
        while pending and time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 1.5, MAX_POLL_SECONDS)
            if self._stored(reference, pending[0]["digest"]):
                pending = [item for item in pending[1:] if not self._stored(reference, item["digest"])]
        for item in pending:
            record["bytes_read_whole"] += self._read_whole(reference, item)

    def _warm(self, reference, platform: dict | None) -> dict:
        record = {"reference": str(reference), "blobs_stored": 0, "blobs_fetched": 0, "bytes_read_whole": 0}
        try:
            descriptors = {}
            for image in self._images(reference, platform):
                for item in [image.document.get("config") or {}] + layers(image.document, str(reference)):
                    if item.get("digest"):
                        descriptors[item["digest"]] = item
            self._warm_blobs(reference, list(descriptors.values()), record)
        except (BackendError, OSError) as exc:
            where = " for %s" % describe_platform(platform) if platform else ""
            return {"warning": "could not warm registry mirror %s%s: %s; the hosts pull unwarmed (through the "
                               "mirror, or from upstream if it fails)" % (reference, where, exc)}
        return record
