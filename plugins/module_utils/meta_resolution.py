# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which concrete build a meta backend names for a host's capability, and which builds suit a capability.

Deviation from upstream: before `default`, CUDA-versioned capabilities fall back to their vendor key
(`nvidia-cuda-13 -> nvidia`, `nvidia-l4t-cuda-12 -> nvidia-l4t`, ...), so metas that list only the
vendor key still get their GPU build. `nvidia-l4t*` never falls back to `nvidia` (another CPU arch).
"""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils.errors import NoVariantError

VENDOR_FALLBACK = {
    "nvidia-cuda-13": "nvidia", "nvidia-cuda-12": "nvidia",
    "nvidia-l4t-cuda-13": "nvidia-l4t", "nvidia-l4t-cuda-12": "nvidia-l4t",
}


def is_meta(entry: dict) -> bool:
    """A meta backend has a non-empty capabilities map and no uri (concretes inherit the map by anchors)."""
    return bool(entry.get("capabilities")) and not entry.get("uri")


def upstream_key(capabilities: dict[str, str], capability: str) -> str | None:
    """The key LocalAI itself picks: the capability, else `default`, else `cpu`."""
    for key in (capability, "default", "cpu"):
        if capabilities.get(key):
            return key
    return None


def resolve_meta(meta_name: str, capabilities: dict[str, str], capability: str) -> dict:
    """{key, concrete, reason} for a meta backend on a host with `capability`; NoVariantError if none fits."""
    chain = [capability] + ([VENDOR_FALLBACK[capability]] if capability in VENDOR_FALLBACK else []) + ["default", "cpu"]
    for position, key in enumerate(chain):
        if capabilities.get(key):
            if position == 0:
                reason = "exact match for capability %s" % capability
            elif key in ("default", "cpu"):
                reason = "no build for %s; using the %s build" % (capability, key)
            else:
                reason = "no build for %s; using the %s build (vendor fallback)" % (capability, key)
            return {"key": key, "concrete": capabilities[key], "reason": reason}
    offered = ", ".join(sorted(capabilities)) or "none"
    raise NoVariantError("meta backend %s has no build for capability %s (it offers: %s); set the capability "
                         "option to one of those to choose a build" % (meta_name, capability, offered))


def required_capability(name: str, uri: str = "") -> str | None:
    """What a concrete build needs, from its name and uri as LocalAI reads them (None: runs anywhere)."""
    text = ("%s %s" % (name, uri or "")).lower()
    if any(word in text for word in ("darwin", "mlx", "metal")):
        return "metal"
    if "l4t" in text:
        return "nvidia-l4t"
    if "cuda" in text or "nvidia" in text:
        return "nvidia"
    if any(word in text for word in ("rocm", "hip", "amd")):
        return "amd"
    if "sycl" in text or "intel" in text:
        return "intel"
    return None


def is_compatible(name: str, uri: str, capability: str) -> bool:
    if capability == "disable":
        return True
    needed = required_capability(name, uri)
    if needed is None:
        return True
    if needed == "metal":
        return capability in ("metal", "darwin-x86")
    if needed in ("nvidia-l4t", "nvidia"):
        return capability.startswith(needed)
    return capability == needed
