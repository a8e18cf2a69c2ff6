# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a backend's files come from: a registry image, an OCI layout tarball, a directory, an HTTP tarball.

Each source knows how to tell its current revision (for `state: latest`) and how to fill a staging
directory through a LayerExtractor; the digest returned is what metadata.json records. What extraction
had to skip (dangling links on filesystems without links) is left in `warnings`.
"""

from __future__ import annotations

import os
import tarfile
import urllib.error

from ansible.module_utils.urls import Request

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    ManifestError,
    NotFoundError,
    RegistryError,
    SignatureError,
    SourceError,
)
from ansible_collections.localai.gallery.plugins.module_utils import docker_archive
from ansible_collections.localai.gallery.plugins.module_utils.descriptors import O_CLOEXEC
from ansible_collections.localai.gallery.plugins.module_utils.inflaters import Inflaters
from ansible_collections.localai.gallery.plugins.module_utils.layers import LayerExtractor
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import ImageReference, parse_reference
from ansible_collections.localai.gallery.plugins.module_utils.oci.source_chain import Attempt
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import (
    MAX_MANIFEST_BYTES,
    Document,
    choose_platform_manifest,
    follow_to_platform,
    layers,
    parse_document,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient, RemoteRevision
from ansible_collections.localai.gallery.plugins.module_utils.layer_streams import file_chunks, layer_stream
from ansible_collections.localai.gallery.plugins.module_utils.oci.digests import verified
from ansible_collections.localai.gallery.plugins.module_utils.uris import (
    DIRECTORY,
    OCIFILE,
    TARBALL,
    classify,
    local_path,
)


class ImageSource:
    """An image in a registry: `reference` is what to ask (a pull-through mirror's, or the uri's own)."""

    def __init__(self, uri: str, client: RegistryClient, reference: ImageReference | None = None,
                 verified_manifests: list[str] | None = None, inflaters: Inflaters | None = None) -> None:
        self.uri = uri
        self.reference = reference or parse_reference(uri)
        self.client = client
        self.verified_manifests = verified_manifests
        self.inflaters = inflaters or Inflaters()
        self.warnings: list[str] = []

    def __str__(self) -> str:
        return str(self.reference)

    def current_revision(self) -> RemoteRevision:
        return self.client.current_revision(self.reference)

    def fill(self, stage_fd: int) -> str:
        image = self.client.platform_image(self.reference)
        if self.verified_manifests is not None and image.manifest_digest not in self.verified_manifests:
            raise SignatureError("the manifest of %s for this host's platform (%s) has no verified signature; the "
                                 "controller verified only %s" % (self, image.manifest_digest,
                                                                  ", ".join(self.verified_manifests)))
        extractor = LayerExtractor(stage_fd)
        for layer in image.layers:
            extractor.extract(layer_stream(self.client.iter_blob(self.reference, layer["digest"], layer["size"]),
                                           self.inflaters, layer["size"]))
        self.warnings = extractor.warnings
        return image.digest


class OciArchiveSource:
    """`ocifile://PATH`: a tar file on the target holding a `docker save` archive (what LocalAI reads,
    docker_archive.py) or an OCI image layout (index.json; docker 25 and later write both, and the layout is read).
    """

    def __init__(self, uri: str, wanted_platform: dict[str, str | None], inflaters: Inflaters | None = None) -> None:
        self.uri = uri
        self.path = uri[len("ocifile://"):]
        self.wanted_platform = wanted_platform
        self.inflaters = inflaters or Inflaters()
        self.warnings: list[str] = []

    def __str__(self) -> str:
        return self.uri

    def _read_member(self, archive: tarfile.TarFile, member: str) -> bytes:
        """A small file of the layout (index.json, a manifest), at most MAX_MANIFEST_BYTES."""
        try:
            info = archive.getmember(member)
            if info.size > MAX_MANIFEST_BYTES:
                raise ManifestError("%s in archive %s is larger than %d bytes: refused"
                                    % (member, self.path, MAX_MANIFEST_BYTES))
            handle = archive.extractfile(info)
            return handle.read() if handle is not None else b""
        except KeyError:
            raise SourceError("archive %s lacks %s: it is damaged or not an image archive" % (self.path, member))
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise SourceError("cannot read %s from archive %s: %s" % (member, self.path, exc))

    @staticmethod
    def _blob_name(digest: str) -> str:
        algorithm, _sep, hexdigest = digest.partition(":")
        return "blobs/%s/%s" % (algorithm, hexdigest)

    def _blob_document(self, archive: tarfile.TarFile, digest: str) -> Document:
        return parse_document(self._read_member(archive, self._blob_name(digest)), self.path, digest)

    def _documents(self, archive: tarfile.TarFile) -> tuple[Document, Document]:
        """(this platform's image manifest, the document index.json names: what a tag would name)."""
        layout_index = parse_document(self._read_member(archive, "index.json"), self.path)
        descriptor = choose_platform_manifest(layout_index.document, self.wanted_platform, self.path)
        top = self._blob_document(archive, descriptor["digest"])
        image = follow_to_platform(top, lambda digest: self._blob_document(archive, digest), self.wanted_platform,
                                   self.path)
        return image, top

    def _open(self) -> tarfile.TarFile:
        try:
            return tarfile.open(self.path, "r:*")
        except (OSError, tarfile.TarError) as exc:
            raise SourceError("cannot open OCI archive %s: %s" % (self.path, exc))

    @staticmethod
    def _is_layout(archive: tarfile.TarFile) -> bool:
        try:
            archive.getmember("index.json")
        except KeyError:
            return False
        return True

    def _docker_image(self, archive: tarfile.TarFile) -> docker_archive.DockerArchiveImage:
        try:
            archive.getmember(docker_archive.MANIFEST)
        except KeyError:
            raise SourceError("%s is neither a docker save archive (no manifest.json) nor an OCI image layout "
                              "(no index.json)" % self.path)
        image = docker_archive.read_image(lambda member: self._read_member(archive, member), self.path)
        docker_archive.check_platform(image, self.wanted_platform, self.path)
        return image

    def current_revision(self) -> RemoteRevision:
        with self._open() as archive:
            if not self._is_layout(archive):
                return RemoteRevision(self._docker_image(archive).digest)
            image, top = self._documents(archive)
        return RemoteRevision(top.digest, image.digest if image.digest != top.digest else None)

    def _fill_docker(self, archive: tarfile.TarFile, extractor: LayerExtractor) -> str:
        image = self._docker_image(archive)
        for member, diff_id in image.layers:
            try:
                info = archive.getmember(member)
                handle = archive.extractfile(info)
            except KeyError:
                handle = None
            if handle is None:
                raise SourceError("docker archive %s lacks layer %s" % (self.path, member))
            # The manifest names no compressed digests: the layer is checked as docker load does, its tar
            # (uncompressed) against the config's diff_id.
            stream = layer_stream(file_chunks(handle), self.inflaters, info.size if info.isfile() else None)
            try:
                extractor.extract(verified(stream, diff_id, None, "%s (layer %s)" % (self.path, member)))
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        return image.digest

    def fill(self, stage_fd: int) -> str:
        extractor = LayerExtractor(stage_fd)
        with self._open() as archive:
            if not self._is_layout(archive):
                digest = self._fill_docker(archive, extractor)
                self.warnings = extractor.warnings
                return digest
            image, top = self._documents(archive)
            for layer in layers(image.document, self.path):
                try:
                    handle = archive.extractfile(self._blob_name(layer["digest"]))
                except KeyError:
                    raise SourceError("OCI archive %s lacks layer %s" % (self.path, layer["digest"]))
                chunks = verified(file_chunks(handle), layer["digest"], layer["size"], self.path)
                extractor.extract(layer_stream(chunks, self.inflaters, layer["size"]))
        self.warnings = extractor.warnings
        return top.digest


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

    def fill(self, stage_fd: int) -> str | None:
        """Regular files, directories and links, nothing followed below the directory given."""
        try:
            source_fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | O_CLOEXEC)
        except OSError as exc:
            raise SourceError("source directory %s cannot be opened: %s" % (self.path, exc.strerror or exc))
        extractor = LayerExtractor(stage_fd)
        try:
            extractor.copy_directory(source_fd)
        finally:
            os.close(source_fd)
        self.warnings = extractor.warnings
        return None


class TarballSource:
    """`http(s)://...tar(.gz|.zst)` or a local tarball, checked against the sha256 it is given."""

    def __init__(self, uri: str, sha256: str | None, request: Request, inflaters: Inflaters | None = None) -> None:
        if not sha256:
            raise SourceError("%s is a tarball: give its sha256 so the download can be verified" % uri)
        self.uri = uri
        self.digest = "sha256:" + sha256.lower().replace("sha256:", "")
        self.request = request
        self.inflaters = inflaters or Inflaters()
        self.warnings: list[str] = []

    def __str__(self) -> str:
        return self.uri

    def current_revision(self) -> RemoteRevision:
        return RemoteRevision(self.digest)

    def fill(self, stage_fd: int) -> str:
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
            extractor = LayerExtractor(stage_fd)
            extractor.extract(layer_stream(chunks, self.inflaters))
        self.warnings = extractor.warnings
        return self.digest


def open_source(attempt: Attempt, client: RegistryClient, sha256: str | None = None,
                verified_manifests: list[str] | None = None, inflaters: Inflaters | None = None):
    """The source object for one attempt of a source chain, by the kind of its uri (uris.classify);
    `verified_manifests` limits an image to the platform manifests whose signatures the controller verified;
    `inflaters` are the host's (inflaters.py)."""
    kind = classify(attempt.uri)
    if kind == OCIFILE:
        return OciArchiveSource(attempt.uri, client.wanted_platform, inflaters)
    if kind == TARBALL:
        return TarballSource(attempt.uri, sha256, client.http, inflaters)
    if kind == DIRECTORY:
        return DirectorySource(attempt.uri)
    return ImageSource(attempt.uri, client, attempt.reference, verified_manifests, inflaters)
