# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every documentation string is valid YAML: a stray `: ` in a description otherwise shows up only minutes
later, when ansible-test sanity runs ansible-doc (it did once: `C(--speed-time): a transfer ...`)."""

from __future__ import annotations

import importlib

import pytest
import yaml

PLUGINS = [
    ("modules", "backend_install"), ("modules", "backend_remove"), ("modules", "backend_facts"),
    ("doc_fragments", "backends"), ("doc_fragments", "attributes"),
]


@pytest.mark.parametrize("kind,name", PLUGINS)
def test_documentation_strings_are_yaml_mappings(kind, name):
    module = importlib.import_module("ansible_collections.localai.gallery.plugins.%s.%s" % (kind, name))
    holders = [module] if kind == "modules" else [module.ModuleDocFragment]
    checked = 0
    for holder in holders:
        for attribute in dir(holder):
            text = getattr(holder, attribute)
            if not attribute.isupper() or not isinstance(text, str):
                continue
            document = yaml.safe_load(text)
            if attribute != "EXAMPLES":
                assert isinstance(document, dict), "%s.%s.%s is not a mapping" % (kind, name, attribute)
            checked += 1
    assert checked >= (3 if kind == "modules" else 1)
