# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.errors import InvalidReferenceError
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import (
    apply_mirrors,
    is_image_reference,
    parse_reference,
    uses_plain_http,
)

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("text, expected", [
    ("quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp",
     ("quay.io", "go-skynet/local-ai-backends", "latest-cpu-llama-cpp", None)),
    ("localai/localai-backends:master-cpu", ("docker.io", "localai/localai-backends", "master-cpu", None)),
    ("ubuntu", ("docker.io", "library/ubuntu", "latest", None)),
    ("docker.io/ubuntu:22.04", ("docker.io", "library/ubuntu", "22.04", None)),
    ("index.docker.io/library/ubuntu", ("docker.io", "library/ubuntu", "latest", None)),
    ("oci://quay.io/a/b:t", ("quay.io", "a/b", "t", None)),
    ("127.0.0.1:5000/repo@" + DIGEST, ("127.0.0.1:5000", "repo", None, DIGEST)),
    ("localhost/repo:t@" + DIGEST, ("localhost", "repo", "t", DIGEST)),
    ("[::1]:5000/a/b:c", ("[::1]:5000", "a/b", "c", None)),
])
def test_parse_reference(text, expected):
    reference = parse_reference(text)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == expected


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("quay.io/Upper/case:t", "bad repository component"),
    ("quay.io/a/b:bad tag", "bad tag"),
    ("quay.io/a/b@sha256:short", "bad digest"),
])
def test_parse_reference_errors_say_why(text, reason):
    with pytest.raises(InvalidReferenceError, match=reason):
        parse_reference(text)


def test_docker_hub_references_print_canonically():
    assert str(parse_reference("localai/localai-backends:x")) == "docker.io/localai/localai-backends:x"
    assert parse_reference("localai/localai-backends:x").api_host == "registry-1.docker.io"


@pytest.mark.parametrize("mirrors, expected", [
    ({"quay.io": "127.0.0.1:5000"}, "127.0.0.1:5000/go-skynet/b:t"),
    ({"https://quay.io/": "registry.lan:5000/cache"}, "registry.lan:5000/cache/go-skynet/b:t"),
    ({"docker.io": "127.0.0.1:5000"}, "quay.io/go-skynet/b:t"),
    ({}, "quay.io/go-skynet/b:t"),
])
def test_registry_mirrors_keep_the_repository(mirrors, expected):
    assert str(apply_mirrors(parse_reference("quay.io/go-skynet/b:t"), mirrors)) == expected


def test_docker_hub_mirror_matches_bare_references():
    mirrored = apply_mirrors(parse_reference("localai/localai-backends:t"), {"index.docker.io": "10.0.0.1:5000"})
    assert str(mirrored) == "10.0.0.1:5000/localai/localai-backends:t"


@pytest.mark.parametrize("registry, insecure, plain", [
    ("127.0.0.1:5000", (), True), ("127.9.9.9", (), True), ("localhost:5000", (), True), ("[::1]:5000", (), True),
    ("quay.io", (), False), ("registry.lan:5000", ("registry.lan:5000",), True), ("10.0.0.1:5000", (), False),
])
def test_plain_http_only_for_loopback_and_listed_insecure(registry, insecure, plain):
    assert uses_plain_http(registry, insecure) is plain


@pytest.mark.parametrize("text, is_image", [
    ("quay.io/a/b:c", True), ("localai/localai-backends:tag", True), ("/opt/backend", False),
    ("ocifile:///tmp/x.tar", False), ("https://example.com/x.tar.gz", False), ("./dir", False),
])
def test_is_image_reference(text, is_image):
    assert is_image_reference(text) is is_image
