#!/usr/bin/env bash
# ansible-test integration against a real registry: start it, seed LocalAI-named images, write the
# vars ansible-test hands to every target (integration_config.yml), run the targets, stop the registry.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
WORK=$ROOT/build/integration
COPY=$WORK/root/ansible_collections/localai/gallery
rm -rf "$WORK" && mkdir -p "$WORK" "$COPY"
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

PORT=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/python" "$ROOT/tests/helpers/registry_server.py" start "$WORK/registry" "$PORT" >/dev/null
trap '"$BIN/python" "$ROOT/tests/helpers/registry_server.py" stop "$WORK/registry"' EXIT
"$BIN/python" "$ROOT/tests/helpers/fixture_images.py" seed "http://127.0.0.1:$PORT" >"$WORK/seeded.txt"
gzip -dc "$ROOT/tests/unit/fixtures/localai-backend-index.yaml.gz" >"$WORK/localai-backend-index.yaml"

(cd "$ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$COPY"
cat >"$COPY/tests/integration/integration_config.yml" <<YAML
---
localai_test_registry: "127.0.0.1:$PORT"
localai_test_gallery: "$WORK/localai-backend-index.yaml"
localai_test_work: "$WORK"
localai_test_helpers: "$ROOT/tests/helpers"
localai_test_python: "$BIN/python"
YAML
cd "$COPY" && git init -q && git add -A
"$BIN/ansible-test" integration --local --python 3.11 --color no "$@"
