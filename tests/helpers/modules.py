# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process with given arguments and capture exit_json / fail_json."""

from __future__ import annotations

import json
from contextlib import contextmanager
from unittest import mock

from ansible.module_utils import basic

try:  # ansible-core 2.19+
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.17 and 2.18
    from ansible.module_utils.common.text.converters import to_bytes

    @contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))):
            yield


class ModuleExit(Exception):
    """exit_json or fail_json was called; `result` holds what the module returned."""

    def __init__(self, result: dict, failed: bool) -> None:
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


def run_module(module, args: dict, check_mode: bool = False, diff: bool = False) -> dict:
    """The result dict of module.main(); `failed` is True when the module called fail_json, and `warnings` holds
    what it warned (as the task result would show them)."""
    warnings: list[str] = []

    def exit_json(_self, **kwargs):
        raise ModuleExit(dict(kwargs, warnings=list(warnings)), False)

    def fail_json(_self, msg, **kwargs):
        raise ModuleExit(dict(kwargs, msg=msg, warnings=list(warnings)), True)

    arguments = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_remote_tmp="/tmp",
                     _ansible_keep_remote_files=False)
    with patch_module_args(arguments), mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(basic.AnsibleModule, "warn", lambda _self, warning: warnings.append(warning)):
        try:
            module.main()
        except ModuleExit as exited:
            return dict(exited.result, failed=exited.failed)
    raise AssertionError("the module returned without exit_json or fail_json")
