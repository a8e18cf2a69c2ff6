# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bytes moved by backend_mirror's copy of one ~300 MB backend, first run and second run.

Two docker-registry instances on loopback (storage in /dev/shm): the source holds the `three-layer` shape
(benchmarks/shapes.py, about 310 MB of gzip layers) as a linux/amd64 + linux/arm64 index whose two platform
manifests share their layers, as multi-arch builds of one backend often share data layers; the target starts
empty. Bytes are counted in the source registry's access log (blob GETs and their sizes) and in the result.

    .venv/bin/python benchmarks/mirror_bytes.py [--json benchmarks/results/mirror.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
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
from shapes import build_layers  # noqa: E402
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient  # noqa: E402
from ansible_collections.localai.gallery.plugins.plugin_utils.replication import Replicator  # noqa: E402

BLOB_GET = re.compile(r'"GET /v2/[^ ]+/blobs/sha256:[0-9a-f]{64} HTTP/[0-9.]+" 200 (\d+)')


def push_multiarch(pusher: Pusher, repository: str, tag: str, layers: list[dict]) -> int:
    """Both platforms over the same layers (configs differ); returns the unique blob bytes."""
    descriptors = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": layer["size"],
                    "digest": pusher.push_blob_file(repository, layer["path"], layer["digest"])} for layer in layers]
    images, unique = [], sum(layer["size"] for layer in layers)
    for architecture in ("amd64", "arm64"):
        config = json.dumps({"architecture": architecture, "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [layer["diff_id"] for layer in layers]}}).encode()
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": pusher.push_blob(repository, config), "size": len(config)},
                    "layers": descriptors}
        digest, size = pusher.put_manifest(repository, None, manifest, manifest["mediaType"])
        images.append({"digest": digest, "size": size, "media_type": manifest["mediaType"],
                       "platform": {"os": "linux", "architecture": architecture}})
        unique += len(config)
    pusher.push_index(repository, tag, images)
    return unique


def served_blob_bytes(registry: RegistryServer, since: int) -> tuple[int, int]:
    lines = registry.request_lines()[since:]
    sizes = [int(match.group(1)) for match in map(BLOB_GET.search, lines) if match]
    return len(sizes), sum(sizes)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=os.path.join(HERE, "results", "mirror.json"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="localai-mirror-", dir="/dev/shm")
    source = RegistryServer(os.path.join(work, "source")).start()
    target = RegistryServer(os.path.join(work, "target")).start()
    try:
        layers = build_layers("three-layer", work)
        unique = push_multiarch(Pusher(source.url), "go-skynet/local-ai-backends", "latest-cpu-x", layers)
        build = {"backend": "x", "build": "x",
                 "entry": {"name": "x", "uri": "%s/go-skynet/local-ai-backends:latest-cpu-x" % source.host}}
        runs = {}
        for label in ("first", "second"):
            since = len(source.request_lines())
            started = time.perf_counter()
            result = Replicator(target.host, RegistryClient()).copy_build(build)
            seconds = time.perf_counter() - started
            gets, served = served_blob_bytes(source, since)
            runs[label] = {"seconds": round(seconds, 2), "source_blob_gets": gets, "source_blob_bytes": served,
                           "bytes_copied": result["bytes_copied"], "blobs_copied": result["blobs_copied"],
                           "blobs_present": result["blobs_present"], "changed": result["changed"]}
    finally:
        source.stop()
        target.stop()
        shutil.rmtree(work, ignore_errors=True)
    # The blobs stream from source to target: the process never holds one (the layers are built in a child).
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {"unique_blob_bytes": unique, "runs": runs, "peak_rss_mib": round(peak_rss_mib, 1),
              "first_run_ratio_to_unique": round(runs["first"]["source_blob_bytes"] / unique, 4)}
    print(json.dumps(report, indent=2))
    write_result(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
