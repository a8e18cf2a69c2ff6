# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capability detection on fake sysfs trees with fake nvidia-smi / rocm-smi scripts (docs/behaviour.md order)."""

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.capability import (
    HostProbe,
    detect_capability,
    detect_gpus,
)

GIB = 1024 ** 3


class FakeHost:
    def __init__(self, tmp_path) -> None:
        self.root = tmp_path / "root"
        self.bin = tmp_path / "bin"
        self.root.mkdir()
        self.bin.mkdir()
        self.environ: dict[str, str] = {}

    def card(self, name: str, vendor_id: str, vram: int | None = None) -> "FakeHost":
        device = self.root / "sys/class/drm" / name / "device"
        device.mkdir(parents=True)
        (device / "vendor").write_text(vendor_id + "\n")
        if vram is not None:
            (device / "mem_info_vram_total").write_text("%d\n" % vram)
        return self

    def tool(self, name: str, output: str = "", rc: int = 0) -> "FakeHost":
        script = self.bin / name
        script.write_text("#!/bin/sh\ncat <<'OUT'\n%sOUT\nexit %d\n" % (output, rc))
        script.chmod(0o755)
        return self

    def file(self, path: str, content: str = "") -> "FakeHost":
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        return self

    def directory(self, path: str) -> "FakeHost":
        (self.root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        return self

    def probe(self, system: str = "Linux", machine: str = "x86_64") -> HostProbe:
        def find_tool(name):
            path = self.bin / name
            return str(path) if path.exists() else None

        def run(argv):
            completed = subprocess.run(argv, capture_output=True, text=True, check=False)
            return completed.returncode, completed.stdout, completed.stderr

        return HostProbe(find_tool, run, root=str(self.root), environ=self.environ, system=system, machine=machine)

    def capability(self, **kwargs) -> str:
        return detect_capability(self.probe(**kwargs))["capability"]


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path)


def test_no_gpu_is_default(host):
    assert detect_capability(host.probe()) == {"capability": "default", "source": "detected", "reason": "no GPU found"}


def test_option_beats_env_beats_run_file(host):
    host.environ["LOCALAI_FORCE_META_BACKEND_CAPABILITY"] = "amd"
    host.file("/run/localai/capability", "  intel \n")
    assert detect_capability(host.probe(), "vulkan")["source"] == "option"
    assert detect_capability(host.probe())["capability"] == "amd"
    del host.environ["LOCALAI_FORCE_META_BACKEND_CAPABILITY"]
    assert detect_capability(host.probe()) == {"capability": "intel", "source": "run_file",
                                               "reason": "run file /run/localai/capability"}
    host.environ["LOCALAI_FORCE_META_BACKEND_CAPABILITY_RUN_FILE"] = "/etc/cap"
    host.file("/etc/cap", "nvidia-l4t\n")
    assert host.capability() == "nvidia-l4t"


def test_an_empty_run_file_is_taken_as_localai_takes_it(host):
    """pkg/system/capabilities.go: a run file that exists is the capability, even empty:

        if _, err := os.Stat(capabilityRunFile); err == nil {
            capability, err := os.ReadFile(capabilityRunFile)
            if err == nil {
                s.systemCapabilities = strings.Trim(strings.TrimSpace(string(capability)), "\n")
                return s.systemCapabilities

    and Capability(capMap) resolves "" (in no map) as `default`, then `cpu`: so does `default` here, also on a
    GPU host."""
    host.card("card0", "0x10de")
    host.file("/run/localai/capability", " \n")
    assert detect_capability(host.probe()) == {"capability": "default", "source": "run_file",
                                               "reason": "run file /run/localai/capability is empty"}


def test_env_disable_is_passed_verbatim(host):
    host.environ["LOCALAI_FORCE_META_BACKEND_CAPABILITY"] = "disable"
    assert host.capability() == "disable"


@pytest.mark.parametrize("machine, expected", [("arm64", "metal"), ("x86_64", "darwin-x86")])
def test_macos(host, machine, expected):
    host.card("card0", "0x10de")
    assert host.capability(system="Darwin", machine=machine) == expected


@pytest.mark.parametrize("cuda_dirs, expected", [
    ([], "nvidia-l4t"), (["/usr/local/cuda-12"], "nvidia-l4t-cuda-12"),
    (["/usr/local/cuda-12", "/usr/local/cuda-13"], "nvidia-l4t-cuda-13")])
def test_arm64_nvidia_is_l4t_even_with_little_vram(host, cuda_dirs, expected):
    host.file("/sys/devices/soc0/family", "Tegra\n")
    host.tool("nvidia-smi", "0, Orin, 2048, 0, 2048\n")
    for directory in cuda_dirs:
        host.directory(directory)
    assert host.capability(machine="aarch64") == expected


@pytest.mark.parametrize("vram_mib, cuda_dirs, expected", [
    (4096, ["/usr/local/cuda-12"], "default"),  # exactly 4 GiB counts as low
    (4097, [], "nvidia"),
    (24576, ["/usr/local/cuda-12"], "nvidia-cuda-12"),
    (24576, ["/usr/local/cuda-12", "/usr/local/cuda-13"], "nvidia-cuda-13"),
])
def test_nvidia_vram_gate_and_cuda_directories(host, vram_mib, cuda_dirs, expected):
    host.card("card0", "0x10de").card("card0-DP-1", "0x1002")
    half = vram_mib // 2
    host.tool("nvidia-smi", "0, GPU A, %d, 0, 0\n1, GPU B, %d, 0, 0\n" % (half, vram_mib - half))  # summed
    for directory in cuda_dirs:
        host.directory(directory)
    assert host.capability() == expected


def test_nvidia_with_unknown_vram_is_default_as_in_localai(host):
    """pkg/system/capabilities.go counts a VRAM it cannot read as 0: `if s.VRAM <= 4*1024*1024*1024`."""
    host.card("card0", "0x10de").directory("/usr/local/cuda-12")
    gpu = detect_gpus(host.probe())
    assert gpu["vendor"] == "nvidia" and gpu["vram_bytes"] is None and gpu["vram_source"] is None
    assert detect_capability(host.probe())["reason"] == \
        "nvidia GPU whose VRAM LocalAI cannot read (it counts it as 0, so 4 GiB or less)"
    assert host.capability() == "default"


def test_vendor_priority_and_amd_vram_from_rocm_smi_not_sysfs(host):
    """LocalAI does not read amdgpu's mem_info_vram_total: rocm-smi, or nothing."""
    host.card("card0", "0x8086").card("card1", "0x1002", vram=16 * GIB)
    assert detect_gpus(host.probe())["vendor"] == "amd"
    assert detect_gpus(host.probe())["vram_bytes"] is None
    assert host.capability() == "default"
    host.tool("rocm-smi", "device,VRAM Total Memory (B),VRAM Total Used Memory (B)\ncard1,%d,1024\n" % (16 * GIB))
    assert detect_gpus(host.probe())["vram_bytes"] == 16 * GIB
    assert detect_gpus(host.probe())["vram_source"] == "rocm-smi"
    assert host.capability() == "amd"
    host.tool("rocm-smi", "device,VRAM Total Memory (B),VRAM Total Used Memory (B)\ncard1,%d,1024\n" % (2 * GIB))
    assert host.capability() == "default"


def test_unknown_pci_vendors_are_ignored_and_intel_is_intel(host):
    host.card("card0", "0x1234").card("card1", "0x8086")
    gpus = detect_gpus(host.probe())["gpus"]
    assert gpus == [{"card": "card1", "vendor": "intel", "pci_vendor_id": "0x8086", "vram_bytes": None}]
    assert host.capability() == "default"  # no VRAM source
    host.tool("xpu-smi", '{"device_list": [{"device_id": 0, "memory_physical_size_byte": %d}]}\n' % (16 * GIB))
    assert host.capability() == "intel"


@pytest.mark.parametrize("tool, expected", [("nvidia-smi", "nvidia"), ("rocm-smi", "amd"), ("xpu-smi", "intel"),
                                            ("intel_gpu_top", "intel"), ("vulkaninfo", "vulkan")])
def test_vendor_from_tools_when_sysfs_has_none(host, tool, expected):
    host.tool(tool, "", rc=1)  # present but failing: vendor known, VRAM 0, so default as in LocalAI
    assert detect_gpus(host.probe())["vendor"] == expected
    assert host.capability() == "default"


def test_tegra_soc_id_means_nvidia(host):
    host.file("/sys/devices/soc0/soc_id", "jep106:0426:8022\n")
    assert detect_gpus(host.probe())["vendor_source"] == "tegra"
    assert host.capability(machine="aarch64") == "nvidia-l4t"


def test_real_host_detection_runs(tmp_path):
    """On this machine with its real sysfs and PATH, detection completes and gives a known capability."""
    probe = HostProbe(lambda name: None, lambda argv: (1, "", ""), root="/", environ={})
    assert detect_capability(probe)["capability"] in ("default", "nvidia", "amd", "intel", "vulkan",
                                                      "nvidia-cuda-12", "nvidia-cuda-13")
    assert os.path.isdir("/sys")
