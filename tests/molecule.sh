#!/usr/bin/env bash
# Molecule scenarios (default driver): start a registry with LocalAI-named images, then run each scenario.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
WORK=$ROOT/build/molecule
export PATH=$BIN:$PATH ANSIBLE_COLLECTIONS_PATH=$ROOT/build/collections
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
"$BIN/python" "$ROOT/tests/helpers/registry_server.py" stop "$WORK/registry" 2>/dev/null || true
rm -rf "$WORK" && mkdir -p "$WORK"
PORT=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/python" "$ROOT/tests/helpers/registry_server.py" start "$WORK/registry" "$PORT" >/dev/null
stop_servers() {
  "$BIN/python" "$ROOT/tests/helpers/registry_server.py" stop "$WORK/registry"
  [ -f "$WORK/ssh/sshd.pid" ] && kill "$(cat "$WORK/ssh/sshd.pid")" 2>/dev/null || true
}
trap stop_servers EXIT
"$BIN/python" "$ROOT/tests/helpers/fixture_images.py" seed "http://127.0.0.1:$PORT" >/dev/null
gzip -dc "$ROOT/tests/unit/fixtures/localai-backend-index.yaml.gz" >"$WORK/localai-backend-index.yaml"
export LOCALAI_TEST_REGISTRY=127.0.0.1:$PORT LOCALAI_TEST_GALLERY=$WORK/localai-backend-index.yaml
export LOCALAI_TEST_WORK=$WORK LOCALAI_TEST_PYTHON=$BIN/python LOCALAI_TEST_HELPERS=$ROOT/tests/helpers
cd "$ROOT"
for scenario in "${@:-localhost multihost}"; do
  for name in $scenario; do
    molecule reset -s "$name" >/dev/null  # its remembered state ("already prepared") would skip sshd
    molecule test -s "$name"
  done
done
