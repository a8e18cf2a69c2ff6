#!/usr/bin/python
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: backend_facts
short_description: GPU, capability and installed LocalAI backends of a host
version_added: 0.1.0
description:
  - Detects the GPU vendor and VRAM of the target and the LocalAI capability that follows, in LocalAI's order
    (option, E(LOCALAI_FORCE_META_BACKEND_CAPABILITY), the capability run file, macOS, arm64 L4T, PCI vendor ids in
    sysfs, vendor tools, Tegra, C(vulkaninfo), VRAM gate, CUDA 12/13 directories).
  - Lists every name LocalAI would list for the backends path and the system backends path.
  - As LocalAI, a GPU with 4 GiB of VRAM or less, or whose VRAM none of LocalAI's sources can read, means
    V(default) (see RV(ansible_facts.localai_gpu_vram_bytes)).
  - "With O(galleries), also reports which installed backends LocalAI would offer to upgrade, decided as LocalAI's
    C(CheckUpgradesAgainst) decides: the gallery C(version) when it has one (no registry request), else the digest
    the tag names now against the recorded one (one manifest request per backend)."
author:
  - localai.gallery contributors (@localai-gallery)
extends_documentation_fragment:
  - localai.gallery.attributes
  - localai.gallery.attributes.actiongroup
  - localai.gallery.backends
  - localai.gallery.backends.registry
attributes:
  check_mode:
    support: full
    details: This module changes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
options:
  galleries:
    description:
      - Galleries to check installed backends against for upgrades, in order, as for
        M(localai.gallery.backend_install). Read on the controller, once per run.
      - When not set, no upgrade check is made and no registry is asked anything.
    type: list
    elements: dict
  gallery_index:
    description:
      - The gallery entries the upgrade check needs, set by the action plugin from O(galleries). Leave unset.
    type: list
    elements: dict
seealso:
  - module: localai.gallery.backend_install
"""

EXAMPLES = r"""
- name: What does each host have?
  localai.gallery.backend_facts:
    backends_path: /var/lib/localai/backends

- name: Show the capability and the installed backends
  ansible.builtin.debug:
    msg: "{{ localai_capability }}: {{ localai_backends | list }}"

- name: Which backends would LocalAI offer to upgrade?
  localai.gallery.backend_facts:
    backends_path: /var/lib/localai/backends
    galleries:
      - name: localai
        url: https://index.localai.io/backends
        mirrors: ["github:mudler/LocalAI/backend/index.yaml@master"]

- name: Show them
  ansible.builtin.debug:
    msg: "{{ localai_backends_upgrades | list }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts about the host's accelerator and backends.
  returned: always
  type: dict
  contains:
    localai_gpu_vendor:
      description: V(nvidia), V(amd), V(intel), V(vulkan), or null without a GPU.
      returned: always
      type: str
    localai_gpu_vendor_source:
      description: What found the vendor (V(sysfs), a tool name, V(tegra), V(vulkaninfo)), or null.
      returned: always
      type: str
    localai_gpu_vram_bytes:
      description:
        - Total VRAM in bytes as LocalAI counts it (C(pkg/xsysinfo/gpu.go)), or null when none of its sources can
          read it; LocalAI then counts 0, and the capability is V(default), as for 4 GiB or less.
        - "LocalAI's sources, in its order: the NUMA node memory of each display card (ghw; system RAM, on
          multi-socket hosts), nvidia-smi (system RAM for unified-memory parts), rocm-smi, xpu-smi or clinfo,
          an NVIDIA SoC's system RAM, vulkaninfo's device-local heaps."
      returned: always
      type: int
    localai_gpu_vram_source:
      description: Which of those sources gave RV(ansible_facts.localai_gpu_vram_bytes), or null.
      returned: always
      type: str
      sample: nvidia-smi
    localai_gpus:
      description: Display devices found in sysfs, each with C(card), C(vendor), C(pci_vendor_id), C(vram_bytes).
      returned: always
      type: list
      elements: dict
    localai_capability:
      description: The capability used to choose builds of meta backends.
      returned: always
      type: str
      sample: nvidia-cuda-12
    localai_capability_source:
      description: Where it came from.
      returned: always
      type: str
      choices: [option, env, run_file, detected]
    localai_capability_reason:
      description: Why, in words.
      returned: always
      type: str
    localai_backends:
      description:
        - Every name LocalAI would list, keyed by name (directories, meta names, aliases, system backends).
        - Each value has C(name), C(kind), C(directory) (the directory it points to), C(path), C(run_file),
          C(runnable), C(is_system), C(is_meta), C(is_alias), C(meta_backend_for), C(alias), C(metadata),
          C(verified) and C(signer).
        - C(verified) is true when the digest in the directory's C(metadata.json) was installed by
          M(localai.gallery.backend_install) with a Sigstore signature verified against its gallery's policy;
          C(signer) then gives C(identity), C(issuer), C(signed_at), C(digest) and C(bundle).
        - C(is_meta) and C(is_alias) are LocalAI's own view of the row. C(kind) is what the name is to an operator,
          V(system), V(concrete), V(meta) or V(alias); a meta installed by this collection or LocalAI whose build
          carries the meta's name as alias (as V(llama-cpp) does) is registered by LocalAI as an alias row, and its
          C(kind) is V(meta) (with C(meta_directory)).
        - With O(galleries), each value also has C(upgrade_available), and the rows LocalAI checks (not system
          backends, not alias rows, only names the galleries know) have C(installed_version),
          C(available_version), C(installed_digest) and C(available_digest).
      returned: always
      type: dict
    localai_backends_upgrades:
      description:
        - LocalAI's upgrade map (C(/api/backends/upgrades)), keyed by backend name; each value has C(backend_name)
          and either C(installed_version) and C(available_version), or C(installed_digest) and
          C(available_digest). Empty without O(galleries).
      returned: always
      type: dict
      sample:
        cpu-llama-cpp:
          backend_name: cpu-llama-cpp
          installed_digest: sha256:1b2c...
          available_digest: sha256:9f8e...
    localai_platform:
      description:
        - This host's platform in OCI terms (C(os), C(architecture), C(variant)), the one an image index is resolved
          for. M(localai.gallery.backend_install) reads it on the controller to warm a registry mirror with this
          platform's image only (O(localai.gallery.backend_install#module:warm_mirrors)).
      returned: always
      type: dict
      sample: {os: linux, architecture: amd64, variant: null}
    localai_instance:
      description:
        - The LocalAI that O(localai) describes, or V(null) without it. C(kind) (V(container), V(service) or V(url)),
          C(name), C(engine); C(capability) and C(capability_source), the capability LocalAI itself would choose
          there (the same as RV(ansible_facts.localai_capability)).
        - With O(localai.url), C(version) (C(GET /version)), C(registered), the backend names the running LocalAI has
          registered (C(GET /system)), and C(not_registered), installed backends it cannot use until it restarts.
          When the API cannot be reached these stay V(null) and a warning says why.
      returned: always
      type: dict
      sample: {kind: container, name: local-ai, engine: docker, capability: default, capability_source: run_file,
               version: v3.9.0, registered: [cpu-llama-cpp, llama-cpp], not_registered: []}
    localai_backends_warnings:
      description:
        - Entries whose C(metadata.json) could not be read (they are still listed when runnable), backends stranded
          by a killed run (restored by the next install or removal), and upgrade checks that failed.
      returned: always
      type: list
      elements: str
"""

from ansible_collections.localai.gallery.plugins.module_utils.backends_module import BackendsModule
from ansible_collections.localai.gallery.plugins.module_utils.flow_facts import FactsRequest, gather_facts
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient


def main() -> None:
    module = BackendsModule(argument_spec=dict(galleries={"type": "list", "elements": "dict"},
                                               gallery_index={"type": "list", "elements": "dict"}),
                            fragments=("backends", "registry"), supports_check_mode=True)
    module.run(lambda: gather_facts(FactsRequest(module.params), module.store(), module.host_probe(),
                                    lambda: RegistryClient.from_options(module.params)),
               "cannot gather backend facts")


if __name__ == "__main__":
    main()
