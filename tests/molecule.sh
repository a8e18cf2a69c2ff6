#!/usr/bin/env bash
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Molecule scenarios (default driver): start a registry with LocalAI-named images, then run each scenario.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
WORK=$ROOT/build/molecule
export PATH=$BIN:$PATH ANSIBLE_COLLECTIONS_PATH=$ROOT/build/collections
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
# shellcheck source=tests/helpers/fixture_env.sh
. "$ROOT/tests/helpers/fixture_env.sh"
stop_fixture_env "$WORK" 2>/dev/null || true
rm -rf "$WORK" && mkdir -p "$WORK"
start_fixture_env "$WORK"
# ssh keeps a multiplexing master per host after a run (ControlPersist): ours live in one directory, and are
# told to exit when the scenarios end, so no ssh process outlives `make test`.
export ANSIBLE_SSH_CONTROL_PATH_DIR=$WORK/cp
stop_ssh_masters() {
  local socket
  for socket in "$ANSIBLE_SSH_CONTROL_PATH_DIR"/*; do
    if [ -S "$socket" ]; then
      ssh -o ControlPath="$socket" -O exit placeholder >/dev/null 2>&1 || true
    fi
  done
}
stop_servers() {
  stop_ssh_masters
  stop_fixture_env "$WORK"
  if [ -f "$WORK/ssh/sshd.pid" ]; then
    kill "$(cat "$WORK/ssh/sshd.pid")" 2>/dev/null || true
  fi
  # registry_cache: the caches the role started, and the private upstream (if verify did not get to stop them)
  local pid_file
  for pid_file in "$WORK"/registry-cache/run/*.pid "$WORK"/registry-cache/upstream/registry.pid; do
    if [ -f "$pid_file" ]; then
      kill "$(cat "$pid_file")" 2>/dev/null || true
    fi
  done
}
trap stop_servers EXIT
export LOCALAI_TEST_REGISTRY=$FIXTURE_REGISTRY LOCALAI_TEST_GALLERY=$FIXTURE_GALLERY
export LOCALAI_TEST_WORK=$WORK LOCALAI_TEST_PYTHON=$BIN/python LOCALAI_TEST_HELPERS=$ROOT/tests/helpers
cd "$ROOT"
for scenario in "${@:-localhost multihost registry_cache}"; do
  for name in $scenario; do
    molecule reset -s "$name" >/dev/null  # its remembered state ("already prepared") would skip sshd
    molecule test -s "$name"
  done
done
stop_ssh_masters
if pgrep -f "$ANSIBLE_SSH_CONTROL_PATH_DIR" >/dev/null; then
  echo "molecule: ssh processes still running:"; pgrep -af "$ANSIBLE_SSH_CONTROL_PATH_DIR"; exit 1
fi
