# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every command in benchmarks/README.md runs as written after `make deps`: no PYTHONPATH to set. Each script is
started with --help and without PYTHONPATH (the benchmarks themselves take minutes: `make bench`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
with open(os.path.join(ROOT, "benchmarks", "README.md"), encoding="utf-8") as readme:
    COMMANDS = sorted(set(re.findall(r"^    \.venv/bin/python (benchmarks/\w+\.py)", readme.read(), re.MULTILINE)))


def test_the_readme_names_every_benchmark():
    scripts = {"benchmarks/" + name for name in os.listdir(os.path.join(ROOT, "benchmarks"))
               if name.endswith(".py") and name not in ("shapes.py", "results_file.py")}
    assert set(COMMANDS) == scripts


@pytest.mark.parametrize("script", COMMANDS)
def test_a_benchmark_starts_as_the_readme_writes_it(script):
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    run = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, env=environment, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert "usage:" in run.stdout
