# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Look the backend up in the galleries on the controller, then run the module with the entry as data."""

from __future__ import annotations

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.gallery import (
    find_entry,
    is_meta,
    meta_candidates,
    slim_entry,
)
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import DEFAULT_GALLERIES, GalleryCache


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    @staticmethod
    def _galleries(raw) -> list[dict]:
        """The galleries option; ad hoc (`-a galleries=...`) it may be a JSON/YAML list or one URL."""
        galleries = raw or DEFAULT_GALLERIES
        if isinstance(galleries, str):
            try:
                parsed = yaml.safe_load(galleries)
            except yaml.YAMLError:
                parsed = None
            galleries = parsed if isinstance(parsed, list) else [{"name": "gallery", "url": galleries.strip()}]
        if not isinstance(galleries, list) or not all(isinstance(item, dict) and item.get("url") for item in galleries):
            raise AnsibleActionFail("galleries must be a list of {name, url, mirrors} dictionaries, each with a url")
        return galleries

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        module_args = dict(self._task.args)
        if not module_args.get("uri") and module_args.get("name"):
            validate_certs = module_args.get("validate_certs", True)
            cache = GalleryCache(resolve_path=self._loader.path_dwim,
                                 validate_certs=validate_certs if isinstance(validate_certs, bool) else True)
            try:
                loaded = [dict(gallery, entries=cache.load(gallery))
                          for gallery in self._galleries(module_args.get("galleries"))]
                gallery, entry = find_entry(loaded, module_args["name"])
            except BackendError as exc:
                raise AnsibleActionFail("cannot install %s: %s" % (module_args["name"], exc))
            for warning in cache.warnings:
                self._display.warning(warning)
            module_args["gallery_entry"] = slim_entry(entry, gallery)
            if is_meta(entry):
                module_args["gallery_candidates"] = meta_candidates(loaded, gallery, entry)
        module_args.pop("galleries", None)
        result.update(self._execute_module(module_name="localai.gallery.backend_install", module_args=module_args,
                                           task_vars=task_vars))
        return result
