# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LocalAI's own Go test cases (mudler/LocalAI at 82c191a), transcribed row by row.

LocalAI's code and tests are the oracle: each row names the upstream test (file:line "title") it comes
from, or the upstream code line it pins down where no upstream test covers the rule. Rows where we
deviate on purpose name the docs/behaviour.md deviation instead of upstream's expectation.
"""

from __future__ import annotations

import gzip
import json
import os

import pytest

from helpers import localai_rules
from helpers.engine import Engine
from helpers.trees import listing, read_metadata_at, removal_plan

from ansible_collections.localai.gallery.plugins.module_utils.capability import (
    HostProbe,
    detect_capability,
    preference_tokens,
)
from ansible_collections.localai.gallery.plugins.module_utils.install_plan import (
    InstallPlanner,
    ConcreteBackend,
)
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    BackendError,
    IncompatibleBackendError,
    NoVariantError,
)
from ansible_collections.localai.gallery.plugins.module_utils.meta_resolution import (
    VENDOR_FALLBACK,
    build_cuda_major,
    choose_build,
    host_cuda_major,
    is_compatible,
    is_meta,
    resolve_meta,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore
from ansible_collections.localai.gallery.plugins.module_utils.upgrade_check import check_upgrades
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import find_entry, meta_candidates
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import parse_gallery

GIB = 1024 ** 3
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "localai-backend-index.yaml.gz")
# Every capability LocalAI detects or documents (pkg/system/capabilities.go), and the filter switched off.
ALL_CAPABILITIES = ["default", "nvidia", "nvidia-cuda-12", "nvidia-cuda-13", "nvidia-l4t", "nvidia-l4t-cuda-12",
                    "nvidia-l4t-cuda-13", "amd", "intel", "vulkan", "metal", "darwin-x86"]
CAPS_TEST = "pkg/system/capabilities_test.go"
BACKENDS_TEST = "core/gallery/backends_test.go"
UPGRADE_TEST = "core/gallery/upgrade_test.go"
VERSION_TEST = "core/gallery/backends_version_test.go"


def backend(root, directory, metadata=None, run=True):
    """A backend directory as the upstream tests make them (os.MkdirAll, run.sh, json metadata)."""
    path = os.path.join(str(root), directory)
    os.makedirs(path, exist_ok=True)
    if run:
        with open(os.path.join(path, "run.sh"), "w", encoding="utf-8") as handle:
            handle.write("")
    if metadata is not None:
        with open(os.path.join(path, "metadata.json"), "w", encoding="utf-8") as handle:
            handle.write(metadata if isinstance(metadata, str) else json.dumps(metadata))
    return path


# --- capability detection -------------------------------------------------------------------------------
def _probe(tmp_path, cuda12: bool, cuda13: bool) -> HostProbe:
    root = tmp_path / "root"
    for version, present in (("12", cuda12), ("13", cuda13)):
        if present:
            (root / ("usr/local/cuda-" + version)).mkdir(parents=True)
    root.mkdir(exist_ok=True)
    return HostProbe(find_tool=lambda name: None, run=None, root=str(root), environ={}, system="Linux",
                     machine="x86_64")


@pytest.mark.parametrize("source, vendor, vram, cuda12, cuda13, capability, tokens", [
    (CAPS_TEST + ':64 "CUDA dir present but no GPU"', None, 0, True, False, "default", ("cpu",)),
    (CAPS_TEST + ':72 "CUDA 12 with NVIDIA GPU"', "nvidia", 8 * GIB, True, False, "nvidia-cuda-12",
     ("cuda", "vulkan", "cpu")),
    (CAPS_TEST + ':80 "CUDA 13 with NVIDIA GPU"', "nvidia", 8 * GIB, False, True, "nvidia-cuda-13",
     ("cuda", "vulkan", "cpu")),
    (CAPS_TEST + ':88 "Both CUDA dirs with NVIDIA GPU prefers 13"', "nvidia", 8 * GIB, True, True, "nvidia-cuda-13",
     ("cuda", "vulkan", "cpu")),
    (CAPS_TEST + ':96 "CUDA dir with AMD GPU ignored"', "amd", 8 * GIB, True, False, "amd",
     ("rocm", "hip", "vulkan", "cpu")),
    (CAPS_TEST + ':104 "No CUDA dir and no GPU"', None, 0, False, False, "default", ("cpu",)),
    (CAPS_TEST + ':112 "No CUDA dir with NVIDIA GPU"', "nvidia", 8 * GIB, False, False, "nvidia",
     ("cuda", "vulkan", "cpu")),
    (CAPS_TEST + ':120 "CUDA dir with NVIDIA GPU but low VRAM"', "nvidia", 2 * GIB, True, False, "default", ("cpu",)),
    ("pkg/xsysinfo/gpu.go TotalAvailableVRAM `return 0, nil`: VRAM nothing reads is 0, so default", "nvidia",
     None, True, False, "default", ("cpu",)),
])
def test_capability_detection(tmp_path, source, vendor, vram, cuda12, cuda13, capability, tokens):
    del source
    found = detect_capability(_probe(tmp_path, cuda12, cuda13), None, {"vendor": vendor, "vram_bytes": vram})
    assert found["capability"] == capability
    assert preference_tokens(found["capability"]) == tokens


@pytest.mark.parametrize("source, capability, tokens", [
    (CAPS_TEST + ':165 Entry("nvidia")', "nvidia-cuda-12", ("cuda", "vulkan", "cpu")),
    (CAPS_TEST + ':166 Entry("amd")', "amd", ("rocm", "hip", "vulkan", "cpu")),
    (CAPS_TEST + ':167 Entry("intel")', "intel", ("sycl", "intel", "cpu")),
    (CAPS_TEST + ':168 Entry("metal")', "metal", ("metal", "cpu")),
    (CAPS_TEST + ':169 Entry("darwin-x86")', "darwin-x86", ("darwin-x86", "cpu")),
    (CAPS_TEST + ':170 Entry("vulkan")', "vulkan", ("vulkan", "cpu")),
    (CAPS_TEST + ':171 Entry("unknown capability")', "some-future-accelerator", ("cpu",)),
    (CAPS_TEST + ':184 "matches a capability by prefix so a refined one keeps its vendor order"',
     "nvidia-l4t-cuda-13", ("cuda", "vulkan", "cpu")),
    ("pkg/system/capabilities.go:454 preferenceTokens lowercases the capability", "AMD",
     ("rocm", "hip", "vulkan", "cpu")),
])
def test_backend_preference_tokens(source, capability, tokens):
    del source
    assert preference_tokens(capability) == tokens


# --- meta resolution ------------------------------------------------------------------------------------
FIVE_WAY = {"nvidia": "nvidia-backend", "amd": "amd-backend", "intel": "intel-backend", "metal": "metal-backend",
            "default": "default-backend"}


@pytest.mark.parametrize("source, capability, capabilities, concrete", [
    (BACKENDS_TEST + ':502 "should find best backend from meta" (NVIDIA system state)', "nvidia", FIVE_WAY,
     "nvidia-backend"),
    (BACKENDS_TEST + ':502 (AMD system state)', "amd", FIVE_WAY, "amd-backend"),
    (BACKENDS_TEST + ':502 (default system state, not enough VRAM)', "default", FIVE_WAY, "default-backend"),
    (BACKENDS_TEST + ':502 (unsupported GPU vendor, no default key)', "unsupported",
     {key: value for key, value in FIVE_WAY.items() if key != "default"}, None),
    ("pkg/system/capabilities.go:324 Capability(): a map without default falls back to cpu (vllm)", "default",
     {"nvidia": "cuda12-vllm", "amd": "rocm-vllm", "cpu": "cpu-vllm"}, "cpu-vllm"),
    ("pkg/system/capabilities.go:310 Capability(): the reported capability when the map has it", "nvidia-cuda-12",
     {"nvidia-cuda-12": "cuda12-x", "nvidia": "cuda-x", "default": "cpu-x"}, "cuda12-x"),
])
def test_meta_resolution(source, capability, capabilities, concrete):
    del source
    assert capabilities.get(localai_rules.capability_for_map(capabilities, capability)) == concrete
    if concrete is None:
        with pytest.raises(NoVariantError, match="has no build for capability unsupported"):
            resolve_meta("meta-backend", capabilities, capability)
    else:
        assert resolve_meta("meta-backend", capabilities, capability)["concrete"] == concrete


def test_meta_resolution_deviation_vendor_key():
    """Deviation (docs/behaviour.md, Meta resolution): upstream gives `rerankers` on a CUDA 12 host its cpu/
    default build or none; we try the vendor key before default, when its build is for the host's CUDA."""
    capabilities = {"nvidia": "cuda12-rerankers", "amd": "rocm-rerankers"}
    assert localai_rules.capability_for_map(capabilities, "nvidia-cuda-12") not in capabilities
    assert resolve_meta("rerankers", capabilities, "nvidia-cuda-12")["concrete"] == "cuda12-rerankers"
    # Never a build for another CUDA major version: on a CUDA 13 host, none (LocalAI refuses too).
    with pytest.raises(NoVariantError, match="rerankers has no build for capability nvidia-cuda-13 \\(its nvidia build "
                                             "cuda12-rerankers is for CUDA 12, this host has CUDA 13\\) \\(it offers "
                                             "amd: rocm-rerankers, nvidia: cuda12-rerankers\\)"):
        resolve_meta("rerankers", capabilities, "nvidia-cuda-13")


def test_the_vendor_key_never_gives_another_cuda_major_version():
    """ds4 lists `nvidia: cuda13-ds4` and `default: cpu-ds4`: on a CUDA 12 host LocalAI's Capability() gives
    `default` (pkg/system/capabilities.go:318), and so do we (the vendor key's build is for CUDA 13)."""
    capabilities = {"default": "cpu-ds4", "nvidia": "cuda13-ds4", "nvidia-cuda-13": "cuda13-ds4"}
    choice = resolve_meta("ds4", capabilities, "nvidia-cuda-12")
    assert choice["concrete"] == "cpu-ds4" and choice["key"] == "default"
    assert "cuda13-ds4 is for CUDA 13, this host has CUDA 12" in choice["reason"]
    l4t = {"nvidia-l4t": "nvidia-l4t-arm64-x", "default": "cpu-x"}  # an unmarked L4T build is JetPack 6's, CUDA 12
    assert resolve_meta("x", l4t, "nvidia-l4t-cuda-12")["concrete"] == "nvidia-l4t-arm64-x"
    assert resolve_meta("x", l4t, "nvidia-l4t-cuda-13")["concrete"] == "cpu-x"
    assert (host_cuda_major("nvidia-l4t-cuda-13"), build_cuda_major("cuda13-nvidia-l4t-arm64-x")) == (13, 13)
    assert host_cuda_major("nvidia") is None and build_cuda_major("vulkan-x", "quay.io/a:latest-gpu-vulkan-x") is None


@pytest.mark.parametrize("capability", ["default", "nvidia", "nvidia-cuda-12", "nvidia-cuda-13", "nvidia-l4t",
                                        "nvidia-l4t-cuda-13", "amd", "intel", "vulkan"])
def test_mlx_is_macos_only(capability):
    """backend_types.go IsCompatibleWith -> capabilities.go IsBackendCompatible: `isDarwinBackend :=
    strings.Contains(combined, backendTokenDarwin) || strings.Contains(combined, backendTokenMLX) || ...
    return capability == metal || capability == darwinX86`: every mlx build is refused off macOS."""
    meta = {"name": "mlx", "capabilities": {"default": "cpu-mlx", "nvidia": "cuda12-mlx", "metal": "metal-mlx",
                                            "nvidia-l4t": "nvidia-l4t-mlx", "nvidia-cuda-13": "cuda13-mlx"}}
    candidates = {name: {"name": name, "uri": "quay.io/go-skynet/local-ai-backends:latest-" + name}
                  for name in meta["capabilities"].values()}
    with pytest.raises(IncompatibleBackendError, match="backend .*mlx is built for macOS .* LocalAI does not install "
                                                       "it on capability %s" % capability):
        choose_build(meta, capability, candidates)
    build, _choice, warning = choose_build(meta, capability, candidates, force=True)
    assert "mlx" in build["name"] and "installing it anyway (force: true)" in warning
    assert choose_build(meta, "metal", candidates)[0]["name"] == "metal-mlx"


def test_meta_is_compatible_when_the_capability_resolves():
    """core/gallery/backends_test.go:256 "should check IsCompatibleWith correctly for meta backends": a meta with
    nvidia, amd and default keys is compatible with no state, an NVIDIA state and a default state."""
    meta = {"name": "meta-backend", "capabilities": {"nvidia": "nvidia-backend", "amd": "amd-backend",
                                                     "default": "default-backend"}}
    candidates = {name: {"name": name, "uri": "quay.io/mudler/tests:" + name} for name in meta["capabilities"].values()}
    for capability in ("disable", "nvidia", "default"):
        assert localai_rules.is_compatible_with(meta, capability)
        assert choose_build(meta, capability, candidates)[0]["name"] == \
            localai_rules.install_backend_from_gallery(list(candidates.values()) + [meta], "meta-backend", capability)


@pytest.mark.parametrize("source, entry, meta", [
    (BACKENDS_TEST + ':214 "should identify meta backends correctly" (meta)',
     {"name": "meta-backend", "capabilities": {"nvidia": "a", "amd": "b", "intel": "c"}}, True),
    (BACKENDS_TEST + ':214 (regular backend)', {"name": "regular-backend", "uri": "quay.io/mudler/tests:x"}, False),
    (BACKENDS_TEST + ':214 (empty capabilities map)', {"name": "empty-meta-backend", "capabilities": {}}, False),
    (BACKENDS_TEST + ':214 (nil capabilities map)', {"name": "nil-meta-backend", "capabilities": None}, False),
])
def test_is_meta(source, entry, meta):
    del source
    assert is_meta(entry) is meta


# --- compatibility of a concrete -----------------------------------------------------------------------
@pytest.mark.parametrize("source, name, uri, capability, compatible", [
    (BACKENDS_TEST + ':282 "CPU backends should be compatible on all systems"', "cpu-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp", "default", True),
    (BACKENDS_TEST + ':282 (nvidia)', "cpu-llama-cpp", "quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp",
     "nvidia", True),
    (BACKENDS_TEST + ':282 (amd)', "cpu-llama-cpp", "quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp",
     "amd", True),
    (BACKENDS_TEST + ':303 "should be compatible for MLX backend" (darwin)', "mlx",
     "quay.io/go-skynet/local-ai-backends:latest-metal-darwin-arm64-mlx", "metal", True),
    (BACKENDS_TEST + ':313 "should be compatible for metal-llama-cpp backend" (darwin)', "metal-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-metal-darwin-arm64-llama-cpp", "metal", True),
    (BACKENDS_TEST + ':331 "should NOT be compatible for MLX backend" (non-darwin)', "mlx",
     "quay.io/go-skynet/local-ai-backends:latest-metal-darwin-arm64-mlx", "default", False),
    (BACKENDS_TEST + ':341 "should NOT be compatible for metal-llama-cpp backend"', "metal-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-metal-darwin-arm64-llama-cpp", "default", False),
    (BACKENDS_TEST + ':361 "should NOT be compatible without nvidia GPU"', "cuda12-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-12-llama-cpp", "default", False),
    (BACKENDS_TEST + ':361 (AMD GPU)', "cuda12-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-12-llama-cpp", "amd", False),
    (BACKENDS_TEST + ':372 "should be compatible with nvidia GPU"', "cuda12-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-12-llama-cpp", "nvidia", True),
    (BACKENDS_TEST + ':382 "should be compatible with cuda13 backend on nvidia GPU"', "cuda13-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-13-llama-cpp", "nvidia", True),
    (BACKENDS_TEST + ':402 "should NOT be compatible without AMD GPU"', "rocm-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-rocm-hipblas-llama-cpp", "default", False),
    (BACKENDS_TEST + ':402 (NVIDIA GPU)', "rocm-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-rocm-hipblas-llama-cpp", "nvidia", False),
    (BACKENDS_TEST + ':413 "should be compatible with AMD GPU"', "rocm-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-rocm-hipblas-llama-cpp", "amd", True),
    (BACKENDS_TEST + ':423 "should be compatible with hipblas backend on AMD GPU"', "hip-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-hip-llama-cpp", "amd", True),
    (BACKENDS_TEST + ':443 "should NOT be compatible without Intel GPU"', "intel-sycl-f16-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-intel-sycl-f16-llama-cpp", "default", False),
    (BACKENDS_TEST + ':443 (NVIDIA GPU)', "intel-sycl-f16-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-intel-sycl-f16-llama-cpp", "nvidia", False),
    (BACKENDS_TEST + ':454 "should be compatible with Intel GPU"', "intel-sycl-f16-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-intel-sycl-f16-llama-cpp", "intel", True),
    (BACKENDS_TEST + ':464 "intel-sycl-f32 backend on Intel GPU"', "intel-sycl-f32-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-intel-sycl-f32-llama-cpp", "intel", True),
    (BACKENDS_TEST + ':474 "intel-transformers backend on Intel GPU"', "intel-transformers",
     "quay.io/go-skynet/local-ai-backends:latest-intel-transformers", "intel", True),
    (BACKENDS_TEST + ':487 "Vulkan backends should be compatible on CPU-only systems"', "vulkan-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-vulkan-llama-cpp", "default", True),
    ("pkg/system/capabilities.go:502 L4T before the NVIDIA check", "cuda12-nvidia-l4t-arm64-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-nvidia-l4t-arm64-llama-cpp", "nvidia-cuda-12", False),
    ("pkg/system/capabilities.go:302 CapabilityFilterDisabled: `disable` admits everything", "cuda12-llama-cpp",
     "quay.io/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-12-llama-cpp", "disable", True),
])
def test_concrete_compatibility(source, name, uri, capability, compatible):
    del source
    assert is_compatible(name, uri, capability) is compatible


# --- listing (ListSystemBackends) ----------------------------------------------------------------------
@pytest.mark.parametrize("source, capability, chosen", [
    (BACKENDS_TEST + ':71 "ListSystemBackends prefers optimal alias candidate" (forced cpu)', "cpu",
     "cpu-llama-cpp"),
    (BACKENDS_TEST + ':71 (forced nvidia)', "nvidia", "cuda12-llama-cpp"),
])
def test_alias_preference(tmp_path, source, capability, chosen):
    del source
    backend(tmp_path, "cpu-llama-cpp", {"alias": "llama-cpp", "name": "cpu-llama-cpp"})
    backend(tmp_path, "cuda12-llama-cpp", {"alias": "llama-cpp", "name": "cuda12-llama-cpp"})
    rows, _warnings = listing(str(tmp_path), None, capability)
    assert rows["llama-cpp"]["run_file"] == os.path.join(str(tmp_path), chosen, "run.sh")
    assert "cpu-llama-cpp" in rows and "cuda12-llama-cpp" in rows  # concrete entries remain


def test_list_meta_backends(tmp_path):
    """backends_test.go:826 "should list meta backends correctly in system backends"."""
    backend(tmp_path, "meta-backend", {"meta_backend_for": "concrete-backend", "name": "meta-backend",
                                       "installed_at": "2023-01-01T00:00:00Z"}, run=False)
    backend(tmp_path, "concrete-backend", "{}")
    rows, _warnings = listing(str(tmp_path), None, "default")
    concrete_run = os.path.join(str(tmp_path), "concrete-backend", "run.sh")
    assert rows["meta-backend"]["is_meta"] and rows["meta-backend"]["run_file"] == concrete_run
    assert rows["concrete-backend"]["run_file"] == concrete_run


def test_list_backends_without_aliases(tmp_path):
    """backends_test.go:1091 "should list backends without aliases"."""
    for name in ("backend1", "backend2", "backend3"):
        backend(tmp_path, name, "{}")
    rows, _warnings = listing(str(tmp_path), None, "default")
    assert sorted(rows) == ["backend1", "backend2", "backend3"]
    assert all(rows[name]["run_file"] == os.path.join(str(tmp_path), name, "run.sh") for name in rows)


def test_list_backends_with_aliases(tmp_path):
    """backends_test.go:1118 "should handle backends with aliases"."""
    backend(tmp_path, "backend1", {"alias": "alias1", "name": "backend1", "installed_at": "2023-01-01T00:00:00Z"})
    rows, _warnings = listing(str(tmp_path), None, "default")
    assert rows["alias1"]["run_file"] == os.path.join(str(tmp_path), "backend1", "run.sh")


def test_missing_backends_path_deviation(tmp_path):
    """backends_test.go:1151 "should return error when base path doesn't exist": upstream fails.
    Deviation (docs/behaviour.md, Listing): a missing backends path is an empty list."""
    assert listing(str(tmp_path / "foobardir"), None, "default") == ({}, [])


def test_orphaned_meta_is_listed_but_not_runnable(tmp_path):
    """backends_test.go:1063 "re-runs install when the meta's concrete is missing" (isBackendRunnable false)."""
    backend(tmp_path, "meta-orphan", {"name": "meta-orphan", "meta_backend_for": "concrete-gone"}, run=False)
    rows, _warnings = listing(str(tmp_path), None, "default")
    assert rows["meta-orphan"]["is_meta"] and rows["meta-orphan"]["runnable"] is False


def test_alias_named_like_its_meta_wins_over_the_meta_row(tmp_path):
    """backends_test.go:743 "meta backend deletion correctly with aliases pointing to the same backend":
    the alias row (written last) replaces the meta row; both run the concrete's run.sh."""
    backend(tmp_path, "meta-backend", {"meta_backend_for": "nvidia-backend", "name": "meta-backend"}, run=False)
    backend(tmp_path, "nvidia-backend", {"alias": "meta-backend", "name": "nvidia-backend"})
    rows, _warnings = listing(str(tmp_path), None, "nvidia")
    assert rows["meta-backend"]["run_file"] == os.path.join(str(tmp_path), "nvidia-backend", "run.sh")
    assert rows["meta-backend"]["is_alias"]


def test_alias_candidates_count_without_run_sh(tmp_path):
    """core/gallery/backends.go:697-699 every directory with an alias is a candidate (runFile is always set):
    on an nvidia host the cuda build is chosen even when its run.sh is gone, and the row is not runnable."""
    backend(tmp_path, "cpu-llama-cpp", {"alias": "llama-cpp", "name": "cpu-llama-cpp"})
    backend(tmp_path, "cuda12-llama-cpp", {"alias": "llama-cpp", "name": "cuda12-llama-cpp"}, run=False)
    rows, _warnings = listing(str(tmp_path), None, "nvidia-cuda-12")
    assert rows["llama-cpp"]["directory"] == "cuda12-llama-cpp" and rows["llama-cpp"]["runnable"] is False
    assert "cuda12-llama-cpp" not in rows  # no concrete row without run.sh


def test_alias_tokens_match_lowercased_directory_names(tmp_path):
    """core/gallery/backends.go:720 strings.Contains(strings.ToLower(c.name), t)."""
    backend(tmp_path, "A-CPU-build", {"alias": "x"})
    backend(tmp_path, "B-CUDA-build", {"alias": "x"})
    assert listing(str(tmp_path), None, "nvidia")[0]["x"]["directory"] == "B-CUDA-build"
    assert listing(str(tmp_path), None, "amd")[0]["x"]["directory"] == "A-CPU-build"


def test_rows_follow_directory_order_concrete_then_meta(tmp_path):
    """core/gallery/backends.go:687-710: per directory in name order, the concrete row, then the meta row keyed
    by metadata name; a later directory's concrete row replaces an earlier meta row of the same name."""
    backend(tmp_path, "a-meta", {"meta_backend_for": "cpu-x", "name": "z-concrete"}, run=False)
    backend(tmp_path, "cpu-x", {"name": "cpu-x"})
    backend(tmp_path, "z-concrete", {"name": "z-concrete"})
    rows, _warnings = listing(str(tmp_path), None, "default")
    assert rows["z-concrete"]["is_meta"] is False and rows["z-concrete"]["directory"] == "z-concrete"


def test_a_link_to_a_directory_is_not_a_backend(tmp_path):
    """core/gallery/backends.go:654-663 os.ReadDir + e.IsDir(): a symlink to a backend directory is skipped."""
    real = backend(tmp_path / "elsewhere", "cpu-x", {"name": "cpu-x"})
    (tmp_path / "backends").mkdir()
    os.symlink(real, str(tmp_path / "backends" / "linked"))
    assert listing(str(tmp_path / "backends"), None, "default") == ({}, [])


# --- removal (DeleteBackendFromSystem) -----------------------------------------------------------------
@pytest.mark.parametrize("source, layout, name, removed", [
    (BACKENDS_TEST + ':581 "should handle meta backend deletion correctly"',
     [("meta-backend", {"meta_backend_for": "nvidia-backend", "name": "meta-backend"}, False),
      ("nvidia-backend", {"name": "nvidia-backend"}, True)], "meta-backend", ["meta-backend", "nvidia-backend"]),
    (BACKENDS_TEST + ':659 "meta backend deletion correctly with aliases"',
     [("meta-backend", {"meta_backend_for": "nvidia-backend", "name": "meta-backend"}, False),
      ("nvidia-backend", {"alias": "backend-alias", "name": "nvidia-backend"}, True)],
     "meta-backend", ["meta-backend", "nvidia-backend"]),
    (BACKENDS_TEST + ':743 "with aliases pointing to the same backend"',
     [("meta-backend", {"meta_backend_for": "nvidia-backend", "name": "meta-backend"}, False),
      ("nvidia-backend", {"alias": "meta-backend", "name": "nvidia-backend"}, True)],
     "meta-backend", ["meta-backend", "nvidia-backend"]),
    (BACKENDS_TEST + ':1006 "should delete backend directory"', [("test-backend", "{}", True)], "test-backend",
     ["test-backend"]),
    (BACKENDS_TEST + ':1037 "removes an orphaned meta backend whose concrete is missing"',
     [("meta-backend", {"name": "meta-backend", "meta_backend_for": "concrete-backend-that-vanished"}, False)],
     "meta-backend", ["meta-backend"]),
    # backends_test.go:1028 "should not error when backend doesn't exist" expects an error upstream.
    # Deviation (docs/behaviour.md, Remove): not installed is no change, not an error.
    ("deviation of " + BACKENDS_TEST + ':1028', [], "non-existent", []),
])
def test_removal(tmp_path, source, layout, name, removed):
    del source
    for directory, metadata, run in layout:
        backend(tmp_path, directory, metadata, run)
    assert removal_plan(str(tmp_path), None, name, "nvidia") == removed


# --- gallery lookup (FindGalleryElement) -----------------------------------------------------------------
@pytest.mark.parametrize("source, name, found", [
    ("core/gallery/gallery.go:254 strings.EqualFold on the name", "LLAMA-CPP", ("localai", "llama-cpp")),
    ("core/gallery/gallery.go:262 gallery@name", "other@llama-cpp", ("other", "llama-cpp")),
    ("core/gallery/gallery.go:253 first match wins", "llama-cpp", ("localai", "llama-cpp")),
])
def test_find_gallery_element(source, name, found):
    del source
    galleries = [{"name": "localai", "entries": [{"name": "llama-cpp", "uri": "a"}]},
                 {"name": "other", "entries": [{"name": "llama-cpp", "uri": "b"}]}]
    gallery, entry = find_entry(galleries, name)
    assert (gallery["name"], entry["name"]) == found


# --- metadata.json written at install (InstallBackend / InstallBackendFromGallery) ---------------------
def _install_from_directory(tmp_path, name, metadata, capability="default"):
    source = tmp_path / ("src-" + name)
    source.mkdir()
    (source / "run.sh").write_text("#!/bin/sh\necho ok")
    backends = tmp_path / "backends"
    Engine(str(backends)).install(name, [str(source)], {"alias": metadata.get("alias", ""),
                                                        "version": metadata.get("version", "")}, capability=capability)
    return read_metadata_at(backends / name), str(source)


@pytest.mark.parametrize("source, version, expected", [
    (VERSION_TEST + ':37 "records version in metadata when installing a backend with a version"', "1.2.3", "1.2.3"),
    (VERSION_TEST + ':91 "omits version key when version is empty"', "", None),
])
def test_metadata_version(tmp_path, source, version, expected):
    del source
    metadata, _source = _install_from_directory(tmp_path, "test-backend", {"version": version})
    assert metadata.get("version") == expected and ("version" in metadata) is (expected is not None)


def test_metadata_uri(tmp_path):
    """backends_version_test.go:65 "records URI in metadata"."""
    metadata, source = _install_from_directory(tmp_path, "test-backend-uri", {"version": "2.0.0"})
    assert metadata["uri"] == source


def test_metadata_alias(tmp_path):
    """backends_test.go:962 "should create alias file when specified", and the alias row it gives."""
    metadata, _source = _install_from_directory(tmp_path, "test-backend", {"alias": "test-alias"})
    assert metadata["alias"] == "test-alias" and metadata["name"] == "test-backend"
    rows, _warnings = listing(str(tmp_path / "backends"), None, "default")
    assert rows["test-alias"]["run_file"] == rows["test-backend"]["run_file"]


def test_meta_metadata_records_the_concretes_version(tmp_path):
    """core/gallery/backends.go:253-258 metaMetadata{MetaBackendFor, Name, GalleryURL, InstalledAt,
    Version: bestBackend.Version}."""
    _install_from_directory(tmp_path, "cuda12-x", {"version": "3.1"}, "nvidia-cuda-12")
    store = BackendStore(str(tmp_path / "backends"))
    installer = InstallPlanner(store, RegistryClient())
    with store.locked():
        concrete = ConcreteBackend("cuda12-x", ["/src"], gallery_url="https://g/index.yaml", version="3.1")
        installer.apply(installer.plan_meta("x", concrete))
    metadata = read_metadata_at(tmp_path / "backends" / "x")
    assert list(metadata)[:2] == ["meta_backend_for", "name"] and metadata["meta_backend_for"] == "cuda12-x"
    assert metadata["version"] == "3.1"


# --- upgrade detection (CheckUpgradesAgainst) ------------------------------------------------------------
def _row(name, version="", digest="", alias=None, key=None, is_system=False):
    metadata = {"name": name}
    metadata.update({k: v for k, v in (("version", version), ("digest", digest), ("alias", alias)) if v})
    return key or name, {"directory": name, "is_system": is_system, "metadata": metadata}


def _never_asked(uri, _alternates):
    raise AssertionError("the registry must not be asked for %s" % uri)


@pytest.mark.parametrize("source, installed, gallery, flagged, info", [
    (UPGRADE_TEST + ':87 "should detect upgrade when gallery version differs from installed version"',
     [_row("my-backend", "1.0.0")], [{"name": "my-backend", "uri": "/tmp/some-source", "version": "2.0.0"}],
     ["my-backend"], {"installed_version": "1.0.0", "available_version": "2.0.0"}),
    (UPGRADE_TEST + ':109 "should NOT flag upgrade when versions match"',
     [_row("my-backend", "2.0.0")], [{"name": "my-backend", "uri": "/tmp/some-source", "version": "2.0.0"}], [], None),
    (UPGRADE_TEST + ':127 "should skip backends without version info and without OCI digest"',
     [_row("my-backend")], [{"name": "my-backend", "uri": "/tmp/some-source"}], [], None),
    (UPGRADE_TEST + ':208 "surfaces empty-installed-version path"',
     [_row("my-backend")], [{"name": "my-backend", "uri": "/tmp/some-source", "version": "2.0.0"}],
     ["my-backend"], {"installed_version": "", "available_version": "2.0.0"}),
    (UPGRADE_TEST + ':245 "suppresses non-dev candidate when its -development counterpart is installed"',
     [_row("my-backend-development", "1.0.0")],
     [{"name": "my-backend", "uri": "/tmp/stable", "version": "2.0.0"},
      {"name": "my-backend-development", "uri": "/tmp/dev", "version": "2.0.0"}], ["my-backend-development"], None),
    (UPGRADE_TEST + ':275 "dev variant wins even when non-dev is also present"',
     [_row("my-backend", "1.0.0"), _row("my-backend-development", "1.0.0")],
     [{"name": "my-backend", "uri": "/tmp/stable", "version": "2.0.0"},
      {"name": "my-backend-development", "uri": "/tmp/dev", "version": "2.0.0"}], ["my-backend-development"], None),
    (UPGRADE_TEST + ':320 "ignores synthetic alias rows whose key differs from Metadata.Name"',
     [_row("my-backend-development", "1.0.0", alias="my-alias"),
      _row("my-backend-development", "1.0.0", alias="my-alias", key="my-alias")],
     [{"name": "my-alias", "uri": "/tmp/stable-meta", "version": "2.0.0"},
      {"name": "my-backend-development", "uri": "/tmp/dev", "version": "2.0.0"}], ["my-backend-development"], None),
    (UPGRADE_TEST + ':371 "flags a GPU-only backend installed ... even though the controller is CPU-only"',
     [_row("cuda13-nvidia-l4t-arm64-longcat-video-development", "1.0.0")],
     [{"name": "cuda13-nvidia-l4t-arm64-longcat-video-development", "uri": "/tmp/gpu-source", "version": "2.0.0"}],
     ["cuda13-nvidia-l4t-arm64-longcat-video-development"], {"installed_version": "1.0.0",
                                                             "available_version": "2.0.0"}),
    ("core/gallery/upgrade.go:93 system backends are skipped",
     [_row("cpu-tts", "1.0.0", is_system=True)], [{"name": "cpu-tts", "uri": "/x", "version": "2.0.0"}], [], None),
    ("core/gallery/upgrade.go:125 no gallery entry, no row",
     [_row("hand-made", "1.0.0")], [{"name": "other", "uri": "/x", "version": "2.0.0"}], [], None),
])
def test_upgrade_detection_by_version(source, installed, gallery, flagged, info):
    del source
    rows = dict(installed)
    upgrades, _checked, _warnings = check_upgrades(rows, gallery, _never_asked)
    assert sorted(upgrades) == flagged
    if info:
        assert {key: upgrades[flagged[0]][key] for key in info} == info


@pytest.mark.parametrize("source, recorded, remote, flagged", [
    ("core/gallery/upgrade.go:180 same digest: up to date", "sha256:" + "a" * 64, "sha256:" + "a" * 64, False),
    ("core/gallery/upgrade.go:180 the tag moved", "sha256:" + "a" * 64, "sha256:" + "b" * 64, True),
    ("core/gallery/upgrade.go:180 no digest recorded", "", "sha256:" + "b" * 64, True),
])
def test_upgrade_detection_by_digest(source, recorded, remote, flagged):
    del source
    asked = []

    def remote_digest(uri, _alternates):
        asked.append(uri)
        return remote

    rows = dict([_row("cpu-llama-cpp", digest=recorded)])
    index = [{"name": "cpu-llama-cpp", "uri": "quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp"}]
    upgrades, checked, _warnings = check_upgrades(rows, index, remote_digest)
    assert asked == [index[0]["uri"]]  # one manifest request per backend
    assert ("cpu-llama-cpp" in upgrades) is flagged
    assert checked["cpu-llama-cpp"]["available_digest"] == remote
    if flagged:
        assert upgrades["cpu-llama-cpp"] == {"backend_name": "cpu-llama-cpp", "installed_digest": recorded,
                                             "available_digest": remote}


def test_upgrade_check_failure_skips_the_row():
    """core/gallery/upgrade.go:175 a failed GetImageDigest logs a warning and continues; the row says it was not
    checked (a report must not count it as up to date), and the entry's alternates were asked too."""
    asked = []

    def failing(uri, alternates):
        asked.append((uri, alternates))
        raise BackendError("registry quay.io is unreachable")

    rows = dict([_row("cpu-x", digest="sha256:" + "a" * 64)])
    index = [{"name": "cpu-x", "uri": "quay.io/a/b:c", "mirrors": ["docker.io/a/b:c"]}]
    upgrades, checked, warnings = check_upgrades(rows, index, failing)
    assert upgrades == {} and "unreachable" in warnings[0]
    assert asked == [("quay.io/a/b:c", ["docker.io/a/b:c"])]
    assert checked["cpu-x"]["upgrade_available"] is False
    assert checked["cpu-x"]["upgrade_check_error"] == "registry quay.io is unreachable"


# --- the real gallery: every backend on every capability, against LocalAI's own decision ----------------------
def _our_build(entry: dict, capability: str, candidates: dict) -> tuple[str | None, dict | None]:
    """What backend_install installs for this entry on this capability (None: it refuses), and the meta choice."""
    try:
        build, choice, _warning = choose_build(entry, capability, candidates)
    except (NoVariantError, IncompatibleBackendError, BackendError):
        return None, None
    return build["name"], choice


def test_every_gallery_backend_on_every_capability_is_what_localai_installs():
    """Generated from LocalAI's real backend index (1033 entries) x 12 capabilities: our choice equals
    InstallBackendFromGallery's (tests/helpers/localai_rules.py, transcribed from 82c191a), except for the one
    documented deviation: the vendor key's build, and only a build for the host's own CUDA major version."""
    with gzip.open(FIXTURE, "rb") as handle:
        entries = parse_gallery(handle.read(), "localai", FIXTURE)
    gallery = {"name": "localai", "url": FIXTURE, "entries": entries}
    named = [entry for entry in entries if entry.get("name")]
    candidates = {entry["name"]: meta_candidates([gallery], gallery, entry) for entry in named if is_meta(entry)}
    agreed, deviations, refused_by_both = 0, [], 0
    for capability in ALL_CAPABILITIES:
        available = localai_rules.available_backends(entries, capability)
        for entry in named:
            theirs = localai_rules.install_backend_from_gallery(entries, entry["name"], capability, available)
            ours, choice = _our_build(entry, capability, candidates.get(entry["name"], {}))
            if ours == theirs:
                agreed += 1
                refused_by_both += ours is None
                continue
            assert ours is not None and choice and choice["key"] == VENDOR_FALLBACK.get(capability), \
                (entry["name"], capability, theirs, ours)
            build = candidates[entry["name"]][ours]
            assert build_cuda_major(ours, build["uri"]) in (None, host_cuda_major(capability)), (entry["name"], ours)
            assert theirs is None or theirs == entry["capabilities"].get(
                localai_rules.capability_for_map(entry["capabilities"], capability))
            deviations.append((entry["name"], capability, theirs, ours))
    assert agreed + len(deviations) == len(named) * len(ALL_CAPABILITIES) == 1033 * 12
    # The deviation the issue names, and the cases it must no longer produce.
    assert ("rerankers", "nvidia-cuda-12", None, "cuda12-rerankers") in deviations
    assert not any(name in ("ds4", "mlx") for name, *_rest in deviations)
    assert not any(ours.startswith("cuda13") and capability.endswith("cuda-12") for _n, capability, _t, ours in deviations)
    print("\n%d pairs agree with LocalAI (%d refused by both), %d vendor-key deviations"
          % (agreed, refused_by_both, len(deviations)))
