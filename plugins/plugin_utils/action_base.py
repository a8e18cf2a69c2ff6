# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the action plugins share: read `galleries` on the controller, then run the module of the same name."""

from __future__ import annotations

from abc import abstractmethod

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.localai.gallery.plugins.module_utils.backends_module import FRAGMENT_SPECS
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.results import censored_args, failure_result
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import load_galleries, validate_certs_option


class CollectionActionBase(ActionBase):
    """What every action plugin of the collection shares: a failure on the controller becomes the result a module
    failure would (results.failure_result: one line, the traceback, every source tried), with the task's
    arguments censored by the same rule (`argument_spec`'s no_log options, credentials in gallery URLs)."""

    argument_spec: dict = {}
    failure_prefix = "cannot run"

    def censored(self, args: dict):
        """The task's arguments as a result may show them."""
        return "CENSORED: no_log is set" if self._task.no_log else censored_args(args, self.argument_spec)

    def failed(self, result: dict, exc: Exception, name: str | None = None) -> dict:
        if isinstance(exc, AnsibleActionFail):
            exc = BackendError(exc.message)
        failure = "%s%s" % (self.failure_prefix, " %s" % name if name else "")
        result.update(failure_result(exc, failure), failed=True)
        result.setdefault("invocation", {"module_args": self.censored(self._task.args)})
        return result


class GalleryActionBase(CollectionActionBase):
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
    argument_spec = dict(FRAGMENT_SPECS["registry"], galleries={"type": "list", "elements": "dict"})

    @abstractmethod
    def module_args_from_galleries(self, module_args: dict, galleries) -> dict:
        """Module arguments for the target; raise BackendError for a clear one-line failure."""

    def shown_warnings(self, warnings: list[str]) -> list[str]:
        """The warnings of a result that the user should see (a plugin may drop repeats)."""
        return warnings

    def module_done(self, result: dict) -> None:
        """What the plugin records of the module's result (before its warnings are filtered)."""

    def load_galleries(self, galleries, module_args: dict) -> list[dict]:
        loaded, warnings = load_galleries(galleries, self._loader.path_dwim, validate_certs_option(module_args))
        for warning in warnings:
            self._display.warning(warning)
        return loaded

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        self.task_vars = task_vars or {}
        module_args = dict(self._task.args)
        galleries = module_args.pop("galleries", None)
        try:
            module_args = self.module_args_from_galleries(module_args, galleries)
        except (BackendError, AnsibleActionFail) as exc:
            return self.failed(result, exc, module_args.get("name"))
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(module_name=self._task.action, module_args=module_args,
                                           task_vars=task_vars, wrap_async=wrap_async))
        self.module_done(result)
        if self.controller_warnings:
            result["warnings"] = list(self.controller_warnings) + list(result.get("warnings") or [])
        if result.get("warnings"):
            result["warnings"] = self.shown_warnings(result["warnings"])
        if not wrap_async:
            # async jobs remove their own temporary files when they end
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
