# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A hostile or broken registry: each case fails with one clear line, bounded in time and bytes, and the
backend installed before stays whole (RELIABILITY.md, "Hostile registries")."""

from __future__ import annotations

import os
import re
import time

import pytest

from helpers.engine import Engine
from helpers.hostile_registry import REPOSITORY, HostileRegistry, TokenHost
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AuthenticationError,
    BackendError,
    DecompressionBombError,
    DigestMismatchError,
    ManifestError,
    RegistryError,
    StalledTransferError,
)

AMD64 = {"os": "linux", "architecture": "amd64", "variant": None}


@pytest.fixture
def hostile(tmp_path):
    registry = HostileRegistry()
    yield registry
    registry.stop()


def engine(backends_path, **options):
    options.setdefault("wanted_platform", AMD64)
    options.setdefault("timeout", 5)
    return Engine(backends_path, **options)


def version(backends_path):
    with open(os.path.join(backends_path, "b", "lib", "version.txt"), encoding="utf-8") as handle:
        return handle.read().strip()


def install_v1_then(hostile, backends_path, behaviour, **options):
    """Install v1 from a well-behaved registry, publish v2, then make it misbehave for the upgrade."""
    engine(backends_path).install("b", [hostile.uri])
    hostile.publish("v2")
    hostile.behaviour = behaviour
    started = time.monotonic()
    with pytest.raises(BackendError) as raised:
        engine(backends_path, **options).install("b", [hostile.uri], force=True)
    assert version(backends_path) == "v1", "the previous backend must stay whole"
    assert sorted(os.listdir(os.path.join(backends_path, ".localai-gallery"))) == ["lock"]
    assert "\n" not in str(raised.value)
    return raised.value, time.monotonic() - started


@pytest.mark.parametrize("behaviour, message", [
    ("huge-manifest", r"the manifest of .*/hostile/backend:t declares 104857600 bytes, more than the 4194304 "
                      r"allowed: refused"),
    ("huge-manifest-chunked", r"the manifest of .*/hostile/backend:t is larger than the 4194304 bytes allowed"),
])
def test_a_100_mb_manifest_is_refused(hostile, backends_path, behaviour, message):
    error, elapsed = install_v1_then(hostile, backends_path, behaviour)
    assert isinstance(error, ManifestError) and re.search(message, str(error)), str(error)
    assert elapsed < 5


def test_a_blob_that_never_ends_is_stopped_at_its_declared_size(hostile, backends_path):
    error, elapsed = install_v1_then(hostile, backends_path, "blob-overflow")
    assert isinstance(error, DigestMismatchError) and "larger than its manifest says (%d bytes)" % len(hostile.layer) \
        in str(error)
    assert elapsed < 5


def test_a_dripping_server_stalls_clearly_naming_the_source(hostile, backends_path):
    error, elapsed = install_v1_then(hostile, backends_path, "drip", timeout=2)
    assert isinstance(error, StalledTransferError)
    assert "transfer from %s (blob sha256:" % hostile.uri in str(error) and "less than 1 KiB" in str(error)
    assert 2 <= elapsed < 6


def test_a_redirect_loop_is_bounded_and_says_redirect(hostile, backends_path):
    error, _elapsed = install_v1_then(hostile, backends_path, "redirect-loop")
    assert isinstance(error, RegistryError) and "redirect" in str(error)
    blob_requests = [path for _method, path, _auth in hostile.requests if "/blobs/" in path]
    assert 2 <= len(blob_requests) <= 12


def test_a_blob_redirect_to_presigned_storage_works_and_storage_sees_no_credentials(tmp_path, backends_path):
    registry = HostileRegistry(username="puller", password="pull-secret")
    try:
        registry.behaviour = "redirect-elsewhere"
        engine(backends_path, username="puller", password="pull-secret").install("b", [registry.uri])
        assert version(backends_path) == "v1"
        registry_auth = {auth for _method, path, auth in registry.requests if "/blobs/" in path}
        assert registry_auth == {"Basic " + registry.credentials}
        assert registry.storage.server.requests and all(auth is None for _m, _p, auth in registry.storage.server.requests)
    finally:
        registry.stop()


def test_a_token_realm_on_another_host_gets_the_credentials_the_challenge_asks_for(hostile, backends_path):
    tokens = TokenHost()
    try:
        hostile.behaviour = "token-elsewhere"
        hostile.token_realm = tokens.server.url + "/token"
        engine(backends_path, username="alice", password="alice-pass").install("b", [hostile.uri])
        assert version(backends_path) == "v1"
        assert tokens.server.requests[0][1].startswith("/token?scope=repository%3A" + REPOSITORY.replace("/", "%2F"))
        assert tokens.server.requests[0][2].startswith("Basic ")
        assert all(auth in (None, "Bearer t0ken") for _m, _p, auth in hostile.requests)
    finally:
        tokens.server.stop()


def test_a_plain_http_realm_for_an_https_registry_is_refused(tmp_path, backends_path):
    registry = HostileRegistry(tls_dir=str(tmp_path / "tls"))
    tokens = TokenHost()
    try:
        registry.behaviour = "token-elsewhere"
        registry.token_realm = tokens.server.url + "/token"
        with pytest.raises(AuthenticationError, match="plain-HTTP token realm .*over HTTPS only; refused"):
            engine(backends_path, username="alice", password="alice-pass", ca_path=registry.ca_path,
                   insecure_registries=[]).install("b", ["%s/%s:t" % (registry.host, REPOSITORY)])
        assert tokens.server.requests == []
    finally:
        registry.stop()
        tokens.server.stop()


def test_429_with_retry_after_is_honoured_within_bounded_retries(hostile, backends_path):
    hostile.behaviour, hostile.retry_after_answers = "retry-after", 2
    started = time.monotonic()
    engine(backends_path).install("b", [hostile.uri])
    assert version(backends_path) == "v1" and time.monotonic() - started >= 2


@pytest.mark.parametrize("retry_after, message", [
    ("1", "answered HTTP 429 for .* after 2 retries \\(waiting 1 s each time, as it asked\\): try again later"),
    ("3600", "answered HTTP 429 for .* and asks to wait 3600 s, longer than the 60 s a run waits: try again later")])
def test_429_for_ever_fails_after_the_retries(hostile, backends_path, retry_after, message):
    hostile.retry_after_value = retry_after
    engine(backends_path).install("b", [hostile.uri])
    hostile.behaviour, hostile.retry_after_answers = "retry-after", 1000
    started = time.monotonic()
    with pytest.raises(RegistryError, match=message):
        engine(backends_path, retries=2).install("b", [hostile.uri], force=True)
    elapsed = time.monotonic() - started
    manifest_requests = [path for _method, path, _auth in hostile.requests if "/manifests/t" in path]
    if retry_after == "1":  # waited twice as asked, then gave up: three requests for the tag
        assert 2 <= elapsed < 4 and len(manifest_requests) == 1 + 3
    else:  # an hour is more than anyone should wait inside a run: fails at once
        assert elapsed < 1 and len(manifest_requests) == 1 + 1
    assert version(backends_path) == "v1"


def test_an_index_naming_a_digest_that_answers_itself_is_refused(hostile, backends_path):
    error, _elapsed = install_v1_then(hostile, backends_path, "self-index")
    assert isinstance(error, DigestMismatchError) and "is corrupt" in str(error)


def test_indexes_nested_deeper_than_the_limit_are_refused(hostile, backends_path):
    error, _elapsed = install_v1_then(hostile, backends_path, "nested-index")
    assert isinstance(error, ManifestError) and "nests indexes deeper than 3 levels: refused" in str(error)


def test_a_gzip_bomb_is_refused_before_it_fills_the_disk(hostile, backends_path):
    engine(backends_path).install("b", [hostile.uri])
    hostile.publish_bomb()
    with pytest.raises(DecompressionBombError, match=r"inflates to more than 1000 times its compressed size "
                                                     r"\(\d+ bytes from \d+\): refused as a decompression bomb"):
        engine(backends_path).install("b", [hostile.uri], force=True)
    assert version(backends_path) == "v1"
    staged = sum(os.path.getsize(os.path.join(directory, name)) for directory, _dirs, files in os.walk(backends_path)
                 for name in files)
    assert staged < 1 << 20  # the refused staging is gone; nothing of the 256 MiB stayed
