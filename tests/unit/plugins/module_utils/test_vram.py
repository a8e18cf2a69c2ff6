# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VRAM as LocalAI counts it (pkg/xsysinfo/gpu.go TotalAvailableVRAM, clinfo.go, memory_total.go at 82c191a),
source by source, on fake sysfs trees and tool outputs; the clinfo documents are LocalAI's (clinfo_test.go)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.capability import HostProbe, detect_capability
from ansible_collections.localai.gallery.plugins.module_utils.vram import (
    clinfo_intel,
    nvidia_smi,
    rocm_smi,
    system_ram,
    total_vram,
    vulkan_heaps,
)

GIB = 1024 ** 3
MIB = 1024 ** 2
INTEL_CARD = [{"card": "card0", "vendor": "intel"}]


class Host:
    def __init__(self, tmp_path) -> None:
        self.root = tmp_path
        self.tools: dict[str, tuple[int, str]] = {}
        self.ran: list[list[str]] = []

    def file(self, path: str, content: str) -> "Host":
        target = os.path.join(str(self.root), path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(content)
        return self

    def probe(self, **environ) -> HostProbe:
        def run(argv):
            self.ran.append(argv)
            return self.tools[argv[0]] + ("",)
        return HostProbe(lambda name: name if name in self.tools else None, run, root=str(self.root),
                         environ=dict(environ), system="linux", machine="x86_64")


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def test_nvidia_smi_totals_and_unified_memory(host):
    """getNVIDIAGPUMemory: `isNA && isUnifiedMemoryDevice(name)` -> system RAM; N/A on an unknown device -> 0."""
    host.file("/proc/meminfo", "MemTotal:       131072000 kB\nMemFree: 1 kB\n")
    host.tools["nvidia-smi"] = (0, "0, NVIDIA GeForce RTX 4090, 24564, 1, 24563\n"
                                   "1, NVIDIA GB10, [N/A], [N/A], [N/A]\n"
                                   "2, Mystery, [N/A], [N/A], [N/A]\n"
                                   "garbage line\n")
    assert nvidia_smi(host.probe()) == [24564 * MIB, 131072000 * 1024, 0]
    assert host.ran[0][1:] == ["--query-gpu=index,name,memory.total,memory.used,memory.free",
                               "--format=csv,noheader,nounits"]


def test_system_ram_is_the_smallest_limit_set(host):
    """chooseTotalMemory: cgroup v2 max ("max" = unset), v1 limit (the unlimited sentinel = unset), MemTotal."""
    host.file("/proc/meminfo", "MemTotal: 16384 kB\n")
    assert system_ram(host.probe()) == 16384 * 1024
    unlimited_v1 = "%d\n" % 0x7FFFFFFFFFFFF000
    host.file("/sys/fs/cgroup/memory.max", "max\n").file("/sys/fs/cgroup/memory/memory.limit_in_bytes", unlimited_v1)
    assert system_ram(host.probe()) == 16384 * 1024
    host.file("/sys/fs/cgroup/memory.max", "8192\n")
    assert system_ram(host.probe()) == 8192


def test_rocm_smi_second_column_bytes_or_mib(host):
    """getAMDGPUMemory: `totalBytes, _ := strconv.ParseUint(strings.TrimSpace(parts[1]), 10, 64)`; below
    1,000,000 it is MiB."""
    host.tools["rocm-smi"] = (0, "device,VRAM Total Memory (B),VRAM Total Used Memory (B)\n"
                                 "card0,17163091968,1024\ncard1,8192,10\nshort\n")
    assert rocm_smi(host.probe()) == [17163091968, 8192 * MIB]


INTEL_ARC_PLUS_IGPU = {"devices": [{"online": [
    {"CL_DEVICE_NAME": "Intel(R) Arc(TM) A770 Graphics", "CL_DEVICE_VENDOR": "Intel(R) Corporation",
     "CL_DEVICE_VENDOR_ID": 32902, "CL_DEVICE_TYPE": {"raw": 4, "type": ["CL_DEVICE_TYPE_GPU"]},
     "CL_DEVICE_HOST_UNIFIED_MEMORY": False, "CL_DEVICE_GLOBAL_MEM_SIZE": 16225243136,
     "CL_DEVICE_PCI_BUS_INFO_KHR": "0000:03:00.0"},
    {"CL_DEVICE_NAME": "Intel(R) UHD Graphics 770", "CL_DEVICE_VENDOR": "Intel(R) Corporation",
     "CL_DEVICE_VENDOR_ID": 32902, "CL_DEVICE_TYPE": {"raw": 4, "type": ["CL_DEVICE_TYPE_GPU"]},
     "CL_DEVICE_HOST_UNIFIED_MEMORY": True, "CL_DEVICE_GLOBAL_MEM_SIZE": 25000000000,
     "CL_DEVICE_PCI_BUS_INFO_KHR": "0000:00:02.0"}]}]}
DUAL_ICD_SAME_DEVICE = {"devices": [
    {"online": [{"CL_DEVICE_NAME": "Intel(R) Arc(TM) A770 Graphics", "CL_DEVICE_VENDOR_ID": 32902,
                 "CL_DEVICE_TYPE": {"raw": 4, "type": ["CL_DEVICE_TYPE_GPU"]},
                 "CL_DEVICE_HOST_UNIFIED_MEMORY": False, "CL_DEVICE_GLOBAL_MEM_SIZE": 16225243136,
                 "CL_DEVICE_PCI_BUS_INFO_KHR": "0000:03:00.0"}]},
    {"online": [{"CL_DEVICE_NAME": "pthread-Arc-A770", "CL_DEVICE_VENDOR_ID": 32902,
                 "CL_DEVICE_TYPE": {"raw": 4, "type": ["CL_DEVICE_TYPE_GPU"]},
                 "CL_DEVICE_HOST_UNIFIED_MEMORY": False, "CL_DEVICE_GLOBAL_MEM_SIZE": 4294967296,
                 "CL_DEVICE_PCI_BUS_INFO_KHR": "0000:03:00.0"}]}]}
CPU_ONLY = {"devices": [{"online": [
    {"CL_DEVICE_NAME": "pthread-x86_64", "CL_DEVICE_VENDOR": "GenuineIntel", "CL_DEVICE_VENDOR_ID": 32902,
     "CL_DEVICE_TYPE": {"raw": 2, "type": ["CL_DEVICE_TYPE_CPU"]}, "CL_DEVICE_HOST_UNIFIED_MEMORY": True,
     "CL_DEVICE_GLOBAL_MEM_SIZE": 33324494848}]}]}


@pytest.mark.parametrize("document, totals", [
    (INTEL_ARC_PLUS_IGPU, [16225243136]),   # clinfo_test.go: the unified-memory iGPU is dropped
    (DUAL_ICD_SAME_DEVICE, [16225243136]),  # one per PCI address, the largest
    (CPU_ONLY, []),                         # CPU devices are not GPUs
])
def test_clinfo_intel_devices(host, document, totals):
    host.tools["clinfo"] = (0, json.dumps(document))
    assert clinfo_intel(host.probe()) == totals


VULKANINFO = """\
GPU0:
VkPhysicalDeviceProperties:
\tdeviceName     = NVIDIA GeForce RTX 3060
\tdeviceType     = PHYSICAL_DEVICE_TYPE_DISCRETE_GPU
VkPhysicalDeviceMemoryProperties:
=================================
memoryHeaps: count = 2
\tmemoryHeaps[0]:
\t\tsize   = 12884901888 (0x300000000) (12.00 GiB)
\t\tbudget = 12000000000 (0x2cb417800) (11.18 GiB)
\t\tflags:
\t\t\tMEMORY_HEAP_DEVICE_LOCAL_BIT
\tmemoryHeaps[1]:
\t\tsize   = 33554432000 (0x7d0000000) (31.25 GiB)
\t\tflags:
\t\t\tNone
memoryTypes: count = 1
\tmemoryTypes[0]:
\t\theapIndex = 0
\t\t\tMEMORY_HEAP_DEVICE_LOCAL_BIT
GPU1:
VkPhysicalDeviceProperties:
\tdeviceName     = llvmpipe (LLVM 15.0.6, 256 bits)
\tdeviceType     = PHYSICAL_DEVICE_TYPE_CPU
VkPhysicalDeviceMemoryProperties:
memoryHeaps: count = 1
\tmemoryHeaps[0]:
\t\tsize   = 33554432000 (0x7d0000000) (31.25 GiB)
\t\tflags:
\t\t\tMEMORY_HEAP_DEVICE_LOCAL_BIT
memoryTypes: count = 1
"""


def test_vulkan_device_local_heaps_of_non_cpu_devices():
    """parseVulkanGPUMemoryText: heaps flagged DEVICE_LOCAL under VkPhysicalDeviceMemoryProperties, per `GPUn:`;
    `current.deviceType == "PHYSICAL_DEVICE_TYPE_CPU"` devices are skipped; a flag under memoryTypes is not a heap's."""
    assert vulkan_heaps(VULKANINFO) == [12884901888]
    assert vulkan_heaps("") == []


def test_ghw_counts_the_numa_node_memory_of_each_card(host, tmp_path):
    """ghw.GPU(): cards found through /sys/class/drm links to a PCI address; Node = the NUMA node in
    device/numa_node (-1: none); TotalUsableBytes = the node's MemTotal. Without pci.ids ghw fails altogether."""
    devices = tmp_path / "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/card0"
    os.makedirs(str(devices / "device"))
    (devices / "device" / "numa_node").write_text("1\n")
    os.makedirs(str(tmp_path / "sys/class/drm"))
    os.symlink("../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/card0", str(tmp_path / "sys/class/drm/card0"))
    host.file("/sys/devices/system/node/node1/meminfo", "Node 1 MemTotal:       65536000 kB\n")
    host.tools["nvidia-smi"] = (0, "0, NVIDIA A100, 81920, 0, 81920\n")
    assert total_vram(host.probe(), []) == (81920 * MIB, "nvidia-smi")  # no pci.ids: ghw fails
    host.file("/usr/share/misc/pci.ids", "10de  NVIDIA Corporation\n")
    # ghw.memory reads the node's meminfo lines "Node N MemTotal: ..." as LocalAI's ghw does
    assert total_vram(host.probe(), [])[1] == "ghw NUMA node memory"


def test_sources_in_localai_order_and_unknown_is_zero(host):
    host.file("/proc/meminfo", "MemTotal: 67108864 kB\n")
    assert total_vram(host.probe(), INTEL_CARD) == (0, None)
    host.file("/sys/devices/soc0/family", "Tegra\n")  # an NVIDIA SoC without nvidia-smi: system RAM
    assert total_vram(host.probe(), []) == (67108864 * 1024, "NVIDIA SoC, system RAM")
    host.tools["vulkaninfo"] = (0, VULKANINFO)  # only when nothing else found a GPU
    assert total_vram(host.probe(), [])[1] == "NVIDIA SoC, system RAM"
    host.tools["xpu-smi"] = (0, json.dumps({"device_list": [{"device_id": 0, "memory_physical_size_byte": 8 * GIB}]}))
    host.tools["rocm-smi"] = (0, "device,total,used\ncard1,4096,1\n")
    assert total_vram(host.probe(), INTEL_CARD) == (12 * GIB, "rocm-smi, xpu-smi/clinfo")


def test_a_gpu_whose_vram_nothing_reads_is_default_as_in_localai(host):
    """pkg/system/capabilities.go: `if s.VRAM <= 4*1024*1024*1024 { ... defaultCapability`, with VRAM 0 when
    TotalAvailableVRAM finds nothing (`return 0, nil`)."""
    host.file("/sys/class/drm/card0/device/vendor", "0x10de\n").file("/usr/local/cuda-12/.keep", "")
    assert detect_capability(host.probe()) == {
        "capability": "default", "source": "detected",
        "reason": "nvidia GPU whose VRAM LocalAI cannot read (it counts it as 0, so 4 GiB or less)"}
    host.tools["vulkaninfo"] = (0, VULKANINFO)
    assert detect_capability(host.probe()) == {"capability": "nvidia-cuda-12", "source": "detected",
                                               "reason": "NVIDIA GPU, 12288 MiB VRAM"}
