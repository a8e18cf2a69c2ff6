# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LocalAI's real gallery: its shape, the llama-cpp builds, and our messages (every backend on every capability
is compared with LocalAI's own decision in test_localai_parity.py)."""

from __future__ import annotations

import gzip
import os

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.errors import NoVariantError
from ansible_collections.localai.gallery.plugins.module_utils.meta_resolution import (
    is_compatible,
    is_meta,
    resolve_meta,
)
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import parse_gallery

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "localai-backend-index.yaml.gz")
CAPABILITIES = ["default", "nvidia", "nvidia-cuda-12", "nvidia-cuda-13", "nvidia-l4t", "nvidia-l4t-cuda-13", "amd",
                "intel", "vulkan", "metal"]


@pytest.fixture(scope="module")
def gallery():
    with gzip.open(FIXTURE, "rb") as handle:
        entries = parse_gallery(handle.read(), "localai", FIXTURE)
    return {"name": "localai", "url": FIXTURE, "entries": entries}


def test_fixture_shape(gallery):
    metas = [entry for entry in gallery["entries"] if is_meta(entry)]
    assert len(gallery["entries"]) == 1033 and len(metas) == 140


def test_llama_cpp_builds(gallery):
    meta = next(entry for entry in gallery["entries"] if entry["name"] == "llama-cpp")
    picks = {capability: resolve_meta("llama-cpp", meta["capabilities"], capability)["concrete"]
             for capability in CAPABILITIES}
    assert picks["default"] == "cpu-llama-cpp" and picks["nvidia-cuda-12"] == "cuda12-llama-cpp"
    assert picks["nvidia-cuda-13"] == "cuda13-llama-cpp" and picks["amd"] == "rocm-llama-cpp"
    assert picks["nvidia-l4t-cuda-13"] == "cuda13-nvidia-l4t-arm64-llama-cpp"


def test_no_variant_error_names_meta_capability_and_offers():
    with pytest.raises(NoVariantError, match="meta backend mlx has no build for capability amd "
                                             "\\(it offers metal: metal-mlx\\)"):
        resolve_meta("mlx", {"metal": "metal-mlx"}, "amd")


@pytest.mark.parametrize("name, capability, compatible", [
    ("cuda12-llama-cpp", "nvidia-cuda-12", True), ("cuda12-llama-cpp", "default", False),
    ("nvidia-l4t-arm64-llama-cpp", "nvidia-cuda-12", False), ("nvidia-l4t-arm64-llama-cpp", "nvidia-l4t", True),
    ("metal-llama-cpp", "darwin-x86", True), ("rocm-llama-cpp", "amd", True), ("intel-sycl-f16-x", "amd", False),
    ("cpu-llama-cpp", "amd", True), ("cuda12-llama-cpp", "disable", True),
])
def test_compatibility(name, capability, compatible):
    assert is_compatible(name, "quay.io/go-skynet/local-ai-backends:latest-x", capability) is compatible
