#!/usr/bin/python
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: gallery_cache
short_description: Seed LocalAI's gallery cache on a host, so that an offline LocalAI lists its galleries
version_added: 0.3.0
description:
  - Reads each gallery on the controller (once per run, through its mirrors and the controller's last good copy) and
    writes it where LocalAI keeps its last good copy of that gallery, C(<backends path>/../cache/gallery/<sha256 of
    the gallery URL>.yaml) (LocalAI's C(core/gallery/gallery_mirrors.go)).
  - A LocalAI that cannot reach a gallery or its mirrors serves that copy, so an air-gapped LocalAI can list and
    install what the fleet's own mirrors hold.
  - The directories are made as LocalAI makes them (mode 0750, the file 0640), owned by O(owner) and O(group).
    Root trusts nothing in them; it works through descriptors and never follows a link there.
  - A gallery given by a C(.ref) URL is refused (LocalAI files it under the URL of the file it names); so is one
    that lists nothing (LocalAI keeps no copy of an empty index).
author:
  - localai.gallery contributors (@localai-gallery)
extends_documentation_fragment:
  - localai.gallery.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  galleries:
    description:
      - The galleries LocalAI on the host is configured with (C(LOCALAI_BACKEND_GALLERIES)), each V(name), V(url)
        and optionally V(mirrors). The URL must be written exactly as LocalAI has it, since the cache is filed under its
        sha256.
      - When not set, LocalAI's own default, V(https://index.localai.io/backends) with the mirror
        V(github:mudler/LocalAI/backend/index.yaml@master).
    type: list
    elements: dict
  backends_path:
    description:
      - LocalAI's backends path on the host; it must be absolute (LocalAI keeps no cache for a relative one).
      - When not set, E(LOCALAI_BACKENDS_PATH) or E(BACKENDS_PATH) of the target, then V(/backends).
    type: path
    default: /backends
  owner:
    description: The user LocalAI runs as, who owns what is written (LocalAI refreshes the copy itself when online).
    type: str
  group:
    description: The group LocalAI runs as.
    type: str
  validate_certs:
    description: Verify TLS certificates when the controller reads the galleries.
    type: bool
    default: true
  seeds:
    description:
      - Set by the action plugin from O(galleries). Leave unset.
    type: list
    elements: dict
seealso:
  - module: localai.gallery.backend_install
"""

EXAMPLES = r"""
- name: Let the air-gapped LocalAI list the fleet's gallery
  localai.gallery.gallery_cache:
    galleries:
      - name: localai
        url: https://index.localai.io/backends
        mirrors: [https://intranet.lan/backend-index.yaml]
    backends_path: /backends
    owner: local-ai
    group: local-ai
"""

RETURN = r"""
seeded:
  description: One item per gallery, in order, with C(name), C(path) and C(changed).
  returned: success
  type: list
  elements: dict
  sample: [{name: localai, path: /cache/gallery/0f1e....yaml, changed: true}]
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.gallery_seed import seed
from ansible_collections.localai.gallery.plugins.module_utils.ownership import Ownership
from ansible_collections.localai.gallery.plugins.module_utils.results import failure_result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            galleries={"type": "list", "elements": "dict"},
            backends_path={"type": "path", "default": "/backends",
                           "fallback": (env_fallback, ["LOCALAI_BACKENDS_PATH", "BACKENDS_PATH"])},
            owner={"type": "str"},
            group={"type": "str"},
            validate_certs={"type": "bool", "default": True},
            seeds={"type": "list", "elements": "dict"},
        ),
        supports_check_mode=True,
    )
    if module.params["seeds"] is None:
        module.fail_json(msg="cannot seed the gallery cache: no galleries were read; run it as "
                             "localai.gallery.gallery_cache, whose action plugin reads them on the controller")
    try:
        seeded = seed(module.params["backends_path"], module.params["seeds"],
                      Ownership.from_names(module.params["owner"], module.params["group"]), module.check_mode)
    except (BackendError, OSError) as exc:
        module.fail_json(**failure_result(exc, "cannot seed the gallery cache", module.params["backends_path"]))
    module.exit_json(changed=any(item["changed"] for item in seeded), seeded=seeded)


if __name__ == "__main__":
    main()
