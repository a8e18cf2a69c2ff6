# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Install throughput on image shapes like LocalAI's, against the 2-core stage limit and the peers.

For each shape (benchmarks/shapes.py), in the same run and interleaved, RUNS times each:
- the stages alone: fetch + sha256 of the blobs (registry), inflate alone with every inflater this machine has
  (zlib, zlib-ng, isal, igzip, pigz), writing the already-inflated tar alone (our extractor); the 2-core limit
  is the larger of the biggest stage and the summed stages over 2 cores, inflating with the fastest inflater;
- the engine: ImageSource.fill (registry) and OciArchiveSource.fill (`ocifile://`) with `decompressor: auto`,
  and ImageSource.fill with `decompressor: stdlib`;
- the GNU tar pipeline (`curl | tee >(sha256sum) | tar -xzf -`) and skopeo copy + umoci raw unpack.
Everything reads from and writes to /dev/shm; medians, ratios (to the limit, to the GNU tar pipeline, to each
inflater alone) and peak RSS are reported.

    .venv/bin/python benchmarks/install_throughput.py [--runs 3] [--shapes cuda,venv,three-layer] [--baseline PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLLECTIONS = os.path.join(ROOT, "build", "collections")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)
sys.path.insert(0, COLLECTIONS)

from helpers.images import Pusher  # noqa: E402
from helpers.registry_server import RegistryServer  # noqa: E402
from results_file import write_result  # noqa: E402
from shapes import build_layers  # noqa: E402
from ansible_collections.localai.gallery.plugins.module_utils.layers import LayerExtractor  # noqa: E402

ENGINE = """
import os, sys, time
sys.path.insert(0, sys.argv[4])
from ansible_collections.localai.gallery.plugins.module_utils import sources
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import host_platform
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
try:  # since 0.3.0: the host's fastest inflater, or the stdlib's (sys.argv[3])
    from ansible_collections.localai.gallery.plugins.module_utils.inflaters import Inflaters
    options = {"inflaters": Inflaters(sys.argv[3])}
except ImportError:
    options = {}
started = time.perf_counter()
try:  # since 0.3.0 the engine writes through a directory descriptor; a --baseline release may take the path
    from ansible_collections.localai.gallery.plugins.module_utils import descriptors
    target = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
except ImportError:
    target = sys.argv[2]
if sys.argv[1].startswith("ocifile://"):
    sources.OciArchiveSource(sys.argv[1], host_platform(), **options).fill(target)
else:
    sources.ImageSource(sys.argv[1], RegistryClient(), **options).fill(target)
print(time.perf_counter() - started)
"""


def push_image(pusher: Pusher, repository: str, layers: list[dict], tag: str = "t") -> tuple[bytes, bytes]:
    """One linux/amd64 image over the built layers, tagged `tag`; returns its manifest and config bytes."""
    descriptors = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": pusher.push_blob_file(repository, layer["path"], layer["digest"]), "size": layer["size"]}
                   for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [layer["diff_id"] for layer in layers]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": pusher.push_blob(repository, config), "size": len(config)},
                "layers": descriptors}
    pusher.put_manifest(repository, tag, manifest, manifest["mediaType"])
    return json.dumps(manifest, separators=(",", ":")).encode(), config


def write_oci_archive(path: str, layers: list[dict], manifest: bytes, config: bytes) -> None:
    """An OCI image layout in one tar, as `ocifile://` takes it."""
    def digest(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(manifest), "size": len(manifest),
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
    with tarfile.open(path, "w") as archive:
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                           ("blobs/sha256/" + digest(manifest)[7:], manifest),
                           ("blobs/sha256/" + digest(config)[7:], config)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for layer in layers:
            archive.add(layer["path"], "blobs/sha256/" + layer["digest"][7:])


# --- stages alone -----------------------------------------------------------------------------------------
def fetch_and_hash(host: str, repository: str, layers: list[dict]) -> float:
    started = time.perf_counter()
    for layer in layers:
        connection = http.client.HTTPConnection(host)
        connection.request("GET", "/v2/%s/blobs/%s" % (repository, layer["digest"]))
        response = connection.getresponse()
        hasher = hashlib.sha256()
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                break
            hasher.update(chunk)
        connection.close()
    return time.perf_counter() - started


def inflate_with_module(module, layers: list[dict]) -> float:
    started = time.perf_counter()
    for layer in layers:
        inflater = module.decompressobj(31)
        with open(layer["path"], "rb") as blob:
            while True:
                chunk = blob.read(1 << 20)
                if not chunk:
                    break
                while chunk:
                    inflater.decompress(chunk, 1 << 20)
                    chunk = inflater.unconsumed_tail
    return time.perf_counter() - started


def inflate_with_tool(argv: list[str], layers: list[dict]) -> float:
    started = time.perf_counter()
    for layer in layers:
        with open(layer["path"], "rb") as blob:
            subprocess.run(argv, stdin=blob, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def available_inflaters() -> dict:
    """name -> f(layers) -> seconds, for every inflater this machine has (the routes of inflaters.py)."""
    found = {"zlib": lambda layers: inflate_with_module(zlib, layers)}
    try:
        from zlib_ng import zlib_ng
        found["zlib-ng"] = lambda layers: inflate_with_module(zlib_ng, layers)
    except ImportError:
        pass
    try:
        from isal import isal_zlib
        found["isal"] = lambda layers: inflate_with_module(isal_zlib, layers)
    except ImportError:
        pass
    for tool in ("igzip", "pigz"):
        if shutil.which(tool):
            found[tool] = lambda layers, tool=tool: inflate_with_tool([tool, "-d", "-c"], layers)
    return found


def write_tar(layers: list[dict], target: str) -> float:
    os.makedirs(target)
    started = time.perf_counter()
    target_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        extractor = LayerExtractor(target_fd)
        for layer in layers:
            with open(layer["tar"], "rb") as tar:
                extractor.extract(iter(lambda: tar.read(1 << 20), b""))
    finally:
        os.close(target_fd)
    return time.perf_counter() - started


# --- contenders -------------------------------------------------------------------------------------------
def timed(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) of a command and its children, and its output."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("%s failed" % argv)
    return time.perf_counter() - started, usage.ru_maxrss, output


def engine(source: str, target: str, arrangement: str, collections: str = COLLECTIONS) -> tuple[float, int]:
    _wall, rss, output = timed([sys.executable, "-c", ENGINE, source, target, arrangement, collections])
    return float(output.strip()), rss  # the fill itself, without the interpreter's start


def skopeo_umoci(image: str, target: str) -> tuple[float, int]:
    copy_seconds, copy_rss, _out = timed(["skopeo", "copy", "--src-tls-verify=false", "docker://" + image,
                                          "oci:%s/layout:t" % target])
    unpack_seconds, unpack_rss, _out = timed(["umoci", "raw", "unpack", "--rootless", "--image",
                                              "%s/layout:t" % target, target + "/rootfs"])
    return copy_seconds + unpack_seconds, max(copy_rss, unpack_rss)


def bench_shape(shape: str, runs: int, work: str, registry: RegistryServer, baseline: str | None = None) -> dict:
    layers = build_layers(shape, work)
    repository = "bench/" + shape
    manifest, config = push_image(Pusher(registry.url), repository, layers)
    archive = os.path.join(work, shape + ".oci.tar")
    write_oci_archive(archive, layers, manifest, config)
    image = "%s/%s:t" % (registry.host, repository)
    floor = " && ".join("curl -sf --noproxy '*' %s/v2/%s/blobs/%s | tee >(sha256sum >/dev/null) | tar -xzf - -C \"$1\""
                        % (registry.url, repository, layer["digest"]) for layer in layers)
    contenders = {
        "engine": lambda target: engine(image, target, "auto"),
        "engine ocifile": lambda target: engine("ocifile://" + archive, target, "auto"),
        "engine stdlib": lambda target: engine(image, target, "stdlib"),
        "GNU tar pipeline": lambda target: timed(["bash", "-c", floor, "floor", target])[:2],
        "skopeo+umoci": lambda target: skopeo_umoci(image, target),
    }
    if baseline:  # another release of the engine, in the same run (--baseline)
        contenders["engine baseline"] = lambda target: engine(image, target, "auto", baseline)
        contenders["engine ocifile baseline"] = lambda target: engine(
            "ocifile://" + archive, target, "auto", baseline)
    inflaters = available_inflaters()
    stages = {"fetch+sha256": [], "write": []}
    stages.update({"inflate " + name: [] for name in inflaters})
    seconds = {name: [] for name in contenders}
    rss = {name: [] for name in contenders}
    for _run in range(runs):
        stages["fetch+sha256"].append(fetch_and_hash(registry.host, repository, layers))
        for name, inflater in inflaters.items():
            stages["inflate " + name].append(inflater(layers))
        target = os.path.join(work, "out-write")
        stages["write"].append(write_tar(layers, target))
        shutil.rmtree(target)
        for name, contender in contenders.items():
            target = os.path.join(work, "out")
            os.makedirs(target)
            elapsed, peak = contender(target)
            seconds[name].append(elapsed)
            rss[name].append(peak)
            shutil.rmtree(target)
    stage_medians = {name: statistics.median(values) for name, values in stages.items()}
    inflate_medians = {name[len("inflate "):]: value for name, value in stage_medians.items()
                       if name.startswith("inflate ")}
    fastest = min(inflate_medians, key=inflate_medians.get)
    used = (stage_medians["fetch+sha256"], inflate_medians[fastest], stage_medians["write"])
    limit = max(*used, sum(used) / 2)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    engine_median = medians["engine"]
    for layer in layers:
        os.unlink(layer["tar"])
        os.unlink(layer["path"])
    os.unlink(archive)
    return {"layers": len(layers), "compressed_bytes": sum(layer["size"] for layer in layers),
            "unpacked_bytes": sum(layer["unpacked"] for layer in layers),
            "entries": sum(layer["files"] for layer in layers),
            "stage_seconds": stage_medians, "fastest_inflater": fastest, "two_core_limit_seconds": limit,
            "median_seconds": medians, "ratio_to_limit": {name: medians[name] / limit for name in medians},
            "engine_ratio_to_gnu_tar": engine_median / medians["GNU tar pipeline"],
            "engine_ratio_to_inflater_alone": {name: engine_median / value for name, value in inflate_medians.items()},
            "peak_rss_mib": {name: max(values) / 1024 for name, values in rss.items()},
            "runs": {"stages": stages, "contenders": seconds}}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shapes", default="cuda,venv,three-layer")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "throughput.json"))
    parser.add_argument("--baseline", help="a collections path holding another release of localai.gallery, timed as "
                                           "'engine baseline' in the same run (e.g. a git worktree of the last tag)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="localai-bench-", dir="/dev/shm")
    registry = RegistryServer(os.path.join(work, "registry"), storage=os.path.join(work, "storage")).start()
    results = {}
    try:
        for shape in args.shapes.split(","):
            results[shape] = bench_shape(shape, args.runs, work, registry, args.baseline)
            print(json.dumps({shape: {key: results[shape][key] for key in
                                      ("stage_seconds", "fastest_inflater", "two_core_limit_seconds", "median_seconds",
                                       "ratio_to_limit", "engine_ratio_to_gnu_tar", "engine_ratio_to_inflater_alone",
                                       "peak_rss_mib")}}, indent=2), flush=True)
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    write_result(args.json, {"runs": args.runs, "shapes": results, "cores": os.cpu_count()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
