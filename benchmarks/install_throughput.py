# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Install throughput: our engine vs the floor (stream + sha256 + tar -xzf -) vs skopeo copy + umoci raw unpack.

Builds an image of 3 gzip layers (about 300 MB compressed, 500 MB unpacked, 36k files), pushes it to a
loopback docker-registry whose storage is in /dev/shm, and times each way of unpacking it into /dev/shm,
RUNS times each, interleaved, reporting medians, ratios to ours and our peak RSS.

    .venv/bin/python benchmarks/install_throughput.py [--runs 5] [--json benchmarks/results/throughput.json]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

from helpers.images import Pusher  # noqa: E402
from helpers.registry_server import RegistryServer  # noqa: E402
from results_file import write_result  # noqa: E402

LAYERS, FILES_PER_LAYER, RANDOM_SHARE = 3, 12_000, 60
ENGINE = """
import sys, time
sys.path.insert(0, %r)
from ansible_collections.localai.gallery.plugins.module_utils.registry import RegistryClient
from ansible_collections.localai.gallery.plugins.module_utils.sources import ImageSource
ImageSource(sys.argv[1], RegistryClient()).fill(sys.argv[2])
""" % os.path.join(ROOT, "build", "collections")


class _HashingWriter:
    """A write-only file that hashes what passes through (the layer's diff id) on its way to gzip."""

    def __init__(self, target) -> None:
        self.target = target
        self.hasher = hashlib.sha256()
        self.position = 0

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        self.position += len(data)
        return self.target.write(data)

    def tell(self) -> int:
        return self.position


def build_layer(seed: int, path: str) -> dict:
    """Stream a gzip tar layer of mixed compressible and random files to path (memory stays small)."""
    rng = random.Random(seed)
    text = (b"llama.cpp backend payload line with some repetition 0123456789\n" * 256)
    unpacked = 0
    with open(path, "wb") as raw_file, gzip.GzipFile(fileobj=raw_file, mode="wb", compresslevel=1, mtime=0) as packed:
        hashing = _HashingWriter(packed)
        with tarfile.open(fileobj=hashing, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for number in range(FILES_PER_LAYER):
                size = int(rng.lognormvariate(8.7, 1.3)) % (4 << 20)
                random_part = size * RANDOM_SHARE // 100
                data = rng.randbytes(random_part) + (text * (1 + size // len(text)))[: size - random_part]
                info = tarfile.TarInfo("layer%d/dir%03d/file%05d.bin" % (seed, number % 300, number))
                info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
                archive.addfile(info, io.BytesIO(data))
                unpacked += len(data)
            run = b"#!/bin/sh\n"
            info = tarfile.TarInfo("run.sh")
            info.size, info.mode = len(run), 0o755
            archive.addfile(info, io.BytesIO(run))
    with open(path, "rb") as blob:
        digest = "sha256:" + hashlib.file_digest(blob, "sha256").hexdigest()
    return {"unpacked": unpacked, "files": FILES_PER_LAYER + 1, "diff_id": "sha256:" + hashing.hasher.hexdigest(),
            "digest": digest, "size": os.path.getsize(path), "path": path}


def push_image(pusher: Pusher, layers: list[dict]) -> None:
    descriptors = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": pusher.push_blob_file("bench/big", layer["path"], layer["digest"]),
                    "size": layer["size"]} for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [layer["diff_id"] for layer in layers]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": pusher.push_blob("bench/big", config), "size": len(config)},
                "layers": descriptors}
    pusher.put_manifest("bench/big", "t", manifest, manifest["mediaType"])


def timed(argv: list[str], shell: bool = False) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of a command and its children."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, shell=shell, stdout=subprocess.DEVNULL, executable="/bin/bash" if shell else None)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("%s failed" % argv)
    return elapsed, usage.ru_maxrss


def skopeo_umoci(image: str, target: str) -> tuple[float, int]:
    """skopeo copy to an OCI layout, then umoci raw unpack: summed seconds, larger peak RSS."""
    copy_seconds, copy_rss = timed(["skopeo", "copy", "--src-tls-verify=false", "docker://" + image,
                                    "oci:%s/layout:t" % target])
    unpack_seconds, unpack_rss = timed(["umoci", "raw", "unpack", "--rootless", "--image", "%s/layout:t" % target,
                                        target + "/rootfs"])
    return copy_seconds + unpack_seconds, max(copy_rss, unpack_rss)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=os.path.join(HERE, "results", "throughput.json"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="localai-bench-", dir="/dev/shm")
    registry = RegistryServer(os.path.join(work, "registry")).start()
    try:
        layers = [build_layer(seed, os.path.join(work, "layer%d.tar.gz" % seed)) for seed in range(LAYERS)]
        push_image(Pusher(registry.url), layers)
        for layer in layers:
            os.unlink(layer["path"])
        image = "%s/bench/big:t" % registry.host
        blob_urls = ["%s/v2/bench/big/blobs/%s" % (registry.url, layer["digest"]) for layer in layers]
        floor = " && ".join(
            "curl -sf --noproxy '*' %s | tee >(sha256sum >/dev/null) | tar -xzf - -C \"$1\"" % url for url in blob_urls)
        ways = {
            "engine": lambda target: timed([sys.executable, "-c", ENGINE, image, target]),
            "floor": lambda target: timed(["bash", "-c", floor, "floor", target]),
            "skopeo+umoci": lambda target: skopeo_umoci(image, target),
        }
        samples = {name: [] for name in ways}
        rss = {name: [] for name in ways}
        for _run in range(args.runs):
            for name, way in ways.items():
                target = os.path.join(work, "out-" + name.replace("+", "-"))
                os.makedirs(target)
                seconds, peak = way(target)
                samples[name].append(seconds)
                rss[name].append(peak)
                shutil.rmtree(target)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        result = {
            "image": {"layers": LAYERS, "compressed_bytes": sum(layer["size"] for layer in layers),
                      "unpacked_bytes": sum(layer["unpacked"] for layer in layers),
                      "files": sum(layer["files"] for layer in layers)},
            "runs": args.runs, "seconds": samples, "median_seconds": medians,
            "ratio_to_engine": {name: medians[name] / medians["engine"] for name in medians},
            "engine_vs_floor": medians["engine"] / medians["floor"],
            "peak_rss_mib": {name: max(values) / 1024 for name, values in rss.items()},
        }
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    write_result(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
