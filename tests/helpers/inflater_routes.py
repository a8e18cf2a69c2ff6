# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inflaters forced onto one route, for tests that run every route this machine has (make test installs them
all: pigz, isal's igzip, the zlib-ng and isal wheels; a route this machine lacks is skipped, with its name)."""

from __future__ import annotations

import shutil

import pytest

from ansible_collections.localai.gallery.plugins.module_utils import inflaters
from ansible_collections.localai.gallery.plugins.module_utils.inflaters import Inflaters

GZIP_ROUTES = ["zlib", "zlib-ng", "isal", "igzip", "pigz"]
ZSTD_ROUTES = ["zstandard", "zstd"]
MODULES = {"zlib-ng": "zlib_ng", "isal": "isal_zlib", "zstandard": "zstandard"}
TOOLS = {"igzip", "pigz", "zstd"}


def forced(monkeypatch, route: str) -> Inflaters:
    """Inflaters whose only choice (past the stdlib) is `route`."""
    if route == "isal" and inflaters.isal_zlib is None:  # imported by inflaters.py only without zlib-ng
        try:
            from isal import isal_zlib
            monkeypatch.setattr(inflaters, "isal_zlib", isal_zlib)
        except ImportError:
            pass
    if route in MODULES and getattr(inflaters, MODULES[route]) is None:
        pytest.skip("the %s Python module is not installed here" % route)
    if route in TOOLS and shutil.which(route) is None:
        pytest.skip("%s is not on the PATH here" % route)
    for name, attribute in MODULES.items():
        if name != route and not (name == "zstandard" and route in GZIP_ROUTES):
            monkeypatch.setattr(inflaters, attribute, None)
    if route == "zlib":
        return Inflaters("stdlib", environ={})
    return Inflaters("auto", environ={}, find_tool=lambda tool: shutil.which(tool) if tool == route else None)
