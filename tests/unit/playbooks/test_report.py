# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report (playbooks/report.yml's templates) says only what it checked: every value a host reports is
escaped in HTML, a failed upgrade check is listed as not checked with its reason, meta rows show their build."""

from __future__ import annotations

import json
import os

import pytest

import jinja2
from ansible.plugins.filter.core import FilterModule

TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "playbooks", "templates")
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2) x="'


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), extensions=["jinja2.ext.do"])
    env.filters.update(FilterModule().filters())
    return env


def render(hostvars: dict, fleet_backends: dict, fleet_upgrades: list, template: str = "report.html.j2") -> str:
    env = environment()
    unchecked = json.loads(env.get_template("fleet_unchecked.j2").render(fleet_hosts=list(hostvars),
                                                                         hostvars=hostvars))
    return env.get_template(template).render(
        fleet_hosts=list(hostvars), hostvars=hostvars, fleet_backends=fleet_backends, fleet_upgrades=fleet_upgrades,
        fleet_unchecked=unchecked)


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


def checked_rows() -> dict:
    """One host after backend_facts with galleries: whisper's check failed (its registry was unreachable)."""
    concrete = {"kind": "concrete", "directory": "cpu-piper", "digest": "sha256:" + "b" * 64, "version": "",
                "metadata": {"digest": "sha256:" + "b" * 64}, "upgrade_available": False}
    meta = {"kind": "meta", "directory": "cpu-piper", "digest": "sha256:" + "b" * 64, "version": "",
            "metadata": {"name": "piper", "meta_backend_for": "cpu-piper"}, "upgrade_available": False}
    failed = {"kind": "concrete", "directory": "cpu-whisper", "digest": "sha256:" + "c" * 64, "version": "",
              "metadata": {"digest": "sha256:" + "c" * 64}, "upgrade_available": False,
              "upgrade_check_error": "registry quay.io is unreachable"}
    return {"cpu-01": {"localai_backends": {"cpu-piper": concrete, "piper": meta, "cpu-whisper": failed}}}


@pytest.mark.parametrize("template", ["report.md.j2", "report.html.j2"])
def test_a_failed_upgrade_check_is_listed_as_not_checked_never_as_current(template):
    page = render(checked_rows(), {}, [], template)
    assert "Not checked" in page and "registry quay.io is unreachable" in page
    assert "1 could not be checked" in page
    assert "None: every backend checked" not in page


@pytest.mark.parametrize("template", ["report.md.j2", "report.html.j2"])
def test_without_galleries_the_report_says_upgrades_were_not_checked(template):
    rows = checked_rows()
    for row in rows["cpu-01"]["localai_backends"].values():
        row.pop("upgrade_available")
        row.pop("upgrade_check_error", None)
    page = render(rows, {}, [], template)
    assert "Not checked: set" in page and "backends_galleries" in page and "None:" not in page


def test_a_meta_row_shows_the_digest_of_its_build():
    page = render(checked_rows(), {}, [], "report.md.j2")
    meta_line = next(line for line in page.splitlines() if "| piper |" in line)
    assert "meta -> cpu-piper" in meta_line and "sha256:" + "b" * 64 in meta_line
