# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The capability as LocalAI sees it where it runs (pkg/system/capabilities.go at 82c191a reads its own process):

    capability := os.Getenv(capabilityEnv)
    ...
    if _, err := os.Stat(capabilityRunFile); err == nil {
    ...
    _, err := os.Stat(filepath.Join(string(os.PathSeparator), "usr", "local", "cuda-13"))
    cuda13DirExists = err == nil

and what a running LocalAI has registered (GET /system: `ml.GetAllExternalBackends`). The host here is a fake
NVIDIA machine (a sysfs tree and an nvidia-smi); the containers are tests/helpers/container_standin.py's, whose
`exec` sees the container's own /run and /usr/local (a mount namespace): this needs root, as the tests run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.capability import HostProbe, detect_capability
from ansible_collections.localai.gallery.plugins.module_utils.errors import LocalAIAPIError, LocalAITargetError
from ansible_collections.localai.gallery.plugins.module_utils.localai_api import live_state
from ansible_collections.localai.gallery.plugins.module_utils.localai_target import localai_probe

HELPERS = os.path.join(os.path.dirname(__file__), "..", "..", "helpers")
ENGINES = os.path.join(HELPERS, "container-engine")


def write(path, content: str = "") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)


@pytest.fixture
def nvidia_host(tmp_path, monkeypatch):
    """A host with one 24 GiB NVIDIA GPU and no CUDA toolkit, and the containers it runs."""
    root = tmp_path / "host"
    write(str(root / "sys/class/drm/card0/device/vendor"), "0x10de\n")
    tools = tmp_path / "tools"
    write(str(tools / "nvidia-smi"), "#!/bin/sh\necho '0, NVIDIA GeForce RTX 4090, 24576, 1, 24575'\n")
    os.chmod(str(tools / "nvidia-smi"), 0o755)
    containers = tmp_path / "containers"
    monkeypatch.setenv("LOCALAI_TEST_CONTAINERS", str(containers))

    def find_tool(name):
        for directory in (str(tools), ENGINES):
            if os.path.exists(os.path.join(directory, name)):
                return os.path.join(directory, name)
        return None

    def run(argv):
        completed = subprocess.run(argv, capture_output=True, text=True, check=False)
        return completed.returncode, completed.stdout, completed.stderr

    def container(name, run_file=None, dirs=(), env=()):
        base = containers / name
        os.makedirs(str(base / "rootfs/run"), exist_ok=True)
        os.makedirs(str(base / "rootfs/usr/local"), exist_ok=True)
        for directory in dirs:
            os.makedirs(str(base / "rootfs" / directory.lstrip("/")))
        if run_file is not None:
            write(str(base / "rootfs/run/localai/capability"), run_file)
        write(str(base / "env.json"), json.dumps(list(env)))

    host = HostProbe(find_tool, run, root=str(root), environ={}, system="linux", machine="x86_64")
    return host, container


def test_the_host_alone_is_an_nvidia_host_without_the_toolkit(nvidia_host):
    host, _container = nvidia_host
    assert detect_capability(host) == {"capability": "nvidia", "source": "detected",
                                       "reason": "NVIDIA GPU, 24576 MiB VRAM"}


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_a_cuda_13_image_without_run_file_sees_its_own_toolkit(nvidia_host, engine):
    host, container = nvidia_host
    container("cuda13", dirs=["/usr/local/cuda-13"])
    view = localai_probe(host, {"container": "cuda13", "container_engine": engine})
    assert detect_capability(view) == {"capability": "nvidia-cuda-13", "source": "detected",
                                       "reason": "NVIDIA GPU, 24576 MiB VRAM, as LocalAI sees it in container cuda13"}


def test_the_cpu_image_on_a_gpu_host_is_default(nvidia_host):
    host, container = nvidia_host
    container("cpu", run_file="default\n")
    assert detect_capability(localai_probe(host, {"container": "cpu"}))["capability"] == "default"


def test_the_container_environment_comes_first_and_only_its_own(nvidia_host):
    host, container = nvidia_host
    host.environ["LOCALAI_FORCE_META_BACKEND_CAPABILITY"] = "amd"  # the module's own environment: not LocalAI's
    container("forced", run_file="default\n", env=["LOCALAI_FORCE_META_BACKEND_CAPABILITY=vulkan", "HOME=/root"])
    container("elsewhere", env=["LOCALAI_FORCE_META_BACKEND_CAPABILITY_RUN_FILE=/run/other"])
    write(os.path.join(os.environ["LOCALAI_TEST_CONTAINERS"], "elsewhere/rootfs/run/other"), "intel\n")
    assert detect_capability(localai_probe(host, {"container": "forced"}))["capability"] == "vulkan"
    assert detect_capability(localai_probe(host, {"container": "elsewhere"})) == {
        "capability": "intel", "source": "run_file",
        "reason": "run file /run/other, as LocalAI sees it in container elsewhere"}


def test_an_unknown_container_or_engine_is_a_clear_error(nvidia_host):
    host, _container = nvidia_host
    with pytest.raises(LocalAITargetError, match="docker inspect gone failed .Error: No such container: gone.; check "
                                                 "localai.container"):
        localai_probe(host, {"container": "gone"})
    with pytest.raises(LocalAITargetError, match="localai.container is x, but nerdctl is not on the target's PATH"):
        localai_probe(host, {"container": "x", "container_engine": "nerdctl"})


@pytest.fixture
def standin(tmp_path):
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run([sys.executable, os.path.join(HELPERS, "localai_standin.py"), "start", str(tmp_path / "standin"),
                    str(port)], check=True)
    yield "http://127.0.0.1:%d" % port
    subprocess.run([sys.executable, os.path.join(HELPERS, "localai_standin.py"), "stop", str(tmp_path / "standin")],
                   check=True)


def _post(url: str, body: dict | None = None) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=json.dumps(body or {}).encode(), method="POST"),
                           timeout=10).close()


def test_what_the_running_localai_registered(standin, tmp_path):
    backends = tmp_path / "backends"
    write(str(backends / "cpu-piper/run.sh"), "#!/bin/sh\n")
    write(str(backends / "cpu-piper/metadata.json"), json.dumps({"name": "cpu-piper", "alias": "tts"}))
    write(str(backends / "piper/metadata.json"), json.dumps({"name": "piper", "meta_backend_for": "cpu-piper"}))
    _post(standin + "/h1/configure", {"backends_path": str(backends), "api_key": "k"})
    assert live_state(standin + "/h1", "k") == {"version": "v0.0.0-standin (LocalAI 82c191a rules)",
                                                "registered": ["cpu-piper", "piper", "tts"]}
    write(str(backends / "cpu-whisper/run.sh"), "#!/bin/sh\n")  # installed while it runs: not registered
    assert "cpu-whisper" not in live_state(standin + "/h1", "k")["registered"]
    _post(standin + "/h1/restart")
    assert "cpu-whisper" in live_state(standin + "/h1", "k")["registered"]
    with pytest.raises(LocalAIAPIError, match="answered HTTP 401 to GET /system: set localai.api_key"):
        live_state(standin + "/h1", "wrong")
    with pytest.raises(LocalAIAPIError, match="LocalAI at http://127.0.0.1:9 cannot be reached .GET /version.: "):
        live_state("http://127.0.0.1:9")
