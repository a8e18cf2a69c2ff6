# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signature policies and bundle verification (plugin_utils/signatures.py) against LocalAI's own cases.

LocalAI (mudler/LocalAI at 82c191a) is the oracle: rows name the upstream test (file:line "title") or code
line they transcribe. Bundles come from a complete test Sigstore instance (tests/helpers/sigstore_instance.py);
one real public-good bundle, shipped in sigstore-python's test assets, proves the production path offline.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os

import pytest

from helpers.sigstore_instance import GITHUB_ISSUER, LOCALAI_IDENTITY, SigstoreInstance
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    InvalidSignatureError,
    SignedTooEarlyError,
    SignerMismatchError,
    SigstoreUnavailableError,
    SubjectMismatchError,
    UnreadableBundleError,
    VerificationPolicyError,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.referrers import fallback_tag, is_bundle_artifact
from ansible_collections.localai.gallery.plugins.plugin_utils import signatures
from ansible_collections.localai.gallery.plugins.plugin_utils.signatures import SignerPolicy, verify_bundle

pytest.importorskip("sigstore", reason="sigstore-python is a controller requirement of signature checks")

VERIFY_TEST = "pkg/oci/cosignverify/verify_test.go"
NOT_BEFORE_TEST = "pkg/oci/cosignverify/notbefore_internal_test.go"
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "sigstore")
DIGEST = "sha256:" + hashlib.sha256(b"an image manifest").hexdigest()
OTHER_DIGEST = "sha256:" + hashlib.sha256(b"another image manifest").hexdigest()
CUTOFF = datetime.datetime(2026, 5, 14, 12, 0, tzinfo=datetime.timezone.utc)
LOCALAI_POLICY = {"issuer": GITHUB_ISSUER, "identity_regex": r"^https://github\.com/mudler/LocalAI/"}


@pytest.fixture(scope="module")
def instance():
    return SigstoreInstance()


@pytest.fixture(scope="module")
def root(instance, tmp_path_factory):
    path = instance.write_trusted_root(str(tmp_path_factory.mktemp("root") / "trusted_root.json"))
    return signatures.trusted_root(path)[0]


def verify(data: bytes, root, policy=None, digest: str = DIGEST):
    return verify_bundle(data, digest, SignerPolicy(policy or LOCALAI_POLICY, "localai"), root, "the image")


# --- the policy: pkg/oci/cosignverify/verify.go Policy.Validate, core/gallery/backends.go newGalleryVerifier ----
@pytest.mark.parametrize("source,block,message", [
    (VERIFY_TEST + ':14 "rejects an empty policy"', {}, "must set issuer or issuer_regex"),
    (VERIFY_TEST + ':19 "rejects a policy missing the identity"', {"issuer": GITHUB_ISSUER},
     "must set identity or identity_regex"),
    (VERIFY_TEST + ':26 "rejects a policy missing the issuer"', {"identity_regex": "^https://github.com/example/.*"},
     "must set issuer or issuer_regex"),
    ("core/gallery/backends.go:184 time.Parse(time.RFC3339, p.NotBefore)",
     {"issuer": "x", "identity": "y", "not_before": "2026-05-14"}, "not an RFC 3339 time with a zone"),
    ("ours: LocalAI's YAML ignores unknown keys; a misspelt key would silently weaken the policy",
     {"issuer": "x", "identity": "y", "identity_regexp": "z"}, "unknown keys identity_regexp"),
    ("ours: Go would fail at verification time", {"issuer": "x", "identity_regex": "("}, "not a valid regular"),
])
def test_policies_localai_refuses(source, block, message):
    with pytest.raises(VerificationPolicyError, match=message):
        SignerPolicy(block, "localai")


def test_a_complete_policy_is_accepted():
    """verify_test.go:33 "constructs a verifier given a complete policy"."""
    policy = SignerPolicy({"issuer": GITHUB_ISSUER, "identity_regex": "^https://github.com/example/.*",
                           "not_before": "2026-05-01T00:00:00Z"}, "localai")
    assert policy.not_before == datetime.datetime(2026, 5, 1, tzinfo=datetime.timezone.utc)


# --- bundles from the test instance ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["dsse", "message"])
def test_a_good_signature_names_its_signer(instance, root, kind):
    signer = verify(instance.sign_digest(DIGEST, kind=kind), root)
    assert (signer.identity, signer.issuer, signer.digest, signer.kind) == (LOCALAI_IDENTITY, GITHUB_ISSUER, DIGEST,
                                                                            kind)


def test_identity_regex_is_unanchored_like_go_matchstring(instance, root):
    """verify.go:231 NewShortCertificateIdentity: a regex matches anywhere unless anchored (Go MatchString)."""
    verify(instance.sign_digest(DIGEST), root, {"issuer": GITHUB_ISSUER, "identity_regex": "LocalAI/.github"})
    with pytest.raises(SignerMismatchError):
        verify(instance.sign_digest(DIGEST), root, {"issuer": GITHUB_ISSUER, "identity_regex": "^LocalAI"})


def test_a_wrong_identity_shows_expected_and_found(instance, root):
    bundle = instance.sign_digest(DIGEST, identity="https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/x")
    with pytest.raises(SignerMismatchError, match=r"signed by 'https://github.com/evil/fork/.*', but gallery localai "
                                                  r"expects identity matching /\^https://github\\.com/mudler/LocalAI/"):
        verify(bundle, root)


def test_a_wrong_issuer_shows_expected_and_found(instance, root):
    with pytest.raises(SignerMismatchError, match="issuer 'https://accounts.google.com', but gallery localai expects "
                                                  "issuer 'https://token.actions.githubusercontent.com'"):
        verify(instance.sign_digest(DIGEST, issuer="https://accounts.google.com"), root)


@pytest.mark.parametrize("kind", ["dsse", "message"])
def test_a_bundle_for_another_digest(instance, root, kind):
    """verify.go:250 WithArtifactDigest: the bundle must cover the manifest digest the image has."""
    with pytest.raises(SubjectMismatchError, match="covers %s, not the image's %s" % (OTHER_DIGEST, DIGEST)):
        verify(instance.sign_digest(OTHER_DIGEST, kind=kind), root)


def test_a_tampered_statement_breaks_the_signature(instance, root):
    bundle = json.loads(instance.sign_digest(OTHER_DIGEST))
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = DIGEST.split(":")[1]  # claim the image the attacker wants
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(InvalidSignatureError, match="does not verify"):
        verify(json.dumps(bundle).encode(), root)


def test_a_certificate_from_another_ca(root):
    with pytest.raises(InvalidSignatureError, match="does not chain to the trusted root"):
        verify(SigstoreInstance("elsewhere").sign_digest(DIGEST), root)


def test_a_log_entry_signed_by_another_log(instance, root):
    """verify.go:227 WithTransparencyLog(1): the entry's checkpoint and promise must come from a trusted log."""
    impostor = SigstoreInstance("impostor")
    impostor.root_key, impostor.intermediate_key = instance.root_key, instance.intermediate_key
    impostor.root_cert, impostor.intermediate_cert = instance.root_cert, instance.intermediate_cert
    impostor.ct_key = instance.ct_key  # same CA and CT log; only the transparency log is foreign
    with pytest.raises(InvalidSignatureError, match="invalid log entry|checkpoint|inclusion"):
        verify(impostor.sign_digest(DIGEST), root)


def test_an_sct_from_another_ct_log(instance, root):
    """verify.go:224 WithSignedCertificateTimestamps(1)."""
    impostor = SigstoreInstance("impostor")
    impostor.root_key, impostor.intermediate_key = instance.root_key, instance.intermediate_key
    impostor.root_cert, impostor.intermediate_cert = instance.root_cert, instance.intermediate_cert
    impostor.log_key, impostor.log_leaves, impostor.origin = instance.log_key, instance.log_leaves, instance.origin
    with pytest.raises(InvalidSignatureError, match="SCT"):
        verify(impostor.sign_digest(DIGEST), root)


@pytest.mark.parametrize("data", [b"{not json", b"{}", json.dumps({"mediaType": "application/json"}).encode()])
def test_unreadable_bundles(root, data):
    with pytest.raises(UnreadableBundleError, match="unreadable"):
        verify(data, root)


# --- not_before: pkg/oci/cosignverify/verify.go:267 enforceNotBefore ------------------------------------------
@pytest.mark.parametrize("source,signed_at,accepted", [
    (NOT_BEFORE_TEST + ':30 "accepts a signature newer than the cutoff"', CUTOFF + datetime.timedelta(hours=1), True),
    (NOT_BEFORE_TEST + ':34 "accepts a signature exactly at the cutoff"', CUTOFF, True),
    (NOT_BEFORE_TEST + ':38 "rejects a signature older than the cutoff"', CUTOFF - datetime.timedelta(hours=1), False),
])
def test_not_before(instance, root, source, signed_at, accepted):
    policy = dict(LOCALAI_POLICY, not_before=CUTOFF.strftime("%Y-%m-%dT%H:%M:%SZ"))
    bundle = instance.sign_digest(DIGEST, when=signed_at)
    if accepted:
        assert verify(bundle, root, policy).signed_at == signed_at
    else:
        with pytest.raises(SignedTooEarlyError, match="signed at 2026-05-14T11:00:00Z, before gallery localai's "
                                                      "not_before 2026-05-14T12:00:00Z"):
            verify(bundle, root, policy)


def test_not_before_uses_the_earliest_stated_time(instance, root, monkeypatch):
    """notbefore_internal_test.go:44 "rejects when the earliest of several timestamps predates the cutoff"."""
    stated = [CUTOFF + datetime.timedelta(hours=1), CUTOFF - datetime.timedelta(minutes=1),
              CUTOFF + datetime.timedelta(hours=2)]
    monkeypatch.setattr(signatures, "_signed_times", lambda bundle: stated)
    policy = dict(LOCALAI_POLICY, not_before=CUTOFF.strftime("%Y-%m-%dT%H:%M:%SZ"))
    with pytest.raises(SignedTooEarlyError):
        verify(instance.sign_digest(DIGEST), root, policy)


def test_a_bundle_without_verified_time_is_refused(instance, root):
    """notbefore_internal_test.go:53 "treats absent timestamps as a hard error": sigstore refuses it earlier."""
    bundle = json.loads(instance.sign_digest(DIGEST))
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    del entry["inclusionPromise"]
    with pytest.raises(UnreadableBundleError, match="inclusion promise or signed timestamp"):
        verify(json.dumps(bundle).encode(), root)


# --- trust roots ------------------------------------------------------------------------------------------------
def test_trusted_root_errors(tmp_path):
    with pytest.raises(SigstoreUnavailableError, match="cannot read trusted_root"):
        signatures.trusted_root(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"mediaType": "application/json"}')
    with pytest.raises(SigstoreUnavailableError, match="is not a Sigstore trusted root"):
        signatures.trusted_root(str(broken))


def test_the_production_path_verifies_a_real_public_good_bundle():
    """A bundle made by GitHub Actions through Sigstore's public-good Fulcio and Rekor (sigstore-python's test asset
    bundle_v3_github.whl.sigstore, for rfc8785 0.1.2), verified offline against the root sigstore-python ships."""
    from sigstore.models import ClientTrustConfig  # pylint: disable=import-outside-toplevel

    with open(os.path.join(FIXTURES, "rfc8785-0.1.2-py3-none-any.whl"), "rb") as artifact:
        digest = "sha256:" + hashlib.sha256(artifact.read()).hexdigest()
    with open(os.path.join(FIXTURES, "rfc8785-0.1.2-py3-none-any.whl.sigstore"), "rb") as bundle:
        data = bundle.read()
    root = ClientTrustConfig.production(offline=True).trusted_root
    identity = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    signer = verify(data, root, {"issuer": GITHUB_ISSUER, "identity": identity}, digest)
    assert (signer.identity, signer.kind) == (identity, "message")
    assert signer.signed_at.year == 2024
    with pytest.raises(SignerMismatchError, match="expects identity 'https://github.com/mudler"):
        verify(data, root, {"issuer": GITHUB_ISSUER, "identity": "https://github.com/mudler/LocalAI"}, digest)
    with pytest.raises(SubjectMismatchError, match="covers %s, not the image's %s" % (digest, DIGEST)):
        verify(data, root, {"issuer": GITHUB_ISSUER, "identity": identity}, DIGEST)


# --- referrers: pkg/oci/cosignverify/bundle.go --------------------------------------------------------------------
@pytest.mark.parametrize("media_type,bundle", [
    ("application/vnd.dev.sigstore.bundle.v0.3+json", True),
    ("application/vnd.dev.sigstore.bundle+json;version=0.3", False),  # bundle.go:40 needs the +json suffix
    ("application/vnd.dev.sigstore.bundle.v0.1+json", True),
    ("application/spdx+json", False),
    (None, False),
])
def test_bundle_artifact_types(media_type, bundle):
    """bundle.go:40 isSigstoreBundleArtifactType: prefix application/vnd.dev.sigstore.bundle. and suffix +json."""
    assert is_bundle_artifact(media_type) is bundle


def test_fallback_tag():
    """OCI distribution spec 1.1, referrers tag schema: <alg>-<ref>."""
    assert fallback_tag("sha256:" + "a" * 64) == "sha256-" + "a" * 64
