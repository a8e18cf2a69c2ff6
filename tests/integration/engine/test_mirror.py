# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mirroring for air-gapped fleets: two real docker-registry instances, source and target, on loopback."""

from __future__ import annotations

import json
import os

import pytest
import requests

from conftest import REGISTRY_PASSWORD, REGISTRY_USER
from helpers.trees import read_metadata_at
from helpers.engine import Engine
from helpers.fault_proxy import FaultProxy
from helpers.images import Pusher
from helpers.registry_server import RegistryServer, free_port
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AllSourcesFailedError,
    AuthenticationError,
    DigestMismatchError,
    NoVariantError,
    PlatformNotFoundError,
    UnknownBackendError,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import parse_reference
from ansible_collections.localai.gallery.plugins.module_utils.oci.referrers import bundle_descriptors
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
from ansible_collections.localai.gallery.plugins.action.backend_mirror import registry_client
from ansible_collections.localai.gallery.plugins.plugin_utils.replication import Replicator, builds_for

AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}
MANIFEST_ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def target(tmp_path):
    server = RegistryServer(str(tmp_path / "target")).start()
    yield server
    server.stop()


def replicator(target_host: str, check_mode: bool = False, builds: list | None = None, **options) -> Replicator:
    """A Replicator wired as the action plugin wires it: one client, each credential bound to its registry."""
    params = {"target": target_host, "source_username": None, "source_password": None, "target_username": None,
              "target_password": None, "registry_auths": {}, "insecure_registries": [], "validate_certs": True,
              "ca_path": None, "timeout": 10, "retries": 0}
    params.update(options)
    return Replicator(target_host, registry_client(params, builds or []), check_mode)


def gallery(source: str, repository: str) -> list[dict]:
    """A gallery like LocalAI's: a meta naming one build per capability, each an image in `repository`."""
    entries = [{"name": "llama-cpp", "capabilities": {"default": "cpu-llama-cpp", "nvidia": "cuda12-llama-cpp",
                                                      "amd": "rocm-llama-cpp"}}]
    entries += [{"name": build, "uri": "%s/%s:latest-%s" % (source, repository, build)}
                for build in ("cpu-llama-cpp", "cuda12-llama-cpp", "rocm-llama-cpp")]
    return [{"name": "test", "url": "file:///gallery.yaml", "entries": entries}]


def manifest_bytes(registry: RegistryServer, repository: str, reference: str) -> requests.Response:
    return requests.get("%s/v2/%s/manifests/%s" % (registry.url, repository, reference), timeout=10,
                        headers={"Accept": MANIFEST_ACCEPT})


def push_multiarch(pusher: Pusher, repository: str, tag: str, label: str) -> str:
    images = [pusher.push_backend(repository, None, "%s %s" % (label, platform["architecture"]),
                                  architecture=platform["architecture"]) for platform in (AMD64, ARM64)]
    return pusher.push_index(repository, tag, images)


def test_a_meta_for_two_capabilities_copies_exactly_their_builds(registry, pusher, target):
    for build in ("cpu-llama-cpp", "cuda12-llama-cpp", "rocm-llama-cpp"):
        push_multiarch(pusher, "mirror-meta/backends", "latest-" + build, build)
    builds = builds_for(gallery(registry.host, "mirror-meta/backends"), ["llama-cpp"], ["default", "nvidia-cuda-12"])
    assert [build["build"] for build in builds] == ["cpu-llama-cpp", "cuda12-llama-cpp"]
    results = [replicator(target.host).copy_build(build) for build in builds]
    assert [result["target"] for result in results] == [
        "%s/mirror-meta/backends:latest-cpu-llama-cpp" % target.host,
        "%s/mirror-meta/backends:latest-cuda12-llama-cpp" % target.host]
    assert all(result["changed"] and result["platforms"] == ["linux/amd64", "linux/arm64"] for result in results)
    assert manifest_bytes(target, "mirror-meta/backends", "latest-rocm-llama-cpp").status_code == 404


def test_a_multiarch_index_is_copied_byte_for_byte_and_a_second_run_moves_nothing(registry, pusher, target):
    digest = push_multiarch(pusher, "mirror-index/x", "latest-cpu-x", "v1")
    build = {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/mirror-index/x:latest-cpu-x" % registry.host}}
    first = replicator(target.host).copy_build(build)
    source = manifest_bytes(registry, "mirror-index/x", "latest-cpu-x")
    copied = manifest_bytes(target, "mirror-index/x", "latest-cpu-x")
    assert copied.content == source.content and copied.headers["Docker-Content-Digest"] == digest
    assert first["digest"] == digest and first["index_rewritten"] is False and first["blobs_copied"] == 4
    requests_before = len(target.request_lines())
    second = replicator(target.host).copy_build(build)
    assert second["changed"] is False and second["blobs_copied"] == 0 and second["bytes_copied"] == 0
    assert second["blobs_present"] == 4 and second["manifests_copied"] == []
    methods = {line.split('"')[1].split()[0] for line in target.request_lines()[requests_before:]}
    assert methods <= {"HEAD", "GET"}  # nothing written on the second run


def test_a_target_missing_one_blob_gets_only_that_blob(registry, pusher, target):
    push_multiarch(pusher, "mirror-gap/x", "t", "v1")
    build = {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/mirror-gap/x:t" % registry.host}}
    replicator(target.host).copy_build(build)
    index = json.loads(manifest_bytes(target, "mirror-gap/x", "t").content)
    amd64 = json.loads(manifest_bytes(target, "mirror-gap/x", index["manifests"][0]["digest"]).content)
    layer = amd64["layers"][0]
    assert requests.delete("%s/v2/mirror-gap/x/blobs/%s" % (target.url, layer["digest"]), timeout=10).status_code == 202
    again = replicator(target.host).copy_build(build)
    assert again["changed"] is True and again["blobs_copied"] == 1 and again["bytes_copied"] == layer["size"]
    assert again["manifests_copied"] == []


def test_only_the_platforms_asked_for_make_a_new_index_and_the_result_says_so(registry, pusher, target):
    digest = push_multiarch(pusher, "mirror-platforms/x", "t", "v1")
    build = {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/mirror-platforms/x:t" % registry.host}}
    result = replicator(target.host).copy_build(build, ["linux/amd64"])
    assert result["index_rewritten"] is True and result["digest"] != digest and result["source_digest"] == digest
    assert result["platforms"] == ["linux/amd64"]
    listed = json.loads(manifest_bytes(target, "mirror-platforms/x", "t").content)["manifests"]
    assert [item["platform"]["architecture"] for item in listed] == ["amd64"]
    with pytest.raises(PlatformNotFoundError, match=r"has no build for linux/s390x \(it has linux/amd64, linux/arm64\)"):
        replicator(target.host).copy_build(build, ["linux/s390x"])


def test_check_mode_lists_what_would_be_copied_and_writes_nothing(registry, pusher, target):
    pusher.push_backend("mirror-check/x", "t", "v1")
    build = {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/mirror-check/x:t" % registry.host}}
    result = replicator(target.host, check_mode=True).copy_build(build)
    assert result["changed"] is True and len(result["would_copy"]) == 2
    assert result["bytes_copied"] == sum(blob["size"] for blob in result["would_copy"]) > 0
    assert manifest_bytes(target, "mirror-check/x", "t").status_code == 404


def test_a_tampered_source_blob_is_refused_and_nothing_is_tagged(registry, pusher, target):
    pusher.push_backend("mirror-tampered/x", "t", "v1")
    with FaultProxy(registry.host) as proxy:
        proxy.corrupt_blobs = True
        build = {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/mirror-tampered/x:t" % proxy.host}}
        with pytest.raises(DigestMismatchError, match="is corrupt: its content hashes to"):
            replicator(target.host).copy_build(build)
    assert manifest_bytes(target, "mirror-tampered/x", "t").status_code == 404


def test_signature_referrers_come_along_and_are_found_in_the_target(registry, pusher, target):
    image = pusher.push_backend("mirror-signed/x", "t", "v1")
    referrer = pusher.attach_bundle("mirror-signed/x", image, b'{"mediaType": "application/vnd.dev.sigstore.bundle"}')
    build = {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/mirror-signed/x:t" % registry.host}}
    result = replicator(target.host).copy_build(build)
    assert result["signatures_copied"] == [referrer]
    found = bundle_descriptors(RegistryClient(), parse_reference("%s/mirror-signed/x:t" % target.host), image["digest"])
    assert [descriptor["digest"] for descriptor in found] == [referrer]


def test_install_through_the_mirror_records_the_digest_localai_would(registry, pusher, target, backends_path):
    digest = push_multiarch(pusher, "mirror-install/x", "latest-cpu-x", "v1")
    uri = "%s/mirror-install/x:latest-cpu-x" % registry.host
    result = replicator(target.host).copy_build({"backend": "x", "build": "x", "entry": {"name": "x", "uri": uri}})
    registry.stop()  # air-gapped: only the mirror answers now
    try:
        Engine(backends_path, {registry.host: target.host}, wanted_platform=dict(AMD64, variant=None),
               retries=0).install("cpu-x", [uri], {"uri": uri})
    finally:
        registry.start()
    metadata = read_metadata_at(os.path.join(backends_path, "cpu-x"))
    assert metadata["digest"] == digest == result["digest"]  # oci.GetImageDigest: the index digest of the tag


def test_sources_are_tried_in_install_order_and_each_failure_is_named(registry, pusher, target):
    pusher.push_backend("mirror-chain/x", "master-cpu-x", "v1")
    closed = "127.0.0.1:%d" % free_port()
    entry = {"name": "x", "uri": "%s/mirror-chain/x:latest-cpu-x" % registry.host,
             "mirrors": ["%s/mirror-chain/x:latest-cpu-x" % closed]}
    result = replicator(target.host).copy_build({"backend": "x", "build": "x", "entry": entry})
    assert result["source"] == "%s/mirror-chain/x:master-cpu-x" % registry.host
    assert result["target"] == "%s/mirror-chain/x:master-cpu-x" % target.host
    entry["uri"] = "%s/mirror-chain/y:latest-cpu-x" % registry.host
    with pytest.raises(AllSourcesFailedError) as failure:
        replicator(target.host).copy_build({"backend": "x", "build": "x", "entry": entry})
    message = str(failure.value)
    assert "every source failed (4 tried)" in message and "%s/mirror-chain/y:latest-cpu-x: " % registry.host in message
    assert "%s/mirror-chain/x:latest-cpu-x: " % closed in message and "is unreachable" in message


def test_a_target_that_refuses_the_push_fails_in_one_line(registry, pusher, auth_registry):
    pusher.push_backend("mirror-refused/x", "t", "v1")
    build = {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/mirror-refused/x:t" % registry.host}}
    with pytest.raises(AuthenticationError, match=r"registry 127.0.0.1:\d+ requires authentication \(HTTP 401\) and "
                       r"this task has no credentials for it"):
        replicator(auth_registry.host, ca_path=auth_registry.ca_path).copy_build(build)
    result = replicator(auth_registry.host, target_username=REGISTRY_USER, target_password=REGISTRY_PASSWORD,
                        ca_path=auth_registry.ca_path).copy_build(build)
    assert result["changed"] is True


def test_unknown_backends_and_capabilities_without_a_build_are_refused(registry):
    galleries = gallery(registry.host, "mirror-errors/x")
    with pytest.raises(UnknownBackendError, match="unknown backend 'lama-cpp'.*did you mean: llama-cpp"):
        builds_for(galleries, ["lama-cpp"], ["default"])
    galleries[0]["entries"][0]["capabilities"] = {"nvidia": "cuda12-llama-cpp"}
    with pytest.raises(NoVariantError):
        builds_for(galleries, ["llama-cpp"], ["amd"])


def test_a_target_with_bearer_tokens_gets_a_push_token_before_the_streamed_upload(registry, pusher, tmp_path):
    """Registries like quay.io, Harbor and Docker Hub hand out tokens per scope: the upload must start with a
    push-scoped one, since a streamed blob cannot be sent twice."""
    from helpers.token_server import TokenServer

    tokens = TokenServer(str(tmp_path / "tokens"), users={"alice": "alice-pass"})
    guarded = RegistryServer(str(tmp_path / "guarded"), token_auth=tokens.registry_auth()).start()
    try:
        pusher.push_backend("mirror-token/x", "t", "v1")
        build = {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/mirror-token/x:t" % registry.host}}
        result = replicator(guarded.host, target_username="alice", target_password="alice-pass").copy_build(build)
        assert result["changed"] is True and result["blobs_copied"] == 2
        assert any("push" in ",".join(item["scope"]) and item["user"] == "alice" and item["status"] == 200
                   for item in tokens.requests)
        with pytest.raises(AuthenticationError):
            replicator(guarded.host, target_username="alice", target_password="wrong").copy_build(
                {"backend": "y", "build": "y", "entry": {"name": "y", "uri": "%s/mirror-token/x:t" % registry.host}})
    finally:
        guarded.stop()
        tokens.stop()
