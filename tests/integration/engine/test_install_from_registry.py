# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine end to end against a real docker-registry: pull, verify, extract, swap, metadata, errors."""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile

import pytest

from helpers.trees import read_metadata_at
from helpers.engine import Engine
from helpers.fault_proxy import FaultProxy
from helpers.images import OCI_INDEX, RUN_SH, Pusher, backend_files, compress, digest_of, entry, tar_bytes
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AllSourcesFailedError,
    AuthenticationError,
    AuthorizationError,
    DigestMismatchError,
    InvalidBackendError,
    NotFoundError,
    PlatformNotFoundError,
    RegistryError,
    SourceError,
)
from ansible_collections.localai.gallery.plugins.module_utils.uris import fallback_uris

AMD64 = {"os": "linux", "architecture": "amd64", "variant": None}
ARM64 = {"os": "linux", "architecture": "arm64", "variant": None}


def installer(backends_path, mirrors=None, check_mode=False, **client_options):
    client_options.setdefault("wanted_platform", AMD64)
    client_options.setdefault("retries", 3)
    return Engine(backends_path, mirrors, check_mode, **client_options)


def version_of(backends_path, name):
    with open(os.path.join(backends_path, name, "lib", "version.txt"), encoding="utf-8") as handle:
        return handle.read().strip()


def listing(backends_path):
    return sorted(os.listdir(backends_path))


@pytest.mark.parametrize("manifest_format, compression", [
    ("oci", "gzip"), ("oci", "zstd"), ("oci", "none"), ("docker", "gzip"), ("docker", "none")])
def test_install_every_manifest_and_layer_format(registry, pusher, backends_path, manifest_format, compression):
    repository = "formats/%s-%s" % (manifest_format, compression)
    image = pusher.push_image(repository, "t", [backend_files("v1"), [entry("lib/second.txt", "2")]],
                              compression=compression, manifest_format=manifest_format)
    uri = "%s/%s:t" % (registry.host, repository)
    result = installer(backends_path).install("cpu-test", [uri], {"alias": "test", "uri": uri})
    assert result.changed and result.digest == image["digest"] and result.source == uri
    assert version_of(backends_path, "cpu-test") == "v1"
    assert (open(os.path.join(backends_path, "cpu-test", "lib", "second.txt")).read()) == "2"
    metadata = read_metadata_at(os.path.join(backends_path, "cpu-test"))
    assert list(metadata) == ["alias", "name", "installed_at", "uri", "digest"]
    assert metadata["digest"] == image["digest"] and metadata["uri"] == uri
    assert listing(backends_path) == [".localai-gallery", "cpu-test"]


@pytest.mark.parametrize("manifest_format", ["oci", "docker"])
def test_index_picks_the_host_platform(registry, pusher, backends_path, manifest_format):
    repository = "multiarch/" + manifest_format
    amd = pusher.push_image(repository, None, [backend_files("amd64")], manifest_format=manifest_format)
    arm = pusher.push_image(repository, None, [backend_files("arm64")], manifest_format=manifest_format,
                            architecture="arm64")
    index_digest = pusher.push_index(repository, "t", [amd, arm], manifest_format)
    uri = "%s/%s:t" % (registry.host, repository)
    result = installer(backends_path, wanted_platform=ARM64).install("b", [uri], {})
    # The arm64 content, but the digest LocalAI records: the index the tag names (oci.GetImageDigest).
    assert version_of(backends_path, "b") == "arm64" and result.digest == index_digest
    assert read_metadata_at(os.path.join(backends_path, "b"))["digest"] == index_digest
    with pytest.raises(PlatformNotFoundError, match="no manifest for linux/s390x .*offers: linux/amd64, linux/arm64"):
        installer(backends_path, wanted_platform={"os": "linux", "architecture": "s390x", "variant": None}).install(
            "c", [uri], {})


def test_present_is_idempotent_latest_follows_the_tag_and_force_reinstalls(registry, pusher, backends_path):
    uri = "%s/moving/tag:latest-cpu" % registry.host
    first = pusher.push_backend("moving/tag", "latest-cpu", "v1")
    assert installer(backends_path).install("b", [uri], {}).changed
    assert installer(backends_path).install("b", [uri], {}).changed is False
    before_lines = len(registry.request_lines("/moving/tag/"))
    assert installer(backends_path).install("b", [uri], {}, state="latest").changed is False
    latest_lines = registry.request_lines("/moving/tag/")[before_lines:]
    assert len(latest_lines) == 1 and "/manifests/latest-cpu" in latest_lines[0]  # one manifest request, no blob

    second = pusher.push_backend("moving/tag", "latest-cpu", "v2")
    check = installer(backends_path, check_mode=True).install("b", [uri], {}, state="latest")
    assert check.changed and version_of(backends_path, "b") == "v1"
    assert first["digest"] in check.reason and second["digest"] in check.reason
    before_upgrade = len(registry.request_lines("/moving/tag/manifests/"))
    assert installer(backends_path).install("b", [uri], {}, state="latest").changed
    assert len(registry.request_lines("/moving/tag/manifests/")) - before_upgrade == 2  # digest check, then pull
    assert version_of(backends_path, "b") == "v2"
    assert read_metadata_at(os.path.join(backends_path, "b"))["digest"] == second["digest"]
    assert installer(backends_path).install("b", [uri], {}, force=True).reason == "forced"
    assert listing(backends_path) == [".localai-gallery", "b"]


def test_the_controllers_warning_about_a_source_is_shown_only_by_an_install(registry, pusher, backends_path):
    """A no-op run says nothing about signatures: nothing was installed from the unverified source."""
    uri = "%s/warned/tag:latest-cpu" % registry.host
    pusher.push_backend("warned/tag", "latest-cpu", "v1")
    unsigned = {"warning": "installing OCI backends of gallery g without signature verification: no policy"}
    assert installer(backends_path).install("b", [uri], unsigned).warnings == [unsigned["warning"]]
    again = installer(backends_path).install("b", [uri], unsigned)
    assert again.changed is False and again.warnings == []
    assert installer(backends_path).install("b", [uri], unsigned, force=True).warnings == [unsigned["warning"]]


def test_reinstall_writes_metadata_afresh_with_mode_0644(registry, pusher, backends_path):
    """LocalAI's InstallBackend writes a new BackendMetadata: keys of the earlier install never survive."""
    uri = "%s/keep/keys:t" % registry.host
    pusher.push_backend("keep/keys", "t")
    installer(backends_path).install("b", [uri], {"alias": "old-alias", "uri": uri})
    path = os.path.join(backends_path, "b", "metadata.json")
    data = json.load(open(path))
    data["future_field"] = "dropped"
    json.dump(data, open(path, "w"))
    old_umask = os.umask(0o077)
    try:
        installer(backends_path).install("b", [uri], {"uri": uri}, force=True)
    finally:
        os.umask(old_umask)
    assert list(read_metadata_at(os.path.join(backends_path, "b"))) == ["name", "installed_at", "uri", "digest"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_image_without_run_sh_changes_nothing(registry, pusher, backends_path):
    pusher.push_image("norun/x", "t", [[entry("lib/only.so", "x")]])
    with pytest.raises(InvalidBackendError, match="not a valid backend: run file not found"):
        installer(backends_path).install("b", ["%s/norun/x:t" % registry.host], {})
    assert listing(backends_path) == [".localai-gallery"]


@pytest.mark.parametrize("target, installs", [("bin/start.sh", True), ("bin", False), ("missing.sh", False)])
def test_run_sh_may_be_a_link_to_a_file_as_localai_stat_accepts(registry, pusher, backends_path, target, installs):
    """LocalAI checks run.sh with os.Stat (core/gallery/upgrade.go "check that run.sh exists"), a link followed."""
    repository = "linkrun/%s" % target.replace("/", "-").replace(".", "-")
    pusher.push_image(repository, "t", [[entry("bin", kind="dir", mode=0o755), entry("bin/start.sh", RUN_SH, mode=0o755),
                                         entry("run.sh", kind="symlink", target=target)]])
    uri = "%s/%s:t" % (registry.host, repository)
    if not installs:
        with pytest.raises(InvalidBackendError, match="nor a link to one"):
            installer(backends_path).install("b", [uri], {})
        return
    assert installer(backends_path).install("b", [uri], {}).changed
    assert os.readlink(os.path.join(backends_path, "b", "run.sh")) == "bin/start.sh"
    assert listing(backends_path) == [".localai-gallery", "b"]


def test_corrupt_blob_fails_and_keeps_the_previous_install(registry, pusher, backends_path):
    pusher.push_backend("corrupt/x", "t", "good")
    installer(backends_path).install("b", ["%s/corrupt/x:t" % registry.host], {})
    pusher.push_backend("corrupt/x", "t", "new")
    with FaultProxy(registry.host) as proxy:
        proxy.corrupt_blobs = True
        with pytest.raises(DigestMismatchError, match="is corrupt: its content hashes to sha256:"):
            installer(backends_path, retries=0).install("b", ["%s/corrupt/x:t" % proxy.host], {}, force=True)
    assert version_of(backends_path, "b") == "good"
    assert listing(backends_path) == [".localai-gallery", "b"]


def test_connection_cut_mid_blob_is_resumed_with_range(registry, pusher, backends_path):
    pusher.push_image("cut/x", "t", [backend_files("resumed", extra=400)])
    with FaultProxy(registry.host) as proxy:
        proxy.cut_blobs, proxy.cut_after = 2, 700
        result = installer(backends_path).install("b", ["%s/cut/x:t" % proxy.host], {})
    assert result.changed and version_of(backends_path, "b") == "resumed"
    blob_requests = [line for line in proxy.requests if "/blobs/" in line]
    assert len(blob_requests) >= 3  # the first GET, then resumptions


def test_wrong_password_is_401_and_forbidden_is_403(auth_registry, auth_pusher, backends_path):
    auth_pusher.push_backend("private/x", "t")
    uri = "%s/private/x:t" % auth_registry.host
    with pytest.raises(AuthenticationError, match="HTTP 401.*check the registry username and password"):
        installer(backends_path, username="gallery-user", password="wrong", ca_path=auth_registry.ca_path).install(
            "b", [uri], {})
    with pytest.raises(AuthenticationError, match="requires authentication"):
        installer(backends_path, ca_path=auth_registry.ca_path, docker_config_path="/nonexistent").install(
            "b", [uri], {})
    with FaultProxy(auth_registry.host) as proxy:
        proxy.status_for["/v2/"] = 403
        with pytest.raises(AuthorizationError, match="forbidden \\(HTTP 403\\)"):
            installer(backends_path).install("b", ["%s/private/x:t" % proxy.host], {})
    assert listing(backends_path) == [".localai-gallery"]


def test_basic_auth_over_tls_with_ca_and_with_docker_config(auth_registry, auth_pusher, backends_path, tmp_path):
    from conftest import REGISTRY_PASSWORD, REGISTRY_USER

    auth_pusher.push_backend("private/y", "t", "secret")
    uri = "%s/private/y:t" % auth_registry.host
    installer(backends_path, username=REGISTRY_USER, password=REGISTRY_PASSWORD,
              ca_path=auth_registry.ca_path).install("b", [uri], {})
    assert version_of(backends_path, "b") == "secret"
    config = tmp_path / "config.json"
    token = base64.b64encode(("%s:%s" % (REGISTRY_USER, REGISTRY_PASSWORD)).encode()).decode()
    config.write_text(json.dumps({"auths": {"https://%s" % auth_registry.host: {"auth": token}}}))
    installer(backends_path, ca_path=auth_registry.ca_path, docker_config_path=str(config)).install("c", [uri], {})
    assert REGISTRY_PASSWORD not in open(os.path.join(backends_path, "c", "metadata.json")).read()


def test_unverified_tls_is_refused_by_default(auth_registry, backends_path):
    with pytest.raises(RegistryError, match="unreachable.*(CERTIFICATE_VERIFY_FAILED|certificate verify failed)"):
        installer(backends_path, username="u", password="p").install("b", ["%s/private/x:t" % auth_registry.host], {})


def test_unknown_tag_names_the_reference(registry, pusher, backends_path):
    pusher.push_backend("known/x", "t")
    with pytest.raises(NotFoundError, match="tag or digest 'nope' not found in %s/known/x:nope" % registry.host):
        installer(backends_path).install("b", ["%s/known/x:nope" % registry.host], {})


def test_registry_mirror_and_localai_fallback_chain(registry, pusher, backends_path):
    pusher.push_backend("go-skynet/local-ai-backends", "master-cpu-fallback-development", "dev")
    uri = "quay.io/go-skynet/local-ai-backends:latest-cpu-fallback"
    chain = fallback_uris(uri, ["localai/localai-backends:latest-cpu-fallback"])
    assert chain == [uri, "localai/localai-backends:latest-cpu-fallback",
                     "quay.io/go-skynet/local-ai-backends:master-cpu-fallback",
                     "quay.io/go-skynet/local-ai-backends:master-cpu-fallback-development"]
    mirrors = {"quay.io": registry.host, "docker.io": registry.host}
    result = installer(backends_path, mirrors).install("cpu-fallback", chain, {"uri": uri})
    assert result.source == "%s/go-skynet/local-ai-backends:master-cpu-fallback-development" % registry.host
    assert read_metadata_at(os.path.join(backends_path, "cpu-fallback"))["uri"] == uri  # the primary, not the fallback
    # Every source through its mirror first, then each upstream (Docker's registry-mirrors rule; quay.io is
    # unreachable or refuses here, whichever: it is named with its own error).
    failure = ("every source failed \\(4 tried\\): %s/a/b:nope1: .*404.*; %s/a/b:nope2: .*404.*; quay.io/a/b:nope1: .*; "
               "quay.io/a/b:nope2: " % (registry.host, registry.host))
    with pytest.raises(AllSourcesFailedError, match=failure):
        installer(backends_path, mirrors).install("x", ["quay.io/a/b:nope1", "quay.io/a/b:nope2"], {})
    without_fallback = "every source failed \\(2 tried\\): .*:nope1: .*404.*:nope2: .*404[^;]*$"
    with pytest.raises(AllSourcesFailedError, match=without_fallback):
        strict = installer(backends_path, mirrors, upstream_fallback=False)
        strict.install("x", ["quay.io/a/b:nope1", "quay.io/a/b:nope2"], {})


def test_ocifile_directory_and_tarball_sources(tmp_path, backends_path):
    layer = compress(tar_bytes(backend_files("from-archive")), "gzip")
    config = b"{}"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digest_of(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "digest": digest_of(layer), "size": len(layer)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest_of(manifest),
         "size": len(manifest), "platform": AMD64}]}).encode()
    archive_path = tmp_path / "image.tar"
    with tarfile.open(archive_path, "w") as archive:
        for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)] + [
                ("blobs/sha256/" + digest_of(blob)[7:], blob) for blob in (layer, config, manifest)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    result = installer(backends_path).install("from-oci", ["ocifile://%s" % archive_path], {})
    assert result.digest == digest_of(manifest) and version_of(backends_path, "from-oci") == "from-archive"

    source_dir = tmp_path / "srcdir"
    (source_dir / "lib").mkdir(parents=True)
    (source_dir / "run.sh").write_text("#!/bin/sh\n")
    (source_dir / "lib" / "version.txt").write_text("from-dir\n")
    installer(backends_path).install("from-dir", [str(source_dir)], {})
    assert version_of(backends_path, "from-dir") == "from-dir"

    tarball = tmp_path / "backend.tar.gz"
    tarball.write_bytes(compress(tar_bytes(backend_files("from-tarball")), "gzip"))
    sha = digest_of(tarball.read_bytes())[7:]
    installer(backends_path).install("from-tar", [str(tarball)], {}, sha256=sha)
    assert version_of(backends_path, "from-tar") == "from-tarball"
    with pytest.raises(DigestMismatchError, match="backend.tar.gz does not match the sha256 given: expected 0{64}, "
                                                  "the download hashes to %s; check the sha256 option" % sha):
        installer(backends_path).install("bad-tar", [str(tarball)], {}, sha256="0" * 64)
    with pytest.raises(SourceError, match="give its sha256"):
        installer(backends_path).install("no-sha", [str(tarball)], {})
    assert "bad-tar" not in listing(backends_path)


def test_bearer_token_flow_anonymous_and_with_credentials(tmp_path, backends_path):
    """A registry with `auth: token` (as quay.io and Docker Hub): anonymous pulls, and credentials at the realm."""
    from helpers.registry_server import RegistryServer
    from helpers.token_server import TokenServer

    tokens = TokenServer(str(tmp_path / "tokens"), users={"alice": "alice-pass"})
    storage = str(tmp_path / "storage")
    pushing = RegistryServer(str(tmp_path / "push"), storage=storage).start()
    guarded = RegistryServer(str(tmp_path / "guarded"), storage=storage, token_auth=tokens.registry_auth()).start()
    try:
        pusher = Pusher(pushing.url)
        pusher.push_backend("public/b", "t", "anonymous")
        pusher.push_backend("private/b", "t", "private")
        installer(backends_path).install("anon", ["%s/public/b:t" % guarded.host], {})
        assert version_of(backends_path, "anon") == "anonymous"
        assert tokens.requests[0]["user"] is None and tokens.requests[0]["scope"] == ["repository:public/b:pull"]
        with pytest.raises(AuthenticationError, match="authentication failed for .*private/b:t \\(HTTP 401\\)"):
            installer(backends_path, docker_config_path="/nonexistent").install(
                "p", ["%s/private/b:t" % guarded.host], {})
        with pytest.raises(AuthenticationError, match="token service answered HTTP 401"):
            installer(backends_path, username="alice", password="wrong").install(
                "p", ["%s/private/b:t" % guarded.host], {})
        installer(backends_path, username="alice", password="alice-pass").install(
            "p", ["%s/private/b:t" % guarded.host], {})
        assert version_of(backends_path, "p") == "private"
        assert tokens.requests[-1] == {"user": "alice", "status": 200, "scope": ["repository:private/b:pull"]}
    finally:
        guarded.stop()
        pushing.stop()
        tokens.stop()
