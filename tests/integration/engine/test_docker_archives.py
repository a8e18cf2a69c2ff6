# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`ocifile://` of a `docker save` archive, the format LocalAI reads (pkg/downloader/uri.go at 82c191a):

    if url, ok := strings.CutPrefix(url, OCIFilePrefix); ok {
        // Open the tarball
        img, err := tarball.ImageFromPath(url, nil)

The archives are written by skopeo's `docker-archive:` transport (docker save's format) from images in a real
registry; docker is not running on these machines.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile

import pytest

from helpers.engine import Engine
from helpers.images import backend_files, compress, entry
from helpers.trees import read_metadata_at
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    DigestMismatchError,
    ManifestError,
    PlatformNotFoundError,
    SourceError,
)

AMD64 = {"os": "linux", "architecture": "amd64", "variant": None}


def docker_save(registry, repository: str, tag: str, path) -> str:
    """`docker save` the image as skopeo writes it; returns the archive's path."""
    subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://%s/%s:%s" % (registry.host,
                    repository, tag), "docker-archive:%s:%s:%s" % (path, repository, tag)], check=True)
    return str(path)


def rewritten(archive_path, out_path, change) -> str:
    """A copy of the archive with `change(name, data)` applied to each regular member's bytes."""
    with tarfile.open(archive_path) as source, tarfile.open(out_path, "w") as target:
        for info in source.getmembers():
            data = source.extractfile(info).read() if info.isfile() else None
            if data is not None:
                data = change(info.name, data)
                info.size = len(data)
            target.addfile(info, io.BytesIO(data) if data is not None else None)
    return str(out_path)


def install(backends_path, name, archive):
    return Engine(backends_path, wanted_platform=AMD64).install(name, ["ocifile://%s" % archive], {})


def config_digest(archive) -> str:
    with tarfile.open(archive) as handle:
        return "sha256:" + json.loads(handle.extractfile("manifest.json").read())[0]["Config"][:-len(".json")]


@pytest.mark.parametrize("layer_compression", ["none", "gzip", "zstd"])
def test_a_docker_save_archive_installs_with_its_image_id(registry, pusher, backends_path, tmp_path,
                                                          layer_compression):
    """docker save writes plain layer tars; go-containerregistry also reads compressed ones (it peeks the magic)."""
    repository = "saved/%s" % layer_compression
    pusher.push_image(repository, "t", [backend_files("saved"), [entry("lib/second.txt", "2")]])
    archive = docker_save(registry, repository, "t", tmp_path / "saved.tar")
    if layer_compression != "none":
        archive = rewritten(archive, tmp_path / "compressed.tar",
                            lambda name, data: compress(data, layer_compression) if name.endswith(".tar") else data)
    result = install(backends_path, "cpu-saved", archive)
    backend = os.path.join(backends_path, "cpu-saved")
    assert result.changed and result.digest == config_digest(archive)
    with open(os.path.join(backend, "lib", "version.txt"), encoding="utf-8") as handle:
        assert handle.read().strip() == "saved"
    with open(os.path.join(backend, "lib", "second.txt"), encoding="utf-8") as handle:
        assert handle.read() == "2"
    metadata = read_metadata_at(backend)
    assert metadata["uri"] == "ocifile://%s" % archive and metadata["digest"] == config_digest(archive)
    again = Engine(backends_path, wanted_platform=AMD64).install("cpu-saved", ["ocifile://%s" % archive], {},
                                                                 state="latest")
    assert not again.changed


def test_a_damaged_layer_is_refused_and_nothing_is_installed(registry, pusher, backends_path, tmp_path):
    pusher.push_backend("saved/damaged", "t", "genuine")
    archive = docker_save(registry, "saved/damaged", "t", tmp_path / "saved.tar")
    damaged = rewritten(archive, tmp_path / "damaged.tar",
                        lambda name, data: data.replace(b"genuine", b"tampers") if name.endswith(".tar") else data)
    with pytest.raises(DigestMismatchError, match=r"damaged.tar \(layer [0-9a-f]{64}.tar\) is corrupt"):
        install(backends_path, "cpu-damaged", damaged)
    assert os.listdir(backends_path) == [".localai-gallery"]


def test_archives_ggcr_would_not_read_or_for_another_platform(registry, pusher, backends_path, tmp_path):
    pusher.push_backend("saved/arm", "t", "arm", architecture="arm64")
    archive = docker_save(registry, "saved/arm", "t", tmp_path / "arm.tar")
    with pytest.raises(PlatformNotFoundError, match="arm.tar holds an image for linux/arm64, not this host's "
                                                    "linux/amd64"):
        install(backends_path, "cpu-arm", archive)

    def two_images(name, data):
        return data.replace(b"[{", b"[{},{", 1) if name == "manifest.json" else data
    with pytest.raises(ManifestError, match="two.tar holds 2 images: LocalAI .tarball.ImageFromPath. and this module "
                                            "read an archive of exactly one; save one image per file"):
        install(backends_path, "cpu-two", rewritten(archive, tmp_path / "two.tar", two_images))

    plain = tmp_path / "plain.tar"
    with tarfile.open(plain, "w") as handle:
        info = tarfile.TarInfo("run.sh")
        handle.addfile(info, io.BytesIO(b""))
    with pytest.raises(SourceError, match="plain.tar is neither a docker save archive .no manifest.json. nor an OCI "
                                          "image layout .no index.json."):
        install(backends_path, "cpu-plain", plain)
    assert os.listdir(backends_path) == [".localai-gallery"]
