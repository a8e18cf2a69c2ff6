#!/usr/bin/env bash
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Run the README's "Use it on your hosts" commands as written, in order, with the collection found on
# ANSIBLE_COLLECTIONS_PATH (tests/galaxy.sh: the installed artifact).
#   tests/readme_commands.sh WORK
# The example inventory is copied by the README's own command; the test then does what the README tells the
# reader to do (point the hosts at something reachable: here, local connections with a backends path each,
# and the registry mirror at a loopback registry). The default gallery (GitHub) cannot be reached here: the
# controller cache holds a last good copy of it, which is what a controller that lost its connection uses.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV:-$ROOT/.venv}/bin
WORK=$1
COLLECTION=${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/localai/gallery
rm -rf "$WORK" && mkdir -p "$WORK"
export PATH=$BIN:$PATH LOCALAI_GALLERY_CACHE_DIR=$WORK/gallery-cache ANSIBLE_FORCE_COLOR=0
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

# shellcheck source=tests/helpers/fixture_env.sh
. "$ROOT/tests/helpers/fixture_env.sh"
start_fixture_env "$WORK"
trap 'stop_fixture_env "$WORK"' EXIT
PYTHONPATH=${ANSIBLE_COLLECTIONS_PATH%%:*} "$BIN/python" "$ROOT/tests/helpers/seed_gallery_cache.py" \
  "$LOCALAI_GALLERY_CACHE_DIR" "$FIXTURE_GALLERY" >/dev/null
ln -s "$COLLECTION/playbooks" "$WORK/playbooks"  # the README's paths are relative to a clone, or to the collection

# The commands: the sh block after the README-COMMANDS marker, continuation lines joined, comments dropped.
awk '/<!-- README-COMMANDS/ {found=1; next} found && /^```sh/ {inside=1; next} inside && /^```/ {exit} inside' \
  "$ROOT/README.md" | sed -e 's/[[:space:]]#.*$//' -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' \
  | sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' >"$WORK/commands.sh"
[ "$(wc -l <"$WORK/commands.sh")" -ge 5 ] || { echo "readme: no command block found"; exit 1; }

point_hosts_here() {  # what the README asks the reader to edit, for the example's three hosts
  local host
  for host in gpu-01.lan gpu-02.lan cpu-01.lan; do
    mkdir -p "$WORK/inventory/host_vars"
    cat >"$WORK/inventory/host_vars/$host.yml" <<YAML
---
ansible_connection: local
ansible_python_interpreter: $BIN/python
backends_path: $WORK/hosts/$host/backends
backends_registry_mirrors:
  quay.io: $FIXTURE_REGISTRY
  docker.io: $FIXTURE_REGISTRY
backends_service_name: ""
YAML
  done
}

cd "$WORK"
number=0
while IFS= read -r command; do
  number=$((number + 1))
  echo "readme: \$ $command"
  bash -c "$command" >"$WORK/command-$number.log" 2>&1 || { cat "$WORK/command-$number.log"; exit 1; }
  case $command in cp\ -r\ playbooks/inventory/example\ inventory*) point_hosts_here ;; esac
done <"$WORK/commands.sh"

# What the commands did, host by host; then provisioning puts whisper back (group_vars lists it) and a run after
# that changes nothing.
for host in gpu-01.lan gpu-02.lan cpu-01.lan; do
  [ -f "$WORK/hosts/$host/backends/cpu-llama-cpp/run.sh" ] || { echo "readme: $host has no cpu-llama-cpp"; exit 1; }
  [ ! -e "$WORK/hosts/$host/backends/cpu-whisper" ] || { echo "readme: whisper was not removed from $host"; exit 1; }
done
grep -q "3 hosts" "$WORK/localai-report/report.md" || { echo "readme: the report does not list 3 hosts"; exit 1; }
ansible-playbook -i inventory localai.gallery.provision >"$WORK/provision-again.log" 2>&1
[ -f "$WORK/hosts/cpu-01.lan/backends/cpu-whisper/run.sh" ] || { echo "readme: whisper was not put back"; exit 1; }
ansible-playbook -i inventory localai.gallery.provision >"$WORK/provision-idempotent.log" 2>&1
for host in gpu-01.lan gpu-02.lan cpu-01.lan; do
  grep -Eq "$host +: ok=[0-9]+ +changed=0 " "$WORK/provision-idempotent.log" \
    || { cat "$WORK/provision-idempotent.log"; echo "readme: a repeated provisioning run changed $host"; exit 1; }
done

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
