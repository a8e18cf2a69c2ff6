#!/usr/bin/python
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: backend_remove
short_description: Remove a LocalAI backend from a host
version_added: 0.1.0
description:
  - Removes an installed backend, found by directory name, meta backend name, alias, or the gallery name recorded
    in its C(metadata.json), as LocalAI does.
  - A meta backend is removed together with the build it points at; a meta whose build is already gone is removed too.
  - Backends of the system backends path are never removed; asking for one is an error.
  - A backend that is not installed is not an error; nothing changes.
  - Removal is atomic for readers (renamed aside, then deleted), under the same lock as installs.
author:
  - localai.gallery contributors (@localai-gallery)
extends_documentation_fragment:
  - localai.gallery.attributes
  - localai.gallery.attributes.actiongroup
  - localai.gallery.backends
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
      - Directory name, meta backend name, alias or gallery name of the backend to remove.
    type: str
    required: true
seealso:
  - module: localai.gallery.backend_install
  - module: localai.gallery.backend_facts
"""

EXAMPLES = r"""
- name: Remove llama-cpp (the meta and the build it points at)
  localai.gallery.backend_remove:
    name: llama-cpp
    backends_path: /var/lib/localai/backends
"""

RETURN = r"""
removed:
  description: Directory names removed (or that would be, in check mode), meta first.
  returned: success
  type: list
  elements: str
  sample: [llama-cpp, cuda12-llama-cpp]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.localai.gallery.plugins.module_utils.capability import (
    detect_capability,
    validate_capability_option,
)
from ansible_collections.localai.gallery.plugins.module_utils.common import BACKENDS_PATH_SPEC, STORE_SPEC, host_probe
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError, SystemBackendError
from ansible_collections.localai.gallery.plugins.module_utils.listing import plan_removal
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore


def main() -> None:
    module = AnsibleModule(argument_spec=dict(name={"type": "str", "required": True}, **BACKENDS_PATH_SPEC,
                                              **STORE_SPEC),
                           supports_check_mode=True)
    params = module.params
    store = BackendStore(params["backends_path"], params["lock_timeout"])
    try:
        # Which build an alias names depends on the capability, as in LocalAI's listing.
        capability = detect_capability(host_probe(module), validate_capability_option(params["capability"]))["capability"]
        removed = plan_removal(store.path, params["system_backends_path"], params["name"], capability)
        if removed and not module.check_mode:
            with store.locked():
                removed = plan_removal(store.path, params["system_backends_path"], params["name"], capability)
                for directory in removed:
                    store.delete(directory)
    except SystemBackendError as exc:
        module.fail_json(msg="cannot remove %s: %s" % (params["name"], exc))
    except BackendError as exc:
        module.fail_json(msg="cannot remove %s: %s" % (params["name"], exc))
    except OSError as exc:
        module.fail_json(msg="cannot remove %s from %s: %s" % (params["name"], store.path, exc))
    result = {"changed": bool(removed), "removed": removed}
    if module._diff:
        result["diff"] = {"before": {"backends": sorted(removed)}, "after": {"backends": []},
                          "before_header": store.path, "after_header": store.path}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
