# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Image manifests and indexes as untrusted documents: parsed, checked field by field, and followed to this
host's platform manifest with a bounded number of steps (a registry or an OCI archive may be hostile).

Every malformed document raises ManifestError with what was wrong; nothing else escapes.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    DigestMismatchError,
    ManifestError,
    PlatformNotFoundError,
)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
# containerd's limit for manifests and indexes; a larger document is refused before it is read.
MAX_MANIFEST_BYTES = 4 << 20
# An index may name another index (nested); more steps than this, or a document seen twice, is refused.
MAX_INDEX_DEPTH = 3
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

_MACHINE_TO_ARCH = {
    "x86_64": ("amd64", None), "amd64": ("amd64", None),
    "aarch64": ("arm64", None), "arm64": ("arm64", None),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
    "i386": ("386", None), "i686": ("386", None),
    "ppc64le": ("ppc64le", None), "s390x": ("s390x", None), "riscv64": ("riscv64", None),
}


class Document:
    """One parsed manifest or index: its JSON object, its kind (index or not), its bytes and their digest."""

    def __init__(self, document: dict, media_type: str, digest: str, body: bytes = b"") -> None:
        self.document = document
        self.media_type = media_type
        self.digest = digest
        self.body = body

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def host_platform() -> dict[str, str | None]:
    """The OS/architecture/variant triple of this host in OCI terms."""
    machine = platform.machine().lower()
    architecture, variant = _MACHINE_TO_ARCH.get(machine, (machine, None))
    return {"os": platform.system().lower(), "architecture": architecture, "variant": variant}


def is_image_entry(descriptor: dict) -> bool:
    """Whether an index entry is an image: BuildKit's attestation manifests carry platform unknown/unknown."""
    platform = descriptor.get("platform") or {}
    return (platform.get("os"), platform.get("architecture")) != ("unknown", "unknown")


def describe_platform(wanted: dict) -> str:
    return "/".join(str(part) for part in (wanted.get("os"), wanted.get("architecture"), wanted.get("variant"))
                    if part)


def parse_document(body: bytes, label: str, expected_digest: str | None = None,
                   content_type: str = "") -> Document:
    """Parse and check one manifest or index; `expected_digest` (a pinned reference) must match its bytes."""
    if len(body) > MAX_MANIFEST_BYTES:
        raise ManifestError("manifest of %s is larger than %d bytes" % (label, MAX_MANIFEST_BYTES))
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if expected_digest and expected_digest != digest:
        raise DigestMismatchError("manifest %s of %s is corrupt: its content hashes to %s"
                                  % (expected_digest, label, digest))
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError("manifest of %s is not JSON: %s" % (label, exc))
    if not isinstance(document, dict):
        raise ManifestError("manifest of %s is not a JSON object" % label)
    media_type = document.get("mediaType") or content_type.split(";")[0].strip()
    if media_type not in INDEX_TYPES + MANIFEST_TYPES:
        media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    parsed = Document(document, media_type, digest, body)
    if parsed.is_index:
        _descriptors(document, "manifests", label)
    else:
        layers(document, label)
    return parsed


def _descriptors(document: dict, field: str, label: str) -> list[dict]:
    """A list of content descriptors, each with a sha256 digest and a non-negative integer size."""
    items = document.get(field)
    if not isinstance(items, list):
        raise ManifestError("manifest of %s has no %s list" % (label, field))
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("digest"), str) or \
                not DIGEST.match(item["digest"]):
            raise ManifestError("manifest of %s lists %s without a sha256 digest" % (label, field))
        size = item.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ManifestError("manifest of %s lists %s %s without a valid size" % (label, field, item["digest"]))
        if "platform" in item and not isinstance(item["platform"], dict):
            raise ManifestError("manifest of %s gives %s a platform that is not an object" % (label, item["digest"]))
    return items


def layers(document: dict, label: str) -> list[dict]:
    """The layer descriptors of an image manifest (checked)."""
    return _descriptors(document, "layers", label)


def choose_platform_manifest(index: dict, wanted: dict, label: str = "the image index") -> dict:
    """Pick the descriptor of an index for the wanted platform (variant only where both give one)."""
    descriptors = _descriptors(index, "manifests", label)
    if descriptors and not any("platform" in descriptor for descriptor in descriptors):
        return descriptors[0]  # an OCI layout's index.json names its image without a platform
    candidates = []
    for descriptor in descriptors:
        entry_platform = descriptor.get("platform") or {}
        if entry_platform.get("os") != wanted["os"] or entry_platform.get("architecture") != wanted["architecture"]:
            continue
        candidates.append((descriptor, entry_platform.get("variant")))
    for descriptor, variant in candidates:
        if wanted.get("variant") is None or variant in (None, wanted["variant"]):
            return descriptor
    offered = sorted({describe_platform(d.get("platform") or {}) or "unknown" for d in descriptors})
    raise PlatformNotFoundError("the image index offers no manifest for %s (it offers: %s)"
                                % (describe_platform(wanted), ", ".join(offered) or "nothing"))


def follow_to_platform(top: Document, fetch, wanted: dict, label: str) -> Document:
    """From the document a reference names to this platform's image manifest, through nested indexes.

    `fetch(digest)` returns the Document with that digest. At most MAX_INDEX_DEPTH indexes are followed, and
    an index that names itself or an earlier one is refused.
    """
    seen = {top.digest}
    current = top
    for _step in range(MAX_INDEX_DEPTH):
        if not current.is_index:
            return current
        descriptor = choose_platform_manifest(current.document, wanted, label)
        if descriptor["digest"] in seen:
            raise ManifestError("the image index of %s names itself (%s): refused" % (label, descriptor["digest"]))
        seen.add(descriptor["digest"])
        current = fetch(descriptor["digest"])
    if current.is_index:
        raise ManifestError("the image index of %s nests indexes deeper than %d levels: refused"
                            % (label, MAX_INDEX_DEPTH))
    return current
