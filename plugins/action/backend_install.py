# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Look the backend up in the galleries on the controller, then run the module with the entry as data."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.gallery import (
    find_entry,
    is_meta,
    meta_candidates,
    slim_entry,
)
from ansible_collections.localai.gallery.plugins.plugin_utils.catalogue import load_galleries, validate_certs_option


class ActionModule(ActionBase):
    """Resolves `name` against the galleries (read once per run on the controller) and runs the module on the target."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        module_args = dict(self._task.args)
        galleries = module_args.pop("galleries", None)
        if not module_args.get("uri") and module_args.get("name"):
            try:
                loaded, warnings = load_galleries(galleries, self._loader.path_dwim, validate_certs_option(module_args))
                gallery, entry = find_entry(loaded, module_args["name"])
            except BackendError as exc:
                raise AnsibleActionFail("cannot install %s: %s" % (module_args["name"], exc))
            for warning in warnings:
                self._display.warning(warning)
            module_args["gallery_entry"] = slim_entry(entry, gallery)
            if is_meta(entry):
                module_args["gallery_candidates"] = meta_candidates(loaded, gallery, entry)
        result.update(self._execute_module(module_name=self._task.action, module_args=module_args,
                                           task_vars=task_vars))
        return result
