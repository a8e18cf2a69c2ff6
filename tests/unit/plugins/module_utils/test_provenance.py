# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side of signed installs: pinned sources, signer records beside metadata.json, the listing."""

from __future__ import annotations

import json
import os

from helpers.trees import listing

from ansible_collections.localai.gallery.plugins.module_utils import provenance
from ansible_collections.localai.gallery.plugins.module_utils.install_plan import (
    ConcreteBackend,
    fallback_uris,
    pinned_uris,
)
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore

DIGEST = "sha256:" + "d" * 64
SIGNER = {"identity": "https://github.com/mudler/LocalAI/.github/workflows/backend.yml@refs/heads/master",
          "issuer": "https://token.actions.githubusercontent.com", "signed_at": "2026-11-20T08:14:03Z",
          "digest": DIGEST, "bundle": "dsse"}


def test_a_pinned_chain_fetches_the_digest_from_each_repository_once():
    chain = fallback_uris("quay.io/org/backends:latest-cpu-x",
                          ["docker.io/org/backends:latest-cpu-x", "https://mirror.lan/cpu-x.tar.gz"])
    assert pinned_uris(chain, {"uri": "docker.io/org/backends:latest-cpu-x", "digest": DIGEST}) == [
        "docker.io/org/backends@" + DIGEST,  # the repository the controller resolved first
        "quay.io/org/backends@" + DIGEST,  # master- and -development fallbacks are the same repository
    ]


def test_a_pinned_backend_records_the_tag_uri_as_localai_does():
    backend = ConcreteBackend.from_entry({"name": "cpu-x", "uri": "quay.io/org/backends:latest-cpu-x",
                                          "pin": {"uri": "quay.io/org/backends:latest-cpu-x", "digest": DIGEST,
                                                  "verified": True, "signer": SIGNER}})
    assert backend.uris == ["quay.io/org/backends@" + DIGEST]
    assert backend.metadata(DIGEST)["uri"] == "quay.io/org/backends:latest-cpu-x"
    assert backend.signer == SIGNER


def test_an_unverified_pin_has_no_signer():
    backend = ConcreteBackend.from_entry({"name": "x", "uri": "quay.io/org/b:t",
                                          "pin": {"uri": "quay.io/org/b:t", "digest": DIGEST, "verified": False}})
    assert backend.signer is None


def make_backend(root, name, digest, meta_for=None):
    path = os.path.join(root, name)
    os.makedirs(path)
    metadata = {"name": name, "digest": digest} if not meta_for else {"name": name, "meta_backend_for": meta_for}
    if not meta_for:
        with open(os.path.join(path, "run.sh"), "w", encoding="utf-8") as run_file:
            run_file.write("#!/bin/sh\n")
    with open(os.path.join(path, "metadata.json"), "w", encoding="utf-8") as metadata_file:
        json.dump(metadata, metadata_file)


def test_a_record_speaks_only_for_its_digest(tmp_path):
    root = str(tmp_path)
    make_backend(root, "cpu-x", DIGEST)
    make_backend(root, "x", "", meta_for="cpu-x")
    make_backend(root, "cpu-y", "sha256:" + "e" * 64)
    with BackendStore(root) as store:
        provenance.write_record(store, "cpu-x", DIGEST, SIGNER)
        provenance.write_record(store, "cpu-y", DIGEST, SIGNER)  # recorded for a digest no longer installed
    rows, _warnings = listing(root, None, "default")
    assert rows["cpu-x"]["verified"] and rows["cpu-x"]["signer"] == SIGNER
    assert rows["x"]["verified"], "a meta row runs its build, whose digest was verified"
    assert not rows["cpu-y"]["verified"] and rows["cpu-y"]["signer"] is None
    # In root's own work directory (0700), readable by root only.
    assert os.stat(os.path.join(root, ".localai-gallery")).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(root, ".localai-gallery", "provenance", "cpu-x.json")).st_mode & 0o777 == 0o600


def test_records_survive_recovery_and_go_with_their_backend(tmp_path):
    root = str(tmp_path)
    make_backend(root, "cpu-x", DIGEST)
    provenance.write_record(BackendStore(root), "cpu-x", DIGEST, SIGNER)
    os.makedirs(os.path.join(root, ".localai-gallery", "staging.0123456789ab.cpu-x"))  # a killed run's leftover
    store = BackendStore(root)
    assert store.recover_leftovers() == ["removed .localai-gallery/staging.0123456789ab.cpu-x"]
    assert provenance.verified_signer(store, "cpu-x", DIGEST) == SIGNER
    provenance.forget(store, "cpu-x")
    provenance.forget(store, "cpu-x")  # forgetting twice is fine
    assert provenance.read_record(store, "cpu-x") is None
