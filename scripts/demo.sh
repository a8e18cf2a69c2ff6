#!/usr/bin/env bash
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

"$BIN/python" "$ROOT/tests/helpers/registry_server.py" stop "$WORK/registry" 2>/dev/null || true
rm -rf "$WORK" && mkdir -p "$WORK"
PORT=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "demo: starting a registry on 127.0.0.1:$PORT and pushing LocalAI-named images"
"$BIN/python" "$ROOT/tests/helpers/registry_server.py" start "$WORK/registry" "$PORT" >/dev/null
trap '"$BIN/python" "$ROOT/tests/helpers/registry_server.py" stop "$WORK/registry"' EXIT
"$BIN/python" "$ROOT/tests/helpers/fixture_images.py" seed "http://127.0.0.1:$PORT" >/dev/null
gzip -dc "$ROOT/tests/unit/fixtures/localai-backend-index.yaml.gz" >"$WORK/localai-backend-index.yaml"

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
        url: $WORK/localai-backend-index.yaml
    backends_registry_mirrors:
      quay.io: 127.0.0.1:$PORT
      docker.io: 127.0.0.1:$PORT
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
