# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every exception type of the collection; BackendsModule.run maps them to one message each.

`transient` says whether trying the same request again may succeed (a broken connection, HTTP 429 or
503); the blob download resumes only after transient errors.
"""

from __future__ import annotations


class BackendError(Exception):
    """Base class: the message is one line that says what was wrong and what to do."""

    transient = False


# --- names, options and galleries --------------------------------------------------------------------
class InvalidNameError(BackendError):
    """A backend name that is not a single path component."""


class InvalidCapabilityError(BackendError):
    """A capability option that is neither a known capability nor a key of the meta's map."""


class OwnershipError(BackendError):
    """An owner or group that does not exist on the target."""


class GalleryError(BackendError):
    """A gallery that cannot be read from any source and has no last good copy (controller side)."""


class CacheDirectoryError(BackendError):
    """A controller cache directory that another user owns or can write (controller side)."""


class UnknownBackendError(BackendError):
    """No gallery has an entry of that name (controller side)."""


class NoVariantError(BackendError):
    """A meta backend offers no build for the host's capability."""


class IncompatibleBackendError(BackendError):
    """A gallery build LocalAI would not install on this host (another OS or accelerator)."""


# --- sources and registries --------------------------------------------------------------------------
class InvalidReferenceError(BackendError):
    """An image reference that cannot be parsed."""


class SourceError(BackendError):
    """A source that is not an image, a file, a directory or a URL that can be used."""


class ManifestError(SourceError):
    """A manifest or index that is not what the OCI specification allows (or loops, or nests too deep)."""


class RegistryError(BackendError):
    """The registry answered with an unexpected status or document."""


class RegistryUnavailableError(RegistryError):
    """The registry could not be reached, or answered a status worth retrying (408, 429, 5xx)."""

    transient = True


class StalledTransferError(RegistryError):
    """Less than 1 KiB arrived in `timeout` seconds: the source drips or hangs (not retried: it would again)."""


class AuthenticationError(RegistryError):
    """HTTP 401: missing or wrong credentials."""


class AuthorizationError(RegistryError):
    """HTTP 403: the credentials are valid but may not pull."""


class NotFoundError(RegistryError):
    """HTTP 404: the repository, tag or blob does not exist."""


class PlatformNotFoundError(RegistryError):
    """An image index without a manifest for this host's platform."""


class DigestMismatchError(BackendError):
    """Downloaded bytes do not hash to the digest they were asked for."""


class AllSourcesFailedError(BackendError):
    """Every source of the fallback chain failed; the message lists each one with its error."""

    def __init__(self, attempts: list[tuple[str, BackendError]]) -> None:
        self.attempts = attempts
        tried = "; ".join("%s: %s" % (source, error) for source, error in attempts)
        super().__init__("every source failed (%d tried): %s" % (len(attempts), tried))


class MissingLibraryError(BackendError):
    """An optional Python library is needed for this input (e.g. zstandard for zstd layers)."""

    def __init__(self, library: str, reason: str) -> None:
        self.library = library
        self.reason = reason
        super().__init__("the Python library %s is required %s" % (library, reason))


# --- content and the backends directory --------------------------------------------------------------
class UnsafeEntryError(BackendError):
    """An archive entry that breaks an extraction rule."""


class CorruptLayerError(BackendError):
    """A layer that is not a readable tar stream (bad header, truncated, bad compression)."""


class DecompressionBombError(UnsafeEntryError):
    """A layer that inflates to more than 1000 times its compressed size."""


class InvalidBackendError(BackendError):
    """The extracted tree is not a LocalAI backend (no run.sh)."""


class NoSpaceError(BackendError):
    """The backends filesystem cannot hold the backend."""


class LockTimeoutError(BackendError):
    """Another run holds the backends path lock for too long."""


class LocalAIBusyError(BackendError):
    """LocalAI itself is installing or upgrading the backend (its staging or backup entry is fresh)."""

    transient = True


class LocalAITargetError(BackendError):
    """The `localai` option names a container or service whose view of the host cannot be read."""


class LocalAIAPIError(BackendError):
    """LocalAI's HTTP API did not answer as LocalAI 82c191a answers."""


class MetadataError(BackendError):
    """A metadata.json that cannot be read or parsed."""


class UnsafeFileError(MetadataError):
    """A file root was asked to read that is a link, not a regular file, or too large (never read)."""


class UntrustedDirectoryError(BackendError):
    """The backends path or our work directory is not what root can safely work in (a link, another owner)."""


class SystemBackendError(BackendError):
    """An attempt to change a backend of the read-only system path."""


# --- signatures (checked on the controller; a refusal travels to the target as a message) -------------
class SignatureError(BackendError):
    """An image whose signature does not satisfy its gallery's verification policy: nothing is installed."""


class VerificationPolicyError(SignatureError):
    """A `verification:` block that LocalAI would also refuse (no issuer, no identity, a bad not_before)."""


class NoSignatureError(SignatureError):
    """No Sigstore bundle referrer for the image's digest (neither the referrers API nor the fallback tag)."""


class UnreadableBundleError(SignatureError):
    """A referrer that is not a readable Sigstore bundle."""


class SignerMismatchError(SignatureError):
    """A valid signature by another identity or issuer than the policy names."""


class InvalidSignatureError(SignatureError):
    """A signature, certificate chain, SCT or transparency-log entry that does not verify."""


class SignedTooEarlyError(SignatureError):
    """A signature made before the policy's not_before (the revocation lever)."""


class SubjectMismatchError(SignatureError):
    """A valid bundle for another digest than the image's."""


class IntegrityRequiredError(SignatureError):
    """require_integrity, and no verification policy (OCI images) or no sha256 (tarballs)."""


class SigstoreUnavailableError(SignatureError):
    """A policy must be checked, but sigstore-python is missing on the controller or its trust root is unusable."""


class MirrorPushError(BackendError):
    """The target registry of a mirror refused a push (credentials, permissions, media type)."""
