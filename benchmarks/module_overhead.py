# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a module run's time goes beyond the engine: a cold install of the `cuda` shape on localhost.

Interleaved, RUNS times each, everything in /dev/shm, the target interpreter being this venv's Python:
- `engine`: ImageSource.fill alone (in a fresh Python, timed inside it);
- `in-process`: backend_install's main() called in one Python, without Ansible around it, with timers
  wrapped around capability detection, the fill, the commit (metadata.json, ownership, swap into place) and
  the lock; what is left is argument parsing, planning and the module's own imports;
- `AnsiballZ`: the wrapper Ansible sent for that task (kept with ANSIBLE_KEEP_REMOTE_FILES), run as
  Ansible runs it: the in-process time plus unpacking the payload and importing from it; `AnsiballZ,
  installed` runs it again with nothing to do;
- `python start`: `python -c pass`, the interpreter's own start;
- `playbook`: ansible-playbook with the one backend_install task (connection local), cold;
- `playbook, installed`: the same playbook again, nothing to do; and once more with `pin_digests: false`
  (no manifest request on the controller, the target asks instead);
- `playbook, ping`: the same play with ansible.builtin.ping instead: Ansible's own cost of one task.

    .venv/bin/python benchmarks/module_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLLECTIONS = os.path.join(ROOT, "build", "collections")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)

from helpers.images import Pusher  # noqa: E402
from helpers.registry_server import RegistryServer  # noqa: E402
from install_throughput import engine, push_image  # noqa: E402
from results_file import write_result  # noqa: E402
from shapes import build_layers  # noqa: E402

# backend_install's main() in this process, with timers around the steps whose cost we want to name.
IN_PROCESS = """
import contextlib, json, sys, time
sys.path.insert(0, %r)
timings = {"detect": 0.0, "fill": 0.0, "commit": 0.0, "lock": 0.0}
started = time.perf_counter()
from ansible_collections.localai.gallery.plugins.module_utils import flow_install, sources, store
from ansible_collections.localai.gallery.plugins.modules import backend_install
timings["imports"] = time.perf_counter() - started

def timed(owner, attribute, key):
    original = getattr(owner, attribute)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings[key] += time.perf_counter() - began
    setattr(owner, attribute, wrapper)

timed(flow_install, "detect_capability", "detect")
timed(sources.ImageSource, "fill", "fill")
timed(store.BackendStore, "commit", "commit")
original_locked = store.BackendStore.locked
@contextlib.contextmanager
def locked(self):  # the time to take the lock, not the time it is held
    began = time.perf_counter()
    with original_locked(self):
        timings["lock"] += time.perf_counter() - began
        yield
store.BackendStore.locked = locked
from ansible.module_utils.testing import patch_module_args
began = time.perf_counter()
with patch_module_args(json.loads(sys.argv[1])):
    try:
        backend_install.main()
    except SystemExit:
        pass
timings["main"] = time.perf_counter() - began
print("\\nTIMINGS " + json.dumps(timings))
""" % COLLECTIONS

PLAY = """- name: One task on localhost
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The task under test
      {task}
"""


def run(argv: list[str], env: dict | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (argv, completed.stdout[-3000:]))
    return time.perf_counter() - started, completed.stdout


class Bench:
    def __init__(self, work: str, image: str) -> None:
        self.work = work
        self.image = image
        self.backends = os.path.join(work, "backends")
        self.remote_tmp = os.path.join(work, "remote-tmp")
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOME=os.path.join(work, "ansible"),
                        ANSIBLE_REMOTE_TMP=self.remote_tmp, ANSIBLE_LOCAL_TEMP=os.path.join(work, "local-tmp"),
                        ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1", no_proxy="*",
                        LOCALAI_GALLERY_CACHE_DIR=os.path.join(work, "gallery-cache"), ANSIBLE_LOCALHOST_WARNING="0")
        self.args = {"name": "cuda-bench", "uri": image, "backends_path": self.backends}
        self.plays = {}
        unpinned = dict(self.args, pin_digests=False)
        for label, task in (("install", "localai.gallery.backend_install: %s" % json.dumps(self.args)),
                            ("unpinned", "localai.gallery.backend_install: %s" % json.dumps(unpinned)),
                            ("ping", "ansible.builtin.ping:")):
            self.plays[label] = os.path.join(work, label + ".yml")
            with open(self.plays[label], "w", encoding="utf-8") as play:
                play.write(PLAY.format(task=task))

    def fresh(self) -> None:
        shutil.rmtree(self.backends, ignore_errors=True)
        os.makedirs(self.backends)

    def playbook(self, label: str, keep: bool = False) -> float:
        env = dict(self.env, ANSIBLE_KEEP_REMOTE_FILES="1") if keep else self.env
        seconds, _output = run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                                self.plays[label]], env)
        return seconds

    def kept_wrapper(self) -> str:
        """Run the install play once keeping the remote files; the AnsiballZ wrapper Ansible executed."""
        shutil.rmtree(self.remote_tmp, ignore_errors=True)
        self.fresh()
        self.playbook("install", keep=True)
        wrappers = glob.glob(os.path.join(self.remote_tmp, "*", "AnsiballZ_backend_install.py"))
        if len(wrappers) != 1:
            raise RuntimeError("expected one kept AnsiballZ_backend_install.py, found %s" % wrappers)
        return wrappers[0]

    def in_process(self) -> dict:
        _seconds, output = run([sys.executable, "-c", IN_PROCESS, json.dumps(self.args)], self.env)
        timings = json.loads(output.rsplit("TIMINGS ", 1)[1])
        result = json.loads(output.split("\nTIMINGS ", 1)[0].strip().splitlines()[-1])
        if not result.get("changed"):
            raise RuntimeError("the in-process install changed nothing: %s" % result)
        return timings


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=os.path.join(HERE, "results", "module_overhead.json"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="localai-overhead-", dir="/dev/shm")
    registry = RegistryServer(os.path.join(work, "registry"), storage=os.path.join(work, "storage")).start()
    try:
        layers = build_layers("cuda", work)
        push_image(Pusher(registry.url), "bench/cuda", layers)
        bench = Bench(work, "%s/bench/cuda:t" % registry.host)
        wrapper = bench.kept_wrapper()
        wrapper_bytes = os.path.getsize(wrapper)
        seconds: dict[str, list[float]] = {name: [] for name in (
            "python start", "engine", "in-process", "AnsiballZ", "AnsiballZ, installed", "playbook",
            "playbook, installed", "playbook, installed, pin_digests false", "playbook, ping")}
        steps: dict[str, list[float]] = {}
        for _run in range(args.runs):
            bench.fresh()
            seconds["engine"].append(engine(bench.image, bench.backends, "pipeline")[0])
            bench.fresh()
            began = time.perf_counter()
            for key, value in bench.in_process().items():
                steps.setdefault(key, []).append(value)
            seconds["in-process"].append(time.perf_counter() - began)
            bench.fresh()
            seconds["AnsiballZ"].append(run([sys.executable, wrapper], bench.env)[0])
            seconds["AnsiballZ, installed"].append(run([sys.executable, wrapper], bench.env)[0])
            seconds["python start"].append(run([sys.executable, "-c", "pass"])[0])
            bench.fresh()
            seconds["playbook"].append(bench.playbook("install"))
            seconds["playbook, installed"].append(bench.playbook("install"))
            seconds["playbook, installed, pin_digests false"].append(bench.playbook("unpinned"))
            seconds["playbook, ping"].append(bench.playbook("ping"))
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    result = {"runs": args.runs, "shape": "cuda", "wrapper_bytes": wrapper_bytes,
              "median_seconds": {name: median(values) for name, values in seconds.items()},
              "in_process_steps": {name: median(values) for name, values in steps.items()},
              "all_runs": {"seconds": seconds, "steps": steps}}
    print(json.dumps({key: result[key] for key in ("wrapper_bytes", "median_seconds", "in_process_steps")}, indent=2))
    write_result(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
