# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTML report shows facts that hosts report (names, metadata.json values a LocalAI user can write): every value
is escaped, whatever a host puts in it."""

from __future__ import annotations

import os

import jinja2
from ansible.plugins.filter.core import FilterModule

TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "playbooks", "templates")
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2) x="'


def render(hostvars: dict, fleet_backends: dict, fleet_upgrades: list) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), extensions=["jinja2.ext.do"])
    environment.filters.update(FilterModule().filters())
    return environment.get_template("report.html.j2").render(
        fleet_hosts=list(hostvars), hostvars=hostvars, fleet_backends=fleet_backends, fleet_upgrades=fleet_upgrades)


def test_every_value_a_host_reports_is_escaped():
    row = {"kind": HOSTILE, "directory": HOSTILE, "verified": True, "upgrade_available": True,
           "available_version": HOSTILE, "signer": {"identity": HOSTILE, "issuer": HOSTILE, "signed_at": HOSTILE},
           "metadata": {"version": HOSTILE, "digest": HOSTILE}}
    meta_row = dict(row, kind="meta")
    hostvars = {HOSTILE: {"localai_gpu_vendor": HOSTILE, "localai_gpu_vram_bytes": 8 << 30,
                          "localai_capability": HOSTILE, "localai_capability_source": HOSTILE,
                          "localai_backends": {HOSTILE: row, "m" + HOSTILE: meta_row}}}
    page = render(hostvars, {HOSTILE: {"drift": True, "digests": {HOSTILE: [HOSTILE]}}},
                  [{"host": HOSTILE, "backend": HOSTILE, "from": HOSTILE, "to": HOSTILE}])
    assert "<script>" not in page and "<img" not in page and 'x=""' not in page
    assert page.count("&lt;script&gt;") >= 10


def test_vram_reads_n_a_without_a_gpu_and_unknown_for_a_gpu_that_does_not_say():
    hostvars = {"cpu-host": {"localai_gpu_vendor": None, "localai_gpu_vram_bytes": None, "localai_backends": {}},
                "gpu-host": {"localai_gpu_vendor": "nvidia", "localai_gpu_vram_bytes": None, "localai_backends": {}}}
    page = render(hostvars, {}, [])
    cpu_row = page[page.index("<td>cpu-host</td>"):].split("</tr>")[0]
    gpu_row = page[page.index("<td>gpu-host</td>"):].split("</tr>")[0]
    assert "n/a" in cpu_row and "unknown" in gpu_row
