# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing to a registry, for the controller's backend_mirror: what is there already (HEAD), blobs by one streamed
monolithic upload (or a mount from another repository of the same registry), manifests by PUT of their exact
bytes (so their digests stay the same). Targets never write to a registry: no module ships this file."""

from __future__ import annotations

import urllib.error
from urllib.parse import urljoin, urlparse

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    MirrorPushError,
    NotFoundError,
    RegistryUnavailableError,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import ACCEPT
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import ImageReference


class SizedStream:
    """An upload body of known length: urllib sends its chunks as they come, with the Content-Length given. It
    refuses to be sent twice (a consumed stream re-sent would be a corrupt blob)."""

    def __init__(self, chunks, size: int) -> None:
        self.chunks = chunks
        self.size = size
        self.started = False

    def __iter__(self):
        if self.started:
            raise MirrorPushError("an upload stream cannot be sent twice")
        self.started = True
        return iter(self.chunks)


class RegistryWriter:
    """Writes through a RegistryClient (its TLS options, credentials per host, retries of reads, errors)."""

    def __init__(self, client) -> None:
        self.client = client

    def manifest_digest(self, reference: ImageReference, key: str) -> str | None:
        """The digest `key` (a tag or digest) names in the repository now, or None when there is none."""
        try:
            response = self.client.open("HEAD", reference, "manifests/" + key, {"Accept": ACCEPT})
        except NotFoundError:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        response.close()
        return digest or self.client.get_document(reference, key).digest

    def has_blob(self, reference: ImageReference, digest: str) -> bool:
        try:
            self.client.open("HEAD", reference, "blobs/" + digest).close()
        except NotFoundError:
            return False
        return True

    def push_blob(self, reference: ImageReference, digest: str, size: int, chunks,
                  mount_from: str | None = None) -> bool:
        """Store a blob (the registry checks its digest too and keeps nothing on a mismatch); True when it was
        mounted from `mount_from` (a repository of the same registry) instead of uploaded."""
        query = "?mount=%s&from=%s" % (digest, mount_from) if mount_from else ""
        started = self.client.open("POST", reference, "blobs/uploads/" + query, {"Content-Length": "0"}, b"")
        started.close()
        if mount_from and started.status == 201:
            return True
        location = started.headers.get("Location") or ""
        if not location:
            raise MirrorPushError("registry %s started an upload for %s without a Location" % (reference.registry,
                                                                                               reference))
        url = urljoin(self.client.base_url(reference), location)
        url += ("&" if "?" in url else "?") + "digest=" + digest
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        if urlparse(url).netloc == reference.api_host and self.client.auth.header(reference):
            # An upload location on another host (object storage) gets the bytes, never the credentials.
            headers["Authorization"] = self.client.auth.header(reference)
        try:
            self.client.send("PUT", url, headers, SizedStream(chunks, size)).close()
        except urllib.error.HTTPError as exc:
            raise self.client.http_error(exc, reference, "blobs/uploads/", "PUT")
        except OSError as exc:
            raise RegistryUnavailableError("upload of blob %s to %s broke off: %s" % (digest, reference, exc))
        return False

    def push_manifest(self, reference: ImageReference, key: str, body: bytes, media_type: str) -> None:
        """PUT a manifest's exact bytes under `key` (a digest, or a tag)."""
        self.client.open("PUT", reference, "manifests/" + key, {"Content-Type": media_type}, body).close()
