#!/usr/bin/python
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: backend_mirror
short_description: Copy the LocalAI backend images a fleet needs into a private registry
version_added: 0.2.0
description:
  - Runs on the controller only (an action plugin; no connection to the host is made), so it suits
    C(run_once) or a play on V(localhost).
  - Resolves O(names) as M(localai.gallery.backend_install) would (a meta backend gives one build per entry of
    O(capabilities)) and copies each build's image from the first of its sources that answers (the entry's
    C(uri), its C(mirrors), then the C(master-) tags, in that order) into O(target), under the repository path
    and tag of the entry's C(uri).
  - Copies are byte for byte, so digests are kept, the one LocalAI records included; every blob is checked
    against its digest while it streams. The Sigstore bundle referrers of every copied manifest come along,
    listed under the fallback tag when the target has no referrers API, so signature verification works
    against the mirror. The tag is written last, so a failed copy leaves nothing tagged.
  - Blobs and manifests the target already has are skipped (HEAD), so a second run moves no byte and reports
    no change.
  - Uses the collection's own registry client (the one targets install with), so needs nothing beyond
    ansible-core on the controller.
author:
  - localai.gallery contributors (@localai-gallery)
extends_documentation_fragment:
  - localai.gallery.attributes
attributes:
  check_mode:
    support: full
    details: Reads the source and the target, and lists in RV(images[].would_copy) each blob that would be
      copied, with its size.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  names:
    description:
      - Backends to mirror, by gallery name (V(gallery@name) to search one gallery only). Meta backends need
        O(capabilities).
    type: list
    elements: str
    required: true
    aliases: [name]
  capabilities:
    description:
      - Capabilities to cover (V(default), V(nvidia-cuda-12), V(amd), ...), for example the
        C(localai_capability) that M(localai.gallery.backend_facts) reports for each host of the fleet.
        Each meta backend contributes the build it would install on such a host.
    type: list
    elements: str
    default: []
  platforms:
    description:
      - Copy only these platforms of a multi-platform image (V(linux/amd64), V(linux/arm64)). The index is then
        rewritten to list just them and gets a new digest (RV(images[].index_rewritten)); LocalAI's upgrade
        check, which compares that digest with the source's, will then report an upgrade. Empty copies every
        platform and keeps the digest.
    type: list
    elements: str
    default: []
  target:
    description:
      - The registry to copy into, V(host[:port]) or V(host[:port]/path/prefix). Repositories keep their path
        below it. Use the same value in the V(registry_mirrors) of the fleet (see RV(registry_mirrors)).
    type: str
    required: true
  galleries:
    description:
      - Galleries to look O(names) up in, as in M(localai.gallery.backend_install).
    type: list
    elements: dict
  source_username:
    description:
      - User name for the registry of each build's primary C(uri); never sent to the entry's other sources, or any
        other registry. Credentials from the Docker config are used otherwise, each for its own registry.
    type: str
  source_password:
    description: Password or token for O(source_username). Never logged.
    type: str
  target_username:
    description: User name for the target registry, and only for it.
    type: str
  target_password:
    description: Password or token for O(target_username). Never logged.
    type: str
  registry_auths:
    description:
      - "Credentials per registry host, in the shape of a docker C(config.json) C(auths) map
        (C({host[:port]: {username, password}})); each goes to its own registry only, and wins over
        O(source_username) and O(target_username) there. Never logged."
    type: dict
    default: {}
  insecure_registries:
    description: Registries spoken to over plain HTTP (loopback registries always are).
    type: list
    elements: str
    default: []
  validate_certs:
    description: Verify the registries' TLS certificates.
    type: bool
    default: true
  ca_path:
    description: A CA bundle for the registries' TLS certificates.
    type: path
  timeout:
    description: Seconds to wait for a registry's answer to one request.
    type: int
    default: 60
  retries:
    description: How many times a failed read (GET, HEAD) is repeated before the next source is tried.
    type: int
    default: 3
seealso:
  - module: localai.gallery.backend_install
  - module: localai.gallery.backend_facts
"""

EXAMPLES = r"""
- name: Mirror what the fleet needs into the registry next to it
  localai.gallery.backend_mirror:
    names: [llama-cpp, whisper]
    capabilities: "{{ groups['gpu'] | map('extract', hostvars, 'localai_capability') | unique }}"
    target: registry.lan:5000
    target_username: mirror
    target_password: "{{ vault_mirror_password }}"
  run_once: true
  register: mirrored

- name: Show the registry_mirrors mapping for group_vars
  ansible.builtin.debug:
    var: mirrored.registry_mirrors
  run_once: true
"""

RETURN = r"""
images:
  description: One entry per image copied (or checked), in the order of O(names).
  returned: success
  type: list
  elements: dict
  contains:
    backend:
      description: The name asked for.
      type: str
      sample: llama-cpp
    build:
      description: The concrete build copied.
      type: str
      sample: cuda12-llama-cpp
    source:
      description: The source that answered.
      type: str
      sample: quay.io/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-12-llama-cpp
    target:
      description: Where it is now.
      type: str
      sample: registry.lan:5000/go-skynet/local-ai-backends:latest-gpu-nvidia-cuda-12-llama-cpp
    source_registry:
      description: The registry of the entry's C(uri), the key of RV(registry_mirrors).
      type: str
      sample: quay.io
    digest:
      description: Digest of the tag in the target (the source's, unless the index was rewritten).
      type: str
    source_digest:
      description: Digest of the tag in the source.
      type: str
    index_rewritten:
      description: Whether only some platforms were copied, giving the index a new digest.
      type: bool
    platforms:
      description: Platforms copied (empty for a single-platform manifest).
      type: list
      elements: str
    blobs_copied:
      description: Blobs copied (or that would be, in check mode).
      type: int
    bytes_copied:
      description: Bytes of those blobs.
      type: int
    blobs_present:
      description: Blobs the target had already (not moved).
      type: int
    manifests_copied:
      description: Manifests and tags written.
      type: list
      elements: str
    signatures_copied:
      description: Digests of the Sigstore bundle referrers copied.
      type: list
      elements: str
    would_copy:
      description: In check mode, each blob that would be copied, with its size.
      type: list
      elements: dict
bytes_copied:
  description: Bytes of blobs copied in all, or that would be in check mode.
  returned: success
  type: int
registry_mirrors:
  description: The mapping to give the fleet as V(registry_mirrors) (role variable C(backends_registry_mirrors)).
  returned: success
  type: dict
  sample: {"quay.io": "registry.lan:5000"}
"""
