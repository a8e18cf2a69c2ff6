#!/usr/bin/python
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

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
  - "Deviation from LocalAI: a GPU whose VRAM cannot be read keeps its vendor capability (upstream falls back to CPU
    builds); only a known VRAM of 4 GiB or less means V(default)."
author:
  - localai.gallery contributors (@localai-gallery)
extends_documentation_fragment:
  - localai.gallery.attributes
  - localai.gallery.attributes.actiongroup
  - localai.gallery.backends
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
options: {}
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
      description: Total VRAM in bytes, or null when unknown.
      returned: always
      type: int
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
        - Each value has C(name), C(directory) (the directory it points to), C(path), C(run_file), C(runnable),
          C(is_system), C(is_meta), C(is_alias), C(meta_backend_for), C(alias) and C(metadata).
      returned: always
      type: dict
    localai_backends_warnings:
      description: Entries whose C(metadata.json) could not be read (they are still listed when runnable).
      returned: always
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.localai.gallery.plugins.module_utils.capability import detect_capability, detect_gpus
from ansible_collections.localai.gallery.plugins.module_utils.common import BACKENDS_PATH_SPEC, host_probe
from ansible_collections.localai.gallery.plugins.module_utils.listing import list_backends


def main() -> None:
    module = AnsibleModule(argument_spec=dict(**BACKENDS_PATH_SPEC), supports_check_mode=True)
    params = module.params
    probe = host_probe(module)
    gpu = detect_gpus(probe)
    capability = detect_capability(probe, params["capability"], gpu)
    try:
        backends, warnings = list_backends(params["backends_path"], params["system_backends_path"],
                                           capability["capability"])
    except OSError as exc:
        module.fail_json(msg="cannot list backends in %s: %s" % (params["backends_path"], exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={
        "localai_gpu_vendor": gpu["vendor"], "localai_gpu_vendor_source": gpu["vendor_source"],
        "localai_gpu_vram_bytes": gpu["vram_bytes"], "localai_gpus": gpu["gpus"],
        "localai_capability": capability["capability"], "localai_capability_source": capability["source"],
        "localai_capability_reason": capability["reason"], "localai_backends": backends,
        "localai_backends_warnings": warnings,
    })


if __name__ == "__main__":
    main()
