#!/usr/bin/env bash
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
stop_servers() {
  stop_fixture_env "$WORK"
  [ -f "$WORK/ssh/sshd.pid" ] && kill "$(cat "$WORK/ssh/sshd.pid")" 2>/dev/null || true
}
trap stop_servers EXIT
export LOCALAI_TEST_REGISTRY=$FIXTURE_REGISTRY LOCALAI_TEST_GALLERY=$FIXTURE_GALLERY
export LOCALAI_TEST_WORK=$WORK LOCALAI_TEST_PYTHON=$BIN/python LOCALAI_TEST_HELPERS=$ROOT/tests/helpers
cd "$ROOT"
for scenario in "${@:-localhost multihost}"; do
  for name in $scenario; do
    molecule reset -s "$name" >/dev/null  # its remembered state ("already prepared") would skip sshd
    molecule test -s "$name"
  done
done
