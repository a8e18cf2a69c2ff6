# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build OCI / Docker schema 2 images in memory and push them to a real registry over the distribution API.

Layers are described as lists of entries, so tests can make exactly the archive they need,
hostile ones included (names with `..`, absolute paths, links out of the root, device nodes...).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import time

import requests

try:
    import zstandard
except ImportError:  # the zstd tests skip themselves
    zstandard = None

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_TYPES = {
    ("oci", "gzip"): "application/vnd.oci.image.layer.v1.tar+gzip",
    ("oci", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
    ("oci", "none"): "application/vnd.oci.image.layer.v1.tar",
    ("docker", "gzip"): "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ("docker", "none"): "application/vnd.docker.image.rootfs.diff.tar",
    ("docker", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
}
RUN_SH = b"#!/bin/sh\nexec echo backend \"$@\"\n"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def entry(name: str, data: bytes | str = b"", kind: str = "file", mode: int | None = None, target: str = "",
          mtime: int = 1700000000) -> dict:
    """One tar entry: kind is file, dir, symlink, hardlink, fifo, chr or blk."""
    return {"name": name, "data": data.encode() if isinstance(data, str) else data, "kind": kind,
            "mode": mode, "target": target, "mtime": mtime}


def backend_files(label: str = "v1", extra: int = 0) -> list[dict]:
    """A minimal valid backend: run.sh plus a version file and `extra` library files."""
    files = [entry("run.sh", RUN_SH, mode=0o755), entry("lib", kind="dir", mode=0o755),
             entry("lib/version.txt", label + "\n")]
    files += [entry("lib/file%03d.bin" % number, (label * 50).encode()) for number in range(extra)]
    return files


_KINDS = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
          "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE}


def tar_bytes(entries: list[dict], tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as archive:
        for item in entries:
            info = tarfile.TarInfo(item["name"])
            info.type = _KINDS[item["kind"]]
            info.mtime = item["mtime"]
            default_mode = 0o755 if item["kind"] == "dir" else 0o644
            info.mode = default_mode if item["mode"] is None else item["mode"]
            if item["kind"] in ("symlink", "hardlink"):
                info.linkname = item["target"]
            if item["kind"] == "file":
                info.size = len(item["data"])
                archive.addfile(info, io.BytesIO(item["data"]))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


class Pusher:
    """Pushes blobs, manifests and indexes to one registry."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None,
                 ca_path: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        self.verify = ca_path or True
        if username:
            self.session.auth = (username, password)

    def _call(self, method: str, url: str, **kwargs) -> requests.Response:
        response = self.session.request(method, url, verify=self.verify, timeout=120, **kwargs)
        response.raise_for_status()
        return response

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = digest_of(data)
        base = "%s/v2/%s/blobs/" % (self.url, repository)
        head = self.session.head(base + digest, verify=self.verify, timeout=30)
        if head.status_code == 200:
            return digest
        location = self._call("POST", base + "uploads/").headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        self._call("PUT", location + ("&" if "?" in location else "?") + "digest=" + digest, data=data,
                   headers={"Content-Type": "application/octet-stream"})
        return digest

    def push_blob_file(self, repository: str, path: str, digest: str) -> str:
        """Push a large blob from a file without reading it into memory."""
        location = self._call("POST", "%s/v2/%s/blobs/uploads/" % (self.url, repository)).headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        with open(path, "rb") as handle:
            self._call("PUT", location + ("&" if "?" in location else "?") + "digest=" + digest, data=handle,
                       headers={"Content-Type": "application/octet-stream"})
        return digest

    def put_manifest(self, repository: str, tag: str | None, document: dict, media_type: str) -> tuple[str, int]:
        """PUT a manifest under tag (or by its digest when tag is None)."""
        body = json.dumps(document, separators=(",", ":")).encode()
        self._call("PUT", "%s/v2/%s/manifests/%s" % (self.url, repository, tag or digest_of(body)), data=body,
                   headers={"Content-Type": media_type})
        return digest_of(body), len(body)

    def push_image(self, repository: str, tag: str | None, layers: list[list[dict] | bytes], compression: str = "gzip",
                   manifest_format: str = "oci", architecture: str = "amd64", os_name: str = "linux",
                   raw_layers: list[tuple[bytes, str]] | None = None) -> dict:
        """Push an image; `layers` are entry lists (or ready tar bytes); returns digest, size, layer digests."""
        descriptors, diff_ids = [], []
        for layer in layers:
            tar = layer if isinstance(layer, bytes) else tar_bytes(layer)
            diff_ids.append(digest_of(tar))
            blob = compress(tar, compression)
            descriptors.append({"mediaType": LAYER_TYPES[(manifest_format, compression)],
                                "digest": self.push_blob(repository, blob), "size": len(blob)})
        for blob, media_type in raw_layers or []:
            descriptors.append({"mediaType": media_type, "digest": self.push_blob(repository, blob),
                                "size": len(blob)})
        config = json.dumps({"architecture": architecture, "os": os_name,
                             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        manifest_type = OCI_MANIFEST if manifest_format == "oci" else DOCKER_MANIFEST
        document = {"schemaVersion": 2, "mediaType": manifest_type,
                    "config": {"mediaType": OCI_CONFIG if manifest_format == "oci" else DOCKER_CONFIG,
                               "digest": self.push_blob(repository, config), "size": len(config)},
                    "layers": descriptors}
        digest, size = self.put_manifest(repository, tag, document, manifest_type)
        return {"digest": digest, "size": size, "media_type": manifest_type, "layers": descriptors,
                "platform": {"os": os_name, "architecture": architecture}}

    def push_index(self, repository: str, tag: str, images: list[dict], manifest_format: str = "oci") -> str:
        """Push an index / manifest list over images returned by push_image (pushed by digest first)."""
        index_type = OCI_INDEX if manifest_format == "oci" else DOCKER_LIST
        document = {"schemaVersion": 2, "mediaType": index_type,
                    "manifests": [{"mediaType": image["media_type"], "digest": image["digest"], "size": image["size"],
                                   "platform": image["platform"]} for image in images]}
        return self.put_manifest(repository, tag, document, index_type)[0]

    def push_backend(self, repository: str, tag: str, label: str = "v1", **kwargs) -> dict:
        return self.push_image(repository, tag, [backend_files(label)], **kwargs)

    def attach_bundle(self, repository: str, subject: dict, bundle: bytes,
                      bundle_type: str = "application/vnd.dev.sigstore.bundle.v0.3+json") -> str:
        """Attach a Sigstore bundle to `subject` ({digest, size, media_type}) as cosign 2.2+ does with
        --new-bundle-format --registry-referrers-mode=oci-1-1 on a registry without the referrers API: an OCI 1.1
        artifact manifest (artifactType, subject, the bundle as its one layer) listed in the index under the
        fallback tag `sha256-<hex>`. Returns the referrer manifest's digest."""
        empty = self.push_blob(repository, b"{}")
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": bundle_type,
                    "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
                    "layers": [{"mediaType": bundle_type, "digest": self.push_blob(repository, bundle),
                                "size": len(bundle)}],
                    "subject": {"mediaType": subject["media_type"], "digest": subject["digest"],
                                "size": subject["size"]},
                    "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                                    "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"}}
        digest, size = self.put_manifest(repository, None, manifest, OCI_MANIFEST)
        tag = subject["digest"].replace(":", "-", 1)
        existing = self.session.get("%s/v2/%s/manifests/%s" % (self.url, repository, tag), verify=self.verify,
                                    timeout=30, headers={"Accept": OCI_INDEX})
        listed = existing.json().get("manifests", []) if existing.status_code == 200 else []
        listed.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "artifactType": bundle_type,
                       "annotations": manifest["annotations"]})
        self.put_manifest(repository, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": listed},
                          OCI_INDEX)
        return digest

    def delete_tag_target(self, repository: str, digest: str) -> None:
        self._call("DELETE", "%s/v2/%s/manifests/%s" % (self.url, repository, digest))
