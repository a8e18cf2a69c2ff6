# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signed backend images on a real registry, for the signature tests (tests/integration/targets/backend_signatures).

    python tests/helpers/signed_fixture.py setup WORK REGISTRY_HOST   # prints a JSON description
    python tests/helpers/signed_fixture.py move WORK REGISTRY_HOST LABEL   # re-point signed/moving:v1, signed

`setup` makes a test Sigstore instance (sigstore_instance.py), writes its trusted root, pushes one image per
case to REGISTRY_HOST (cosign-style bundle referrers under the fallback tag) and writes two galleries: one
with LocalAI's verification policy for GitHub Actions, one without. The instance's keys are kept in WORK so
`move` signs with the same instance.
"""

from __future__ import annotations

import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from helpers.images import Pusher, backend_files  # noqa: E402  pylint: disable=wrong-import-position
from helpers.sigstore_instance import (  # noqa: E402  pylint: disable=wrong-import-position
    GITHUB_ISSUER,
    LOCALAI_IDENTITY,
    SigstoreInstance,
)

REPOSITORY = "signed/backends"
POLICY = {"issuer": GITHUB_ISSUER,
          "identity_regex": r"^https://github\.com/mudler/LocalAI/\.github/workflows/.*@refs/heads/master$",
          "not_before": "2026-05-01T00:00:00Z"}
BEFORE_NOT_BEFORE = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)


class SignedRegistry:
    def __init__(self, work: str, host: str, instance: SigstoreInstance) -> None:
        self.work = work
        self.host = host
        self.pusher = Pusher("http://" + host)
        self.instance = instance

    def uri(self, tag: str) -> str:
        return "%s/%s:%s" % (self.host, REPOSITORY, tag)

    def push(self, tag: str, label: str) -> dict:
        return self.pusher.push_image(REPOSITORY, tag, [backend_files("%s %s" % (tag, label))])

    def sign(self, image: dict, signer: SigstoreInstance | None = None, for_digest: str | None = None,
             **kwargs) -> None:
        bundle = (signer or self.instance).sign_digest(for_digest or image["digest"], **kwargs)
        self.pusher.attach_bundle(REPOSITORY, image, bundle)

    def push_signed(self, tag: str, label: str, **kwargs) -> dict:
        image = self.push(tag, label)
        self.sign(image, **kwargs)
        return image

    def push_index(self, tag: str, sign_index: bool, signed_platforms: tuple[str, ...]) -> dict:
        """A linux/amd64 + linux/arm64 index, signed as a whole and/or per platform manifest."""
        images = {arch: self.pusher.push_image(REPOSITORY, None, [backend_files("%s %s" % (tag, arch))],
                                               architecture=arch) for arch in ("amd64", "arm64")}
        for arch in signed_platforms:
            self.sign(images[arch])
        digest = self.pusher.push_index(REPOSITORY, tag, list(images.values()))
        index = {"digest": digest, "media_type": "application/vnd.oci.image.index.v1+json",
                 "size": len(self.pusher.session.get("http://%s/v2/%s/manifests/%s" % (self.host, REPOSITORY, digest),
                                                     headers={"Accept": "application/vnd.oci.image.index.v1+json"},
                                                     timeout=30).content)}
        if sign_index:
            self.sign(index)
        return index


def setup(work: str, host: str) -> dict:
    os.makedirs(work, exist_ok=True)
    instance = SigstoreInstance("localai-test")
    registry = SignedRegistry(work, host, instance)
    digests = {}
    digests["good"] = registry.push_signed("good", "v1")["digest"]
    digests["message"] = registry.push_signed("message", "v1", kind="message")["digest"]
    digests["wrong-identity"] = registry.push_signed(
        "wrong-identity", "v1", identity="https://github.com/someone/fork/.github/workflows/build.yml@refs/heads/main"
    )["digest"]
    digests["wrong-issuer"] = registry.push_signed("wrong-issuer", "v1", issuer="https://accounts.google.com")["digest"]
    digests["unsigned"] = registry.push("unsigned", "v1")["digest"]
    other = registry.push("other", "v1")
    registry.sign(registry.push("other-digest", "v1"), for_digest=other["digest"])
    signed = registry.push_signed("tampered", "v1")
    tampered = registry.push("tampered", "v1 with a changed run.sh")  # the tag now names other bytes...
    registry.pusher.attach_bundle(REPOSITORY, tampered, instance.sign_digest(signed["digest"]))  # ...with its bundle
    digests["tampered"] = tampered["digest"]
    digests["too-early"] = registry.push_signed("too-early", "v1", when=BEFORE_NOT_BEFORE)["digest"]
    digests["untrusted"] = registry.push_signed("untrusted", "v1", signer=SigstoreInstance("elsewhere"))["digest"]
    digests["moving"] = registry.push_signed("moving", "v1")["digest"]
    digests["meta-cpu"] = registry.push_signed("meta-cpu", "v1")["digest"]
    digests["meta-cuda"] = registry.push("meta-cuda", "v1")["digest"]  # unsigned: only hosts choosing it fail
    digests["plain"] = registry.push("plain", "v1")["digest"]
    digests["index-signed"] = registry.push_index("index-signed", True, ())["digest"]
    digests["index-platforms"] = registry.push_index("index-platforms", False, ("amd64", "arm64"))["digest"]
    digests["index-arm64-only"] = registry.push_index("index-arm64-only", False, ("arm64",))["digest"]
    instance.write_trusted_root(os.path.join(work, "trusted_root.json"))
    instance.save(os.path.join(work, "sigstore-instance.json"))
    SigstoreInstance("elsewhere").write_trusted_root(os.path.join(work, "other_trusted_root.json"))
    concrete = ["good", "message", "wrong-identity", "wrong-issuer", "unsigned", "other-digest", "tampered",
                "too-early", "untrusted", "moving", "meta-cpu", "meta-cuda", "index-signed", "index-platforms",
                "index-arm64-only"]
    entries = [{"name": "signed-" + tag, "uri": registry.uri(tag)} for tag in concrete]
    entries.append({"name": "signed-meta", "capabilities": {"default": "signed-meta-cpu",
                                                            "nvidia": "signed-meta-cuda"}})
    entries.append({"name": "signed-archive", "uri": "ocifile:///nonexistent/archive.tar"})
    write_gallery(os.path.join(work, "signed-gallery.yaml"), entries)
    write_gallery(os.path.join(work, "plain-gallery.yaml"), [
        {"name": "plain", "uri": registry.uri("plain")},
        {"name": "plain-tarball", "uri": "http://%s/nowhere/backend.tar.gz" % host}])
    return {"trusted_root": os.path.join(work, "trusted_root.json"),
            "other_trusted_root": os.path.join(work, "other_trusted_root.json"),
            "signed_gallery": os.path.join(work, "signed-gallery.yaml"),
            "plain_gallery": os.path.join(work, "plain-gallery.yaml"),
            "policy": POLICY, "identity": LOCALAI_IDENTITY, "issuer": GITHUB_ISSUER, "digests": digests,
            "moving_uri": registry.uri("moving")}


def write_gallery(path: str, entries: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as gallery_file:
        json.dump(entries, gallery_file, indent=1)  # JSON is YAML


def move(work: str, host: str, label: str) -> str:
    instance = SigstoreInstance.load(os.path.join(work, "sigstore-instance.json"))
    digest = SignedRegistry(work, host, instance).push_signed("moving", label)["digest"]
    instance.save(os.path.join(work, "sigstore-instance.json"))  # the log grew
    return digest


def main(argv: list[str]) -> int:
    if argv[:1] == ["setup"] and len(argv) == 3:
        print(json.dumps(setup(argv[1], argv[2])))
        return 0
    if argv[:1] == ["move"] and len(argv) == 4:
        print(move(argv[1], argv[2], argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
