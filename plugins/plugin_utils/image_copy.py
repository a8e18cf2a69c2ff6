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

import hashlib
import json

from ansible_collections.localai.gallery.plugins.module_utils.errors import NotFoundError, PlatformNotFoundError
from ansible_collections.localai.gallery.plugins.module_utils.manifests import INDEX_TYPES, OCI_INDEX, is_image_entry
from ansible_collections.localai.gallery.plugins.module_utils.referrers import fallback_tag, is_bundle_artifact


def _platform_text(descriptor: dict) -> str:
    platform = descriptor.get("platform") or {}
    text = "%s/%s" % (platform.get("os", "?"), platform.get("architecture", "?"))
    return text + ("/" + platform["variant"] if platform.get("variant") else "")


def _is_index(media_type: str, document: dict) -> bool:
    return media_type in INDEX_TYPES or document.get("mediaType") in INDEX_TYPES or \
        ("manifests" in document and "layers" not in document)


class ImageCopier:
    """Copies images from one repository of `source` into one repository of `target`; counts what it moved."""

    def __init__(self, source, source_repository: str, target, target_repository: str,
                 check_mode: bool = False) -> None:
        self.source, self.source_repository = source, source_repository
        self.target, self.target_repository = target, target_repository
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
        if self.target.has_blob(self.target_repository, digest):
            self.blobs_present += 1
            return
        if not self.check_mode:
            self.target.push_blob(self.target_repository, digest, size,
                                  self.source.blob_chunks(self.source_repository, digest, size))
        self.blobs_copied.append({"digest": digest, "size": size})

    def _manifest(self, reference: str, body: bytes, media_type: str, digest: str) -> None:
        """Put a manifest unless the target already has exactly these bytes under `reference`."""
        if self.target.manifest_digest(self.target_repository, reference) == digest:
            return
        if not self.check_mode:
            self.target.push_manifest(self.target_repository, reference, body, media_type)
        self.manifests_copied.append(reference if reference == digest else "%s (%s)" % (reference, digest))

    def _image_manifest(self, digest: str, fetched: tuple | None = None) -> None:
        """A platform manifest (or a referrer's) and its blobs, by digest; `fetched` when already read."""
        body, media_type, _digest = fetched or self.source.manifest(self.source_repository, digest)
        document = json.loads(body)
        for descriptor in [document.get("config") or {}] + list(document.get("layers") or []):
            if descriptor.get("digest"):
                self._blob(descriptor)
        self._manifest(digest, body, media_type, digest)

    def _signatures(self, digest: str) -> None:
        """The Sigstore bundles attached to `digest`, findable in the target by the referrers API or the tag."""
        bundles = [item for item in self.source.referrers(self.source_repository, digest)
                   if is_bundle_artifact(item.get("artifactType"))]
        if not bundles:
            return
        for descriptor in bundles:
            before = len(self.manifests_copied)
            self._image_manifest(descriptor["digest"])
            if len(self.manifests_copied) > before:
                self.signatures_copied.append(descriptor["digest"])
        listed = {item.get("digest") for item in self.target.referrers(self.target_repository, digest)}
        missing = [item for item in bundles if item["digest"] not in listed]
        if missing:
            # A registry without the referrers API: keep cosign's fallback tag index up to date.
            tag = fallback_tag(digest)
            try:
                existing = json.loads(self.target.manifest(self.target_repository, tag)[0]).get("manifests") or []
            except NotFoundError:
                existing = []
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": existing + missing}
            body = json.dumps(index, separators=(",", ":")).encode()
            self._manifest(tag, body, OCI_INDEX, "sha256:" + hashlib.sha256(body).hexdigest())

    # --- an image -----------------------------------------------------------------------------------------
    def read(self, tag: str) -> tuple[bytes, str, str]:
        """The source's manifest for `tag`: (bytes, media type, digest)."""
        return self.source.manifest(self.source_repository, tag)

    def copy(self, tag: str, platforms: list[str] | None = None, top: tuple | None = None) -> dict:
        """Copy `tag` (every platform, or those named like linux/amd64) and its signatures; the tag last."""
        body, media_type, digest = top or self.read(tag)
        document = json.loads(body)
        copied_platforms, rewritten, source_digest = [], False, digest
        if _is_index(media_type, document):
            entries = list(document.get("manifests") or [])
            chosen = entries
            if platforms:
                chosen = [item for item in entries if _platform_text(item) in platforms or not is_image_entry(item)]
                found = {_platform_text(item) for item in chosen}
                absent = [platform for platform in platforms if platform not in found]
                if absent:
                    raise PlatformNotFoundError("%s:%s has no build for %s (it has %s)" % (
                        self.source_repository, tag, ", ".join(absent),
                        ", ".join(_platform_text(item) for item in entries)))
            if chosen != entries:
                body = json.dumps(dict(document, manifests=chosen), separators=(",", ":")).encode()
                digest, rewritten = "sha256:" + hashlib.sha256(body).hexdigest(), True
            for item in chosen:
                self._image_manifest(item["digest"])
                self._signatures(item["digest"])
                if is_image_entry(item):
                    copied_platforms.append(_platform_text(item))
        else:
            self._image_manifest(digest, (body, media_type, digest))
        if not rewritten:  # a rewritten index is not what was signed; its platform manifests' bundles are copied
            self._signatures(source_digest)
        self._manifest(tag, body, media_type, digest)
        return {"digest": digest, "source_digest": source_digest, "index_rewritten": rewritten,
                "platforms": copied_platforms, "changed": self.changed,
                "blobs_copied": len(self.blobs_copied), "bytes_copied": sum(blob["size"] for blob in self.blobs_copied),
                "blobs_present": self.blobs_present, "manifests_copied": self.manifests_copied,
                "signatures_copied": self.signatures_copied,
                "would_copy": self.blobs_copied if self.check_mode else []}
