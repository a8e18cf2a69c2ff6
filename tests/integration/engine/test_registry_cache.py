# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A pull-through cache in front of the upstream: docker-registry 2.8 in proxy mode (what the registry_cache role
runs), an upstream docker-registry, both real, on loopback. Bytes are counted in the upstream's access log."""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers.trees import read_metadata_at
from helpers.engine import Engine
from helpers.images import Pusher, backend_files, entry
from helpers.registry_server import RegistryServer
from ansible_collections.localai.gallery.plugins.module_utils.errors import AllSourcesFailedError
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
from ansible_collections.localai.gallery.plugins.plugin_utils.cache_warming import CacheWarmer, one_pin
from ansible_collections.localai.gallery.plugins.plugin_utils.pinning import Pinner
from ansible_collections.localai.gallery.plugins.plugin_utils.run_cache import RunCache

REPOSITORY = "go-skynet/local-ai-backends"
AMD64 = {"os": "linux", "architecture": "amd64", "variant": None}
ARM64 = {"os": "linux", "architecture": "arm64", "variant": None}
BLOB_GET = re.compile(r'"GET /v2/[^ ]+/blobs/(sha256:[0-9a-f]{64}) HTTP/[0-9.]+" 200 (\d+)')


@pytest.fixture
def upstream(tmp_path):
    server = RegistryServer(str(tmp_path / "upstream")).start()
    yield server
    server.stop()


@pytest.fixture
def cache(tmp_path, upstream):
    server = RegistryServer(str(tmp_path / "cache"), proxy={"remoteurl": upstream.url}).start()
    yield server
    server.stop()


def push_backend(upstream: RegistryServer, tag: str, architecture: str = "amd64", model_bytes: int = 4 << 20) -> dict:
    """A backend image with a large incompressible layer, so concurrent pulls overlap."""
    model = [entry("lib", kind="dir", mode=0o755), entry("lib/model-%s.bin" % architecture, os.urandom(model_bytes))]
    return Pusher(upstream.url).push_image(REPOSITORY, tag, [backend_files(architecture), model], architecture=architecture)


def upstream_blob_gets(upstream: RegistryServer) -> list[tuple[str, int]]:
    """(digest, bytes sent) of each blob GET the upstream answered, whole or cut short by the cache."""
    return [(match.group(1), int(match.group(2))) for match in map(BLOB_GET.search, upstream.request_lines()) if match]


def whole_blob_gets(upstream: RegistryServer, image: dict) -> list[str]:
    """The digests of the layers the upstream sent whole, once per time it did."""
    sizes = {layer["digest"]: layer["size"] for layer in image["layers"]}
    return [digest for digest, sent in upstream_blob_gets(upstream) if sizes.get(digest) == sent]


def uri(upstream: RegistryServer, tag: str) -> str:
    return "%s/%s:%s" % (upstream.host, REPOSITORY, tag)


def test_install_through_the_cache_records_the_upstream_digest(upstream, cache, tmp_path):
    image = push_backend(upstream, "latest-cpu-x")
    for host in ("host1", "host2"):
        time.sleep(0.5)
        change = Engine(str(tmp_path / host), {upstream.host: cache.host}).install("cpu-x", [uri(upstream, "latest-cpu-x")])
        assert change.source.startswith(cache.host + "/")
        # LocalAI's oci.GetImageDigest on the upstream tag: what the proxy serves is the upstream's manifest, byte for byte.
        assert read_metadata_at(str(tmp_path / host / "cpu-x"))["digest"] == image["digest"]
    # docker-registry 2.8's proxy fetched each layer twice for the first host (the copy to it, and its own store);
    # the second host was served from the cache's storage.
    assert sorted(whole_blob_gets(upstream, image)) == sorted(2 * [layer["digest"] for layer in image["layers"]])


def test_a_cache_that_is_down_falls_back_to_the_upstream(upstream, cache, backends_path):
    image = push_backend(upstream, "latest-cpu-x")
    cache.stop()
    change = Engine(backends_path, {upstream.host: cache.host}).install("cpu-x", [uri(upstream, "latest-cpu-x")])
    assert change.source == uri(upstream, "latest-cpu-x")
    assert read_metadata_at(os.path.join(backends_path, "cpu-x"))["digest"] == image["digest"]


def test_without_upstream_fallback_a_cache_that_is_down_fails_and_installs_nothing(upstream, cache, backends_path):
    push_backend(upstream, "latest-cpu-x")
    cache.stop()
    engine = Engine(backends_path, {upstream.host: cache.host}, upstream_fallback=False, retries=0, timeout=5)
    with pytest.raises(AllSourcesFailedError) as failure:
        engine.install("cpu-x", [uri(upstream, "latest-cpu-x")])
    # The tag and LocalAI's master- fallbacks, each through the cache only.
    assert "every source failed (3 tried)" in str(failure.value)
    assert str(failure.value).count("registry %s is unreachable" % cache.host) == 3
    assert "registry %s is unreachable" % upstream.host not in str(failure.value)
    assert os.listdir(backends_path) in ([], [".localai-gallery"])
    assert not upstream_blob_gets(upstream)


def test_a_mirror_without_the_image_falls_back_to_the_upstream(upstream, tmp_path, backends_path):
    push_backend(upstream, "latest-cpu-x")
    empty = RegistryServer(str(tmp_path / "static-mirror")).start()  # a plain registry, not filled by backend_mirror
    try:
        change = Engine(backends_path, {upstream.host: empty.host}).install("cpu-x", [uri(upstream, "latest-cpu-x")])
    finally:
        empty.stop()
    assert change.source == uri(upstream, "latest-cpu-x")


def test_cache_and_upstream_both_down_names_both(upstream, cache, backends_path):
    push_backend(upstream, "latest-cpu-x")
    cache.stop()
    upstream.stop()
    engine = Engine(backends_path, {upstream.host: cache.host}, retries=0, timeout=5)
    with pytest.raises(AllSourcesFailedError) as failure:
        engine.install("cpu-x", [uri(upstream, "latest-cpu-x")])
    message = str(failure.value)
    assert "every source failed (6 tried)" in message  # the tag and two master- fallbacks, cache then upstream
    assert "%s/%s:latest-cpu-x: registry %s is unreachable" % (cache.host, REPOSITORY, cache.host) in message
    assert "%s: registry %s is unreachable" % (uri(upstream, "latest-cpu-x"), upstream.host) in message


def test_the_controller_pins_from_the_upstream_when_the_cache_is_down(upstream, cache, tmp_path):
    image = push_backend(upstream, "latest-cpu-x")
    cache.stop()
    pinner = Pinner(RegistryClient(timeout=5, retries=0), RunCache("pins", str(tmp_path / "run"), "run-1"),
                    {upstream.host: cache.host})
    pinned = pinner.pin({"name": "cpu-x", "uri": uri(upstream, "latest-cpu-x")}, None)
    assert pinned["pin"] == {"uri": uri(upstream, "latest-cpu-x"), "digest": image["digest"], "verified": False}


def concurrent_installs(upstream: RegistryServer, cache: RegistryServer, root, hosts: int, tag: str) -> None:
    """`hosts` installs through the cache at once, each into its own backends path (as a fleet with forks)."""
    def install(number: int):
        return Engine(str(root / ("host%02d" % number)), {upstream.host: cache.host}).install("cpu-x",
                                                                                              [uri(upstream, tag)])

    with ThreadPoolExecutor(hosts) as pool:
        for change in pool.map(install, range(hosts)):  # re-raises what an install raised
            assert change.source.startswith(cache.host)


def test_a_warmed_cache_downloads_each_blob_once_for_a_fleet_pulling_at_once(upstream, cache, tmp_path):
    image = push_backend(upstream, "latest-cpu-x", model_bytes=16 << 20)
    mirrors = {upstream.host: cache.host}
    pin = {"uri": uri(upstream, "latest-cpu-x"), "digest": image["digest"]}
    warmed = CacheWarmer(RegistryClient(), RunCache("warm", str(tmp_path / "run"), "run-1"), mirrors).warm(pin, AMD64)
    assert warmed == {"reference": "%s/%s@%s" % (cache.host, REPOSITORY, image["digest"]), "blobs_fetched": 3,
                      "blobs_stored": 0, "bytes_read_whole": 0}  # config and two layers, none read through
    concurrent_installs(upstream, cache, tmp_path, 6, "latest-cpu-x")
    # The 16 MiB layer left the upstream whole once (the cache's own fetch); the rest were copies cut short (a blob
    # smaller than the socket buffers, like the run.sh layer, is sent whole before the cut is seen).
    model = image["layers"][1]["digest"]
    assert whole_blob_gets(upstream, image).count(model) == 1
    image_bytes = sum(layer["size"] for layer in image["layers"])
    assert sum(sent for _digest, sent in upstream_blob_gets(upstream)) < 1.5 * image_bytes

    cache_requests = len(cache.request_lines())
    again = CacheWarmer(RegistryClient(), RunCache("warm", str(tmp_path / "run"), "run-1"), mirrors).warm(pin, AMD64)
    assert again == warmed and len(cache.request_lines()) == cache_requests  # once per run: no request at all
    next_run = CacheWarmer(RegistryClient(), RunCache("warm", str(tmp_path / "run"), "run-2"), mirrors).warm(pin, AMD64)
    assert (next_run["blobs_stored"], next_run["blobs_fetched"]) == (3, 0)  # one-byte range answers only
    assert whole_blob_gets(upstream, image).count(model) == 1


def test_a_cold_cache_downloads_a_blob_again_for_hosts_asking_at_once(upstream, cache, tmp_path):
    """Why warm_mirrors exists: docker-registry 2.8's proxy (registry/proxy/proxyblobstore.go, ServeBlob) sends a
    request for a blob it is still fetching to the upstream again instead of waiting for the first fetch. How many
    of the 6 requests overlap the first fetch depends on the machine's load (more than 2 idle, 2 under load): any
    second download of the same blob shows it."""
    image = push_backend(upstream, "latest-cpu-x", model_bytes=32 << 20)
    concurrent_installs(upstream, cache, tmp_path, 6, "latest-cpu-x")
    model = image["layers"][1]["digest"]
    assert whole_blob_gets(upstream, image).count(model) >= 2


def test_warming_an_index_fetches_this_platform_only(upstream, cache, tmp_path):
    pusher = Pusher(upstream.url)
    amd64, arm64 = push_backend(upstream, None, "amd64"), push_backend(upstream, None, "arm64")
    index = pusher.push_index(REPOSITORY, "latest-cpu-x", [amd64, arm64])
    pin = {"uri": uri(upstream, "latest-cpu-x"), "digest": index}
    warmer = CacheWarmer(RegistryClient(), RunCache("warm", str(tmp_path / "run"), "run-1"),
                         {upstream.host: cache.host})
    assert warmer.warm(pin, ARM64)["blobs_fetched"] == 3
    fetched = set(whole_blob_gets(upstream, arm64))
    assert {layer["digest"] for layer in arm64["layers"]} == fetched
    assert not {layer["digest"] for layer in amd64["layers"]} & {digest for digest, _sent in upstream_blob_gets(upstream)}
    # Without the host's platform (backend_facts not gathered), every platform is warmed: here, amd64's as well.
    next_run = CacheWarmer(RegistryClient(), RunCache("warm", str(tmp_path / "run"), "run-2"),
                           {upstream.host: cache.host}).warm(pin, None)
    assert (next_run["blobs_fetched"], next_run["blobs_stored"]) == (3, 3)
    assert {layer["digest"] for layer in amd64["layers"]} == set(whole_blob_gets(upstream, amd64))


def test_warming_a_cache_that_is_down_is_a_warning(upstream, cache, tmp_path):
    image = push_backend(upstream, "latest-cpu-x")
    cache.stop()
    warmer = CacheWarmer(RegistryClient(timeout=5, retries=0), RunCache("warm", str(tmp_path / "run"), "run-1"),
                         {upstream.host: cache.host})
    warmed = warmer.warm({"uri": uri(upstream, "latest-cpu-x"), "digest": image["digest"]}, AMD64)
    assert warmed == {"warning": "could not warm registry mirror %s/%s@%s for linux/amd64: registry %s is "
                                 "unreachable (http://%s/v2/%s/manifests/%s): [Errno 111] Connection refused; the "
                                 "hosts pull unwarmed (through the mirror, or from upstream if it fails)"
                                 % (cache.host, REPOSITORY, image["digest"], cache.host, cache.host, REPOSITORY,
                                    image["digest"])}


def test_nothing_is_warmed_without_a_mirror_or_without_one_pin(upstream, tmp_path):
    image = push_backend(upstream, "latest-cpu-x")
    warmer = CacheWarmer(RegistryClient(), RunCache("warm", str(tmp_path / "run"), "run-1"), {"quay.io": "cache:5000"})
    assert warmer.warm({"uri": uri(upstream, "latest-cpu-x"), "digest": image["digest"]}, AMD64) == {}
    assert not upstream_blob_gets(upstream)
    pin = {"uri": "quay.io/x/y:z", "digest": image["digest"]}
    assert one_pin({"gallery_entry": {"name": "x", "pin": pin}}) == pin
    assert one_pin({"gallery_entry": {"name": "meta"}, "gallery_candidates": {
        "cpu-x": {"pin": pin}, "cuda-x": {"pin": dict(pin, digest="sha256:" + "1" * 64)}}}) is None
    assert one_pin({"gallery_entry": {"name": "meta"}, "gallery_candidates": {
        "cpu-x": {"pin": pin}, "cuda-x": {"refusal": "not verified"}}}) == pin


def test_the_cache_signs_in_to_a_token_upstream_for_hosts_without_credentials(registry, pusher, tmp_path, backends_path):
    """quay.io, Docker Hub and Harbor hand out bearer tokens: the cache holds the upstream account (the role's
    username/password), the hosts hold none. docker-registry 2.8 sends proxy credentials to token realms only
    (registry/proxy/proxyregistry.go, configureAuth), so a Basic-auth upstream cannot be proxied with credentials."""
    from helpers.token_server import TokenServer
    from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import Credentials
    from ansible_collections.localai.gallery.plugins.plugin_utils.replication import Replicator

    tokens = TokenServer(str(tmp_path / "tokens"), users={"alice": "alice-pass"})
    private = RegistryServer(str(tmp_path / "private"), token_auth=tokens.registry_auth()).start()
    cache = RegistryServer(str(tmp_path / "cache"), proxy={"remoteurl": private.url, "username": "alice",
                                                           "password": "alice-pass"}).start()
    try:
        pusher.push_backend("cache-token/x", "t", "v1")
        client = RegistryClient(Credentials({private.host: {"username": "alice", "password": "alice-pass"}}))
        copied = Replicator(private.host, client).copy_build(
            {"backend": "x", "build": "x", "entry": {"name": "x", "uri": "%s/cache-token/x:t" % registry.host}})
        change = Engine(backends_path, {private.host: cache.host}, upstream_fallback=False).install(
            "cpu-x", ["%s/cache-token/x:t" % private.host])
        assert read_metadata_at(os.path.join(backends_path, "cpu-x"))["digest"] == copied["digest"]
        assert change.source.startswith(cache.host)
        assert any(item["user"] == "alice" and "pull" in ",".join(item["scope"]) and item["status"] == 200
                   for item in tokens.requests)
    finally:
        cache.stop()
        private.stop()
        tokens.stop()
