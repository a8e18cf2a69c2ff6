# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet scale over ssh: upstream bytes with and without a pull-through cache, and the cost curve of a run.

Hosts are sshd on loopback addresses (tests/helpers/sshd.py; 16 addresses per sshd, so 20 hosts use two sshd
instances on two ports), each with its own backends path. The upstream is a docker-registry; the cache is
docker-registry 2.8 in proxy mode, configured as the registry_cache role configures it. Bytes are counted in the
upstream's access log (blob GETs, bytes sent).

1. Cold install of one ~300 MB backend (benchmarks/shapes.py `three-layer`) on 10 hosts, forks 10: direct from
   the upstream, through a cold cache with warm_mirrors off, and through a cold cache warmed by the controller
   (the default).
2. The cost curve: a no-op `present` run and a `latest` run of provision.yml on 1, 5, 10 and 20 hosts, forks 5
   and 20, with a small backend; and where the per-host time goes (an ssh ping play, one backend_facts task).

    .venv/bin/python benchmarks/fleet_scale.py [--json benchmarks/results/fleet_scale.json] [--skip-bytes]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)

from helpers.fixture_images import push  # noqa: E402
from helpers.images import Pusher  # noqa: E402
from install_throughput import push_image  # noqa: E402
from helpers.registry_server import RegistryServer  # noqa: E402
from helpers.sshd import LoopbackSshd  # noqa: E402
from results_file import write_result  # noqa: E402
from shapes import build_layers  # noqa: E402

REPOSITORY = "go-skynet/local-ai-backends"
BLOB_GET = re.compile(r'"GET /v2/[^ ]+/blobs/sha256:[0-9a-f]{64} HTTP/[0-9.]+" \d+ (\d+)')
BIN = os.path.dirname(sys.executable)


def upstream_bytes(registry: RegistryServer) -> int:
    return sum(int(match.group(1)) for match in map(BLOB_GET.search, registry.request_lines()) if match)


def push_big(registry: RegistryServer, work: str) -> int:
    """The three-layer shape as one image; returns the bytes of its blobs (layers and config)."""
    layers = build_layers("three-layer", work)
    _manifest, config = push_image(Pusher(registry.url), REPOSITORY, layers, "latest-cpu-big")
    for layer in layers:
        os.unlink(layer["path"])
    return sum(layer["size"] for layer in layers) + len(config)


class Fleet:
    """Up to 32 ssh hosts: sshd instances of at most 16 addresses, each on its own port."""

    def __init__(self, work: str, hosts: int) -> None:
        self.work = work
        self.sshds = []
        left, port = hosts, 2240
        while left:
            count = min(left, 16)
            self.sshds.append(LoopbackSshd(os.path.join(work, "ssh-%d" % port), count, port).start())
            left, port = left - count, port + 1

    def hosts(self, count: int) -> dict:
        hosts = {}
        for sshd in self.sshds:
            for address in sshd.addresses:
                if len(hosts) < count:
                    name = "host%02d" % (len(hosts) + 1)
                    hosts[name] = dict(sshd.inventory_vars(), ansible_host=address)
        return hosts

    def stop(self) -> None:
        for sshd in self.sshds:
            sshd.stop()


def run_playbook(work: str, hosts: dict, fleet_vars: dict, forks: int, playbook: str, *extra: str) -> float:
    inventory = os.path.join(work, "inventory.json")
    with open(inventory, "w", encoding="utf-8") as handle:
        json.dump({"localai": {"hosts": hosts, "vars": dict(fleet_vars, ansible_python_interpreter=sys.executable)}},
                  handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_FORKS=str(forks), LOCALAI_GALLERY_CACHE_DIR=os.path.join(work, "gallery-cache"),
               no_proxy="127.0.0.1,localhost", ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True",
               ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(work, "cp"))
    started = time.perf_counter()
    subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook, *extra], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - started, 2)


def host_paths(hosts: dict, root: str) -> dict:
    return {name: dict(values, backends_path=os.path.join(root, name)) for name, values in hosts.items()}


def cold_installs(work: str, fleet: Fleet) -> dict:
    upstream = RegistryServer(os.path.join(work, "upstream")).start()
    try:
        image_bytes = push_big(upstream, work)
        hosts = fleet.hosts(10)
        uri = "%s/%s:latest-cpu-big" % (upstream.host, REPOSITORY)
        rows = {}
        # Wall times vary by a third from run to run on 2 cores: two rounds, interleaved, each cache cold.
        for round_number, (label, cache_dir, warm) in enumerate(2 * (
                ("direct", None, False), ("cache, warm_mirrors off", "cache-cold", False),
                ("cache, warmed (default)", "cache-warmed", True))):
            cache_dir = cache_dir and "%s-%d" % (cache_dir, round_number)
            cache = RegistryServer(os.path.join(work, cache_dir),
                                   proxy={"remoteurl": upstream.url}).start() if cache_dir else None
            root = os.path.join(work, "hosts")
            fleet_vars = {"backends_present": [{"name": "cpu-big", "uri": uri}], "backends_capability": "default",
                          "backends_warm_mirrors": warm,
                          "backends_registry_mirrors": {upstream.host: cache.host} if cache else {}}
            before = upstream_bytes(upstream)
            seconds = run_playbook(work, host_paths(hosts, root), fleet_vars, 10,
                                   os.path.join(ROOT, "playbooks", "provision.yml"))
            served = upstream_bytes(upstream) - before
            rows.setdefault(label, []).append({"seconds": seconds, "upstream_bytes": served,
                                               "ratio_to_image": round(served / image_bytes, 3)})
            print(label, rows[label][-1], flush=True)
            if cache:
                cache.stop()
                shutil.rmtree(os.path.join(work, cache_dir))
            shutil.rmtree(root)
        return {"image_bytes": image_bytes, "hosts": 10, "forks": 10, "runs": rows}
    finally:
        upstream.stop()


def cost_curve(work: str, fleet: Fleet) -> dict:
    registry = RegistryServer(os.path.join(work, "small")).start()
    try:
        push("http://" + registry.host, REPOSITORY, "latest-cpu-small", "v1")
        fleet_vars = {"backends_present": [{"name": "cpu-small", "uri": "%s/%s:latest-cpu-small"
                                            % (registry.host, REPOSITORY)}], "backends_capability": "default"}
        provision = os.path.join(ROOT, "playbooks", "provision.yml")
        curve = []
        for count in (1, 5, 10, 20):
            root = os.path.join(work, "curve-%d" % count)
            hosts = host_paths(fleet.hosts(count), root)
            run_playbook(work, hosts, fleet_vars, 20, provision)  # install first
            for forks in (5, 20):
                row = {"hosts": count, "forks": forks,
                       "present_s": run_playbook(work, hosts, fleet_vars, forks, provision),
                       "latest_s": run_playbook(work, hosts, fleet_vars, forks, provision, "-e", "backends_state=latest")}
                curve.append(row)
                print(row, flush=True)
            shutil.rmtree(root)
        parts = {}
        hosts = host_paths(fleet.hosts(10), os.path.join(work, "parts"))
        for label, playbook in (("ping task", "ping.yml"), ("backend_facts task", "facts.yml")):
            parts[label] = run_playbook(work, hosts, fleet_vars, 20, os.path.join(work, playbook))
        return {"curve": curve, "ten_hosts_forks_20": parts}
    finally:
        registry.stop()


def write_probe_playbooks(work: str) -> None:
    """One-task plays, to split a run's time into Ansible's per-task cost and a module of ours."""
    for name, task in (("ping.yml", "ansible.builtin.ping: {}"),
                       ("facts.yml", "localai.gallery.backend_facts: {backends_path: '{{ backends_path }}', "
                                     "capability: default}")):
        with open(os.path.join(work, name), "w", encoding="utf-8") as handle:
            handle.write("- hosts: localai\n  gather_facts: false\n  tasks:\n    - %s\n" % task)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=os.path.join(HERE, "results", "fleet_scale.json"))
    parser.add_argument("--skip-bytes", action="store_true", help="only the cost curve")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="localai-fleet-scale-")
    fleet = Fleet(work, 20)
    try:
        write_probe_playbooks(work)
        result = {"cold_install": None if args.skip_bytes else cold_installs(work, fleet),
                  "cost": cost_curve(work, fleet)}
    finally:
        fleet.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    write_result(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
