# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the action plugins share: read `galleries` on the controller, then run the module of the same name."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.plugin_utils.catalogue import load_galleries, validate_certs_option
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import redact_url

NO_LOG_OPTIONS = ("registry_password", "registry_auths")


def censored_args(args: dict) -> dict:
    """Task arguments as a result may show them: secrets replaced, credentials cut out of gallery URLs."""
    censored = {}
    for key, value in args.items():
        if key in NO_LOG_OPTIONS and value:
            value = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        elif key == "galleries" and isinstance(value, list):
            value = [dict(item, url=redact_url(str(item.get("url") or "")),
                          mirrors=[redact_url(str(mirror)) for mirror in item.get("mirrors") or []])
                     if isinstance(item, dict) else item for item in value]
        censored[key] = value
    return censored


class GalleryActionBase(ActionBase):
    """Turns the `galleries` option into data for the module (a hook per plugin), then executes the module.

    Module arguments never carry `galleries`: the targets get only what they need, as prepared by
    `module_args_from_galleries`. A failure on the controller still reports the task's arguments
    (`invocation`), with secrets censored, like a module failure would.
    """

    TRANSFERS_FILES = False
    # Warnings found on the controller (an unverified image, an offline trust root), shown with the result.
    controller_warnings: list[str] = []
    task_vars: dict = {}
    # Long pulls (CUDA backends are several GB) run with async/poll or -B/-P, as with ansible.builtin modules.
    _supports_async = True
    failure_prefix = "cannot run"

    def module_args_from_galleries(self, module_args: dict, galleries) -> dict:
        """Module arguments for the target; raise BackendError for a clear one-line failure."""
        raise NotImplementedError

    def load_galleries(self, galleries, module_args: dict) -> list[dict]:
        loaded, warnings = load_galleries(galleries, self._loader.path_dwim, validate_certs_option(module_args))
        for warning in warnings:
            self._display.warning(warning)
        return loaded

    def _ensure_invocation(self, result: dict) -> dict:
        """The task's arguments in a result the module did not produce, censored as the module would."""
        if "invocation" not in result:
            if self._task.no_log:
                result["invocation"] = {"module_args": "CENSORED: no_log is set"}
            else:
                result["invocation"] = {"module_args": censored_args(self._task.args)}
        return result

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        self.task_vars = task_vars or {}
        module_args = dict(self._task.args)
        galleries = module_args.pop("galleries", None)
        try:
            module_args = self.module_args_from_galleries(module_args, galleries)
        except (BackendError, AnsibleActionFail) as exc:
            name = module_args.get("name")
            message = str(exc.message if isinstance(exc, AnsibleActionFail) else exc)
            result.update(failed=True, msg="%s%s: %s" % (self.failure_prefix, " %s" % name if name else "", message))
            return self._ensure_invocation(result)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(module_name=self._task.action, module_args=module_args,
                                           task_vars=task_vars, wrap_async=wrap_async))
        if self.controller_warnings:
            result["warnings"] = list(self.controller_warnings) + list(result.get("warnings") or [])
        if not wrap_async:
            # async jobs remove their own temporary files when they end
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
