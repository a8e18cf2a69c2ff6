# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OCI 1.1 referrers: the Sigstore bundles attached to a manifest, as cosign 2.2+ `--new-bundle-format
--registry-referrers-mode=oci-1-1` stores them.

LocalAI (pkg/oci/cosignverify/bundle.go) asks go-containerregistry's remote.Referrers, which uses the
referrers API (`GET /v2/<name>/referrers/<digest>`) and, on registries without it, the fallback tag
`<alg>-<hex>` naming an index of referrers. Each referrer whose artifactType starts with
`application/vnd.dev.sigstore.bundle.` and ends with `+json` is a manifest whose first layer is the bundle.
"""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AuthenticationError,
    AuthorizationError,
    BackendError,
    NotFoundError,
    RegistryUnavailableError,
    UnreadableBundleError,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import (
    OCI_INDEX,
    Document,
    layers,
    parse_document,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import ImageReference
from ansible_collections.localai.gallery.plugins.module_utils.oci.responses import SpeedGuard, read_limited

BUNDLE_ARTIFACT_PREFIX = "application/vnd.dev.sigstore.bundle."
MAX_BUNDLE_BYTES = 1 << 20
# Errors that say the registry itself is the problem; anything else from the referrers API means "not offered".
_REGISTRY_FAILURES = (AuthenticationError, AuthorizationError, RegistryUnavailableError)


def is_bundle_artifact(media_type) -> bool:
    """LocalAI's isSigstoreBundleArtifactType: every bundle version, JSON-encoded."""
    return isinstance(media_type, str) and media_type.startswith(BUNDLE_ARTIFACT_PREFIX) and \
        media_type.endswith("+json")


def fallback_tag(digest: str) -> str:
    """The referrers tag schema of the OCI distribution spec 1.1: `sha256:<hex>` -> `sha256-<hex>`."""
    return digest.replace(":", "-", 1)[:128]


def _referrers_api(client, reference: ImageReference, digest: str) -> Document | None:
    """The referrers index from the API, or None where the registry does not offer the API."""
    label = "the referrers of %s@%s" % (reference.without_tag(), digest)
    try:
        response = client.open_api(reference, "referrers/" + digest, {"Accept": OCI_INDEX})
        body = read_limited(response, MAX_BUNDLE_BYTES, SpeedGuard(client.timeout, label), label)
        document = parse_document(body, label, None, response.headers.get("Content-Type", ""))
    except _REGISTRY_FAILURES:
        raise
    except BackendError:
        return None  # 404, 400 or 405 from registries that predate OCI 1.1, or an answer that is no index
    return document if document.is_index else None


def _referrers_tag(client, reference: ImageReference, digest: str) -> Document | None:
    try:
        document = client.get_document(reference.with_tag(fallback_tag(digest)), fallback_tag(digest))
    except NotFoundError:
        return None
    return document if document.is_index else None


def referrer_descriptors(client, reference: ImageReference, digest: str) -> list[dict]:
    """Every referrer descriptor of `digest`: the referrers API first, then the fallback tag's index."""
    index = _referrers_api(client, reference, digest) or _referrers_tag(client, reference, digest)
    return list(index.document["manifests"]) if index is not None else []


def bundle_descriptors(client, reference: ImageReference, digest: str) -> list[dict]:
    """The referrer descriptors of `digest` that are Sigstore bundles, API first, then the fallback tag."""
    return [descriptor for descriptor in referrer_descriptors(client, reference, digest)
            if is_bundle_artifact(descriptor.get("artifactType"))]


def read_bundle(client, reference: ImageReference, descriptor: dict) -> bytes:
    """The bundle JSON of one referrer: the first layer of its manifest (digests checked, at most 1 MiB)."""
    label = "referrer %s of %s" % (descriptor["digest"], reference.without_tag())
    try:
        manifest = client.get_document(reference.with_digest(descriptor["digest"]), descriptor["digest"])
        found = [] if manifest.is_index else layers(manifest.document, label)
        if not found:
            raise UnreadableBundleError("%s has no layer holding a bundle" % label)
        if found[0].get("size", 0) > MAX_BUNDLE_BYTES:
            raise UnreadableBundleError("%s holds a bundle of %d bytes, more than the %d allowed"
                                        % (label, found[0]["size"], MAX_BUNDLE_BYTES))
        return client.small_blob(reference, found[0]["digest"], MAX_BUNDLE_BYTES)
    except _REGISTRY_FAILURES + (UnreadableBundleError,):
        raise
    except BackendError as exc:  # not found, corrupt, too large: this referrer gives no bundle
        raise UnreadableBundleError("cannot read %s: %s" % (label, exc))
