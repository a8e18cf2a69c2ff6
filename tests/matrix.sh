#!/usr/bin/env bash
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The versions we claim are the versions we test (meta/runtime.yml requires_ansible, README "Versions"):
# every ansible-test integration target on each controller (ansible-core on the Python it needs), and on each
# target interpreter pyenv has, then ansible-test sanity on the newest ansible-core.
#   tests/matrix.sh            all rows;   MATRIX_ROWS="2.17 targets" tests/matrix.sh   some of them
# `make test` covers ansible-core 2.19 on Python 3.11 (controller and target). Figures: build/matrix/results.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$ROOT/build/matrix
PYENV_VERSIONS=${PYENV_ROOT:-$(pyenv root)}/versions
mkdir -p "$WORK"
: >"$WORK/results.txt"

python_of() {  # the pyenv interpreter for a major.minor version
  local found
  found=$(find "$PYENV_VERSIONS" -maxdepth 1 -name "$1.*" 2>/dev/null | sort -V | tail -1)
  [ -n "$found" ] || { echo "matrix: no Python $1 under $PYENV_VERSIONS" >&2; exit 1; }
  echo "$found/bin/python$1"
}

controller_venv() {  # ansible-core CORE on Python PY, in its own venv, with the controller requirements
  local core=$1 py=$2 venv=$WORK/venv-$1-py$2
  if [ ! -x "$venv/bin/ansible-test" ] || [[ $("$venv/bin/ansible" --version) != *"core $core."* ]] \
      || ! cmp -s "$ROOT/requirements.txt" "$venv/.requirements.txt"; then
    rm -rf "$venv"
    "$(python_of "$py")" -m venv "$venv"
    # requirements.txt: PyYAML for the galleries, sigstore for signatures (the action plugins)
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "ansible-core==$core.*" -r "$ROOT/requirements.txt"
    cp "$ROOT/requirements.txt" "$venv/.requirements.txt"
  fi
  echo "$venv"
}

run_row() {  # label, ansible-core, controller Python, target interpreter (empty: the controller's)
  local label=$1 core=$2 py=$3 target=$4 venv started
  venv=$(controller_venv "$core" "$py")
  started=$(date +%s)
  echo "matrix: $label: ansible-core $("$venv/bin/ansible" --version | head -1 | grep -o 'core [0-9.]*'), controller Python $py, target ${target:-Python $py}"
  if PATH="$venv/bin:$(dirname "$(python_of "$py")"):$PATH" LOCALAI_TEST_ANSIBLE_TEST="$venv/bin/ansible-test" \
      LOCALAI_TEST_PYTHON_VERSION=$py LOCALAI_TEST_TARGET_PYTHON=$target LOCALAI_TEST_WORK="$WORK/integration" \
      "$ROOT/tests/integration/run.sh" >"$WORK/$label.log" 2>&1; then
    echo "$label ok $(( $(date +%s) - started ))s" | tee -a "$WORK/results.txt"
  else
    tail -40 "$WORK/$label.log"; echo "$label FAILED (log: $WORK/$label.log)" | tee -a "$WORK/results.txt"; return 1
  fi
}

rows=${MATRIX_ROWS:-2.17 2.18 targets 2.20 2.21 sanity}
failed=0
for row in $rows; do
  case $row in
    2.17) run_row core-2.17-py3.11 2.17 3.11 "" || failed=1 ;;
    2.18) run_row core-2.18-py3.11 2.18 3.11 "" || failed=1 ;;
    2.20) run_row core-2.20-py3.12 2.20 3.12 "" || failed=1 ;;
    2.21) run_row core-2.21-py3.13 2.21 3.13 "" || failed=1 ;;
    targets)
      for target in 3.9 3.10 3.12 3.13; do
        run_row "core-2.19-py3.11-target-py$target" 2.19 3.11 "$(python_of "$target")" || failed=1
      done ;;
    sanity)
      venv=$(controller_venv 2.21 3.13)
      SANITY=$WORK/sanity/ansible_collections/localai/gallery
      rm -rf "$SANITY" && mkdir -p "$SANITY"
      (cd "$ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$SANITY"
      (cd "$SANITY" && git init -q && git add -A)
      if (cd "$SANITY" && PATH="$venv/bin:$(dirname "$(python_of 3.13)"):$PATH" \
            "$venv/bin/ansible-test" sanity --color no --python 3.13 --requirements >"$WORK/sanity.log" 2>&1) \
          && ! grep -E 'Skipping sanity test|Required program .* not found' "$WORK/sanity.log"; then
        echo "sanity-core-2.21-py3.13 ok" | tee -a "$WORK/results.txt"
      else
        tail -40 "$WORK/sanity.log"; echo "sanity-core-2.21-py3.13 FAILED" | tee -a "$WORK/results.txt"; failed=1
      fi ;;
    *) echo "matrix: unknown row $row"; exit 2 ;;
  esac
done
echo "matrix: results"; cat "$WORK/results.txt"
exit $failed
