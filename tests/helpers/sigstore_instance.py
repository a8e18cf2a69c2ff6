# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A complete Sigstore instance for offline tests, built with `cryptography`.

- a root and intermediate CA standing in for Fulcio, issuing 10-minute leaf certificates with the OIDC issuer
  extensions (1.3.6.1.4.1.57264.1.1 and .1.8), a critical SAN URI identity (as GitHub Actions certificates
  carry) and an embedded precertificate SCT signed by a CT log key (RFC 6962);
- a transparency log (standing in for Rekor): each signature becomes a `dsse` or `hashedrekord` 0.0.1 entry
  in a real Merkle tree, with an inclusion proof, a signed checkpoint (signed note) and a signed entry
  timestamp over the canonical entry;
- a trusted-root JSON listing the CA chain, the CT log key and the log key, as Sigstore's TUF repository
  serves it.

`sign_digest` makes what cosign 2.2+ `--new-bundle-format` attaches to an image: a v0.3 bundle holding a DSSE
envelope whose in-toto statement (predicate https://sigstore.dev/cosign/sign/v1) names the manifest digest;
`kind="message"` makes a message-signature bundle over the digest instead (what `sigstore sign` makes).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
LOCALAI_IDENTITY = "https://github.com/mudler/LocalAI/.github/workflows/backend.yml@refs/heads/master"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO = "application/vnd.in-toto+json"
OID_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OID_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OID_SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_id(key) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def _der_utf8(text: str) -> bytes:
    data = text.encode()
    return b"\x0c" + _der_length(len(data)) + data


def _canonical_json(value) -> bytes:
    """RFC 8785 for the plain strings and integers used here: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than size (RFC 6962 section 2.1)."""
    split = 1
    while split * 2 < size:
        split *= 2
    return split


def merkle_root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = _split(len(leaves))
    return _node_hash(merkle_root(leaves[:split]), merkle_root(leaves[split:]))


def inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    split = _split(len(leaves))
    if index < split:
        return inclusion_path(index, leaves[:split]) + [merkle_root(leaves[split:])]
    return inclusion_path(index - split, leaves[split:]) + [merkle_root(leaves[:split])]


class SigstoreInstance:
    """Keys, certificates and a log: everything a verifier's trusted root names, and a signer using them."""

    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.intermediate_key = ec.generate_private_key(ec.SECP384R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.log_key = ec.generate_private_key(ec.SECP256R1())
        self.root_cert = self._ca_cert("%s-sigstore-root" % name, self.root_key, self.root_key, None)
        self.intermediate_cert = self._ca_cert("%s-sigstore-intermediate" % name, self.intermediate_key,
                                               self.root_key, self.root_cert)
        self.log_leaves: list[bytes] = [_leaf_hash(b"genesis entry of %s" % name.encode())]
        self.origin = "rekor.%s.sigstore.invalid - 1" % name

    # --- kept on disk, so that several processes sign as one instance -------------------------------
    _KEYS = ("root_key", "intermediate_key", "ct_key", "log_key")
    _CERTS = ("root_cert", "intermediate_cert")

    def save(self, path: str) -> None:
        state = {"name": self.name, "origin": self.origin, "log_leaves": [leaf.hex() for leaf in self.log_leaves]}
        for attribute in self._KEYS:
            state[attribute] = getattr(self, attribute).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()
        for attribute in self._CERTS:
            state[attribute] = getattr(self, attribute).public_bytes(serialization.Encoding.PEM).decode()
        with open(path, "w", encoding="utf-8") as state_file:
            json.dump(state, state_file)

    @classmethod
    def load(cls, path: str) -> "SigstoreInstance":
        with open(path, encoding="utf-8") as state_file:
            state = json.load(state_file)
        instance = cls.__new__(cls)
        instance.name, instance.origin = state["name"], state["origin"]
        instance.log_leaves = [bytes.fromhex(leaf) for leaf in state["log_leaves"]]
        for attribute in cls._KEYS:
            setattr(instance, attribute, serialization.load_pem_private_key(state[attribute].encode(), None))
        for attribute in cls._CERTS:
            setattr(instance, attribute, x509.load_pem_x509_certificate(state[attribute].encode()))
        return instance

    # --- the certificate authority ------------------------------------------------------------------
    def _ca_cert(self, common_name: str, key, signer_key, signer_cert) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.invalid"),
                             x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = (x509.CertificateBuilder()
                   .subject_name(subject)
                   .issuer_name(signer_cert.subject if signer_cert else subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(EPOCH)
                   .not_valid_after(EPOCH + datetime.timedelta(days=365 * 30))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None if signer_cert is None else 0),
                                  critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if signer_cert is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                                            critical=False)
        return builder.sign(signer_key, hashes.SHA384())

    def _leaf_builder(self, key, identity: str, issuer: str, not_before: datetime.datetime, serial: int):
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self.intermediate_cert.subject)
                .public_key(key.public_key())
                .serial_number(serial)
                .not_valid_before(not_before)
                .not_valid_after(not_before + datetime.timedelta(minutes=10))
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                               critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.intermediate_key.public_key()), critical=False)
                .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]),
                               critical=True)
                .add_extension(x509.UnrecognizedExtension(OID_ISSUER_V1, issuer.encode()), critical=False)
                .add_extension(x509.UnrecognizedExtension(OID_ISSUER_V2, _der_utf8(issuer)), critical=False))

    def _sct_list(self, precert_tbs: bytes, when: datetime.datetime) -> bytes:
        """The TLS-encoded SignedCertificateTimestampList of one precertificate SCT (RFC 6962 3.2)."""
        timestamp = int(when.timestamp() * 1000)
        issuer_key_id = hashlib.sha256(_spki(self.intermediate_key)).digest()
        signed = struct.pack("!BBQH", 0, 0, timestamp, 1) + issuer_key_id
        signed += len(precert_tbs).to_bytes(3, "big") + precert_tbs + struct.pack("!H", 0)
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (struct.pack("!B", 0) + _key_id(self.ct_key) + struct.pack("!QH", timestamp, 0)
               + struct.pack("!BBH", 4, 3, len(signature)) + signature)
        return struct.pack("!HH", len(sct) + 2, len(sct)) + sct

    def issue(self, key, identity: str, issuer: str, when: datetime.datetime) -> x509.Certificate:
        """A Fulcio-like leaf for `key`, valid for 10 minutes from `when`, with an embedded SCT."""
        serial = x509.random_serial_number()
        precert = self._leaf_builder(key, identity, issuer, when, serial).sign(self.intermediate_key, hashes.SHA384())
        sct_list = self._sct_list(precert.tbs_certificate_bytes, when)
        octets = b"\x04" + _der_length(len(sct_list)) + sct_list
        final = (self._leaf_builder(key, identity, issuer, when, serial)
                 .add_extension(x509.UnrecognizedExtension(OID_SCT_LIST, octets), critical=False)
                 .sign(self.intermediate_key, hashes.SHA384()))
        assert final.tbs_precertificate_bytes == precert.tbs_certificate_bytes
        return final

    # --- the transparency log -----------------------------------------------------------------------
    def _log_entry(self, body: dict, kind: str, when: datetime.datetime) -> dict:
        canonical = _canonical_json(body)
        self.log_leaves.append(_leaf_hash(canonical))
        index, size = len(self.log_leaves) - 1, len(self.log_leaves)
        root = merkle_root(self.log_leaves)
        log_id = _key_id(self.log_key)
        note = "%s\n%d\n%s\n" % (self.origin, size, _b64(root))
        note_signature = self.log_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = "%s\n\u2014 %s %s\n" % (note, self.origin.split()[0], _b64(log_id[:4] + note_signature))
        integrated = int(when.timestamp())
        promise = _canonical_json({"body": _b64(canonical), "integratedTime": integrated, "logID": log_id.hex(),
                                   "logIndex": index})
        return {
            "logIndex": str(index),
            "logId": {"keyId": _b64(log_id)},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": str(integrated),
            "inclusionPromise": {"signedEntryTimestamp": _b64(self.log_key.sign(promise,
                                                                                ec.ECDSA(hashes.SHA256())))},
            "inclusionProof": {"logIndex": str(index), "rootHash": _b64(root), "treeSize": str(size),
                               "hashes": [_b64(node) for node in inclusion_path(index, self.log_leaves)],
                               "checkpoint": {"envelope": checkpoint}},
            "canonicalizedBody": _b64(canonical),
        }

    # --- signing ------------------------------------------------------------------------------------
    def sign_digest(self, digest: str, identity: str = LOCALAI_IDENTITY, issuer: str = GITHUB_ISSUER,
                    when: datetime.datetime | None = None, kind: str = "dsse",
                    predicate_type: str = SIGN_PREDICATE) -> bytes:
        """The bundle JSON a keyless cosign signature of image manifest `digest` would produce."""
        when = when or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.issue(key, identity, issuer, when)
        cert_pem_b64 = _b64(cert.public_bytes(serialization.Encoding.PEM))
        algorithm, hexdigest = digest.split(":", 1)
        material = {"certificate": {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))}}
        bundle = {"mediaType": BUNDLE_MEDIA_TYPE, "verificationMaterial": material}
        if kind == "dsse":
            statement = {"_type": "https://in-toto.io/Statement/v1",
                         "subject": [{"name": "image", "digest": {algorithm: hexdigest}}],
                         "predicateType": predicate_type, "predicate": {}}
            payload = json.dumps(statement).encode()
            pae = b"DSSEv1 %d %s %d %s" % (len(IN_TOTO), IN_TOTO.encode(), len(payload), payload)
            signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
            envelope = {"payload": _b64(payload), "payloadType": IN_TOTO, "signatures": [{"sig": _b64(signature)}]}
            body = {"apiVersion": "0.0.1", "kind": "dsse", "spec": {
                "envelopeHash": {"algorithm": "sha256",
                                 "value": hashlib.sha256(_canonical_json(envelope)).hexdigest()},
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "signatures": [{"signature": _b64(signature), "verifier": cert_pem_b64}]}}
            bundle["dsseEnvelope"] = envelope
        else:
            raw = bytes.fromhex(hexdigest)
            signature = key.sign(raw, ec.ECDSA(Prehashed(hashes.SHA256())))
            bundle["messageSignature"] = {"messageDigest": {"algorithm": "SHA2_256", "digest": _b64(raw)},
                                          "signature": _b64(signature)}
            body = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hexdigest}},
                "signature": {"content": _b64(signature), "publicKey": {"content": cert_pem_b64}}}}
        material["tlogEntries"] = [self._log_entry(body, kind if kind == "dsse" else "hashedrekord", when)]
        return json.dumps(bundle).encode()

    # --- the trusted root ---------------------------------------------------------------------------
    def _public_key(self, key) -> dict:
        return {"rawBytes": _b64(_spki(key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ")}}

    def trusted_root(self) -> dict:
        """The trusted-root JSON (application/vnd.dev.sigstore.trustedroot+json;version=0.1) of this instance."""
        start = {"start": EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{"baseUrl": "https://rekor.%s.sigstore.invalid" % self.name, "hashAlgorithm": "SHA2_256",
                       "publicKey": self._public_key(self.log_key), "logId": {"keyId": _b64(_key_id(self.log_key))}}],
            "certificateAuthorities": [{
                "subject": {"organization": "sigstore.invalid", "commonName": "%s-sigstore" % self.name},
                "uri": "https://fulcio.%s.sigstore.invalid" % self.name,
                "certChain": {"certificates": [
                    {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))}
                    for cert in (self.intermediate_cert, self.root_cert)]},
                "validFor": start}],
            "ctlogs": [{"baseUrl": "https://ctfe.%s.sigstore.invalid" % self.name, "hashAlgorithm": "SHA2_256",
                        "publicKey": self._public_key(self.ct_key), "logId": {"keyId": _b64(_key_id(self.ct_key))}}],
            "timestampAuthorities": [],
        }

    def write_trusted_root(self, path: str) -> str:
        with open(path, "w", encoding="utf-8") as root_file:
            json.dump(self.trusted_root(), root_file, indent=1)
        return path
