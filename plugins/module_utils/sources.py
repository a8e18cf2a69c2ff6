# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a backend's files come from: a registry image, an OCI layout tarball, a directory, an HTTP tarball.

Each source knows how to tell its current revision (for `state: latest`) and how to fill a staging
directory through a LayerExtractor; the digest returned is what metadata.json records. What extraction
had to skip (dangling links on filesystems without links) is left in `warnings`.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import urllib.error

from ansible.module_utils.urls import Request

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    NotFoundError,
    RegistryError,
    SourceError,
)
from ansible_collections.localai.gallery.plugins.module_utils.layers import LayerExtractor
from ansible_collections.localai.gallery.plugins.module_utils.paths import FILE_SCHEME, local_path
from ansible_collections.localai.gallery.plugins.module_utils.reference import (
    apply_mirrors,
    is_image_reference,
    parse_reference,
)
from ansible_collections.localai.gallery.plugins.module_utils.registry import (
    INDEX_TYPES,
    RegistryClient,
    RemoteRevision,
    choose_platform_manifest,
)
from ansible_collections.localai.gallery.plugins.module_utils.streams import (
    decompressed,
    file_chunks,
    read_ahead,
    verified,
)

_TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd")


class ImageSource:
    """An image in a registry, after registry-mirror rewriting."""

    def __init__(self, uri: str, client: RegistryClient, registry_mirrors: dict[str, str] | None = None) -> None:
        self.uri = uri
        self.reference = apply_mirrors(parse_reference(uri), registry_mirrors)
        self.client = client
        self.warnings: list[str] = []

    def __str__(self) -> str:
        return str(self.reference)

    def current_revision(self) -> RemoteRevision:
        return self.client.current_revision(self.reference)

    def fill(self, stage_dir: str) -> str:
        image = self.client.platform_image(self.reference)
        extractor = LayerExtractor(stage_dir)
        for layer in image.layers:
            blob = self.client.iter_blob(self.reference, layer["digest"], layer.get("size"))
            extractor.extract(read_ahead(decompressed(blob)))
        self.warnings = extractor.warnings
        return image.digest


class OciArchiveSource:
    """`ocifile://PATH`: an OCI image layout packed in a tar file on the target."""

    def __init__(self, uri: str, wanted_platform: dict[str, str | None]) -> None:
        self.uri = uri
        self.path = uri[len("ocifile://"):]
        self.wanted_platform = wanted_platform
        self.warnings: list[str] = []

    def __str__(self) -> str:
        return self.uri

    def _read_json(self, archive: tarfile.TarFile, member: str) -> dict:
        try:
            handle = archive.extractfile(member)
        except KeyError:
            raise SourceError("%s is not an OCI image layout: %s is missing" % (self.path, member))
        return json.loads(handle.read())

    def _blob_name(self, digest: str) -> str:
        algorithm, _sep, hexdigest = digest.partition(":")
        return "blobs/%s/%s" % (algorithm, hexdigest)

    def _manifest(self, archive: tarfile.TarFile) -> tuple[dict, str, str | None]:
        """(platform manifest, its digest, the top-level digest index.json names) for this host."""
        descriptor = self._read_json(archive, "index.json")
        top_digest = None
        while True:
            manifests = descriptor.get("manifests")
            if manifests is not None:
                platformed = [item for item in manifests if item.get("platform")]
                descriptor = choose_platform_manifest(descriptor, self.wanted_platform) if platformed else manifests[0]
            digest = descriptor["digest"]
            top_digest = top_digest or digest
            document = self._read_json(archive, self._blob_name(digest))
            if document.get("mediaType") in INDEX_TYPES or "manifests" in document:
                descriptor = document
                continue
            return document, digest, top_digest

    def _open(self) -> tarfile.TarFile:
        try:
            return tarfile.open(self.path, "r:*")
        except (OSError, tarfile.TarError) as exc:
            raise SourceError("cannot open OCI archive %s: %s" % (self.path, exc))

    def current_revision(self) -> RemoteRevision:
        with self._open() as archive:
            _manifest, digest, top_digest = self._manifest(archive)
        return RemoteRevision(top_digest, digest if digest != top_digest else None)

    def fill(self, stage_dir: str) -> str:
        extractor = LayerExtractor(stage_dir)
        with self._open() as archive:
            manifest, _digest, top_digest = self._manifest(archive)
            for layer in manifest.get("layers") or []:
                try:
                    handle = archive.extractfile(self._blob_name(layer["digest"]))
                except KeyError:
                    raise SourceError("OCI archive %s lacks layer %s" % (self.path, layer["digest"]))
                chunks = verified(file_chunks(handle), layer["digest"], layer.get("size"), self.path)
                extractor.extract(decompressed(chunks))
        self.warnings = extractor.warnings
        return top_digest


class DirectorySource:
    """A directory on the target, copied as it is (links kept as links)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.path = local_path(uri)
        self.warnings: list[str] = []

    def __str__(self) -> str:
        return self.path

    def current_revision(self) -> RemoteRevision | None:
        return None

    def fill(self, stage_dir: str) -> str | None:
        if not os.path.isdir(self.path):
            raise SourceError("source directory %s does not exist" % self.path)
        shutil.copytree(self.path, stage_dir, symlinks=True, dirs_exist_ok=True)
        return None


class TarballSource:
    """`http(s)://...tar(.gz|.zst)` or a local tarball, checked against the sha256 it is given."""

    def __init__(self, uri: str, sha256: str | None, request: Request) -> None:
        if not sha256:
            raise SourceError("%s is a tarball: give its sha256 so the download can be verified" % uri)
        self.uri = uri
        self.digest = "sha256:" + sha256.lower().replace("sha256:", "")
        self.request = request
        self.warnings: list[str] = []

    def __str__(self) -> str:
        return self.uri

    def current_revision(self) -> RemoteRevision:
        return RemoteRevision(self.digest)

    def fill(self, stage_dir: str) -> str:
        try:
            if self.uri.startswith(("http://", "https://")):
                handle = self.request.open("GET", self.uri)
            else:
                handle = open(local_path(self.uri), "rb")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFoundError("%s not found (HTTP 404)" % self.uri)
            raise RegistryError("%s answered HTTP %d" % (self.uri, exc.code))
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError("cannot open %s: %s" % (self.uri, getattr(exc, "reason", exc)))
        with handle:
            chunks = verified(file_chunks(handle), self.digest, None, self.uri, user_checksum=True)
            extractor = LayerExtractor(stage_dir)
            extractor.extract(read_ahead(decompressed(chunks)))
        self.warnings = extractor.warnings
        return self.digest


def open_source(uri: str, client: RegistryClient, registry_mirrors: dict[str, str] | None = None,
                sha256: str | None = None):
    """The source object for a uri, by its form (see docs/behaviour.md "Sources")."""
    if uri.startswith("ocifile://"):
        return OciArchiveSource(uri, client.wanted_platform)
    if uri.startswith(("http://", "https://")) or uri.endswith(_TARBALL_SUFFIXES):
        return TarballSource(uri, sha256, client.http)
    if uri.startswith((FILE_SCHEME, "/", "./", "../")) or os.path.isdir(uri):
        return DirectorySource(uri)
    if is_image_reference(uri):
        return ImageSource(uri, client, registry_mirrors)
    raise SourceError("cannot use %r as a source: not an image reference, ocifile://, directory or tarball URL" % uri)
