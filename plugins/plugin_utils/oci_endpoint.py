# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: one OCI registry spoken to through oras-py, with what a byte-exact copy needs around it.

From oras-py we take `oras.provider.Registry`: its requests session, the registry token dance (anonymous and
with credentials) and docker-config credentials. What it lacks for copying images is written here:
- manifests are kept as the registry's bytes (oras parses them to dicts and re-serialises on upload, which
  changes their digest; its upload also accepts image manifests only, not indexes);
- every blob and manifest read is checked against its digest (oras checks none);
- blobs are streamed from source to target (oras reads a whole blob into memory to upload it);
- requests have a timeout, and are not retried by oras's decorator (which sleeps up to two minutes on a
  closed port and would re-send a half-consumed upload stream); reads retry a bounded number of times here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from urllib.parse import urlparse

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AuthenticationError,
    AuthorizationError,
    BackendError,
    DigestMismatchError,
    MirrorPushError,
    MissingLibraryError,
    NotFoundError,
    RegistryUnavailableError,
)
from ansible_collections.localai.gallery.plugins.module_utils.manifests import ACCEPT, MAX_MANIFEST_BYTES, OCI_INDEX
from ansible_collections.localai.gallery.plugins.module_utils.reference import uses_plain_http
from ansible_collections.localai.gallery.plugins.module_utils.referrers import fallback_tag
from ansible_collections.localai.gallery.plugins.module_utils.transfer import READ_SIZE, SpeedGuard

try:
    import oras.container
    import oras.provider
    import requests
    HAS_ORAS = True
except ImportError:
    HAS_ORAS = False


class SizedStream:
    """An upload body of known length: requests then sends Content-Length and streams the chunks as they come."""

    def __init__(self, chunks, size: int) -> None:
        self.chunks = chunks
        self.size = size
        self.started = False

    def __iter__(self):
        if self.started:  # oras re-sends a request after an authentication challenge; a stream cannot be
            raise AuthenticationError("the registry asked for new credentials in the middle of an upload")
        self.started = True
        return iter(self.chunks)

    def __len__(self) -> int:
        return self.size


def require_oras() -> None:
    if not HAS_ORAS:
        raise MissingLibraryError("oras", "to copy images between registries on the controller")


class Endpoint:
    """A registry host, as the `source` or the `target` of copies; `repository` arguments are paths inside it."""

    def __init__(self, host: str, username: str | None = None, password: str | None = None,
                 insecure_registries: list[str] | tuple[str, ...] = (), validate_certs: bool = True,
                 ca_path: str | None = None, timeout: float = 60, retries: int = 3, role: str = "source") -> None:
        require_oras()
        self.host = host
        self.role = role
        self.retries = retries
        self.timeout = timeout
        tls_verify = ca_path or validate_certs
        self.tls_verify = tls_verify
        insecure, challenge = self._probe(uses_plain_http(host, insecure_registries), tls_verify, timeout)
        # oras's "token" backend speaks the bearer-token flow only; a registry that asks for Basic auth gets its
        # "basic" backend, chosen from the registry's answer to the API version check.
        backend = "basic" if challenge.lower().startswith("basic") else "token"
        self.registry = oras.provider.Registry(hostname=host, insecure=insecure, tls_verify=tls_verify,
                                               auth_backend=backend)
        self.registry.session.request = functools.partial(self.registry.session.request, timeout=timeout)
        if username:
            self.registry.auth.set_basic_auth(username, password or "")
        else:
            try:  # credentials from the Docker config (and its credential helpers), as docker and oras use them
                self.registry.auth.load_configs(oras.container.Container("localai/backends", registry=host))
            except (OSError, ValueError) as exc:
                raise AuthenticationError("cannot read the Docker config for %s: %s" % (host, exc))
        # Basic credentials go with every request (oras would send each one twice, the first to be refused, and
        # a streamed upload cannot be sent twice); with none at hand, say so before the first request.
        basic = getattr(self.registry.auth, "_basic_auth", None) if backend == "basic" else None
        self.basic_header = {"Authorization": "Basic %s" % basic} if basic else {}
        self.missing_credentials = backend == "basic" and not basic
        # oras's do_request without its retry decorator: authentication handling only.
        self._request = functools.partial(oras.provider.Registry.do_request.__wrapped__, self.registry)

    def _probe(self, plain_http: bool, tls_verify, timeout: float) -> tuple[bool, str]:
        """(plain HTTP?, the WWW-Authenticate header of `GET /v2/`). A loopback or insecure registry that
        answers plain HTTP with 400 speaks TLS: HTTPS from then on, as Docker and backend_install do."""
        for scheme in ("http", "https") if plain_http else ("https",):
            try:
                response = requests.get("%s://%s/v2/" % (scheme, self.host), timeout=timeout, verify=tls_verify)
            except requests.RequestException as exc:
                raise RegistryUnavailableError("%s registry %s cannot be reached: %s" % (self.role, self.host, exc))
            if not (scheme == "http" and response.status_code == 400):
                break
        challenge = response.headers.get("WWW-Authenticate", "") if response.status_code == 401 else ""
        return scheme == "http", challenge

    def url(self, repository: str, kind: str, reference: str) -> str:
        return "%s://%s/v2/%s/%s/%s" % (self.registry.prefix, self.host, repository, kind, reference)

    def request(self, method: str, url: str, what: str, **kwargs):
        if self.missing_credentials:
            raise self._credentials_error(what, 401)
        if self.basic_header:
            kwargs["headers"] = dict(kwargs.get("headers") or {}, **self.basic_header)
        attempts = self.retries + 1 if method in ("GET", "HEAD") else 1
        for attempt in range(attempts):
            try:
                return self._scoped(url, method, kwargs)
            except requests.RequestException as exc:
                failure = exc
            except ValueError:  # oras: "Cannot respond to request for authentication."
                raise self._credentials_error(what, 401)
            if attempt + 1 < attempts:
                time.sleep(min(2 ** attempt, 5))
        raise RegistryUnavailableError("%s: %s cannot be reached: %s" % (what, self.host, failure))

    def _scoped(self, url: str, method: str, kwargs: dict):
        """One request through oras. oras keeps one bearer token for every scope, so a push after a pull is
        refused with the pull token: drop it and ask once more, for this request's scope."""
        response = self._request(url, method, **dict(kwargs, headers=dict(kwargs.get("headers") or {})))
        auth = self.registry.auth
        if response.status_code == 401 and getattr(auth, "token", None) and \
                not isinstance(kwargs.get("data"), SizedStream):
            auth.token = None
            response = self._request(url, method, **dict(kwargs, headers=dict(kwargs.get("headers") or {})))
        return response

    def _credentials_error(self, what: str, status: int) -> BackendError:
        if status == 401:
            return AuthenticationError("%s: %s asks for credentials that were not given or were refused (give %s_username "
                                       "and %s_password)" % (what, self.host, self.role, self.role))
        return AuthorizationError("%s: %s refuses this account (403); it may not %s there"
                                  % (what, self.host, "push" if self.role == "target" else "pull"))

    def check(self, response, what: str, expected: tuple[int, ...]):
        """`response` when its status is one of `expected`; else the error that says what went wrong."""
        status = response.status_code
        if status in expected:
            return response
        if status in (401, 403):
            raise self._credentials_error(what, status)
        if status == 404:
            raise NotFoundError("%s: not found" % what)
        if self.role == "target" and status in (400, 405, 413, 415):
            hint = " (the registry does not store this media type)" if status == 415 else ""
            raise MirrorPushError("%s: %s refused it: %s%s" % (what, self.host, self._status_text(response), hint))
        raise RegistryUnavailableError("%s: %s" % (what, self._status_text(response)))

    @staticmethod
    def _status_text(response) -> str:
        try:
            errors = response.json().get("errors") or []
            detail = "; ".join("%s %s" % (item.get("code", ""), item.get("message", "")) for item in errors)
        except (ValueError, AttributeError):
            detail = ""
        return "%d %s%s" % (response.status_code, response.reason or "", ": " + detail if detail else "")

    # --- reading ------------------------------------------------------------------------------------------
    def _limited_body(self, response, what: str) -> bytes:
        """A manifest-sized body: at most MAX_MANIFEST_BYTES, and less than 1 KiB in `timeout` seconds fails."""
        guard = SpeedGuard(self.timeout, what)
        body = bytearray()
        try:
            for chunk in response.iter_content(64 << 10):
                guard.feed(len(chunk))
                body += chunk
                if len(body) > MAX_MANIFEST_BYTES:
                    raise DigestMismatchError("%s is more than %d bytes: more than a manifest may be"
                                              % (what, MAX_MANIFEST_BYTES))
        except requests.RequestException as exc:
            raise RegistryUnavailableError("%s: the download broke off: %s" % (what, exc))
        finally:
            response.close()
        return bytes(body)

    def manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest by tag or digest; NotFoundError when there is none."""
        what = "manifest %s:%s on %s" % (repository, reference, self.host)
        response = self.check(self.request("GET", self.url(repository, "manifests", reference), what,
                                           headers={"Accept": ACCEPT}, stream=True), what, (200,))
        body = self._limited_body(response, what)
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if reference.startswith("sha256:") and digest != reference:
            raise DigestMismatchError("%s does not match its digest (got %s)" % (what, digest))
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return body, media_type, digest

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest a tag names here (HEAD), or None when the tag does not exist."""
        what = "manifest %s:%s on %s" % (repository, reference, self.host)
        response = self.check(self.request("HEAD", self.url(repository, "manifests", reference), what,
                                           headers={"Accept": ACCEPT}), what, (200, 404))
        if response.status_code == 404:
            return None
        return response.headers.get("Docker-Content-Digest") or self.manifest(repository, reference)[2]

    def has_blob(self, repository: str, digest: str) -> bool:
        what = "blob %s in %s on %s" % (digest, repository, self.host)
        response = self.check(self.request("HEAD", self.url(repository, "blobs", digest), what), what, (200, 404))
        return response.status_code == 200

    def blob_chunks(self, repository: str, digest: str, size: int):
        """Stream a blob, raising DigestMismatchError at its end if its bytes are not `digest` and `size`."""
        what = "blob %s of %s on %s" % (digest, repository, self.host)
        response = self.check(self.request("GET", self.url(repository, "blobs", digest), what, stream=True),
                              what, (200,))
        hasher, count = hashlib.sha256(), 0
        try:
            for chunk in response.iter_content(READ_SIZE):
                count += len(chunk)
                if count > size:
                    raise DigestMismatchError("%s is larger than the %d bytes its descriptor states" % (what, size))
                hasher.update(chunk)
                yield chunk
        except requests.RequestException as exc:
            raise RegistryUnavailableError("%s: the download broke off: %s" % (what, exc))
        finally:
            response.close()
        found = "sha256:" + hasher.hexdigest()
        if found != digest or count != size:
            raise DigestMismatchError("%s does not match its digest: got %s (%d bytes of %d)"
                                      % (what, found, count, size))

    def referrers(self, repository: str, digest: str) -> list[dict]:
        """Descriptors of the manifests whose subject is `digest`: referrers API, else the fallback tag index."""
        what = "referrers of %s in %s on %s" % (digest, repository, self.host)
        response = self.request("GET", self.url(repository, "referrers", digest), what,
                                headers={"Accept": OCI_INDEX}, stream=True)
        if response.status_code == 200 and \
                response.headers.get("Content-Type", "").split(";")[0].strip() == OCI_INDEX:
            try:
                return list(json.loads(self._limited_body(response, what)).get("manifests") or [])
            except (ValueError, AttributeError):
                pass
        response.close()
        try:
            body, _media_type, _digest = self.manifest(repository, fallback_tag(digest))
        except NotFoundError:
            return []
        try:
            return list(json.loads(body).get("manifests") or [])
        except (ValueError, AttributeError):
            return []

    # --- writing ------------------------------------------------------------------------------------------
    def push_blob(self, repository: str, digest: str, size: int, chunks) -> None:
        """Upload a blob in one streamed PUT; the registry checks the digest too and keeps nothing on mismatch."""
        what = "pushing blob %s to %s" % (digest, repository)
        started = self.check(self.request("POST", self.url(repository, "blobs", "uploads/"), what), what, (201, 202))
        location = started.headers.get("Location", "")
        if location.startswith("/"):
            location = "%s://%s%s" % (self.registry.prefix, self.host, location)
        location += ("&" if "?" in location else "?") + "digest=" + digest
        headers = {"Content-Type": "application/octet-stream"}
        if urlparse(location).netloc != self.host:
            # An upload location on another host (object storage) gets the bytes, never the credentials.
            try:
                response = requests.put(location, data=SizedStream(chunks, size), headers=headers,
                                        timeout=self.timeout, verify=self.tls_verify, allow_redirects=False)
            except requests.RequestException as exc:
                raise RegistryUnavailableError("%s: %s cannot be reached: %s" % (what, urlparse(location).netloc, exc))
            self.check(response, what, (201, 204))
            return
        self.check(self.request("PUT", location, what, data=SizedStream(chunks, size), headers=headers),
                   what, (201, 204))

    def push_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> None:
        what = "pushing manifest %s:%s" % (repository, reference)
        self.check(self.request("PUT", self.url(repository, "manifests", reference), what, data=body,
                                headers={"Content-Type": media_type}), what, (200, 201, 204))
