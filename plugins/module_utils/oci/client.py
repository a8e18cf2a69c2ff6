# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The OCI distribution client of both sides (targets install with it, the controller pins, warms caches and
replicates with it): HTTP with TLS options, bounded retries and precise errors; manifests and platform choice;
blobs hashed while they stream and resumed with Range. Authorization is `auth.py`'s; writes are `uploads.py`'s."""

from __future__ import annotations

import http.client
import time
import urllib.error
from typing import NamedTuple
from urllib.parse import urlparse

from ansible.module_utils.urls import Request

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AuthenticationError,
    AuthorizationError,
    BackendError,
    MirrorPushError,
    NotFoundError,
    PlatformNotFoundError,
    RegistryError,
    RegistryUnavailableError,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.auth import Authorizer
from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import Credentials
from ansible_collections.localai.gallery.plugins.module_utils.oci.digests import verified
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import (
    ACCEPT,
    MAX_MANIFEST_BYTES,
    Document,
    choose_platform_manifest,
    follow_to_platform,
    host_platform,
    layers,
    parse_document,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import ImageReference, uses_plain_http
from ansible_collections.localai.gallery.plugins.module_utils.oci.responses import (
    MAX_RETRY_AFTER,
    RETRY_STATUS,
    SpeedGuard,
    chunks,
    read_limited,
    retry_after,
)

_TRANSIENT_STATUS = (408, 500, 502, 504)
_REFUSED_WRITES = (400, 405, 413, 415)


class ResolvedImage(NamedTuple):
    """What a tag or digest points at for this host: the platform manifest and its layers.

    `digest` is what LocalAI records in metadata.json (oci.GetImageDigest = go-containerregistry
    remote.Head): the digest of the manifest the reference names, i.e. the index for a multi-arch tag.
    """

    reference: ImageReference
    manifest_digest: str
    manifest: dict
    index_digest: str | None

    @property
    def digest(self) -> str:
        return self.index_digest or self.manifest_digest

    @property
    def layers(self) -> list[dict]:
        return layers(self.manifest, str(self.reference))


class RemoteRevision:
    """What a tag names now, from one manifest request.

    `digest` is the top-level digest LocalAI records; `platform_digest` is, for an index, the digest of
    this host's manifest in it, which releases of this collection before 0.2.0 recorded instead.
    """

    def __init__(self, digest: str, platform_digest: str | None = None) -> None:
        self.digest = digest
        self.platform_digest = platform_digest


class RegistryClient:
    """Speaks the distribution API to any number of registries with one set of options."""

    def __init__(self, credentials: Credentials | None = None, validate_certs: bool = True,
                 ca_path: str | None = None, timeout: float = 60, retries: int = 3,
                 insecure_registries: list[str] | tuple[str, ...] = (),
                 wanted_platform: dict[str, str | None] | None = None) -> None:
        self.credentials = credentials or Credentials()
        self.retries = retries
        self.timeout = timeout
        self.insecure_registries = tuple(insecure_registries or ())
        self.wanted_platform = wanted_platform or host_platform()
        self._schemes: dict[str, str] = {}
        self.http = Request(timeout=timeout, validate_certs=validate_certs, ca_path=ca_path, use_netrc=False,
                            decompress=False, unredirected_headers=["Authorization"], http_agent="localai.gallery")
        self.auth = Authorizer(self.credentials, self.send, timeout)

    @classmethod
    def from_options(cls, params: dict) -> "RegistryClient":
        """The client of the `registry` doc fragment's options (module and action plugin alike)."""
        credentials = Credentials(params.get("registry_auths"), params["registry_username"],
                                  params["registry_password"], params["docker_config"])
        return cls(credentials, validate_certs=params["validate_certs"], ca_path=params["ca_path"],
                   timeout=params["timeout"], retries=params["retries"],
                   insecure_registries=params["insecure_registries"])

    # --- HTTP and auth ---------------------------------------------------------------------------
    def base_url(self, reference: ImageReference) -> str:
        """`<scheme>://<api host>/v2/<repository>`; the scheme is HTTPS unless the registry is loopback or insecure
        (and has not turned out to speak TLS)."""
        scheme = self._schemes.get(reference.registry)
        if scheme is None:
            scheme = "http" if uses_plain_http(reference.registry, self.insecure_registries) else "https"
        return "%s://%s/v2/%s" % (scheme, reference.api_host, reference.repository)

    def _switch_to_https(self, reference: ImageReference, exc: Exception) -> bool:
        """A loopback or insecure registry that turns out to speak TLS: use HTTPS from now on (as Docker does)."""
        if self._schemes.get(reference.registry) == "https" or \
                not uses_plain_http(reference.registry, self.insecure_registries):
            return False
        if isinstance(exc, urllib.error.HTTPError):
            if exc.code != 400:
                return False
            body = exc.read(512) or b""
            if not body:  # an answer to HEAD has no body: ask the API root what the 400 was
                try:
                    self.http.open("GET", "http://%s/v2/" % reference.api_host).close()
                except urllib.error.HTTPError as probe:
                    body = probe.read(512) or b""
                except (urllib.error.URLError, OSError, http.client.HTTPException):
                    return False
            if b"HTTPS server" not in body:
                return False
        self._schemes[reference.registry] = "https"
        return True

    def send(self, method: str, url: str, headers: dict[str, str], data=None):
        """One request; 429 and 503 are retried up to `retries` times, waiting what Retry-After asks (a body that is
        a stream is sent once: the caller says so by giving it)."""
        attempt = 0
        while True:
            try:
                return self.http.open(method, url, headers=headers, data=data)
            except urllib.error.HTTPError as exc:
                exc.retried = attempt  # what the error message reports
                streamed = data is not None and not isinstance(data, bytes)
                if exc.code not in RETRY_STATUS or attempt >= self.retries or streamed:
                    raise
                wait = retry_after(exc.headers.get("Retry-After"), attempt)
                if wait > MAX_RETRY_AFTER:
                    exc.too_long = wait
                    raise
                exc.close()
                attempt += 1
                time.sleep(wait)

    def open(self, method: str, reference: ImageReference, path: str, headers: dict[str, str] | None = None,
             data: bytes | None = None):
        """Open `<base>/<path>`, answering one 401 challenge; HTTP errors are mapped to precise exceptions."""
        authorized = False
        while True:
            url = "%s/%s" % (self.base_url(reference), path)
            request_headers = dict(headers or {})
            authorization = self.auth.header(reference)
            if authorization:
                request_headers["Authorization"] = authorization
            try:
                return self.send(method, url, request_headers, data)
            except urllib.error.HTTPError as exc:
                if self._switch_to_https(reference, exc):
                    continue
                if exc.code == 401 and not authorized:
                    authorized = True
                    self.auth.answer(reference, exc.headers.get("WWW-Authenticate", ""),
                                     urlparse(self.base_url(reference)).scheme)
                    continue
                raise self.http_error(exc, reference, path, method)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError)) and \
                        self._switch_to_https(reference, exc):
                    continue
                reason = getattr(exc, "reason", exc)
                raise RegistryUnavailableError("registry %s is unreachable (%s): %s"
                                               % (reference.registry, url, reason))

    def http_error(self, exc: urllib.error.HTTPError, reference: ImageReference, path: str,
                   method: str = "GET") -> RegistryError:
        """The exception that says what an HTTP error answer means, naming the image."""
        if method in ("POST", "PUT") and exc.code in _REFUSED_WRITES:
            hint = " (the registry does not store this media type)" if exc.code == 415 else ""
            return MirrorPushError("registry %s refused to store %s (%s %s: HTTP %d)%s"
                                   % (reference.registry, reference, method, path.split("?")[0], exc.code, hint))
        if exc.code == 401:
            return AuthenticationError("authentication failed for %s (HTTP 401): the registry rejected the "
                                       "credentials; check the registry username and password" % reference)
        if exc.code == 403:
            return AuthorizationError("access to %s is forbidden (HTTP 403): the credentials are valid but may not "
                                      "%s this repository" % (reference, "push to" if method in ("POST", "PUT")
                                                              else "pull"))
        if exc.code == 404:
            what = "tag or digest %r" % reference.manifest_key if path.startswith("manifests/") else "blob"
            return NotFoundError("%s not found in %s (HTTP 404): check the name and tag" % (what, reference))
        if 300 <= exc.code < 400:
            return RegistryError("registry %s answered too many redirects, or a redirect loop, for %s (HTTP %d at %s)"
                                 % (reference.registry, reference, exc.code, exc.geturl()))
        if exc.code in RETRY_STATUS:
            if getattr(exc, "too_long", None):
                return RegistryError("registry %s answered HTTP %d for %s and asks to wait %d s, longer than the %d s "
                                     "a run waits: try again later"
                                     % (reference.registry, exc.code, reference, exc.too_long, MAX_RETRY_AFTER))
            asked = exc.headers.get("Retry-After")
            return RegistryError("registry %s answered HTTP %d for %s after %d retries%s: try again later"
                                 % (reference.registry, exc.code, reference, getattr(exc, "retried", 0),
                                    " (waiting %s s each time, as it asked)" % asked if asked else ""))
        error_type = RegistryUnavailableError if exc.code in _TRANSIENT_STATUS else RegistryError
        return error_type("registry %s answered HTTP %d for %s" % (reference.registry, exc.code, reference))

    # --- manifests -------------------------------------------------------------------------------
    def get_document(self, reference: ImageReference, key: str) -> Document:
        """GET one manifest or index (checked, at most 4 MiB); a pinned digest must match its bytes."""
        response = self.open("GET", reference, "manifests/" + key, {"Accept": ACCEPT})
        label = str(reference)
        body = read_limited(response, MAX_MANIFEST_BYTES, SpeedGuard(self.timeout, label), "the manifest of %s" % label)
        return parse_document(body, label, key if key.startswith("sha256:") else None,
                              response.headers.get("Content-Type", ""))

    def current_revision(self, reference: ImageReference) -> RemoteRevision:
        """The digest a tag names now (and this platform's manifest in it), in one request and no blob download."""
        top = self.get_document(reference, reference.manifest_key)
        platform_digest = None
        if top.is_index:
            try:
                platform_digest = choose_platform_manifest(top.document, self.wanted_platform)["digest"]
            except PlatformNotFoundError:
                platform_digest = None  # the install itself will say which platforms the index offers
        return RemoteRevision(top.digest, platform_digest)

    def platform_image(self, reference: ImageReference) -> ResolvedImage:
        """The manifest for this host's platform, following the index (or nested indexes) the reference names."""
        top = self.get_document(reference, reference.manifest_key)
        image = follow_to_platform(top, lambda digest: self.get_document(reference, digest), self.wanted_platform,
                                   str(reference))
        return ResolvedImage(reference, image.digest, image.document, top.digest if top.is_index else None)

    # --- blobs -----------------------------------------------------------------------------------
    def _open_blob(self, reference: ImageReference, digest: str, offset: int, guard: SpeedGuard):
        headers = {"Range": "bytes=%d-" % offset} if offset else {}
        response = self.open("GET", reference, "blobs/" + digest, headers)
        if offset and response.status != 206:
            skipped = 0  # the server ignored Range: drop what was already consumed
            for chunk in chunks(response, guard, min(1 << 20, offset)):
                skipped += len(chunk)
                if skipped >= offset:
                    return response, chunk[len(chunk) - (skipped - offset):]
            raise RegistryError("blob %s of %s ended while skipping to byte %d" % (digest, reference, offset))
        return response, b""

    def _blob_chunks(self, reference: ImageReference, digest: str, size: int | None):
        """The blob's bytes as they arrive; a broken transfer is resumed with a Range request (transient errors)."""
        guard = SpeedGuard(self.timeout, "%s (blob %s)" % (reference, digest))
        received = 0
        failures = 0
        stream = None
        while True:
            try:
                if stream is None:
                    response, leftover = self._open_blob(reference, digest, received, guard)
                    stream = chunks(response, guard)
                    if leftover:
                        received += len(leftover)
                        yield leftover
                        continue
                chunk = next(stream, b"")
                if not chunk and size is not None and received < size:
                    raise ConnectionError("connection closed after %d of %d bytes" % (received, size))
            except (BackendError, OSError, http.client.HTTPException) as exc:
                if isinstance(exc, BackendError) and not exc.transient:
                    raise
                failures += 1
                if failures > self.retries:
                    raise RegistryUnavailableError("download of blob %s from %s failed after %d bytes and %d retries: "
                                                   "%s" % (digest, reference, received, failures - 1, exc))
                stream = None
                time.sleep(min(0.2 * 2 ** failures, 5.0))
                continue
            if not chunk:
                return
            received += len(chunk)
            yield chunk

    def iter_blob(self, reference: ImageReference, digest: str, size: int | None = None):
        """Yield the blob's bytes, hashed while they stream, never past `size`, checked against digest and size.

        The digest is checked when the stream ends: callers must discard what they built from it if
        DigestMismatchError is raised.
        """
        return verified(self._blob_chunks(reference, digest, size), digest, size, "%s" % reference)

    def small_blob(self, reference: ImageReference, digest: str, limit: int) -> bytes:
        """A whole blob of at most `limit` bytes (a signature bundle, a config), checked against its digest."""
        label = "blob %s of %s" % (digest, reference)
        body = read_limited(self.open("GET", reference, "blobs/" + digest), limit, SpeedGuard(self.timeout, label),
                            label)
        return b"".join(verified([body], digest, None, label))

    def open_api(self, reference: ImageReference, path: str, headers: dict[str, str] | None = None):
        """GET any path of the repository's API (`referrers/<digest>`), with auth and precise errors."""
        return self.open("GET", reference, path, headers)
