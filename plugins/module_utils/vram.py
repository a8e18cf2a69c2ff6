# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VRAM LocalAI counts (pkg/xsysinfo/gpu.go TotalAvailableVRAM at 82c191a), source by source, in its order:

1. ghw: the memory of the NUMA node each DRM card is affined to (`/sys/class/drm/cardN/device/numa_node`, then
   `/sys/devices/system/node/nodeN/meminfo` MemTotal): system RAM, not VRAM, but what LocalAI reads. ghw fails
   without a pci.ids database, and skips cards with `numa_node` -1 (most single-socket hosts).
2. else the sum of GetGPUMemoryUsage: nvidia-smi (a `[N/A]` total on a unified-memory part counts system RAM),
   rocm-smi, Intel (xpu-smi, then clinfo when an Intel GPU is present); when none of those found a GPU, an NVIDIA
   SoC (Tegra, GB10, Thor) counts system RAM; then vulkaninfo's device-local heaps of non-CPU devices.
Nothing found is 0, which LocalAI treats as "4 GiB or less" (`default`).
"""

from __future__ import annotations

import json
import os
import re

MIB = 1024 ** 2
PCI_IDS = ("/usr/share/hwdata/pci.ids", "/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids.gz",
           "/usr/share/misc/pci.ids.gz", "/usr/share/pci.ids")
PCI_ADDRESS = re.compile(r"^(([0-9a-f]{0,4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-9a-f]{1})$", re.IGNORECASE)
UNIFIED_MEMORY_DEVICES = ("NVIDIA GB10", "GB10", "NVIDIA Thor", "Thor")
CGROUP_V1_UNLIMITED = 0x7FFFFFFFFFFFF000


def _read(probe, absolute: str) -> str:
    try:
        with open(probe.path(absolute), encoding="utf-8", errors="replace") as handle:
            return handle.read(1 << 20)
    except OSError:
        return ""


def _mem_total(text: str) -> int:
    """parseMemTotal: the MemTotal line, kB/mB/gB units."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            fields = line.split()
            if len(fields) < 2 or not fields[1].isdigit():
                return 0
            unit = fields[2].lower() if len(fields) >= 3 else ""
            return int(fields[1]) * {"kb": 1024, "mb": MIB, "gb": 1024 ** 3}.get(unit, 1)
    return 0


def _node_mem_total(text: str) -> int:
    """ghw getMemInfoField(path, "MemTotal"): the first line whose key contains MemTotal ("Node 1 MemTotal")."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and "MemTotal" in key:
            in_kb = value.endswith("kB")
            number = value[:-2].strip() if in_kb else value.strip()
            return int(number) * (1024 if in_kb else 1) if number.isdigit() else 0
    return 0


def system_ram(probe) -> int:
    """chooseTotalMemory: the smallest of the cgroup v2 and v1 limits and MemTotal that are set."""
    v2 = _read(probe, "/sys/fs/cgroup/memory.max").strip()
    v1 = _read(probe, "/sys/fs/cgroup/memory/memory.limit_in_bytes").strip()
    candidates = [int(v2) if v2.isdigit() else 0,
                  int(v1) if v1.isdigit() and int(v1) < CGROUP_V1_UNLIMITED else 0,
                  _mem_total(_read(probe, "/proc/meminfo"))]
    set_values = [value for value in candidates if value > 0]
    return min(set_values) if set_values else 0


def ghw_node_memory(probe) -> int:
    """ghw.GPU() cards' Node.Memory.TotalUsableBytes, summed (0 when ghw would fail or find no NUMA node)."""
    if not any(os.path.exists(probe.path(path)) for path in PCI_IDS):
        return 0  # pci.New fails, and so does ghw.GPU()
    drm = probe.path("/sys/class/drm")
    try:
        links = sorted(os.listdir(drm))
    except OSError:
        return 0
    total = 0
    for name in links:
        if not name.startswith("card") or "-" in name or not name[4:].isdigit():
            continue
        try:
            target = os.readlink(os.path.join(drm, name))
        except OSError:
            continue
        if not any(PCI_ADDRESS.match(part) for part in target.split("/")):
            continue
        node = _read(probe, "/sys/class/drm/%s/device/numa_node" % name).strip()
        if not node.isdigit():
            continue  # -1: not affined to a node
        total += _node_mem_total(_read(probe, "/sys/devices/system/node/node%s/meminfo" % node))
    return total


def _tool(probe, name: str, args: list[str]) -> str | None:
    path = probe.find_tool(name)
    if not path:
        return None
    rc, out, _err = probe.run([path] + args)
    return out if rc == 0 else None


def is_nvidia_soc(probe) -> bool:
    """isNVIDIAIntegratedGPU: a Tegra family, or a JEDEC NVIDIA soc_id (Jetson, GB10, Thor)."""
    if _read(probe, "/sys/devices/soc0/family").strip() == "Tegra":
        return True
    return _read(probe, "/sys/devices/soc0/soc_id").strip().startswith("jep106:0426")


def nvidia_smi(probe) -> list[int]:
    """getNVIDIAGPUMemory: one total per GPU line ("index, name, total, used, free", MiB)."""
    out = _tool(probe, "nvidia-smi", ["--query-gpu=index,name,memory.total,memory.used,memory.free",
                                      "--format=csv,noheader,nounits"])
    totals = []
    for line in (out or "").strip().split("\n"):
        parts = line.split(", ")
        if not line or len(parts) < 5:
            continue
        name, total = parts[1].strip(), parts[2].strip()
        if "[N/A]" in (total, parts[3].strip(), parts[4].strip()):
            unified = any(pattern.upper() in name.upper() for pattern in UNIFIED_MEMORY_DEVICES)
            totals.append(system_ram(probe) if unified or is_nvidia_soc(probe) else 0)
            continue
        try:
            totals.append(int(float(total) * MIB))
        except ValueError:
            totals.append(0)
    return totals


def rocm_smi(probe) -> list[int]:
    """getAMDGPUMemory: `rocm-smi --showmeminfo vram --csv`, the second column of each line after the header
    (bytes, or MiB when it is below 1,000,000)."""
    out = _tool(probe, "rocm-smi", ["--showmeminfo", "vram", "--csv"])
    totals = []
    for number, line in enumerate((out or "").strip().split("\n")):
        parts = line.split(",")
        if number == 0 or not line or len(parts) < 3:
            continue
        value = parts[1].strip()
        total = int(value) if value.isdigit() else 0
        totals.append(total * MIB if total < 1000000 else total)
    return totals


def _bdf(device: dict) -> str:
    """clinfoBDF: the KHR bus info (its last word), else NVIDIA's per-axis fields."""
    info = device.get("CL_DEVICE_PCI_BUS_INFO_KHR") or ""
    if info:
        tail = info.rsplit(" ", 1)[-1]
        if tail.count(":") in (1, 2):
            return ("0000:" + tail if tail.count(":") == 1 else tail).lower()
    nv_fields = ("CL_DEVICE_PCI_DOMAIN_ID_NV", "CL_DEVICE_PCI_BUS_ID_NV", "CL_DEVICE_PCI_SLOT_ID_NV")
    domain, bus, slot = (device.get(key) or 0 for key in nv_fields)
    return "%04x:%02x:%02x.0" % (domain, bus, slot) if bus or slot or domain else ""


def _clinfo_vendor(device: dict) -> str:
    vendor_id = device.get("CL_DEVICE_VENDOR_ID")
    known = {0x10de: "nvidia", 0x1002: "amd", 0x1022: "amd", 0x8086: "intel", 0x106B: "apple"}
    if vendor_id in known:
        return known[vendor_id]
    name = str(device.get("CL_DEVICE_VENDOR") or "").lower()
    for token, vendor in (("nvidia", "nvidia"), ("advanced micro devices", "amd"), ("amd", "amd"),
                          ("intel", "intel"), ("apple", "apple")):
        if token in name:
            return vendor
    return "unknown"


def clinfo_intel(probe) -> list[int]:
    """parseCLInfoJSON, Intel devices only: online GPU devices without host-unified memory, one per PCI address
    (the largest), plus those without one."""
    out = _tool(probe, "clinfo", ["--json"])
    try:
        document = json.loads(out or "null")
    except ValueError:
        return []
    platforms = document.get("devices") if isinstance(document, dict) else None
    by_bdf, without_bdf = {}, []
    for platform in platforms if isinstance(platforms, list) else []:
        for device in (platform.get("online") if isinstance(platform, dict) else None) or []:
            if not isinstance(device, dict):
                continue
            kind = (device.get("CL_DEVICE_TYPE") or {}).get("type") or []
            size = device.get("CL_DEVICE_GLOBAL_MEM_SIZE") or 0
            if "CL_DEVICE_TYPE_GPU" not in kind or device.get("CL_DEVICE_HOST_UNIFIED_MEMORY") or not size:
                continue
            if _clinfo_vendor(device) != "intel":
                continue
            bdf = _bdf(device)
            if not bdf:
                without_bdf.append(size)
            elif size > by_bdf.get(bdf, 0):
                by_bdf[bdf] = size
    return list(by_bdf.values()) + without_bdf


def xpu_smi(probe) -> list[int]:
    """getIntelXPUSMI: `xpu-smi discovery --json`, each device's memory_physical_size_byte."""
    out = _tool(probe, "xpu-smi", ["discovery", "--json"])
    try:
        document = json.loads(out or "null")
    except ValueError:
        return []
    devices = document.get("device_list") if isinstance(document, dict) else None
    return [int(device.get("memory_physical_size_byte") or 0) for device in devices or [] if isinstance(device, dict)]


def vulkan_heaps(text: str) -> list[int]:
    """parseVulkanGPUMemoryText over `vulkaninfo --text`: per `GPUn:` section the sizes of the heaps flagged
    MEMORY_HEAP_DEVICE_LOCAL_BIT under VkPhysicalDeviceMemoryProperties; CPU devices and 0 totals skipped."""
    totals = []
    current = None  # {"type", "total"}
    in_properties = in_heaps = in_heap = device_local = False
    heap_size = 0

    def flush_heap():
        nonlocal in_heap, device_local, heap_size
        if current is not None and in_heap and device_local:
            current["total"] += heap_size
        in_heap = device_local = False
        heap_size = 0

    def flush_gpu():
        if current is not None and current["total"] and current["type"] != "PHYSICAL_DEVICE_TYPE_CPU":
            totals.append(current["total"])

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        header = re.match(r"^GPU(\d+):$", line)
        if header:
            flush_heap()
            flush_gpu()
            current = {"type": "", "total": 0}
            in_properties = in_heaps = False
            continue
        if current is None:
            continue
        if line.startswith("deviceType"):
            current["type"] = line.partition("=")[2].strip()
        elif line.startswith("deviceName"):
            continue
        elif line == "VkPhysicalDeviceMemoryProperties:":
            in_properties, in_heaps = True, False
            flush_heap()
        elif not in_properties:
            continue
        elif line.startswith("memoryHeaps:"):
            in_heaps = True
        elif line.startswith("memoryTypes:"):
            flush_heap()
            in_properties = in_heaps = False
        elif not in_heaps:
            continue
        elif line.startswith("memoryHeaps["):
            flush_heap()
            in_heap = True
        elif not in_heap:
            continue
        elif line.startswith("size"):
            fields = line.partition("=")[2].split()
            try:
                heap_size = int(fields[0], 0) if fields else heap_size
            except ValueError:
                pass
        elif "MEMORY_HEAP_DEVICE_LOCAL_BIT" in line:
            device_local = True
    flush_heap()
    flush_gpu()
    return totals


def total_vram(probe, cards: list[dict]) -> tuple[int, str | None]:
    """(bytes, source) as LocalAI's TotalAvailableVRAM finds them; (0, None) when nothing does. `cards` are the
    host's DRM cards (capability._sysfs_cards), for clinfo's Intel guard."""
    node_memory = ghw_node_memory(probe)
    if node_memory > 0:
        return node_memory, "ghw NUMA node memory"
    found = [(nvidia_smi(probe), "nvidia-smi"), (rocm_smi(probe), "rocm-smi")]
    intel = xpu_smi(probe)
    if not intel and any(card["vendor"] == "intel" for card in cards):  # hasGPUVendor(VendorIntel)
        intel = clinfo_intel(probe)
    found.append((intel, "xpu-smi/clinfo"))
    gpus = [(total, source) for totals, source in found for total in totals]
    if not gpus and is_nvidia_soc(probe):
        gpus = [(system_ram(probe), "NVIDIA SoC, system RAM")]
    if not gpus:
        text = _tool(probe, "vulkaninfo", ["--text"])
        gpus = [(total, "vulkaninfo") for total in vulkan_heaps(text or "")]
    total = sum(size for size, _source in gpus)
    if total <= 0:
        return 0, None
    return total, ", ".join(sorted({source for _size, source in gpus}))
