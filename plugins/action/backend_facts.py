# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""With `galleries`, read them on the controller (once per run) and hand the targets what the upgrade check needs."""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.plugin_utils.action_base import GalleryActionBase
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import upgrade_index


class ActionModule(GalleryActionBase):
    """Runs localai.gallery.backend_facts; galleries given means an upgrade report as LocalAI computes it."""

    failure_prefix = "cannot check upgrades"

    def module_args_from_galleries(self, module_args: dict, galleries) -> dict:
        if galleries:
            module_args["gallery_index"] = upgrade_index(self.load_galleries(galleries, module_args))
        return module_args
