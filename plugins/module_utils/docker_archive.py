# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A `docker save` archive (manifest.json, a config file, one tar per layer): what LocalAI's `ocifile://` reads.

LocalAI opens `ocifile://PATH` with go-containerregistry's `tarball.ImageFromPath(path, nil)`
(pkg/downloader/uri.go): manifest.json must name exactly one image, its `Config` and `Layers` are paths inside
the archive, and each layer may be plain or compressed. Beyond LocalAI, each layer's uncompressed bytes are
checked against the config's `rootfs.diff_ids` (docker's own check on `docker load`), and an image for another
platform is refused. The digest recorded is the config's, docker's image ID: a docker save archive carries no
manifest digest of its own.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.localai.gallery.plugins.module_utils.errors import ManifestError, PlatformNotFoundError
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import describe_platform

MANIFEST = "manifest.json"


class DockerArchiveImage:
    """The one image of a docker save archive: `digest` (the config's), `layers` as (member, diff_id) pairs."""

    def __init__(self, digest: str, layers: list[tuple[str, str]], platform: dict) -> None:
        self.digest = digest
        self.layers = layers
        self.platform = platform


def _json(data: bytes, what: str, label: str):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError("%s of docker archive %s is not valid JSON: %s" % (what, label, exc))


def read_image(read_member, label: str) -> DockerArchiveImage:
    """Parse manifest.json and the config it names; `read_member(name)` returns a small member's bytes."""
    images = _json(read_member(MANIFEST), MANIFEST, label)
    if not isinstance(images, list) or len(images) != 1:
        count = len(images) if isinstance(images, list) else 0
        raise ManifestError("docker archive %s holds %d images: LocalAI (tarball.ImageFromPath) and this module read "
                            "an archive of exactly one; save one image per file (docker save IMAGE -o FILE)"
                            % (label, count))
    image = images[0] if isinstance(images[0], dict) else {}
    config_name, layer_names = image.get("Config"), image.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layer_names, list) \
            or not all(isinstance(name, str) for name in layer_names):
        raise ManifestError("manifest.json of docker archive %s needs a Config path and a list of Layers paths"
                            % label)
    config_bytes = read_member(config_name)
    config = _json(config_bytes, "the config %s" % config_name, label)
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != len(layer_names) \
            or not all(isinstance(diff_id, str) and diff_id.startswith("sha256:") for diff_id in diff_ids):
        raise ManifestError("the config of docker archive %s lists %s layer digests (rootfs.diff_ids) for %d layers: "
                            "the archive is damaged; save it again"
                            % (label, len(diff_ids) if isinstance(diff_ids, list) else "no", len(layer_names)))
    platform = {"os": config.get("os"), "architecture": config.get("architecture"), "variant": config.get("variant")}
    return DockerArchiveImage("sha256:" + hashlib.sha256(config_bytes).hexdigest(),
                              list(zip(layer_names, diff_ids)), platform)


def check_platform(image: DockerArchiveImage, wanted: dict, label: str) -> None:
    """An image for another OS or architecture would install and then fail to run: refuse it now."""
    for key in ("os", "architecture"):
        if image.platform.get(key) and image.platform[key] != wanted.get(key):
            raise PlatformNotFoundError("docker archive %s holds an image for %s, not this host's %s"
                                        % (label, describe_platform(image.platform), describe_platform(wanted)))
