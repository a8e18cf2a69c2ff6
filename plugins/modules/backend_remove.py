#!/usr/bin/python
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

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

from ansible_collections.localai.gallery.plugins.module_utils.backends_module import BackendsModule
from ansible_collections.localai.gallery.plugins.module_utils.flow_remove import RemoveRequest, run_remove


def main() -> None:
    module = BackendsModule(argument_spec=dict(name={"type": "str", "required": True}),
                            fragments=("backends", "store"), changes_backends=True,
                            supports_check_mode=True)
    module.run(lambda: run_remove(RemoveRequest(module.params, module.check_mode), module.store(), module.host_probe()),
               "cannot remove %s" % module.params["name"])


if __name__ == "__main__":
    main()
