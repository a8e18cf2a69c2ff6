# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What require_integrity and a gallery's verification policy decide for every kind of source, on the controller.

LocalAI's rule (core/gallery/backends.go backendDownloadOptions, 82c191a):
    case uri.LooksLikeOCI(): no policy -> refused under requireIntegrity, else "installing OCI backend without
        signature verification"; with a policy -> WithImageVerifier
    case uri.LooksLikeDir(): "Local directory — out of scope for integrity checks."
    default: no SHA256 and requireIntegrity -> "strict integrity: backend %q has no SHA256"
and pkg/downloader/uri.go installs an `ocifile://` archive before its verifier ever runs. Beyond LocalAI (docs/
interop.md): require_integrity also refuses ocifile:// and directories, covers every uri of an entry's chain and
every build of a meta, and a policy that cannot cover a tarball or a directory says so.
"""

from __future__ import annotations

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.errors import SourceError
from ansible_collections.localai.gallery.plugins.plugin_utils.pinning import Pinner

POLICY = {"issuer": "https://token.actions.githubusercontent.com", "identity": "https://github.com/o/r/.github/x"}
WITH_POLICY = {"name": "signed", "url": "https://g/index.yaml", "verification": POLICY}
WITHOUT_POLICY = {"name": "plain", "url": "https://g/index.yaml"}


def decide(uri, gallery=None, require_integrity=False, **entry):
    # No registry client (pin_digests: false): only the policy decisions run, no request is made.
    pinner = Pinner(None, None, require_integrity=require_integrity)
    return pinner.pin(dict(entry, name="cpu-x", uri=uri), gallery or WITHOUT_POLICY)


@pytest.mark.parametrize("uri, refusal", [
    ("ocifile:///srv/cpu-x.tar", "comes from an ocifile:// archive ocifile:///srv/cpu-x.tar, which no signature"),
    ("/srv/backends/cpu-x", "comes from the directory /srv/backends/cpu-x, which no signature or checksum covers"),
    ("https://mirror.lan/cpu-x.tar.gz", "require_integrity: backend cpu-x has no sha256 (gallery plain)"),
    ("quay.io/org/b:latest-cpu-x", "require_integrity: gallery plain has no verification policy for OCI backend"),
])
def test_require_integrity_refuses_every_source_nothing_vouches_for(uri, refusal):
    assert refusal in decide(uri, require_integrity=True)["refusal"]


def test_require_integrity_accepts_a_tarball_with_its_sha256():
    assert decide("https://mirror.lan/cpu-x.tar.gz", require_integrity=True, sha256="a" * 64) == {}


def test_require_integrity_covers_each_uri_of_the_chain():
    """A mirror LocalAI would fall back to is installed as surely as the uri: it is held to the same rule."""
    decided = decide("https://mirror.lan/cpu-x.tar.gz", require_integrity=True, sha256="a" * 64,
                     mirrors=["/srv/backends/cpu-x"])
    assert "comes from the directory /srv/backends/cpu-x" in decided["refusal"]


@pytest.mark.parametrize("uri, kind", [("https://mirror.lan/cpu-x.tar.gz", "the tarball"),
                                       ("/srv/backends/cpu-x", "the directory")])
def test_a_policy_says_when_it_cannot_cover_a_source(uri, kind):
    warning = decide(uri, WITH_POLICY, sha256="a" * 64)["warning"]
    assert "gallery signed has a verification policy, which covers OCI images only" in warning
    assert "comes from %s %s" % (kind, uri) in warning


def test_a_policy_refuses_an_ocifile_archive_localai_would_install_unverified():
    assert "ocifile:// archive on the target, whose signature cannot be checked" in \
        decide("ocifile:///srv/cpu-x.tar", WITH_POLICY)["refusal"]


def test_a_build_the_controller_did_not_expect_is_held_to_the_same_rules():
    """Every build of a meta a task may install: the ones not pinned for this host's capability included."""
    pinner = Pinner(None, None, require_integrity=True)
    entry = {"name": "cuda13-x", "uri": "quay.io/org/b:latest-cuda13-x"}
    assert "no verification policy for OCI backend cuda13-x" in \
        pinner.unpinned(entry, WITHOUT_POLICY, "cpu-x")["refusal"]
    assert "was not verified: the controller expected this host to need cpu-x" in \
        Pinner(None, None).unpinned(entry, WITH_POLICY, "cpu-x")["refusal"]


@pytest.mark.parametrize("uri", ["ftp://mirror.lan/cpu-x.tar.gz", "gopher://mirror.lan/1/cpu-x"])
def test_an_unsupported_scheme_is_refused_on_the_controller(uri):
    with pytest.raises(SourceError, match="unsupported URI scheme %s://" % uri.split(":")[0]):
        decide(uri)
