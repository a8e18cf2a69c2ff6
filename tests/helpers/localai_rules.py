# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LocalAI's own install decision (mudler/LocalAI 82c191a), transcribed from Go line by line: the oracle our
meta resolution and compatibility rules are compared with. Each Go line is quoted above its Python."""

from __future__ import annotations

DEFAULT_CAPABILITY = "default"
DISABLE_CAPABILITY = "disable"


def capability_for_map(cap_map: dict, reported: str) -> str:
    """pkg/system/capabilities.go `func (s *SystemState) Capability(capMap map[string]string) string`."""
    # if _, exists := capMap[reportedCapability]; exists { return reportedCapability }
    if reported in cap_map:
        return reported
    # if _, exists := capMap[defaultCapability]; exists { return defaultCapability }
    if DEFAULT_CAPABILITY in cap_map:
        return DEFAULT_CAPABILITY
    # if _, exists := capMap["cpu"]; exists { return "cpu" }
    if "cpu" in cap_map:
        return "cpu"
    # return defaultCapability
    return DEFAULT_CAPABILITY


def is_backend_compatible(name: str, uri: str, capability: str) -> bool:
    """pkg/system/capabilities.go `func (s *SystemState) IsBackendCompatible(name, uri string) bool`."""
    # if s.CapabilityFilterDisabled() { return true }
    if capability == DISABLE_CAPABILITY:
        return True
    # combined := strings.ToLower(name + " " + uri)
    combined = (name + " " + uri).lower()
    # isDarwinBackend := Contains(combined, "darwin") || Contains(combined, "mlx") || Contains(combined, "metal")
    if "darwin" in combined or "mlx" in combined or "metal" in combined:
        # return capability == metal || capability == darwinX86
        return capability in ("metal", "darwin-x86")
    # isL4TBackend := strings.Contains(combined, backendTokenL4T)
    if "l4t" in combined:
        # return strings.HasPrefix(capability, nvidiaL4T)
        return capability.startswith("nvidia-l4t")
    # isNvidiaBackend := strings.Contains(combined, backendTokenCUDA) || strings.Contains(combined, Nvidia)
    if "cuda" in combined or "nvidia" in combined:
        # return strings.HasPrefix(capability, Nvidia)
        return capability.startswith("nvidia")
    # isAMDBackend := Contains(combined, "rocm") || Contains(combined, "hip") || Contains(combined, AMD)
    if "rocm" in combined or "hip" in combined or "amd" in combined:
        # return capability == AMD
        return capability == "amd"
    # isIntelBackend := strings.Contains(combined, backendTokenSYCL) || strings.Contains(combined, Intel)
    if "sycl" in combined or "intel" in combined:
        # return capability == Intel
        return capability == "intel"
    # CPU backends are always compatible: return true
    return True


def is_meta(entry: dict) -> bool:
    """core/gallery/backend_types.go: `return len(m.CapabilitiesMap) > 0 && m.URI == ""`."""
    return bool(entry.get("capabilities")) and not entry.get("uri")


def is_compatible_with(entry: dict, capability: str) -> bool:
    """core/gallery/backend_types.go `func (m *GalleryBackend) IsCompatibleWith(systemState) bool`."""
    # if systemState.CapabilityFilterDisabled() { return true }
    if capability == DISABLE_CAPABILITY:
        return True
    # if m.IsMeta() { capability := systemState.Capability(m.CapabilitiesMap); _, exists := m.CapabilitiesMap[..]
    if is_meta(entry):
        return capability_for_map(entry["capabilities"], capability) in entry["capabilities"]
    # return systemState.IsBackendCompatible(m.Name, m.URI)
    return is_backend_compatible(entry["name"], entry.get("uri") or "", capability)


def find_by_name(entries: list[dict], name: str) -> dict | None:
    """core/gallery/gallery.go FindByName / FindGalleryElement: `strings.EqualFold(m.GetName(), name)`."""
    return next((entry for entry in entries if str(entry.get("name", "")).lower() == name.lower()), None)


def available_backends(entries: list[dict], capability: str) -> list[dict]:
    """core/gallery/gallery.go AvailableBackends: `return backend.IsCompatibleWith(systemState)` for each entry."""
    return [entry for entry in entries if is_compatible_with(entry, capability)]


def install_backend_from_gallery(entries: list[dict], name: str, capability: str,
                                 available: list[dict] | None = None) -> str | None:
    """core/gallery/backends.go InstallBackendFromGallery: the concrete build LocalAI installs, None for an error.
    `available` is available_backends(entries, capability), when the caller already has it."""
    # backends, err := AvailableBackends(galleries, systemState)
    if available is None:
        available = available_backends(entries, capability)
    # backend := FindGalleryElement(backends, name); if backend == nil { "no backend found with name %q" }
    backend = find_by_name(available, name)
    if backend is None:
        return None
    # if backend.IsMeta() { bestBackend := backend.FindBestBackendFromMeta(systemState, backends)
    if is_meta(backend):
        # realBackend := backend.CapabilitiesMap[systemState.Capability(backend.CapabilitiesMap)]
        real_backend = backend["capabilities"].get(capability_for_map(backend["capabilities"], capability)) or ""
        # if realBackend == "" { return nil }
        if not real_backend:
            return None
        # return backends.FindByName(realBackend)
        best = find_by_name(available, real_backend)
        return best["name"] if best else None
    return backend["name"]
