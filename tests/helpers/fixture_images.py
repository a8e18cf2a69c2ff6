# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Push small stand-ins for real LocalAI backend images, under LocalAI's real repository and tag names.

    python tests/helpers/fixture_images.py seed REGISTRY_URL       # the set the demo and integration tests use
    python tests/helpers/fixture_images.py push REGISTRY_URL REPOSITORY TAG LABEL   # prints the digest
    python tests/helpers/fixture_images.py index REGISTRY_URL REPOSITORY TAG LABEL  # linux/amd64 + linux/arm64
                                                # index, as LocalAI's tags are; prints INDEX_DIGEST AMD64_DIGEST
    python tests/helpers/fixture_images.py links REGISTRY_URL REPOSITORY TAG        # a Python-backend-like image:
                                                # absolute and relative links, run.sh mode 0644; prints the digest

A registry with Basic auth and its own CA is pushed to with FIXTURE_USERNAME, FIXTURE_PASSWORD and FIXTURE_CA set.

Each image is one gzip layer holding run.sh and lib/version.txt (= "<tag> <label>"). A gallery install
reaches them through `registry_mirrors: {quay.io: HOST, docker.io: HOST}`.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helpers.images import RUN_SH, Pusher, backend_files, entry  # noqa: E402  pylint: disable=wrong-import-position

QUAY_REPOSITORY = "go-skynet/local-ai-backends"
HUB_REPOSITORY = "localai/localai-backends"
QUAY_TAGS = [
    "latest-cpu-llama-cpp", "latest-gpu-nvidia-cuda-12-llama-cpp", "latest-gpu-nvidia-cuda-13-llama-cpp",
    "latest-gpu-rocm-hipblas-llama-cpp", "latest-gpu-vulkan-llama-cpp", "latest-gpu-nvidia-cuda-12-whisper",
    "latest-gpu-rocm-hipblas-whisper",
    "latest-piper", "latest-gpu-nvidia-cuda-12-rerankers", "latest-cpu-ds4", "latest-gpu-nvidia-cuda-13-ds4",
]
# Only on the Docker Hub path: installs of these come from the entry's mirror, not its primary uri.
HUB_ONLY_TAGS = ["latest-cpu-whisper"]


def pusher(url: str) -> Pusher:
    return Pusher(url, os.environ.get("FIXTURE_USERNAME"), os.environ.get("FIXTURE_PASSWORD"),
                  os.environ.get("FIXTURE_CA"))


def push(url: str, repository: str, tag: str, label: str = "v1") -> str:
    return pusher(url).push_image(repository, tag, [backend_files("%s %s" % (tag, label))])["digest"]


def push_index(url: str, repository: str, tag: str, label: str = "v1") -> tuple[str, str]:
    """A multi-arch tag as LocalAI publishes them: an OCI index over linux/amd64 and linux/arm64 images."""
    pusher = Pusher(url)
    images = [pusher.push_image(repository, None, [backend_files("%s %s %s" % (tag, label, arch))],
                                architecture=arch) for arch in ("amd64", "arm64")]
    return pusher.push_index(repository, tag, images), images[0]["digest"]


def push_links(url: str, repository: str, tag: str) -> str:
    """An unrewritten venv (bin/python -> /usr/bin/python3), soname links, and a run.sh without execute bits."""
    files = [entry("run.sh", RUN_SH, mode=0o644), entry("venv/bin", kind="dir"),
             entry("venv/bin/python", kind="symlink", target="/usr/bin/python3"),
             entry("venv/bin/python3", kind="symlink", target="python"),
             entry("lib/libfoo.so.1.2", "soname target"),
             entry("lib/libfoo.so.1", kind="symlink", target="libfoo.so.1.2"),
             entry("lib/libfoo.so", kind="symlink", target="libfoo.so.1"),
             entry("lib/libcuda.so.1", kind="symlink", target="/usr/lib/x86_64-linux-gnu/libcuda.so.1"),
             entry("lib/version.txt", tag + "\n")]
    return Pusher(url).push_image(repository, tag, [files])["digest"]


def seed(url: str) -> dict[str, str]:
    digests = {tag: push(url, QUAY_REPOSITORY, tag) for tag in QUAY_TAGS}
    digests.update({tag: push(url, HUB_REPOSITORY, tag) for tag in HUB_ONLY_TAGS})
    return digests


def main(argv: list[str]) -> int:
    if argv[:1] == ["seed"] and len(argv) == 2:
        for tag, digest in seed(argv[1]).items():
            print(tag, digest)
        return 0
    if argv[:1] == ["push"] and len(argv) == 5:
        print(push(argv[1], argv[2], argv[3], argv[4]))
        return 0
    if argv[:1] == ["index"] and len(argv) == 5:
        print(*push_index(argv[1], argv[2], argv[3], argv[4]))
        return 0
    if argv[:1] == ["links"] and len(argv) == 4:
        print(push_links(argv[1], argv[2], argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
