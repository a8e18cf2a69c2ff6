# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which concrete build a gallery entry means on a host, by LocalAI's rules (core/gallery/backends.go
InstallBackendFromGallery, backend_types.go FindBestBackendFromMeta and IsCompatibleWith,
pkg/system/capabilities.go Capability and IsBackendCompatible).

LocalAI takes the map's key for the host's capability, else `default`, else `cpu`; and it installs only builds
compatible with the host (AvailableBackends filters every entry with IsCompatibleWith first), so a build for
another OS or accelerator is refused, not installed.

Deviation (docs/behaviour.md, Meta resolution): before `default`, a CUDA-versioned capability falls back to its
vendor key (`nvidia-cuda-12 -> nvidia`, `nvidia-l4t-cuda-13 -> nvidia-l4t`), so metas that list only the vendor
key get their GPU build. Only when that build is for the host's CUDA major version (or L4T generation): a CUDA 13
build on a CUDA 12 host is never chosen; the chain goes on to `default` and `cpu`, as LocalAI's. `nvidia-l4t*`
never falls back to `nvidia` (another CPU architecture).
"""

from __future__ import annotations

import re

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    BackendError,
    IncompatibleBackendError,
    NoVariantError,
)

VENDOR_FALLBACK = {
    "nvidia-cuda-13": "nvidia", "nvidia-cuda-12": "nvidia",
    "nvidia-l4t-cuda-13": "nvidia-l4t", "nvidia-l4t-cuda-12": "nvidia-l4t",
}
_CUDA_MAJOR = re.compile(r"cuda-?(\d+)")
# L4T builds without a CUDA marker are JetPack 6's, CUDA 12: in LocalAI's gallery every `nvidia-l4t-cuda-12` key
# names such a build (`nvidia-l4t-arm64-llama-cpp`), and the CUDA 13 ones say so (`cuda13-nvidia-l4t-arm64-...`).
_L4T_UNMARKED_CUDA = 12
_NEEDS = {"metal": "macOS (capability metal or darwin-x86)", "nvidia-l4t": "NVIDIA Jetson (capability nvidia-l4t*)",
          "nvidia": "NVIDIA GPUs (capability nvidia*)", "amd": "AMD GPUs (capability amd)",
          "intel": "Intel GPUs (capability intel)"}


def is_meta(entry: dict) -> bool:
    """A meta backend has a non-empty capabilities map and no uri (concretes inherit the map by anchors)."""
    return bool(entry.get("capabilities")) and not entry.get("uri")


def host_cuda_major(capability: str) -> int | None:
    """The CUDA major version a capability names (`nvidia-cuda-12`, `nvidia-l4t-cuda-13`), if any."""
    match = _CUDA_MAJOR.search(capability)
    return int(match.group(1)) if match else None


def build_cuda_major(name: str, uri: str = "") -> int | None:
    """The CUDA major version a build is for, from its name and uri (`cuda12-...`, `...-cuda-13-...`); an L4T build
    without a marker is CUDA 12; None for a build that says nothing of CUDA."""
    text = ("%s %s" % (name, uri or "")).lower()
    match = _CUDA_MAJOR.search(text)
    if match:
        return int(match.group(1))
    return _L4T_UNMARKED_CUDA if "l4t" in text else None


def _vendor_build_mismatch(capability: str, concrete: str, uri: str) -> str | None:
    """Why the vendor key's build cannot run on this host (None: it can): another CUDA major or L4T generation."""
    host = host_cuda_major(capability)
    build = build_cuda_major(concrete, uri)
    if host is None or build is None or host == build:
        return None
    return "its %s build %s is for CUDA %d, this host has CUDA %d" % (VENDOR_FALLBACK[capability], concrete, build,
                                                                      host)


def resolve_meta(meta_name: str, capabilities: dict[str, str], capability: str,
                 candidates: dict[str, dict] | None = None) -> dict:
    """{key, concrete, reason} for a meta backend on a host with `capability`; NoVariantError if none fits.

    `candidates` ({build name: entry}) gives the builds' uris, which the CUDA version check reads besides names.
    """
    fallback = VENDOR_FALLBACK.get(capability)
    chain = [capability] + ([fallback] if fallback else []) + ["default", "cpu"]
    refused = None
    for position, key in enumerate(chain):
        concrete = capabilities.get(key)
        if not concrete:
            continue
        if position and key == fallback:
            build_uri = ((candidates or {}).get(concrete) or {}).get("uri") or ""
            refused = _vendor_build_mismatch(capability, concrete, build_uri)
            if refused:
                continue
        if position == 0:
            reason = "exact match for capability %s" % capability
        elif key in ("default", "cpu"):
            reason = "no build for %s; using the %s build%s" % (capability, key, " (%s)" % refused if refused else "")
        else:
            reason = "no build for %s; using the %s build (vendor fallback)" % (capability, key)
        return {"key": key, "concrete": concrete, "reason": reason}
    offered = ", ".join("%s: %s" % (key, capabilities[key]) for key in sorted(capabilities)) or "none"
    raise NoVariantError("meta backend %s has no build for capability %s%s (it offers %s); set the capability option "
                         "to one of those to choose a build" % (meta_name, capability,
                                                                " (%s)" % refused if refused else "", offered))


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
    """LocalAI's SystemState.IsBackendCompatible (pkg/system/capabilities.go)."""
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


def check_compatible(name: str, uri: str, capability: str, force: bool = False) -> str | None:
    """A gallery build LocalAI would not install on this host is refused (its AvailableBackends filters it out);
    `force` installs it anyway, and the warning returned says so. None when it is compatible."""
    if is_compatible(name, uri, capability):
        return None
    message = "backend %s is built for %s, and LocalAI does not install it on capability %s" % (
        name, _NEEDS[required_capability(name, uri)], capability)
    if force:
        return message + "; installing it anyway (force: true)"
    raise IncompatibleBackendError(message + " (core/gallery/backend_types.go IsCompatibleWith): choose another "
                                   "build, set the capability option, or force: true to install it anyway")


def choose_build(entry: dict, capability: str, candidates: dict[str, dict] | None = None,
                 force: bool = False) -> tuple[dict, dict | None, str | None]:
    """(build entry, meta choice or None, warning or None): what a gallery entry installs on a host, as LocalAI
    decides (a meta's build for the capability, then the compatibility filter), with our vendor deviation.

    Raises NoVariantError (no build for the capability), IncompatibleBackendError (LocalAI would not install the
    build here; `force` turns it into the warning) and BackendError (a meta names a build no gallery has)."""
    choice = None
    if is_meta(entry):
        choice = resolve_meta(entry["name"], entry["capabilities"], capability, candidates)
        build = (candidates or {}).get(choice["concrete"])
        if build is None:
            raise BackendError("meta backend %s names %s for %s, but no gallery has an entry with that name and a uri"
                               % (entry["name"], choice["concrete"], choice["key"]))
    else:
        build = entry
    warning = check_compatible(build["name"], build.get("uri") or "", capability, force)
    return build, choice, warning
