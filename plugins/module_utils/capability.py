# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which accelerator a host has, and the LocalAI capability string that follows (docs/behaviour.md order).

As LocalAI (pkg/system/capabilities.go), a GPU with 4 GiB of VRAM or less, or whose VRAM none of LocalAI's sources
can read (vram.py), gives `default`.
"""

from __future__ import annotations

import glob
import os
import platform

from ansible_collections.localai.gallery.plugins.module_utils.errors import InvalidCapabilityError
from ansible_collections.localai.gallery.plugins.module_utils.vram import MIB, is_nvidia_soc, total_vram

FORCE_ENV = "LOCALAI_FORCE_META_BACKEND_CAPABILITY"
RUN_FILE_ENV = "LOCALAI_FORCE_META_BACKEND_CAPABILITY_RUN_FILE"
DEFAULT_RUN_FILE = "/run/localai/capability"
LOW_VRAM_BYTES = 4 * 1024 ** 3
PCI_VENDORS = {"0x10de": "nvidia", "0x1002": "amd", "0x8086": "intel"}
VENDOR_PRIORITY = ("nvidia", "amd", "intel")
VENDOR_TOOLS = (("nvidia-smi", "nvidia"), ("rocm-smi", "amd"), ("xpu-smi", "intel"), ("intel_gpu_top", "intel"))
# The capabilities LocalAI detects or documents (pkg/system/capabilities.go); `cpu` is a map key metas use.
KNOWN_CAPABILITIES = ("default", "nvidia", "nvidia-cuda-12", "nvidia-cuda-13", "nvidia-l4t", "nvidia-l4t-cuda-12",
                      "nvidia-l4t-cuda-13", "amd", "intel", "vulkan", "metal", "darwin-x86")
# Build tags preferred among installed builds sharing an alias (backendBuildTagPreferenceRules), matched by
# capability prefix in this order; anything else prefers cpu.
_PREFERENCE_RULES = (("nvidia", ("cuda", "vulkan", "cpu")), ("amd", ("rocm", "hip", "vulkan", "cpu")),
                     ("intel", ("sycl", "intel", "cpu")), ("metal", ("metal", "cpu")),
                     ("darwin-x86", ("darwin-x86", "cpu")), ("vulkan", ("vulkan", "cpu")))


def preference_tokens(capability: str) -> tuple[str, ...]:
    """LocalAI's SystemState.BackendPreferenceTokens for a capability."""
    lowered = capability.lower()
    for prefix, tokens in _PREFERENCE_RULES:
        if lowered.startswith(prefix):
            return tokens
    return ("cpu",)


def validate_capability_option(value: str | None, meta_keys=()) -> str | None:
    """The capability option must be known, `cpu`, or a key of the meta's map; else one clear error."""
    if value is None or value == "":
        return None
    extra_keys = sorted(key for key in meta_keys if key not in KNOWN_CAPABILITIES and key != "cpu")
    valid = list(KNOWN_CAPABILITIES) + ["cpu"] + extra_keys
    if value not in valid:
        raise InvalidCapabilityError("invalid capability %r: use one of %s (or leave it unset to detect the host's)"
                                     % (value, ", ".join(valid)))
    return value


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


class HostProbe:
    """Everything detection reads, behind one seam: a filesystem root, the environment, tools and the OS.

    `find_tool(name)` returns a path or None; `run(argv)` returns (rc, stdout, stderr), as
    AnsibleModule.get_bin_path and run_command do.
    """

    def __init__(self, find_tool, run, root: str = "/", environ: dict[str, str] | None = None,
                 system: str | None = None, machine: str | None = None) -> None:
        self.find_tool = find_tool
        self.run = run
        self.root = root
        self.environ = os.environ if environ is None else environ
        self.system = (system or platform.system()).lower()
        self.machine = (machine or platform.machine()).lower()

    where = ""  # where LocalAI runs, when that is not the host itself (localai_target.py)

    def path(self, absolute: str) -> str:
        return os.path.join(self.root, absolute.lstrip("/"))

    def read_text(self, absolute: str) -> str | None:
        """A file LocalAI reads (its capability run file), stripped; None when it cannot be read."""
        return _read_text(self.path(absolute))

    def has_dir(self, absolute: str) -> bool:
        return os.path.isdir(self.path(absolute))


def _sysfs_cards(probe: HostProbe) -> list[dict]:
    cards = []
    for vendor_file in sorted(glob.glob(probe.path("/sys/class/drm/card*/device/vendor"))):
        card = vendor_file.split(os.sep)[-3]
        if "-" in card:  # connectors such as card1-DP-1
            continue
        pci_id = (_read_text(vendor_file) or "").lower()
        vendor = PCI_VENDORS.get(pci_id)
        if vendor is None:
            continue
        vram = _read_text(os.path.join(os.path.dirname(vendor_file), "mem_info_vram_total"))
        cards.append({"card": card, "vendor": vendor, "pci_vendor_id": pci_id,
                      "vram_bytes": int(vram) if vram and vram.isdigit() else None})
    return cards


def detect_gpus(probe: HostProbe) -> dict:
    """{vendor, vram_bytes, vram_source, gpus, vendor_source}: vendor by sysfs PCI ids, then tools, Tegra,
    vulkaninfo; VRAM as LocalAI counts it (None where it finds none)."""
    cards = _sysfs_cards(probe)
    vendor, source = None, None
    found = {card["vendor"] for card in cards}
    for candidate in VENDOR_PRIORITY:
        if candidate in found:
            vendor, source = candidate, "sysfs"
            break
    if vendor is None:
        for tool, tool_vendor in VENDOR_TOOLS:
            if probe.find_tool(tool):
                vendor, source = tool_vendor, tool
                break
    if vendor is None and is_nvidia_soc(probe):
        vendor, source = "nvidia", "tegra"
    if vendor is None and probe.find_tool("vulkaninfo"):
        vendor, source = "vulkan", "vulkaninfo"
    vram, vram_source = total_vram(probe, cards) if vendor else (0, None)
    return {"vendor": vendor, "vram_bytes": vram or None, "vram_source": vram_source, "gpus": cards,
            "vendor_source": source}


def _cuda_suffix(probe: HostProbe) -> str | None:
    for version in ("13", "12"):
        if probe.has_dir("/usr/local/cuda-%s" % version):
            return "cuda-" + version
    return None


def detect_capability(probe: HostProbe, override: str | None = None, gpu: dict | None = None) -> dict:
    """{capability, source, reason}; `gpu` is detect_gpus() output (computed when not given)."""
    if override:
        return {"capability": override, "source": "option", "reason": "capability option"}
    found = _detect(probe, gpu)
    if probe.where:
        found["reason"] += ", as LocalAI sees it in %s" % probe.where
    return found


def _detect(probe: HostProbe, gpu: dict | None) -> dict:
    forced = probe.environ.get(FORCE_ENV)
    if forced:
        return {"capability": forced, "source": "env", "reason": "environment variable %s" % FORCE_ENV}
    run_file = probe.environ.get(RUN_FILE_ENV) or DEFAULT_RUN_FILE
    from_file = probe.read_text(run_file)
    if from_file == "":
        # LocalAI takes an empty file as the capability "", which no meta names: it falls back as `default` does.
        return {"capability": "default", "source": "run_file", "reason": "run file %s is empty" % run_file}
    if from_file:
        return {"capability": from_file, "source": "run_file", "reason": "run file %s" % run_file}
    if probe.system == "darwin":
        capability = "metal" if probe.machine == "arm64" else "darwin-x86"
        return {"capability": capability, "source": "detected", "reason": "macOS on %s" % probe.machine}
    gpu = gpu if gpu is not None else detect_gpus(probe)
    vendor, vram = gpu["vendor"], gpu["vram_bytes"]
    if probe.machine in ("aarch64", "arm64") and vendor == "nvidia":
        suffix = _cuda_suffix(probe)
        capability = "nvidia-l4t-" + suffix if suffix else "nvidia-l4t"
        return {"capability": capability, "source": "detected", "reason": "NVIDIA GPU on arm64 (L4T)"}
    if vendor is None:
        return {"capability": "default", "source": "detected", "reason": "no GPU found"}
    if vram is None:
        return {"capability": "default", "source": "detected",
                "reason": "%s GPU whose VRAM LocalAI cannot read (it counts it as 0, so 4 GiB or less)" % vendor}
    if vram <= LOW_VRAM_BYTES:
        return {"capability": "default", "source": "detected",
                "reason": "%s GPU with %d MiB VRAM (4 GiB or less)" % (vendor, vram // MIB)}
    vram_text = "%d MiB VRAM" % (vram // MIB)
    if vendor == "nvidia":
        suffix = _cuda_suffix(probe)
        capability = "nvidia-" + suffix if suffix else "nvidia"
        return {"capability": capability, "source": "detected", "reason": "NVIDIA GPU, %s" % vram_text}
    return {"capability": vendor, "source": "detected", "reason": "%s GPU, %s" % (vendor, vram_text)}
