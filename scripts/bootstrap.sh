#!/usr/bin/env bash
# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Install everything the tests and the demo use on a fresh Debian machine: apt packages, a venv,
# the collection on a collections path, and the offline pip bootstrap that ansible-test needs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

# ansible-test sanity runs shellcheck on our scripts; the HTML report is looked at in chromium; pigz, isal
# (igzip) and zstd are the inflaters the tests run every route of.
APT_PACKAGES="docker-registry apache2-utils openssl skopeo umoci openssh-server openssh-client shellcheck chromium
pigz isal zstd"
missing=""
for package in $APT_PACKAGES; do
  dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "bootstrap: apt-get install$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086  # one word per package
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x "$VENV/bin/python" ] || ! cmp -s requirements-test.txt "$VENV/.requirements-test.txt"; then
  echo "bootstrap: creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-test.txt
  cp requirements-test.txt "$VENV/.requirements-test.txt"
fi

GALAXY_VENV=${GALAXY_VENV:-$ROOT/build/galaxy-venv}
if [ ! -x "$GALAXY_VENV/bin/python" ] || ! cmp -s requirements-galaxy.txt "$GALAXY_VENV/.requirements-galaxy.txt"; then
  echo "bootstrap: creating $GALAXY_VENV (galaxy-importer, antsibull)"
  "$PYTHON" -m venv "$GALAXY_VENV"
  "$GALAXY_VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-galaxy.txt
  cp requirements-galaxy.txt "$GALAXY_VENV/.requirements-galaxy.txt"
fi

# A collections path whose last components are ansible_collections/localai/gallery (for imports and ansible).
mkdir -p build/collections/ansible_collections/localai
ln -sfn ../../../.. build/collections/ansible_collections/localai/gallery

# ansible-test downloads a pip bootstrap script from a host that is unreachable here; this stand-in
# uses ensurepip and then pip itself. ansible-test reads it from ~/.ansible/test/cache, and runs with
# HOME=build/home (Makefile), so the stand-in goes there, not into the user's home.
# The version is the pip that ansible-test pins; write the stand-in for the ones in use by 2.17-2.21.
TEST_HOME=${TEST_HOME:-$ROOT/build/home}
for version in 23.1.2 24.0 24.2 25.0 25.0.1 25.1 25.1.1 25.2 25.3 25.3.1 26.0 26.0.1; do
  target="$TEST_HOME/.ansible/test/cache/get_pip_${version//./_}.py"
  mkdir -p "$(dirname "$target")"
  cat > "$target" <<'PY'
import subprocess
import sys

subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
arguments = [argument for argument in sys.argv[1:] if argument not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "pip", "install", "-q"] + arguments, check=True)
PY
done
echo "bootstrap: ready (venv $VENV)"
