# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Image references: parsing, Docker Hub defaults, registry mirrors and the plain-HTTP rule."""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.localai.gallery.plugins.module_utils.errors import InvalidReferenceError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = (DOCKER_HUB, "index.docker.io", DOCKER_HUB_API_HOST)

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$")
_SCHEME_PREFIXES = ("oci://", "docker://")


class ImageReference:
    """A parsed `registry/repository[:tag][@digest]`; `tag` defaults to `latest` only without a digest."""

    __slots__ = ("registry", "repository", "tag", "digest")

    def __init__(self, registry: str, repository: str, tag: str | None = None, digest: str | None = None) -> None:
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest

    @property
    def api_host(self) -> str:
        """The host:port the registry API is served from (Docker Hub's API lives elsewhere)."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def manifest_key(self) -> str:
        """What to ask the manifests endpoint for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_registry(self, registry: str, repository: str | None = None) -> "ImageReference":
        return ImageReference(registry, repository or self.repository, self.tag, self.digest)

    def with_tag(self, tag: str) -> "ImageReference":
        return ImageReference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: str) -> "ImageReference":
        """The same repository pinned to `digest` (the tag, if any, is dropped: the digest decides)."""
        return ImageReference(self.registry, self.repository, None, digest)

    def without_tag(self) -> str:
        """`registry/repository`, for messages about the repository rather than one tag."""
        return "%s/%s" % (self.registry, self.repository)

    def __str__(self) -> str:
        text = "%s/%s" % (self.registry, self.repository)
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageReference) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return "ImageReference(%r)" % str(self)


def _looks_like_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def strip_scheme(text: str) -> str:
    for prefix in _SCHEME_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def parse_reference(text: str) -> ImageReference:
    """Parse an image reference as Docker does; raise InvalidReferenceError with the reason."""
    original = text
    text = strip_scheme(text.strip())
    if not text:
        raise InvalidReferenceError("invalid image reference %r: it is empty" % original)
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReferenceError("invalid image reference %r: bad digest %r (expected algorithm:hex)"
                                        % (original, digest))
    tag = None
    last_slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > last_slash:
        text, tag = text[:colon], text[colon + 1:]
        if not _TAG.match(tag):
            raise InvalidReferenceError("invalid image reference %r: bad tag %r" % (original, tag))
    parts = text.split("/")
    if len(parts) > 1 and _looks_like_registry(parts[0]):
        registry, path = parts[0], parts[1:]
        if not _HOST.match(registry):
            raise InvalidReferenceError("invalid image reference %r: bad registry host %r" % (original, registry))
    else:
        registry, path = DOCKER_HUB, parts
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if len(path) == 1:
            path = ["library"] + path
    for component in path:
        if not _COMPONENT.match(component):
            raise InvalidReferenceError("invalid image reference %r: bad repository component %r "
                                        "(lowercase letters, digits and . _ - separators)" % (original, component))
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(registry, "/".join(path), tag, digest)


def is_image_reference(text: str) -> bool:
    """True when the text parses as an image reference and is not a URL, file or path source."""
    if text.startswith(("/", "./", "../", "~", "file://", "ocifile://", "http://", "https://")):
        return False
    try:
        parse_reference(text)
    except InvalidReferenceError:
        return False
    return True


def canonical_registry(host: str) -> str:
    """`https://quay.io/` -> `quay.io`; Docker Hub's other names -> `docker.io`."""
    host = host.strip().rstrip("/")
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix):]
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def apply_mirrors(reference: ImageReference, mirrors: dict[str, str] | None) -> ImageReference:
    """Rewrite the registry by a `{registry: mirror[/path-prefix]}` map; the repository path is kept."""
    if not mirrors:
        return reference
    for source, target in mirrors.items():
        if canonical_registry(source) != reference.registry:
            continue
        target = canonical_registry(target)
        host, _sep, prefix = target.partition("/")
        repository = "%s/%s" % (prefix.strip("/"), reference.repository) if prefix.strip("/") else reference.repository
        return reference.with_registry(host, repository)
    return reference


def host_without_port(host: str) -> str:
    if host.startswith("["):
        return host[1:host.index("]")]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def uses_plain_http(registry: str, insecure_registries: list[str] | tuple[str, ...] = ()) -> bool:
    """Loopback registries and the ones the user lists as insecure are spoken to over plain HTTP, as Docker does."""
    if registry in [canonical_registry(item) for item in insecure_registries or ()]:
        return True
    return is_loopback_host(host_without_port(registry))


def is_loopback_host(host: str | None) -> bool:
    """`localhost` or a loopback address (no port)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
