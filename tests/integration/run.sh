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

# shellcheck source=tests/helpers/fixture_env.sh
. "$ROOT/tests/helpers/fixture_env.sh"
start_fixture_env "$WORK"
trap 'stop_fixture_env "$WORK"' EXIT

(cd "$ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$COPY"
cat >"$COPY/tests/integration/integration_config.yml" <<YAML
---
localai_test_registry: "$FIXTURE_REGISTRY"
localai_test_gallery: "$FIXTURE_GALLERY"
localai_test_work: "$WORK"
localai_test_helpers: "$ROOT/tests/helpers"
localai_test_python: "$BIN/python"
YAML
cd "$COPY" && git init -q && git add -A
"$BIN/ansible-test" integration --local --python 3.11 --color no "$@"
