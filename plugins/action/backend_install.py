# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Look the backend up in the galleries on the controller, then run the module with the entry as data."""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils.meta_resolution import is_meta
from ansible_collections.localai.gallery.plugins.plugin_utils.action_base import GalleryActionBase
from ansible_collections.localai.gallery.plugins.plugin_utils.catalogue import find_entry, meta_candidates, slim_entry


class ActionModule(GalleryActionBase):
    """Resolves `name` against the galleries (read once per run on the controller) and runs the module on the target."""

    failure_prefix = "cannot install"

    def module_args_from_galleries(self, module_args: dict, galleries) -> dict:
        if module_args.get("uri") or not module_args.get("name"):
            return module_args
        loaded = self.load_galleries(galleries, module_args)
        gallery, entry = find_entry(loaded, module_args["name"])
        module_args["gallery_entry"] = slim_entry(entry, gallery)
        if is_meta(entry):
            module_args["gallery_candidates"] = meta_candidates(loaded, gallery, entry)
        return module_args
