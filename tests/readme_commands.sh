#!/usr/bin/env bash
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Run the README's "Use it on your hosts" commands as written, in order, against an unedited copy of the example
# inventory, with the collection found on ANSIBLE_COLLECTIONS_PATH (tests/galaxy.sh: the installed artifact).
#   tests/readme_commands.sh WORK
# The example provisions localhost from LocalAI's default gallery (index.localai.io) and registry
# (quay.io). This machine has no internet: tests/helpers/internet_standin.py answers for those hosts, as a site
# proxy would (https_proxy, its CA in SSL_CERT_FILE), with LocalAI's real gallery file and a loopback registry
# holding images under the real repository and tag names. LOCALAI_BACKENDS_PATH is where LocalAI would look.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
WORK=$1
COLLECTION=${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/localai/gallery
rm -rf "$WORK" && mkdir -p "$WORK"
export PATH=$BIN:$PATH LOCALAI_GALLERY_CACHE_DIR=$WORK/gallery-cache ANSIBLE_FORCE_COLOR=0
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
export LOCALAI_BACKENDS_PATH=$WORK/backends

# shellcheck source=tests/helpers/fixture_env.sh
. "$ROOT/tests/helpers/fixture_env.sh"
start_fixture_env "$WORK"
"$BIN/python" "$ROOT/tests/helpers/internet_standin.py" "$WORK/internet" "$FIXTURE_GALLERY" "$FIXTURE_REGISTRY" \
  >"$WORK/internet.log" 2>&1 &
standin=$!
trap 'kill $standin 2>/dev/null || true; stop_fixture_env "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/internet/port" ] && break; sleep 0.1; done
[ -s "$WORK/internet/port" ] || { cat "$WORK/internet.log"; echo "readme: the stand-in internet did not start"; exit 1; }
proxy_port=$(cat "$WORK/internet/port")
export https_proxy=http://127.0.0.1:$proxy_port SSL_CERT_FILE=$WORK/internet/ca.pem
export HTTPS_PROXY=$https_proxy
ln -s "$COLLECTION/playbooks" "$WORK/playbooks"  # the README's paths are relative to a clone, or to the collection

# The commands: the sh block after the README-COMMANDS marker, continuation lines joined, comments dropped.
awk '/<!-- README-COMMANDS/ {found=1; next} found && /^```sh/ {inside=1; next} inside && /^```/ {exit} inside' \
  "$ROOT/README.md" | sed -e 's/[[:space:]]#.*$//' -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' \
  | sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' >"$WORK/commands.sh"
[ "$(wc -l <"$WORK/commands.sh")" -ge 5 ] || { echo "readme: no command block found"; exit 1; }

cd "$WORK"
number=0
while IFS= read -r command; do
  number=$((number + 1))
  echo "readme: \$ $command"
  bash -c "$command" >"$WORK/command-$number.log" 2>&1 || { cat "$WORK/command-$number.log"; exit 1; }
done <"$WORK/commands.sh"

# What the commands did: installed from the official gallery and registry (through the stand-in), whisper
# removed; provisioning puts whisper back (group_vars lists it) and a run after that changes nothing.
if ! cmp -s "$COLLECTION/playbooks/inventory/example/hosts.yml" "$WORK/inventory/hosts.yml" \
    || ! cmp -s "$COLLECTION/playbooks/inventory/example/group_vars/localai.yml" "$WORK/inventory/group_vars/localai.yml"; then
  echo "readme: the example inventory was edited"; exit 1
fi
[ -f "$LOCALAI_BACKENDS_PATH/cpu-llama-cpp/run.sh" ] || { echo "readme: no cpu-llama-cpp in $LOCALAI_BACKENDS_PATH"; exit 1; }
[ -f "$LOCALAI_BACKENDS_PATH/piper/metadata.json" ] || { echo "readme: the meta backend piper was not installed"; exit 1; }
[ ! -e "$LOCALAI_BACKENDS_PATH/cpu-whisper" ] || { echo "readme: whisper was not removed"; exit 1; }
# metadata.json names the gallery as LocalAI names its default one (DefaultBackendGalleriesJSON)
"$BIN/python" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["gallery_url"] != "https://index.localai.io/backends")' \
  "$LOCALAI_BACKENDS_PATH/cpu-llama-cpp/metadata.json" || { echo "readme: gallery_url is not LocalAI's default"; exit 1; }
if ! grep -q "^index.localai.io GET /backends 200" "$WORK/internet/requests.log" \
    || ! grep -q "^quay.io GET /v2/.*/blobs/sha256:" "$WORK/internet/requests.log"; then
  cat "$WORK/internet/requests.log"; echo "readme: the default gallery and registry were not used"; exit 1
fi
report=$WORK/localai-report/report.md
grep -q "^1 host\.$" "$report" || { cat "$report"; echo "readme: the report does not list 1 host"; exit 1; }
if grep -q "Not checked" "$report"; then cat "$report"; echo "readme: the report did not check upgrades"; exit 1; fi
grep -q "None: every backend checked is what its gallery offers" "$report" \
  || { cat "$report"; echo "readme: the report's upgrade check did not conclude"; exit 1; }
ansible-playbook -i inventory localai.gallery.provision >"$WORK/provision-again.log" 2>&1
[ -f "$LOCALAI_BACKENDS_PATH/cpu-whisper/run.sh" ] || { echo "readme: whisper was not put back"; exit 1; }
ansible-playbook -i inventory localai.gallery.provision >"$WORK/provision-idempotent.log" 2>&1
grep -Eq "localhost +: ok=[0-9]+ +changed=0 " "$WORK/provision-idempotent.log" \
  || { cat "$WORK/provision-idempotent.log"; echo "readme: a repeated provisioning run changed localhost"; exit 1; }
if grep -q "without signature verification" "$WORK/provision-idempotent.log"; then
  cat "$WORK/provision-idempotent.log"; echo "readme: a run that installed nothing warned about signatures"; exit 1
fi

# An inventory without a localai group: provisioning says so instead of doing nothing.
printf 'all:\n  hosts:\n    elsewhere:\n' >"$WORK/no-group.yml"
if ansible-playbook -i "$WORK/no-group.yml" localai.gallery.provision >"$WORK/no-group.log" 2>&1; then
  echo "readme: provisioning an inventory without a localai group succeeded silently"; exit 1
fi
grep -q "no host in the inventory matches 'localai'" "$WORK/no-group.log" \
  || { cat "$WORK/no-group.log"; echo "readme: no clear message for an inventory without localai hosts"; exit 1; }
# And the report of an empty fleet is a valid report.
ansible-playbook -i "$WORK/no-group.yml" localai.gallery.report -e report_dir="$WORK/empty-report" >"$WORK/empty.log" 2>&1 \
  || { cat "$WORK/empty.log"; echo "readme: the report of an empty fleet failed"; exit 1; }
grep -q "0 hosts" "$WORK/empty-report/report.md"
echo "readme: $number commands ran as written"
