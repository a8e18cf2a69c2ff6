#!/usr/bin/env bash
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The demo: a local registry serving small images under LocalAI's real tag names, LocalAI's real gallery
# file, and playbooks/provision.yml run against localhost through a registry mirror; then the facts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
WORK=$ROOT/build/demo
export ANSIBLE_COLLECTIONS_PATH=$ROOT/build/collections
export LOCALAI_GALLERY_CACHE_DIR=$WORK/gallery-cache
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
export ANSIBLE_CONFIG=$ROOT/scripts/ansible.cfg

# shellcheck source=tests/helpers/fixture_env.sh
. "$ROOT/tests/helpers/fixture_env.sh"
stop_fixture_env "$WORK" 2>/dev/null || true
rm -rf "$WORK" && mkdir -p "$WORK"
echo "demo: starting a registry on loopback and pushing LocalAI-named images"
start_fixture_env "$WORK"
trap 'stop_fixture_env "$WORK"' EXIT

cat >"$WORK/inventory.yml" <<YAML
---
localai:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: $BIN/python
  vars:
    backends_path: $WORK/backends
    backends_galleries:
      - name: localai
        url: $FIXTURE_GALLERY
    backends_registry_mirrors:
      quay.io: $FIXTURE_REGISTRY
      docker.io: $FIXTURE_REGISTRY
    backends_present: [llama-cpp, whisper, piper]
YAML

echo "demo: provisioning localhost (LocalAI's gallery, 1033 entries; builds chosen for this host's GPU)"
"$BIN/ansible-playbook" -i "$WORK/inventory.yml" "$ROOT/playbooks/provision.yml"
echo "demo: second run (nothing to change)"
"$BIN/ansible-playbook" -i "$WORK/inventory.yml" "$ROOT/playbooks/provision.yml" | tail -3
echo "demo: facts and fleet report"
"$BIN/ansible-playbook" -i "$WORK/inventory.yml" "$ROOT/playbooks/report.yml" -e "report_dir=$WORK/report" | tail -6
cat "$WORK/report/report.md"
echo "demo: backends are in $WORK/backends; the HTML report is $WORK/report/report.html"
