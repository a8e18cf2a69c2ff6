# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: one digest per image per run, and its signature checked once, for every host.

For each image a task may install (an entry, or each build a meta names), the first worker of the run
resolves its tag to a digest (one manifest request), finds the Sigstore bundle referrers of that digest
and verifies them against the gallery's `verification:` policy; the result is recorded for the run
(run_cache), so every host gets the same digest even when the tag moves during a rollout. Targets install
`repository@digest` and check every byte against it while streaming, so the signature covers what lands.

A failure to verify one build is a refusal carried with that build: the host that needs the build fails
with the message and installs nothing; hosts that need another build are not held back. A tag the controller
cannot resolve is a refusal under a policy, and otherwise a warning: each host then resolves it itself, as
without pinning.

Where a tag names an image index with no bundle of its own, each platform manifest's bundle is checked
instead, as LocalAI (pkg/downloader/uri.go) verifies the platform manifest it pulls; the target then
refuses a platform whose manifest was not verified.
"""

from __future__ import annotations

import json

from ansible_collections.localai.gallery.plugins.module_utils.oci.credentials import primary_registry
from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    AllSourcesFailedError,
    BackendError,
    IntegrityRequiredError,
    NoSignatureError,
    SignatureError,
)
from ansible_collections.localai.gallery.plugins.module_utils.oci.manifests import is_image_entry
from ansible_collections.localai.gallery.plugins.module_utils.oci.source_chain import first_answer, source_chain
from ansible_collections.localai.gallery.plugins.module_utils.oci.referrers import (
    bundle_descriptors,
    fallback_tag,
    read_bundle,
)
from ansible_collections.localai.gallery.plugins.module_utils.uris import (
    DIRECTORY,
    IMAGE,
    OCIFILE,
    TARBALL,
    classify,
    fallback_uris,
)
from ansible_collections.localai.gallery.plugins.plugin_utils.signatures import (
    SignerPolicy,
    trusted_root,
    verify_bundle,
)

# Shown by the host that installs such a backend, once per run for each gallery (action/backend_install.py).
UNSIGNED_WARNING = "installing %s without signature verification: %s"
UNSIGNED_MARK = " without signature verification: "


class Pinner:
    """Pins and verifies images for one task: a registry client and the task's options, results shared per run.

    Without a client (pin_digests: false) nothing is pinned, but the integrity rules still apply.
    """

    def __init__(self, client, cache, registry_mirrors: dict | None = None, trusted_root_path: str | None = None,
                 require_integrity: bool = False, upstream_fallback: bool = True) -> None:
        self.client = client
        self.cache = cache
        self.registry_mirrors = registry_mirrors or {}
        self.upstream_fallback = upstream_fallback
        self.trusted_root_path = trusted_root_path
        self.require_integrity = require_integrity
        self.warnings: list[str] = []

    # --- policy decisions (no request) ------------------------------------------------------------------
    def _integrity_of(self, entry: dict, uri: str, gallery_name: str, policy) -> dict:
        """LocalAI's backendDownloadOptions for one uri: a refusal under require_integrity, else the warning LocalAI
        logs. Beyond LocalAI: require_integrity also refuses ocifile:// archives and directories (nothing can
        vouch for them), and a policy that cannot cover a tarball or a directory says so."""
        name, kind = entry.get("name"), classify(uri)
        where = "gallery %s" % gallery_name if gallery_name else "uri"
        if kind == IMAGE and policy is None:
            why = ("gallery %s has no verification policy" % gallery_name) if gallery_name else \
                "it is given by uri, outside any gallery, so no verification policy applies"
            if self.require_integrity:
                return {"refusal": str(IntegrityRequiredError(
                    "require_integrity: %s for OCI backend %s (set verification: in the gallery, or "
                    "require_integrity: false)" % (why, name)))}
            subject = ("OCI backends of gallery %s" % gallery_name) if gallery_name else "OCI backend %s" % name
            return {"warning": UNSIGNED_WARNING % (subject, why)}
        if kind == OCIFILE and policy is not None:
            return {"refusal": str(SignatureError(
                "gallery %s has a verification policy, and %s is an ocifile:// archive on the target, whose "
                "signature cannot be checked: push it to a registry and sign it (LocalAI installs it unverified)"
                % (gallery_name, uri)))}
        if kind in (OCIFILE, DIRECTORY) and self.require_integrity:
            return {"refusal": str(IntegrityRequiredError(
                "require_integrity: backend %s comes from %s %s, which no signature or checksum covers (%s)"
                % (name, "an ocifile:// archive" if kind == OCIFILE else "the directory", uri, where)))}
        if kind == TARBALL and not entry.get("sha256") and self.require_integrity:
            return {"refusal": str(IntegrityRequiredError("require_integrity: backend %s has no sha256 (%s)"
                                                          % (name, where)))}
        if kind in (TARBALL, DIRECTORY) and policy is not None:
            return {"warning": "gallery %s has a verification policy, which covers OCI images only: backend %s comes "
                               "from %s %s, %s (as LocalAI does)"
                               % (gallery_name, name, "the tarball" if kind == TARBALL else "the directory", uri,
                                  "checked against its sha256 only" if kind == TARBALL else "installed unverified")}
        return {}

    def _integrity(self, entry: dict, gallery_name: str, policy) -> dict:
        """_integrity_of every uri the entry may be installed from (its uri, mirrors and tag fallbacks): the first
        refusal, else the warnings."""
        warnings = []
        for uri in fallback_uris(entry["uri"], entry.get("mirrors"), entry.get("fallback_tags")):
            decided = self._integrity_of(entry, uri, gallery_name, policy)
            if "refusal" in decided:
                return decided
            if decided.get("warning") and decided["warning"] not in warnings:
                warnings.append(decided["warning"])
        return {"warning": "; ".join(warnings)} if warnings else {}

    @staticmethod
    def _policy(gallery: dict) -> tuple[str, SignerPolicy | None]:
        gallery_name = gallery.get("name") or gallery.get("url") or ""
        block = gallery.get("verification")
        return gallery_name, SignerPolicy(block, gallery_name) if block is not None else None

    def pin(self, entry: dict, gallery: dict | None) -> dict:
        """The fields to add to a slim entry: `pin` (digest, uri, signer) or `refusal`, and maybe a `warning`
        (shown by the host that installs this entry); nothing for sources that are not images."""
        gallery_name, policy = self._policy(gallery or {})
        decided = self._integrity(entry, gallery_name, policy)
        if "refusal" in decided or classify(entry["uri"]) != IMAGE:
            return decided
        if self.client is None:  # pin_digests: false
            if policy is None:
                return decided
            return {"refusal": str(SignatureError(
                "gallery %s has a verification policy, which needs pin_digests: true (signatures are checked on the "
                "digest the controller pins for the run)" % gallery_name))}
        chain = [uri for uri in fallback_uris(entry["uri"], entry.get("mirrors"), entry.get("fallback_tags")) if classify(uri) == IMAGE]
        self.client.credentials.bind(primary_registry(entry["uri"], self.registry_mirrors))
        key = json.dumps({"chain": chain, "mirrors": self.registry_mirrors, "fallback": self.upstream_fallback,
                          "policy": policy.block if policy else None, "trusted_root": self.trusted_root_path},
                         sort_keys=True)
        resolved = self.cache.once_per_run(key, lambda: self._resolve(chain, policy))
        if "unpinned" in resolved:
            return {"warning": "; ".join(filter(None, (resolved["unpinned"], decided.get("warning"))))}
        return dict(decided, **resolved)

    def unpinned(self, entry: dict, gallery: dict | None, expected: str) -> dict:
        """A build this host is not expected to need: not asked for. The integrity rules still apply to it, and
        under a policy it is refused (it was not verified) if a host needs it after all."""
        gallery_name, policy = self._policy(gallery or {})
        decided = self._integrity(entry, gallery_name, policy)
        if "refusal" in decided or policy is None:
            return decided
        return {"refusal": str(SignatureError(
            "build %s was not verified: the controller expected this host to need %s (from its capability); gather "
            "localai.gallery.backend_facts again, or set capability" % (entry.get("name"), expected)))}

    # --- requests (once per run and image) --------------------------------------------------------------
    def _resolve(self, chain: list[str], policy) -> dict:
        try:
            uri, reference, top = self._first_resolvable(chain)
        except BackendError as exc:
            if policy is None:  # the hosts may reach what the controller cannot: let each resolve the tag
                return {"unpinned": "%s; each host resolves the tag itself" % exc}
            return {"refusal": "%s, so its signature cannot be checked" % exc}
        try:
            pin = {"uri": uri, "digest": top.digest, "verified": False}
            if policy is not None:
                pin.update(self._verify(reference, top, policy))
            return {"pin": pin}
        except BackendError as exc:
            return {"refusal": str(exc)}

    def _first_resolvable(self, chain: list[str]):
        """(uri, reference, top document) of the first image of the chain that answers, in the hosts' order."""
        def resolve(attempt):
            top = self.client.get_document(attempt.reference, attempt.reference.manifest_key)
            return attempt.uri, attempt.reference, top
        try:
            return first_answer(source_chain(chain, self.registry_mirrors, self.upstream_fallback), resolve,
                                name_each=True)
        except AllSourcesFailedError as exc:
            raise BackendError("the controller cannot resolve the image to a digest: %s"
                               % "; ".join("%s: %s" % (source, error) for source, error in exc.attempts))

    def _signer(self, reference, digest: str, policy):
        """The signer of `digest` from the first bundle referrer that verifies; the first refusal otherwise."""
        descriptors = bundle_descriptors(self.client, reference, digest)
        label = "%s@%s" % (reference.without_tag(), digest)
        if not descriptors:
            raise NoSignatureError("no Sigstore bundle is attached to %s (no OCI 1.1 referrer, no %s tag): sign it "
                                   "with cosign sign --new-bundle-format --registry-referrers-mode=oci-1-1"
                                   % (label, fallback_tag(digest)))
        root, warning = trusted_root(self.trusted_root_path)
        if warning and warning not in self.warnings:
            self.warnings.append(warning)
        refusals = []
        for descriptor in descriptors:
            try:
                return verify_bundle(read_bundle(self.client, reference, descriptor), digest, policy, root, label)
            except SignatureError as exc:
                refusals.append(exc)
        raise refusals[0]

    def _verify(self, reference, top, policy) -> dict:
        try:
            return {"verified": True, "signer": self._signer(reference, top.digest, policy).as_dict()}
        except NoSignatureError:
            if not top.is_index:
                raise
        # An index without its own bundle: LocalAI verifies the platform manifest it pulls; so do we, per platform.
        verified, signer = [], None
        for descriptor in top.document["manifests"]:
            if not is_image_entry(descriptor):
                continue
            try:
                signer = self._signer(reference, descriptor["digest"], policy)
            except NoSignatureError:
                continue
            verified.append(descriptor["digest"])
        if not verified:
            raise NoSignatureError("no Sigstore bundle is attached to %s@%s or to any of its platform manifests: "
                                   "sign it with cosign sign --new-bundle-format --registry-referrers-mode=oci-1-1"
                                   % (reference.without_tag(), top.digest))
        return {"verified": True, "signer": signer.as_dict(), "verified_manifests": verified}
