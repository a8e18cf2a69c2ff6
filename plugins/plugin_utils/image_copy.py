# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: copy one image between registries byte for byte, so its digest stays the same.

Order: blobs, then each platform manifest by digest, then the Sigstore bundle referrers of every copied
manifest, then the tag. The tag is written last, so a copy that fails half-way leaves nothing tagged in the
target: LocalAI and backend_install never see a partial image. Everything present in the target already
(HEAD) is skipped, so a second run moves no blob and writes nothing.

Where only some platforms of an index are asked for, the index is rewritten to list just those, which gives
it another digest: the result says so (`index_rewritten`), since LocalAI's upgrade check compares the
digest of the tag against its source.
"""

from __future__ import annotations

import json

from ansible_collections.localai.gallery.plugins.module_utils.errors import NotFoundError, PlatformNotFoundError
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import (
    OCI_INDEX,
    Document,
    is_image_entry,
    parse_document,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import ImageReference
from ansible_collections.localai.gallery.plugins.module_utils.oci.referrers import (
    fallback_tag,
    is_bundle_artifact,
    referrer_descriptors,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.uploads import RegistryWriter


def _platform_text(descriptor: dict) -> str:
    platform = descriptor.get("platform") or {}
    text = "%s/%s" % (platform.get("os", "?"), platform.get("architecture", "?"))
    return text + ("/" + platform["variant"] if platform.get("variant") else "")


class ImageCopier:
    """Copies images from one repository (`source`, an ImageReference) into another (`target`) through one
    RegistryClient, whose credentials each go to their own registry; counts what it moved."""

    def __init__(self, client, source: ImageReference, target: ImageReference, check_mode: bool = False) -> None:
        self.client = client
        self.writer = RegistryWriter(client)
        self.source, self.target = source, target
        self.check_mode = check_mode
        self.blobs_copied: list[dict] = []
        self.blobs_present = 0
        self.manifests_copied: list[str] = []
        self.signatures_copied: list[str] = []

    @property
    def changed(self) -> bool:
        return bool(self.blobs_copied or self.manifests_copied or self.signatures_copied)

    # --- pieces -------------------------------------------------------------------------------------------
    def _blob(self, descriptor: dict) -> None:
        digest, size = descriptor["digest"], int(descriptor.get("size") or 0)
        if self.writer.has_blob(self.target, digest):
            self.blobs_present += 1
            return
        if not self.check_mode:
            same_registry = self.source.registry == self.target.registry
            self.writer.push_blob(self.target, digest, size, self.client.iter_blob(self.source, digest, size),
                                  mount_from=self.source.repository if same_registry else None)
        self.blobs_copied.append({"digest": digest, "size": size})

    def _manifest(self, key: str, document: Document) -> None:
        """Put a manifest unless the target already has exactly these bytes under `key` (a tag or its digest)."""
        if self.writer.manifest_digest(self.target, key) == document.digest:
            return
        if not self.check_mode:
            self.writer.push_manifest(self.target, key, document.body, document.media_type)
        self.manifests_copied.append(key if key == document.digest else "%s (%s)" % (key, document.digest))

    def _image_manifest(self, digest: str, fetched: Document | None = None) -> None:
        """A platform manifest (or a referrer's) and its blobs, by digest; `fetched` when already read."""
        document = fetched or self.client.get_document(self.source, digest)
        for descriptor in [document.document.get("config") or {}] + list(document.document.get("layers") or []):
            if descriptor.get("digest"):
                self._blob(descriptor)
        self._manifest(digest, document)

    def _signatures(self, digest: str) -> None:
        """The Sigstore bundles attached to `digest`, findable in the target by the referrers API or the tag."""
        bundles = [item for item in referrer_descriptors(self.client, self.source, digest)
                   if is_bundle_artifact(item.get("artifactType"))]
        if not bundles:
            return
        for descriptor in bundles:
            before = len(self.manifests_copied)
            self._image_manifest(descriptor["digest"])
            if len(self.manifests_copied) > before:
                self.signatures_copied.append(descriptor["digest"])
        listed = {item.get("digest") for item in referrer_descriptors(self.client, self.target, digest)}
        missing = [item for item in bundles if item["digest"] not in listed]
        if missing:
            # A registry without the referrers API: keep cosign's fallback tag index up to date.
            tag = fallback_tag(digest)
            try:
                existing = self.client.get_document(self.target, tag).document.get("manifests") or []
            except NotFoundError:
                existing = []
            body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": existing + missing},
                              separators=(",", ":")).encode()
            self._manifest(tag, parse_document(body, str(self.target), None, OCI_INDEX))

    # --- an image -----------------------------------------------------------------------------------------
    def read(self, tag: str) -> Document:
        """The source's manifest or index for `tag`."""
        return self.client.get_document(self.source, tag)

    def copy(self, tag: str, platforms: list[str] | None = None, top: Document | None = None) -> dict:
        """Copy `tag` (every platform, or those named like linux/amd64) and its signatures; the tag last."""
        top = top or self.read(tag)
        source_digest = top.digest
        copied_platforms, rewritten = [], False
        if top.is_index:
            entries = list(top.document.get("manifests") or [])
            chosen = entries
            if platforms:
                chosen = [item for item in entries if _platform_text(item) in platforms or not is_image_entry(item)]
                found = {_platform_text(item) for item in chosen}
                absent = [platform for platform in platforms if platform not in found]
                if absent:
                    raise PlatformNotFoundError("%s:%s has no build for %s (it has %s)" % (
                        self.source.repository, tag, ", ".join(absent),
                        ", ".join(_platform_text(item) for item in entries)))
            if chosen != entries:
                body = json.dumps(dict(top.document, manifests=chosen), separators=(",", ":")).encode()
                top, rewritten = parse_document(body, str(self.target), None, top.media_type), True
            for item in chosen:
                self._image_manifest(item["digest"])
                self._signatures(item["digest"])
                if is_image_entry(item):
                    copied_platforms.append(_platform_text(item))
        else:
            self._image_manifest(top.digest, top)
        if not rewritten:  # a rewritten index is not what was signed; its platform manifests' bundles are copied
            self._signatures(source_digest)
        self._manifest(tag, top)
        return {"digest": top.digest, "source_digest": source_digest, "index_rewritten": rewritten,
                "platforms": copied_platforms, "changed": self.changed,
                "blobs_copied": len(self.blobs_copied), "bytes_copied": sum(blob["size"] for blob in self.blobs_copied),
                "blobs_present": self.blobs_present, "manifests_copied": self.manifests_copied,
                "signatures_copied": self.signatures_copied,
                "would_copy": self.blobs_copied if self.check_mode else []}
