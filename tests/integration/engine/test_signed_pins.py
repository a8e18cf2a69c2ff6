# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pinning and verification on the controller (plugin_utils/pinning.py) against real registries.

The distribution registry (2.8) has no referrers API, so bundles are found through the fallback tag, as
cosign leaves them there; the hostile registry serves the OCI 1.1 referrers API, and referrers that break
the rules. The playbook-level cases (every refusal through the module, two hosts and a moving tag) are the
integration target backend_signatures.
"""

from __future__ import annotations

import pytest

from helpers.hostile_registry import HostileRegistry
from helpers.images import backend_files
from helpers.sigstore_instance import SigstoreInstance
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
from ansible_collections.localai.gallery.plugins.plugin_utils.pinning import Pinner
from ansible_collections.localai.gallery.plugins.plugin_utils.run_cache import RunCache

pytest.importorskip("sigstore", reason="sigstore-python is a controller requirement of signature checks")

POLICY = {"issuer": "https://token.actions.githubusercontent.com", "identity_regex": "^https://github.com/mudler/"}
GALLERY = {"name": "signed", "url": "file:///signed.yaml", "verification": POLICY}


@pytest.fixture(scope="module")
def instance():
    return SigstoreInstance()


@pytest.fixture(scope="module")
def root_path(instance, tmp_path_factory):
    return instance.write_trusted_root(str(tmp_path_factory.mktemp("root") / "trusted_root.json"))


def pinner(root_path, cache_dir, run_id="run-1", **options) -> Pinner:
    return Pinner(RegistryClient(timeout=5), RunCache("pins", str(cache_dir), run_id), {}, root_path, **options)


def push_signed(pusher, instance, repository, tag, label):
    image = pusher.push_image(repository, tag, [backend_files(label)])
    pusher.attach_bundle(repository, image, instance.sign_digest(image["digest"]))
    return image


def test_a_run_pins_one_digest_while_the_tag_moves(registry, pusher, instance, root_path, tmp_path):
    first = push_signed(pusher, instance, "pins/moving", "t", "v1")
    entry = {"name": "moving", "uri": "%s/pins/moving:t" % registry.host}
    assert pinner(root_path, tmp_path).pin(entry, GALLERY)["pin"]["digest"] == first["digest"]
    second = push_signed(pusher, instance, "pins/moving", "t", "v2")
    requests_before = len(registry.request_lines("/v2/pins/moving/"))
    again = pinner(root_path, tmp_path).pin(entry, GALLERY)  # another worker (host) of the same run
    assert again["pin"]["digest"] == first["digest"]
    assert len(registry.request_lines("/v2/pins/moving/")) == requests_before, "the run asked the registry once"
    assert pinner(root_path, tmp_path, "run-2").pin(entry, GALLERY)["pin"]["digest"] == second["digest"]


def test_the_fallback_tag_lists_other_artifacts_too(registry, pusher, instance, root_path, tmp_path):
    """Only referrers whose artifactType is a Sigstore bundle count (an SBOM beside it is skipped)."""
    image = pusher.push_image("pins/sbom", "t", [backend_files("v1")])
    pusher.attach_bundle("pins/sbom", image, b'{"spdxVersion": "SPDX-2.3"}', "application/spdx+json")
    refused = pinner(root_path, tmp_path).pin({"name": "sbom", "uri": "%s/pins/sbom:t" % registry.host}, GALLERY)
    assert "no Sigstore bundle is attached" in refused["refusal"]
    pusher.attach_bundle("pins/sbom", image, instance.sign_digest(image["digest"]))
    pinned = pinner(root_path, tmp_path, "run-2").pin({"name": "sbom", "uri": "%s/pins/sbom:t" % registry.host},
                                                      GALLERY)
    assert pinned["pin"]["verified"]


def test_a_second_bundle_may_verify_where_the_first_does_not(registry, pusher, instance, root_path, tmp_path):
    image = pusher.push_image("pins/two", "t", [backend_files("v1")])
    pusher.attach_bundle("pins/two", image, SigstoreInstance("elsewhere").sign_digest(image["digest"]))
    pusher.attach_bundle("pins/two", image, instance.sign_digest(image["digest"]))
    pinned = pinner(root_path, tmp_path).pin({"name": "two", "uri": "%s/pins/two:t" % registry.host}, GALLERY)
    assert pinned["pin"]["verified"]


def test_no_policy_pins_without_verifying(registry, pusher, root_path, tmp_path):
    image = pusher.push_image("pins/plain", "t", [backend_files("v1")])
    result = pinner(root_path, tmp_path).pin({"name": "plain", "uri": "%s/pins/plain:t" % registry.host},
                                             {"name": "plain", "url": "x"})
    assert result == {"pin": {"uri": "%s/pins/plain:t" % registry.host, "digest": image["digest"], "verified": False},
                      "warning": "installing OCI backends of gallery plain without signature verification: gallery "
                                 "plain has no verification policy"}


def test_a_tag_the_controller_cannot_resolve(root_path, tmp_path):
    """Under a policy: refused (nothing to verify). Without one: a warning, and each host resolves the tag."""
    entry = {"name": "gone", "uri": "127.0.0.1:9/pins/gone:t"}
    refused = pinner(root_path, tmp_path).pin(entry, GALLERY)
    assert refused["refusal"].startswith("the controller cannot resolve the image to a digest: 127.0.0.1:9/pins/gone:t")
    assert refused["refusal"].endswith("so its signature cannot be checked")
    warning = pinner(root_path, tmp_path).pin(entry, {"name": "plain", "url": "x"})["warning"]
    assert warning.startswith("the controller cannot resolve the image to a digest: 127.0.0.1:9/")
    assert warning.endswith("each host resolves the tag itself; installing OCI backends of gallery plain without "
                            "signature verification: gallery plain has no verification policy")


# --- the OCI 1.1 referrers API, on the hostile registry ---------------------------------------------------------
@pytest.fixture
def hostile():
    registry = HostileRegistry()
    yield registry
    registry.stop()


def test_the_referrers_api_is_asked_first(hostile, instance, root_path, tmp_path):
    index_digest = hostile.index_digest
    hostile.attach(index_digest, instance.sign_digest(index_digest))
    pinned = pinner(root_path, tmp_path).pin({"name": "b", "uri": hostile.uri}, GALLERY)
    assert pinned["pin"]["verified"], pinned
    paths = [path for _method, path, _auth in hostile.requests]
    assert "/v2/hostile/backend/referrers/%s" % index_digest in paths
    assert not any("/manifests/sha256-" in path for path in paths), "no fallback tag when the API answers"


def test_an_index_without_its_own_bundle_is_verified_per_platform(hostile, instance, root_path, tmp_path):
    hostile.attach(hostile.manifest_digest, instance.sign_digest(hostile.manifest_digest))
    pinned = pinner(root_path, tmp_path).pin({"name": "b", "uri": hostile.uri}, GALLERY)
    assert pinned["pin"]["verified_manifests"] == [hostile.manifest_digest]


def test_a_bundle_larger_than_it_says_is_unreadable(hostile, instance, root_path, tmp_path):
    index_digest = hostile.index_digest
    hostile.attach(index_digest, instance.sign_digest(index_digest))
    hostile.behaviour = "huge-bundle"
    refused = pinner(root_path, tmp_path).pin({"name": "b", "uri": hostile.uri}, GALLERY)
    assert refused["refusal"].startswith("cannot read referrer sha256:")
    assert "more than the 1048576 allowed" in refused["refusal"]
