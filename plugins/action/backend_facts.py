# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""With `galleries`, read them on the controller (once per run) and hand the targets what the upgrade check needs."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.plugin_utils.catalogue import (
    load_galleries,
    upgrade_index,
    validate_certs_option,
)


class ActionModule(ActionBase):
    """Runs localai.gallery.backend_facts; galleries given means an upgrade report as LocalAI computes it."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        module_args = dict(self._task.args)
        galleries = module_args.pop("galleries", None)
        if galleries:
            try:
                loaded, warnings = load_galleries(galleries, self._loader.path_dwim, validate_certs_option(module_args))
            except BackendError as exc:
                raise AnsibleActionFail("cannot check upgrades: %s" % exc)
            for warning in warnings:
                self._display.warning(warning)
            module_args["gallery_index"] = upgrade_index(loaded)
        result.update(self._execute_module(module_name=self._task.action, module_args=module_args,
                                           task_vars=task_vars))
        return result
