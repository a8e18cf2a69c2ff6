#!/usr/bin/env bash
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The collection as Galaxy users get it: build the artifact, check what it holds, install it into a collections
# path of its own, then use only that copy: ansible-doc of every module, an ansible-test integration target, and
# the README's commands as written (tests/readme_commands.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
GALAXY_BIN=${GALAXY_VENV:-$ROOT/build/galaxy-venv}/bin  # scripts/bootstrap.sh: galaxy-importer, antsibull
WORK=$ROOT/build/galaxy
rm -rf "$WORK" && mkdir -p "$WORK/dist" "$WORK/collections"

cd "$ROOT"
"$BIN/ansible-galaxy" collection build --output-path "$WORK/dist" --force >/dev/null
artifact=$(ls "$WORK"/dist/localai-gallery-*.tar.gz)
tar -tzf "$artifact" >"$WORK/contents.txt"
for unwanted in '^\.venv/' '^build/' '^\.ci/' '^benchmarks/results/' '^tests/output/' '^\.git/' '__pycache__' \
                '^localai-report/' '^tests/integration/integration_config\.yml$'; do
  if grep -E "$unwanted" "$WORK/contents.txt" | head -3 | grep -q .; then
    echo "galaxy: the artifact holds what users must not get ($unwanted)"; exit 1
  fi
done
for wanted in plugins/modules/backend_install.py roles/backends/tasks/main.yml playbooks/provision.yml \
              LICENSES/GPL-3.0-or-later.txt docs/behaviour.md meta/runtime.yml meta/execution-environment.yml; do
  grep -qx "$wanted" "$WORK/contents.txt" || { echo "galaxy: the artifact lacks $wanted"; exit 1; }
done
for unshipped in '^benchmarks/' '^scripts/' '^Makefile$' '^\.ansible-lint$' '^requirements-(test|galaxy)\.txt$'; do
  if grep -E "$unshipped" "$WORK/contents.txt" | head -1 | grep -q .; then
    echo "galaxy: the artifact holds what only a clone needs ($unshipped)"; exit 1
  fi
done
echo "galaxy: $(basename "$artifact"): $(wc -l <"$WORK/contents.txt") entries, $(du -k "$artifact" | cut -f1) KiB"

# Galaxy's own checks: its importer on the artifact (ansible-lint and flake8 on, the required tags checked),
# antsibull-docs on every plugin's documentation, antsibull-changelog on the changelog. Any warning fails.
cat >"$WORK/importer.cfg" <<'CFG'
[galaxy-importer]
run_ansible_lint = True
run_flake8 = True
run_ansible_test = False
check_required_tags = True
CFG
if ! (cd "$WORK" && GALAXY_IMPORTER_CONFIG=$WORK/importer.cfg PATH=$GALAXY_BIN:$PATH \
      "$GALAXY_BIN/python" -m galaxy_importer.main "$artifact") >"$WORK/importer.log" 2>&1 \
    || grep -E "WARNING|ERROR" "$WORK/importer.log" \
    || ! grep -q "Importer processing completed successfully" "$WORK/importer.log"; then
  cat "$WORK/importer.log"; echo "galaxy: galaxy-importer refused the artifact, or warned"; exit 1
fi
PATH=$GALAXY_BIN:$PATH ANSIBLE_COLLECTIONS_PATH=$ROOT/build/collections "$GALAXY_BIN/antsibull-docs" lint-collection-docs \
  --plugin-docs "$ROOT"
(cd "$ROOT" && "$GALAXY_BIN/antsibull-changelog" lint)
echo "galaxy: galaxy-importer, antsibull-docs and antsibull-changelog found nothing to say"

export ANSIBLE_COLLECTIONS_PATH=$WORK/collections
"$BIN/ansible-galaxy" collection install "$artifact" -p "$WORK/collections" --force >/dev/null
INSTALLED=$WORK/collections/ansible_collections/localai/gallery
"$BIN/ansible-galaxy" collection list localai.gallery | grep -q "localai.gallery"
for module in backend_install backend_remove backend_facts; do
  "$BIN/ansible-doc" "localai.gallery.$module" | grep -q "OPTIONS" || { echo "galaxy: ansible-doc $module"; exit 1; }
done

# Execution environments: the build context, and what ansible-builder reads from the installed collection.
"$BIN/ansible-builder" create -f "$ROOT/execution-environment.yml" -c "$WORK/ee-context" \
  --output-filename Containerfile >/dev/null
if ! grep -q "ansible-galaxy collection install" "$WORK/ee-context/Containerfile" \
    || ! grep -q "localai.gallery" "$WORK/ee-context/_build/requirements.yml"; then
  echo "galaxy: the execution environment context is incomplete"; exit 1
fi
# -v 3 shows each requirement read from meta/execution-environment.yml: PyYAML (in every EE, so excluded) and
# sigstore (added to the EE).
"$BIN/ansible-builder" introspect -v 3 "$WORK/collections" >"$WORK/introspect.txt" 2>&1
if ! grep -q "requirement 'pyyaml' from 'localai.gallery'" "$WORK/introspect.txt" \
    || ! grep -q "sigstore>=4.1,<5  # from collection localai.gallery" "$WORK/introspect.txt"; then
  cat "$WORK/introspect.txt"; echo "galaxy: ansible-builder did not read the collection's requirements"; exit 1
fi

LOCALAI_TEST_COLLECTION=$INSTALLED LOCALAI_TEST_WORK=$WORK/integration "$ROOT/tests/integration/run.sh" backend_install
"$ROOT/tests/readme_commands.sh" "$WORK/readme"
echo "galaxy: the installed collection passed"
