# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: a gallery's `verification:` policy, and Sigstore bundles checked against it.

LocalAI's oracle is pkg/oci/cosignverify/verify.go (sigstore-go): the bundle must chain to the trusted
root's CA at its signing time, carry an SCT from a trusted CT log and a transparency-log entry with a
verified inclusion proof and time (WithSignedCertificateTimestamps(1), WithTransparencyLog(1),
WithObserverTimestamps(1)), cover the image manifest digest (WithArtifactDigest), and name the policy's
identity and issuer (NewShortCertificateIdentity: exact value or unanchored regex). With `not_before`,
the earliest verified timestamp must not be before it (enforceNotBefore). sigstore-python performs the
same checks here; the identity, issuer and time checks are ours so that a refusal names what was expected
and what was found.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from functools import lru_cache
from types import SimpleNamespace

from ansible_collections.localai.gallery.plugins.module_utils.errors import (
    InvalidSignatureError,
    SignedTooEarlyError,
    SignerMismatchError,
    SigstoreUnavailableError,
    SubjectMismatchError,
    UnreadableBundleError,
    VerificationPolicyError,
)


@lru_cache(maxsize=1)
def _library():
    """sigstore, cryptography and pydantic, imported on first use: loading them costs every Ansible worker
    about 0.4 s, which a run whose galleries have no verification policy must not pay. None when absent."""
    try:
        from cryptography import x509
        from pydantic import ValidationError
        from sigstore import errors, hashes, models, verify
        from sigstore_models.common.v1 import HashAlgorithm
    except ImportError:
        return None
    return SimpleNamespace(x509=x509, ValidationError=ValidationError, errors=errors, Hashed=hashes.Hashed,
                           models=models, Verifier=verify.Verifier, SHA2_256=HashAlgorithm.SHA2_256)


def require_sigstore(what: str) -> SimpleNamespace:
    library = _library()
    if library is None:
        raise SigstoreUnavailableError("%s needs the Python package sigstore on the controller (pip install "
                                       "'sigstore>=4.1,<5' into the Python that runs ansible)" % what)
    return library


POLICY_KEYS = ("issuer", "issuer_regex", "identity", "identity_regex", "not_before")
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
# Fulcio's OIDC issuer extensions: 1.8 (a DER UTF8String) supersedes 1.1 (raw bytes); sigstore-go reads 1.8 first.
ISSUER_OIDS = ("1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.1")


def _rfc3339(text: str, label: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise VerificationPolicyError("%s: not_before %r is not an RFC 3339 time with a zone, such as "
                                      "2026-05-01T00:00:00Z" % (label, text))
    return parsed.astimezone(datetime.timezone.utc)


def _time_text(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SignerPolicy:
    """A gallery's `verification:` block, checked as LocalAI's Policy.Validate and newGalleryVerifier do."""

    def __init__(self, block: dict, gallery_name: str) -> None:
        label = "gallery %s verification" % gallery_name
        if not isinstance(block, dict):
            raise VerificationPolicyError("%s must be a mapping with issuer or issuer_regex and identity or "
                                          "identity_regex, got %r" % (label, block))
        unknown = sorted(set(block) - set(POLICY_KEYS))
        if unknown:
            raise VerificationPolicyError("%s has unknown keys %s (allowed: %s)"
                                          % (label, ", ".join(map(str, unknown)), ", ".join(POLICY_KEYS)))
        values = {key: str(block.get(key) or "") for key in POLICY_KEYS}
        if not values["issuer"] and not values["issuer_regex"]:
            raise VerificationPolicyError("%s must set issuer or issuer_regex (LocalAI refuses it too)" % label)
        if not values["identity"] and not values["identity_regex"]:
            raise VerificationPolicyError("%s must set identity or identity_regex (LocalAI refuses it too)" % label)
        self.gallery = gallery_name
        self.issuer, self.identity = values["issuer"], values["identity"]
        self.issuer_regex = self._compile(values["issuer_regex"], "issuer_regex", label)
        self.identity_regex = self._compile(values["identity_regex"], "identity_regex", label)
        self.not_before = _rfc3339(values["not_before"], label) if values["not_before"] else None
        self.block = {key: value for key, value in values.items() if value}

    @staticmethod
    def _compile(pattern: str, key: str, label: str):
        if not pattern:
            return None
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise VerificationPolicyError("%s: %s %r is not a valid regular expression: %s" % (label, key, pattern, exc))

    def _matches(self, exact: str, regex, found: list[str]) -> bool:
        if exact and exact not in found:
            return False
        return regex is None or any(regex.search(value) for value in found)  # Go's MatchString: unanchored

    def expected(self, what: str) -> str:
        exact, regex = (self.issuer, self.issuer_regex) if what == "issuer" else (self.identity, self.identity_regex)
        parts = ([repr(exact)] if exact else []) + (["matching /%s/" % regex.pattern] if regex else [])
        return " and ".join(parts)

    def verify(self, cert) -> None:
        """sigstore-python's VerificationPolicy hook: called once the chain, SCT and certificate profile verified."""
        issuer = certificate_issuer(cert)
        if not self._matches(self.issuer, self.issuer_regex, [issuer] if issuer else []):
            raise SignerMismatchError("signed through OIDC issuer %r, but gallery %s expects issuer %s"
                                      % (issuer, self.gallery, self.expected("issuer")))
        identities = certificate_identities(cert)
        if not self._matches(self.identity, self.identity_regex, identities):
            raise SignerMismatchError("signed by %s, but gallery %s expects identity %s"
                                      % (", ".join(map(repr, identities)) or "no identity", self.gallery,
                                         self.expected("identity")))


def certificate_issuer(cert) -> str | None:
    x509 = require_sigstore("reading a signing certificate").x509
    for dotted in ISSUER_OIDS:
        try:
            value = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(dotted)).value.value
        except x509.ExtensionNotFound:
            continue
        if dotted.endswith(".8"):
            if len(value) < 2 or value[0] != 0x0C:
                continue
            value = value[2:] if value[1] < 0x80 else value[2 + (value[1] & 0x7F):]
        return value.decode("utf-8", "replace")
    return None


def certificate_identities(cert) -> list[str]:
    x509 = require_sigstore("reading a signing certificate").x509
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return names.get_values_for_type(x509.UniformResourceIdentifier) + names.get_values_for_type(x509.RFC822Name)


class Signer:
    """Who signed an image and when: what a verified install reports and records."""

    def __init__(self, identity: str, issuer: str, signed_at: datetime.datetime, digest: str, kind: str) -> None:
        self.identity = identity
        self.issuer = issuer
        self.signed_at = signed_at
        self.digest = digest
        self.kind = kind

    def as_dict(self) -> dict:
        return {"identity": self.identity, "issuer": self.issuer, "signed_at": _time_text(self.signed_at),
                "digest": self.digest, "bundle": self.kind}


@lru_cache(maxsize=8)
def trusted_root(path: str | None) -> tuple:
    """(TrustedRoot, warning): from `path`, else Sigstore's public-good root through TUF, else the one shipped
    with sigstore-python (offline controllers: the keys it lists stay valid for the signatures made then)."""
    library = require_sigstore("verifying signatures")
    if path:
        try:
            return library.models.TrustedRoot.from_file(path), None
        except OSError as exc:
            raise SigstoreUnavailableError("cannot read trusted_root %s: %s" % (path, exc.strerror or exc))
        except (ValueError, library.ValidationError, library.errors.Error) as exc:
            raise SigstoreUnavailableError("trusted_root %s is not a Sigstore trusted root JSON: %s"
                                           % (path, str(exc).splitlines()[0]))
    try:
        return library.models.ClientTrustConfig.production().trusted_root, None
    except library.errors.TUFError as exc:
        logging.getLogger("sigstore").setLevel(logging.ERROR)  # our warning below says it once, in the result
        warning = ("could not refresh Sigstore's trust root from its TUF repository (%s); verifying with the root "
                   "shipped with sigstore-python (give trusted_root for a newer one)" % exc)
        return library.models.ClientTrustConfig.production(offline=True).trusted_root, warning


def _parse_bundle(library: SimpleNamespace, data: bytes, label: str):
    try:
        return library.models.Bundle.from_json(data)
    except (library.models.InvalidBundle, library.ValidationError, ValueError, library.errors.Error) as exc:
        raise UnreadableBundleError("the signature bundle of %s is unreadable: %s" % (label, str(exc).splitlines()[0]))


def _statement_digests(payload: bytes, label: str) -> list[str]:
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        return ["%s:%s" % (algorithm, value) for subject in subjects
                for algorithm, value in (subject.get("digest") or {}).items()]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnreadableBundleError("the signed statement of %s is not an in-toto statement: %s" % (label, exc))


def _signed_times(bundle) -> list[datetime.datetime]:
    """Every signing time the bundle states; the verifier has proven at least one, and the earliest decides."""
    times = []
    entry = bundle.log_entry._inner
    if entry.integrated_time and entry.inclusion_promise:
        times.append(datetime.datetime.fromtimestamp(int(entry.integrated_time), tz=datetime.timezone.utc))
    timestamps = bundle.verification_material.timestamp_verification_data
    for response in (timestamps.rfc3161_timestamps if timestamps else []):
        times.append(response.tst_info.gen_time.astimezone(datetime.timezone.utc))
    return times


def verify_bundle(data: bytes, digest: str, policy: SignerPolicy, root, label: str) -> Signer:
    """Check one bundle against the image manifest `digest`; raise a SignatureError subclass on any failure."""
    library = require_sigstore("verifying signatures")
    bundle = _parse_bundle(library, data, label)
    verifier = library.Verifier(trusted_root=root)
    algorithm, _sep, hexdigest = digest.partition(":")
    try:
        if bundle._dsse_envelope is not None:
            payload_type, payload = verifier.verify_dsse(bundle, policy)
            if payload_type != IN_TOTO_PAYLOAD:
                raise UnreadableBundleError("the signature of %s wraps %s, not an in-toto statement"
                                            % (label, payload_type))
            covered = _statement_digests(payload, label)
            kind = "dsse"
        else:
            signature = bundle._inner.message_signature
            covered = ["sha256:" + bytes(signature.message_digest.digest).hex()] \
                if signature is not None and signature.message_digest is not None else []
            if covered and covered != [digest]:
                raise SubjectMismatchError("the signature bundle attached to %s covers %s, not the image's %s"
                                           % (label, covered[0], digest))
            verifier.verify_artifact(library.Hashed(algorithm=library.SHA2_256, digest=bytes.fromhex(hexdigest)),
                                     bundle, policy)
            kind = "message"
    except library.errors.CertValidationError as exc:
        raise InvalidSignatureError("the signing certificate of %s does not chain to the trusted root: %s"
                                    % (label, exc))
    except library.errors.VerificationError as exc:
        raise InvalidSignatureError("the signature of %s does not verify: %s" % (label, exc))
    if algorithm != "sha256" or digest not in covered:
        raise SubjectMismatchError("the signature bundle attached to %s covers %s, not the image's %s"
                                   % (label, ", ".join(covered) or "nothing", digest))
    signed_at = min(_signed_times(bundle))
    if policy.not_before and signed_at < policy.not_before:
        raise SignedTooEarlyError("%s was signed at %s, before gallery %s's not_before %s"
                                  % (label, _time_text(signed_at), policy.gallery, _time_text(policy.not_before)))
    cert = bundle.signing_certificate
    return Signer(", ".join(certificate_identities(cert)), certificate_issuer(cert) or "", signed_at, digest, kind)
