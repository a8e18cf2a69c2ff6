# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Sourced by scripts/demo.sh, tests/integration/run.sh and tests/molecule.sh: a real registry on loopback
# holding small images under LocalAI's real repository and tag names, and LocalAI's real gallery file.
#   start_fixture_env WORK   sets FIXTURE_REGISTRY (127.0.0.1:PORT) and FIXTURE_GALLERY (a path in WORK)
#   stop_fixture_env WORK
# Needs ROOT (the repository) and BIN (the venv's bin directory).

start_fixture_env() {
  local work=$1 port
  "$BIN/python" "$ROOT/tests/helpers/registry_server.py" stop "$work/registry" 2>/dev/null || true
  port=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$BIN/python" "$ROOT/tests/helpers/registry_server.py" start "$work/registry" "$port" >/dev/null
  "$BIN/python" "$ROOT/tests/helpers/fixture_images.py" seed "http://127.0.0.1:$port" >"$work/seeded.txt"
  gzip -dc "$ROOT/tests/unit/fixtures/localai-backend-index.yaml.gz" >"$work/localai-backend-index.yaml"
  FIXTURE_REGISTRY=127.0.0.1:$port
  FIXTURE_GALLERY=$work/localai-backend-index.yaml
  export FIXTURE_REGISTRY FIXTURE_GALLERY
}

stop_fixture_env() {
  "$BIN/python" "$ROOT/tests/helpers/registry_server.py" stop "$1/registry"
}
