# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet runs over ssh: what each provisioning run asks of the registry and the gallery server.

Ten hosts (sshd on 127.0.0.2-127.0.0.11), each with its own backends path and a capability among default,
nvidia-cuda-12 and amd, provisioned with llama-cpp and whisper from LocalAI's real gallery served over HTTP
(with ETags) and a loopback registry. Requests are counted in the servers' own logs.

    .venv/bin/python benchmarks/fleet_requests.py [--json benchmarks/results/fleet.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)

from helpers.fixture_images import seed  # noqa: E402
from helpers.gallery_server import GalleryServer  # noqa: E402
from helpers.registry_server import RegistryServer  # noqa: E402
from results_file import write_result  # noqa: E402
from helpers.sshd import LoopbackSshd  # noqa: E402

HOSTS = 10
BACKENDS = ["llama-cpp", "whisper"]
CAPABILITIES = ["default", "nvidia-cuda-12", "amd"]


def registry_requests(registry: RegistryServer) -> dict[str, int]:
    lines = registry.request_lines()
    return {"total": len(lines), "manifests": sum("/manifests/" in line for line in lines),
            "blobs": sum("/blobs/" in line for line in lines)}


def provision(inventory: str, work: str, state: str) -> float:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"), ANSIBLE_FORKS="10",
               LOCALAI_GALLERY_CACHE_DIR=os.path.join(work, "gallery-cache"), no_proxy="127.0.0.1,localhost",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True")
    start = time.perf_counter()
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                    os.path.join(ROOT, "playbooks", "provision.yml"), "-e", "backends_state=" + state],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=os.path.join(HERE, "results", "fleet.json"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="localai-fleet-")
    registry = RegistryServer(os.path.join(work, "registry")).start()
    with gzip.open(os.path.join(ROOT, "tests", "unit", "fixtures", "localai-backend-index.yaml.gz")) as fixture:
        gallery = GalleryServer({"/index.yaml": fixture.read()})
    sshd = LoopbackSshd(os.path.join(work, "ssh"), HOSTS).start()
    try:
        seed(registry.url)
        hosts = {"host%02d" % (number + 1): {
            "ansible_host": address, "backends_path": os.path.join(work, "host%02d" % (number + 1)),
            "backends_capability": CAPABILITIES[number % len(CAPABILITIES)]}
            for number, address in enumerate(sshd.addresses)}
        inventory = os.path.join(work, "inventory.json")
        with open(inventory, "w", encoding="utf-8") as handle:
            json.dump({"localai": {"hosts": hosts, "vars": dict(
                sshd.inventory_vars(), ansible_python_interpreter=sys.executable, backends_present=BACKENDS,
                backends_galleries=[{"name": "localai", "url": gallery.url + "/index.yaml"}],
                backends_registry_mirrors={"quay.io": registry.host, "docker.io": registry.host})}}, handle)
        runs = {}
        for label, state in (("install", "present"), ("present", "present"), ("latest", "latest")):
            registry_before, gallery_before = registry_requests(registry), len(gallery.requests)
            seconds = provision(inventory, work, state)
            registry_after = registry_requests(registry)
            runs[label] = {"seconds": round(seconds, 2),
                           "registry": {key: registry_after[key] - registry_before[key] for key in registry_after},
                           "gallery_requests": gallery.requests[gallery_before:]}
        result = {"hosts": HOSTS, "backends_per_host": len(BACKENDS), "runs": runs}
    finally:
        sshd.stop()
        gallery.stop()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    write_result(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
