#!/usr/bin/env bash
# ansible-test integration against a real registry: start it, seed LocalAI-named images, write the
# vars ansible-test hands to every target (integration_config.yml), run the targets, stop the registry.
#   tests/integration/run.sh [ansible-test options and TARGET...]
# The collection under test is a copy of this checkout, or LOCALAI_TEST_COLLECTION (an installed collection,
# .../ansible_collections/localai/gallery, as tests/galaxy.sh installs it from the built artifact).
# LOCALAI_TEST_PYTHON_VERSION picks the Python ansible-test runs the controller and target on (default 3.11);
# LOCALAI_TEST_ANSIBLE_TEST is the ansible-test to run (another ansible-core version, tests/matrix.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
WORK=${LOCALAI_TEST_WORK:-$ROOT/build/integration}
rm -rf "$WORK" && mkdir -p "$WORK"
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
if [ -n "${LOCALAI_TEST_COLLECTION:-}" ]; then
  COPY=$LOCALAI_TEST_COLLECTION
else
  COPY=$WORK/root/ansible_collections/localai/gallery
  mkdir -p "$COPY"
  (cd "$ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$COPY"
fi

# shellcheck source=tests/helpers/fixture_env.sh
. "$ROOT/tests/helpers/fixture_env.sh"
start_fixture_env "$WORK"
trap 'stop_fixture_env "$WORK"' EXIT

cat >"$COPY/tests/integration/integration_config.yml" <<YAML
---
localai_test_registry: "$FIXTURE_REGISTRY"
localai_test_gallery: "$FIXTURE_GALLERY"
localai_test_work: "$WORK"
localai_test_helpers: "$ROOT/tests/helpers"
localai_test_python: "$BIN/python"
# ansible-test passes HOME through but not ANSIBLE_REMOTE_TMP; the target is this machine, keep its tmp in build/.
ansible_remote_tmp: "${ANSIBLE_REMOTE_TMP:-$WORK/remote-tmp}"
YAML
if [ -n "${LOCALAI_TEST_TARGET_PYTHON:-}" ]; then  # extra vars: every task of the target runs on this interpreter
  echo "ansible_python_interpreter: \"$LOCALAI_TEST_TARGET_PYTHON\"" >>"$COPY/tests/integration/integration_config.yml"
fi
cd "$COPY"
[ -d .git ] || { git init -q && git add -A; }  # ansible-test lists a collection's files through git
"${LOCALAI_TEST_ANSIBLE_TEST:-$BIN/ansible-test}" integration --local --python "${LOCALAI_TEST_PYTHON_VERSION:-3.11}" \
  --color no "$@"
