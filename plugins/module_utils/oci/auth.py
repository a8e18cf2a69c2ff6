# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Answering a registry's 401 challenge: Basic credentials, or a bearer token from the realm it names.

Which credential may go where is `credentials.Credentials`' decision; a token is asked for the scope the
challenge names (a push gets a push token), and kept per registry and repository.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
from urllib.parse import urlencode, urlparse

from ansible_collections.localai.gallery.plugins.module_utils.errors import AuthenticationError, RegistryError
from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import Credentials
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import ImageReference
from ansible_collections.localai.gallery.plugins.module_utils.oci.responses import SpeedGuard, read_limited

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
MAX_TOKEN_BYTES = 1 << 20


class Authorizer:
    """The Authorization header of each repository, from the challenges its registry sent.

    `send(method, url, headers)` makes one HTTP request (the client's, with its TLS options and retries).
    """

    def __init__(self, credentials: Credentials, send, timeout: float) -> None:
        self.credentials = credentials
        self._send = send
        self.timeout = timeout
        self._headers: dict[tuple[str, str], str] = {}

    def header(self, reference: ImageReference) -> str | None:
        return self._headers.get((reference.registry, reference.repository))

    def answer(self, reference: ImageReference, challenge: str, registry_scheme: str) -> None:
        """Authorize `reference`'s repository as the challenge asks, or say why it cannot be."""
        scheme = challenge.split(" ", 1)[0].lower()
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        key = (reference.registry, reference.repository)
        if scheme == "bearer" and params.get("realm"):
            self._headers[key] = self._token(reference, params, registry_scheme)
            return
        credentials = self.credentials.basic(reference.registry)
        if scheme == "basic" and credentials:
            self._headers[key] = "Basic " + credentials
            return
        raise AuthenticationError("registry %s requires authentication (HTTP 401) and this task has no credentials "
                                  "for it: give registry_auths for it (registry_username and registry_password go to "
                                  "the registry of the task's own uri only), or log in with docker so config.json "
                                  "has credentials" % reference.registry)

    def _token(self, reference: ImageReference, params: dict[str, str], registry_scheme: str) -> str:
        realm = params["realm"]
        if urlparse(realm).scheme not in ("http", "https"):
            raise AuthenticationError("registry %s names a token realm that is not an http(s) URL: %r"
                                      % (reference.registry, realm))
        query = {"scope": params.get("scope") or "repository:%s:pull" % reference.repository}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {}
        credentials = self.credentials.basic(reference.registry)
        if credentials:
            if not self.credentials.realm_may_receive(realm, reference.registry, registry_scheme):
                raise AuthenticationError("registry %s names a plain-HTTP token realm (%s): its credentials are sent "
                                          "to a token service over HTTPS only; refused" % (reference.registry, realm))
            headers["Authorization"] = "Basic " + credentials  # to the realm the registry's challenge names
        url = realm + ("&" if "?" in realm else "?") + urlencode(query)
        try:
            response = self._send("GET", url, headers)
            body = json.loads(read_limited(response, MAX_TOKEN_BYTES, SpeedGuard(self.timeout, realm),
                                           "the token answer of %s" % realm))
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise AuthenticationError("authentication failed for registry %s (token service answered HTTP %d): "
                                          "check the registry username and password" % (reference.registry, exc.code))
            raise RegistryError("token service %s answered HTTP %d" % (realm, exc.code))
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            raise RegistryError("cannot get a token from %s: %s" % (realm, getattr(exc, "reason", exc)))
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not token or not isinstance(token, str):
            raise RegistryError("token service %s returned no token" % realm)
        return "Bearer " + token
