# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which credentials go to which registry: each belongs to one registry host, and goes to that host only.

Three places give credentials, first match wins for a host:
1. `registry_auths`: `{host[:port]: {username, password}}`, the shape of a docker config.json `auths` map;
2. `registry_username`/`registry_password`, bound to one host: the registry of the task's own uri, or for a
   gallery name the registry of the entry's primary uri after `registry_mirrors` (`bind`);
3. the docker config.json `auths` of the target (or of `docker_config`), each for its own host.
Besides its registry, a credential also goes to the token realm that registry's 401 challenge names, over HTTPS
(or on loopback, where it never leaves the machine); never to another registry, a mirror, the upstream
fallback, a redirect target or an upload location.
"""

from __future__ import annotations

import base64
import json
import os
from urllib.parse import urlparse

from ansible_collections.localai.gallery.plugins.module_utils.errors import AuthenticationError, InvalidReferenceError
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import (
    apply_mirrors,
    canonical_registry,
    host_without_port,
    is_loopback_host,
    parse_reference,
)


def docker_config_auths(path: str | None) -> dict[str, str]:
    """`{registry host: base64 user:pass}` from a docker config.json; missing or unreadable files give nothing."""
    if path is None:
        path = os.path.join(os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker"), "config.json")
    try:
        with open(path, encoding="utf-8") as config_file:
            auths = json.load(config_file).get("auths") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    result = {}
    for key, value in auths.items():
        host = urlparse(key).netloc if "://" in key else key.split("/", 1)[0]
        if isinstance(value, dict) and value.get("auth"):
            result[canonical_registry(host)] = value["auth"]
    return result


def _basic(username: str, password: str | None) -> str:
    return base64.b64encode(("%s:%s" % (username, password or "")).encode()).decode()


def primary_registry(uri: str, registry_mirrors: dict | None = None) -> str | None:
    """The registry a task's own uri (or an entry's primary uri) is pulled from after registry_mirrors."""
    try:
        return apply_mirrors(parse_reference(uri), registry_mirrors).registry
    except InvalidReferenceError:
        return None  # not an image: nothing to bind


class Credentials:
    """Credentials by registry host; `basic(host)` is what may be sent to that host (or to its token realm)."""

    def __init__(self, registry_auths: dict | None = None, username: str | None = None, password: str | None = None,
                 docker_config_path: str | None = None) -> None:
        self.auths = {}
        for host, entry in (registry_auths or {}).items():
            if not isinstance(entry, dict) or not entry.get("username"):
                raise AuthenticationError("registry_auths[%r] must be a dictionary with username and password"
                                          % (host,))
            self.auths[canonical_registry(host)] = _basic(entry["username"], entry.get("password"))
        self.username = username
        self.password = password
        self.bound_registry: str | None = None
        self._docker_config_path = docker_config_path
        self._config_auths: dict[str, str] | None = None

    @property
    def wanted(self) -> bool:
        """Whether the task gave any credentials of its own (not counting the docker config)."""
        return bool(self.auths) or self.username is not None

    def bind(self, registry: str | None) -> None:
        """registry_username/registry_password belong to this registry (None: to none)."""
        self.bound_registry = canonical_registry(registry) if registry else None

    def basic(self, registry: str) -> str | None:
        """base64 `user:password` for `registry`, or None: never credentials given for another host."""
        registry = canonical_registry(registry)
        if registry in self.auths:
            return self.auths[registry]
        if self.username is not None and registry == self.bound_registry:
            return _basic(self.username, self.password)
        if self._config_auths is None:
            self._config_auths = docker_config_auths(self._docker_config_path)
        return self._config_auths.get(registry)

    @staticmethod
    def realm_may_receive(realm: str, registry: str, registry_scheme: str) -> bool:
        """Docker's rule for the token realm a registry names: credentials go there over HTTPS only. The one
        exception: a registry spoken to over plain HTTP on loopback may name a plain-HTTP loopback realm (that
        traffic never leaves the machine, and the registry's own requests are no better protected)."""
        parsed = urlparse(realm)
        if parsed.scheme == "https":
            return True
        return parsed.scheme == "http" and registry_scheme == "http" and is_loopback_host(parsed.hostname) and \
            is_loopback_host(host_without_port(registry))
