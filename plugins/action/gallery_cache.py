# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read the galleries on the controller (once per run) and hand each target the copies LocalAI's cache holds."""

from __future__ import annotations

import hashlib
import json

from ansible.errors import AnsibleActionFail

from ansible_collections.localai.gallery.plugins.plugin_utils.action_base import GalleryActionBase
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import gallery_list


class ActionModule(GalleryActionBase):
    """Runs localai.gallery.gallery_cache with `seeds`: per gallery, the key LocalAI files it under and its index."""

    failure_prefix = "cannot seed the gallery cache"

    def module_args_from_galleries(self, module_args: dict, galleries) -> dict:
        configured = gallery_list(galleries)
        loaded = self.load_galleries(galleries, module_args)
        seeds = []
        for raw, gallery in zip(configured, loaded):
            label = gallery.get("name") or gallery["url"]
            if raw["url"].endswith(".ref"):
                raise AnsibleActionFail("gallery %s is a .ref URL: LocalAI files its cache under the URL of the file it "
                                        "names; give that URL" % label)
            if not gallery["entries"]:
                raise AnsibleActionFail("gallery %s lists no backends: LocalAI keeps no copy of an empty index "
                                        "(isUsableGalleryIndex)" % label)
            # galleryCachePath: sha256 of the URL as configured (credentials in it included), never sent itself
            seeds.append({"name": label, "key": hashlib.sha256(raw["url"].encode("utf-8")).hexdigest(),
                          "content": json.dumps(gallery["entries"], sort_keys=True)})
        module_args["seeds"] = seeds
        return module_args
