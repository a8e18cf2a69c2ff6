#!/usr/bin/python
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: backend_install
short_description: Install or upgrade a LocalAI backend from a gallery or an image
version_added: 0.1.0
description:
  - Installs a LocalAI backend into the backends path of the target, in the layout and C(metadata.json) format
    LocalAI itself writes, so LocalAI uses it unchanged.
  - A gallery name is looked up on the controller (each gallery is read once per run and cached); a meta backend
    such as V(llama-cpp) is resolved on the target to the build for its GPU (see O(capability)).
  - Images are pulled from the registry with every blob checked against its digest while it streams, extracted
    safely into a staging directory inside the backends path, and swapped into place atomically. A failed or
    interrupted install leaves the previous version in place.
  - "Deviations from LocalAI: a meta that only lists the vendor key (V(nvidia)) gets its GPU build on CUDA hosts;
    any image reference is pulled, Docker Hub mirrors included."
author:
  - localai.gallery contributors (@localai-gallery)
extends_documentation_fragment:
  - localai.gallery.attributes
  - localai.gallery.attributes.actiongroup
  - localai.gallery.backends
  - localai.gallery.backends.registry
  - localai.gallery.backends.store
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the backend in the galleries, or V(gallery@name) to search one gallery only. Matched
        case-insensitively, first gallery first.
      - With O(uri), the directory name to install into.
    type: str
    required: true
  uri:
    description:
      - Install from this source instead of a gallery. An image reference (V(quay.io/org/repo:tag),
        V(host:5000/repo@sha256:...), V(oci://...)), V(ocifile://PATH) of a C(docker save) archive or an OCI image
        layout tarball on the target, a directory on the target, or an C(http(s)://) URL of a C(.tar), C(.tar.gz) or C(.tar.zst) with O(sha256).
    type: str
  alias:
    description:
      - Alias recorded in C(metadata.json) for a direct install (LocalAI lists the backend under it too).
    type: str
  sha256:
    description:
      - SHA-256 of a tarball source; required for tarballs.
    type: str
  galleries:
    description:
      - Galleries to look O(name) up in, in order. Each is V(name), V(url) and optionally V(mirrors), a list of URLs
        tried in order when V(url) fails. URLs may be C(http://), C(https://), C(file://), a path on the controller, or
        V(github:owner/repo/path@branch).
      - When not set, LocalAI's own default, V(https://index.localai.io/backends) with the mirror
        V(github:mudler/LocalAI/backend/index.yaml@master).
      - Read on the controller by the action plugin, once per playbook run; when every source fails, the last good
        copy is used.
    type: list
    elements: dict
  state:
    description:
      - V(present) installs when the backend is missing or not runnable.
      - V(latest) follows LocalAI's upgrade rule. When the gallery entry has a C(version), a different recorded
        C(version) means reinstall (no registry request). Otherwise the registry is asked which digest the tag
        names now (one manifest request, no download), and the backend is reinstalled when it differs from the
        digest recorded at install, the same value LocalAI records and compares.
      - A backend that an earlier release of this collection recorded with the platform manifest digest of the
        tag's current index counts as current; its C(metadata.json) is rewritten, nothing is downloaded.
    type: str
    choices: [present, latest]
    default: present
  force:
    description:
      - Reinstall even when the installed backend is up to date.
    type: bool
    default: false
  owner:
    description:
      - User that should own every entry of the installed backend and of its meta directory (directories,
        files, links with lchown, C(metadata.json) included), as a name or a numeric id, like
        M(ansible.builtin.file).
      - Set it to the user LocalAI runs as; LocalAI writes into backend directories at start (it makes
        C(run.sh) executable, Python backends rewrite C(venv/)).
      - A backend that differs only in ownership is fixed in place (changed, nothing downloaded).
      - When not set, files keep the owner of the user Ansible runs as.
    type: str
  group:
    description:
      - Group that should own every entry of the installed backend and of its meta directory, as a name or a
        numeric id. See O(owner).
    type: str
  require_integrity:
    description:
      - LocalAI's C(--require-backend-integrity). When V(true), an image from a gallery without a C(verification)
        policy (or given directly by O(uri)) fails, and so does a tarball without O(sha256).
      - When V(false), such installs go ahead with a warning, as LocalAI's do.
      - A gallery's policy is the C(verification) key of its item in O(galleries), in LocalAI's own shape
        (C(issuer) or C(issuer_regex), C(identity) or C(identity_regex), and optionally C(not_before), an RFC 3339
        time). Every image from that gallery must then carry a Sigstore bundle (cosign 2.2+
        C(--new-bundle-format)) by a matching signer; see the README, section "Signed backends".
      - Read on the controller.
    type: bool
    default: false
  trusted_root:
    description:
      - Path on the controller to a Sigstore trusted-root JSON to verify signatures with, for air-gapped fleets or
        a private Sigstore instance.
      - When not set, Sigstore's public-good root, refreshed through its TUF repository; when that cannot be
        reached, the root shipped with sigstore-python is used, with a warning.
      - Verification needs the Python package C(sigstore) on the controller only.
    type: path
  pin_digests:
    description:
      - Resolve each image tag to a digest once per playbook run, on the controller, and install that digest on
        every host of the run, even if the tag moves during a rollout. Signatures are checked on those digests.
      - When the controller cannot resolve a tag, each host resolves it itself, with a warning (a gallery with a
        C(verification) policy fails instead, as there is nothing to verify).
      - Set V(false) when the controller cannot reach the registry at all; then each host resolves tags itself,
        and a gallery with a C(verification) policy fails.
    type: bool
    default: true
  warm_mirrors:
    description:
      - When O(registry_mirrors) sends the image to a mirror, the controller fills that mirror with the pinned digest
        (this host's platform, from C(localai_platform) of M(localai.gallery.backend_facts)) once per playbook run,
        before the hosts pull. A pull-through cache that is cold fetches a blob from upstream for every host asking at
        the same time; warmed first, it fetches each blob once for the whole fleet (README, "Large fleets").
      - Each blob is asked for with a one-byte range request; a mirror that has it answers one byte, so a warm mirror
        costs one small request per blob and run. A blob the mirror lacks is read through the controller once.
      - A mirror that cannot be warmed gives a warning, and the hosts pull through it as usual.
      - Needs O(pin_digests). Nothing is warmed for a meta backend whose build for this host is not known yet
        (gather M(localai.gallery.backend_facts) first, as the role does).
    type: bool
    default: true
  decompressor:
    description:
      - V(auto) inflates layers with the fastest inflater the target has, as containerd does with C(unpigz).
        gzip, fastest first, the C(zlib-ng) or C(isal) Python modules (C(pip install zlib-ng)), then C(igzip)
        (Debian package C(isal)) or C(pigz) on the PATH, then Python's own zlib; zstd, the C(zstandard) module,
        then the C(zstd) command. None of them is required.
      - V(stdlib) uses Python's zlib (and the C(zstandard) module) only. Setting C(LOCALAI_GALLERY_DECOMPRESSOR=stdlib)
        in the target's environment does the same.
      - The files written and every digest check are the same whichever inflater runs; RV(decompressor) says which
        one did.
    type: str
    choices: [auto, stdlib]
    default: auto
  release_tag:
    description:
      - The tag prefix of released images that LocalAI's fallbacks replace (LocalAI's
        E(LOCALAI_BACKEND_IMAGES_RELEASE_TAG)). When an image tagged C(<release_tag>-...) cannot be installed from
        its uri or mirrors, C(<branch_tag>-...) and then C(<branch_tag>-...-development) are tried.
    type: str
    default: latest
  branch_tag:
    description:
      - The tag prefix of development images (LocalAI's E(LOCALAI_BACKEND_IMAGES_BRANCH_TAG)).
    type: str
    default: master
  prefer_development:
    description:
      - Install the development image (C(<branch_tag>-...)) first, the released one right after it, as LocalAI does
        with E(LOCALAI_PREFER_DEV_BACKENDS).
      - Set these three as the fleet's LocalAI is set, so that both install the same images.
    type: bool
    default: false
  restart_warning:
    description:
      - Warn, after a change, that a running LocalAI must be restarted to see it (when O(localai) is not set).
      - The action plugin turns it off once the warning was shown for the host in the run.
    type: bool
    default: true
  gallery_entry:
    description:
      - The gallery entry of O(name), set by the action plugin from O(galleries). Leave unset.
    type: dict
  uri_pin:
    description:
      - The digest the action plugin pinned for O(uri), or why it refused it. Leave unset.
    type: dict
  gallery_candidates:
    description:
      - The builds a meta backend names, by name, set by the action plugin from O(galleries). Leave unset.
    type: dict
notes:
  - The gallery is read on the controller with PyYAML; targets need only Python 3.9 or later.
    zstd-compressed layers need the C(zstandard) Python library or the C(zstd) command on the target.
  - Symbolic links are created verbatim, whatever their target, as LocalAI's extractor does; nothing is ever
    written through a link. Hardlinks to entries outside the image are refused; device nodes and FIFOs are
    skipped; setuid and setgid bits are dropped. C(run.sh) always ends up executable by its owner.
  - C(metadata.json) is written afresh by every install (mode 0644), exactly as LocalAI writes it, with the
    gallery entry's C(version) and the digest of the manifest the tag names (the image index for multi-arch
    tags), so LocalAI's own upgrade check agrees with this module.
  - Work directories (staging, backup) live in C(<backends_path>/.localai-gallery/), never as direct children
    of the backends path, so a running LocalAI never lists a half-built backend.
seealso:
  - module: localai.gallery.backend_facts
  - module: localai.gallery.backend_remove
"""

EXAMPLES = r"""
- name: Install the llama.cpp build that fits each host's GPU
  localai.gallery.backend_install:
    name: llama-cpp
    backends_path: /var/lib/localai/backends

- name: Keep a backend on the newest image of its tag
  localai.gallery.backend_install:
    name: whisper
    state: latest

- name: Air-gapped fleet, pulling through a local registry
  localai.gallery.backend_install:
    name: llama-cpp
    galleries:
      - name: localai
        url: https://mirror.lan/localai/backend-index.yaml
    registry_mirrors:
      quay.io: registry.lan:5000
      docker.io: registry.lan:5000

- name: Install an image directly under a directory name of your choice
  localai.gallery.backend_install:
    name: my-llama-cpp
    uri: registry.lan:5000/team/llama-cpp:v1.2
    alias: llama-cpp
    registry_username: puller
    registry_password: "{{ vault_registry_password }}"
"""

RETURN = r"""
backend:
  description: Directory name of the concrete backend installed (or that would be).
  returned: success
  type: str
  sample: cuda12-llama-cpp
meta:
  description: Name of the meta backend that was resolved, or null for a concrete or direct install.
  returned: success
  type: str
  sample: llama-cpp
capability:
  description: Capability of the host used for the decision.
  returned: success
  type: str
  sample: nvidia-cuda-12
capability_source:
  description: Where the capability came from.
  returned: success
  type: str
  choices: [option, env, run_file, detected]
capability_key:
  description: Key of the meta's capabilities map that was chosen, or null for a concrete.
  returned: success
  type: str
  sample: nvidia
capability_reason:
  description: Why that capability or key was chosen.
  returned: success
  type: str
  sample: no build for nvidia-cuda-13; using the nvidia build (vendor fallback)
source:
  description:
    - The source actually installed from (after mirrors and fallbacks), or null when nothing was installed.
    - For an image pinned by the controller, the repository it came from with the pinned digest.
  returned: success
  type: str
  sample: registry.lan:5000/go-skynet/local-ai-backends@sha256:3f1a9c...
digest:
  description:
    - Digest recorded for the backend, as LocalAI records it (the manifest the tag names; for multi-arch tags the
      image index). With O(state=latest), the registry's current one.
  returned: success
  type: str
  sample: sha256:3f1a9c...
path:
  description: Directory of the concrete backend.
  returned: success
  type: str
  sample: /backends/cuda12-llama-cpp
meta_path:
  description: Directory of the meta backend, when one was resolved.
  returned: when a meta backend was resolved
  type: str
  sample: /backends/llama-cpp
run_file:
  description: The backend's C(run.sh).
  returned: success
  type: str
  sample: /backends/cuda12-llama-cpp/run.sh
verified:
  description:
    - Whether the digest installed (or that would be) had a Sigstore signature verified against its gallery's
      C(verification) policy, in this run or when it was installed.
  returned: success
  type: bool
  sample: true
signer:
  description: Who signed the installed digest, when RV(verified) is true.
  returned: success
  type: dict
  sample:
    identity: https://github.com/mudler/LocalAI/.github/workflows/backend.yml@refs/heads/master
    issuer: https://token.actions.githubusercontent.com
    signed_at: "2026-11-20T08:14:03Z"
    digest: sha256:3f1a9c...
    bundle: dsse
pinned_digest:
  description:
    - The digest the controller resolved for this run (every host of the run installs it), or null for sources
      that are not images or with O(pin_digests=false).
  returned: success
  type: str
  sample: sha256:3f1a9c...
reason:
  description: Why the backend was (or would be) installed, or V(up to date).
  returned: success
  type: str
  sample: not installed
decompressor:
  description:
    - What inflated the layers in this run (see O(decompressor)), comma-separated when gzip and zstd layers
      were inflated by different routes; null when nothing was inflated (nothing installed, or a directory).
  returned: success
  type: str
  sample: zlib-ng
"""

from ansible_collections.localai.gallery.plugins.module_utils.uris import FALLBACK_TAG_SPEC
from ansible_collections.localai.gallery.plugins.module_utils.backends_module import BackendsModule
from ansible_collections.localai.gallery.plugins.module_utils.flow_install import InstallRequest, run_install
from ansible_collections.localai.gallery.plugins.module_utils.inflaters import Inflaters
from ansible_collections.localai.gallery.plugins.module_utils.install_plan import InstallPlanner
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient


def main() -> None:
    module = BackendsModule(
        changes_backends=True,
        argument_spec=dict(
            name={"type": "str", "required": True},
            uri={"type": "str"},
            alias={"type": "str"},
            sha256={"type": "str"},
            galleries={"type": "list", "elements": "dict"},
            state={"type": "str", "choices": ["present", "latest"], "default": "present"},
            force={"type": "bool", "default": False},
            owner={"type": "str"},
            group={"type": "str"},
            require_integrity={"type": "bool", "default": False},
            trusted_root={"type": "path"},
            pin_digests={"type": "bool", "default": True},
            warm_mirrors={"type": "bool", "default": True},
            decompressor={"type": "str", "choices": ["auto", "stdlib"], "default": "auto"},
            **FALLBACK_TAG_SPEC,
            restart_warning={"type": "bool", "default": True},
            gallery_entry={"type": "dict"},
            gallery_candidates={"type": "dict"},
            uri_pin={"type": "dict"},
        ),
        fragments=("backends", "registry", "store"),
        supports_check_mode=True,
        required_one_of=[("uri", "gallery_entry")],
    )

    def install() -> dict:
        planner = InstallPlanner(module.store(), RegistryClient.from_options(module.params),
                                 module.params["registry_mirrors"], module.ownership(), module.params["upstream_fallback"],
                                 Inflaters(module.params["decompressor"]))
        return run_install(InstallRequest(module.params, module.check_mode), planner, module.host_probe())

    module.run(install, "cannot install %s" % module.params["name"])


if __name__ == "__main__":
    main()
