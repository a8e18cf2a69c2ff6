#!/usr/bin/env bash
# Install everything the tests and the demo use on a fresh Debian machine: apt packages, a venv,
# the collection on a collections path, and the offline pip bootstrap that ansible-test needs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

APT_PACKAGES="docker-registry apache2-utils openssl skopeo umoci openssh-server openssh-client"
missing=""
for package in $APT_PACKAGES; do
  dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "bootstrap: apt-get install$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x "$VENV/bin/python" ] || ! cmp -s requirements-test.txt "$VENV/.requirements-test.txt"; then
  echo "bootstrap: creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-test.txt
  cp requirements-test.txt "$VENV/.requirements-test.txt"
fi

# A collections path whose last components are ansible_collections/localai/gallery (for imports and ansible).
mkdir -p build/collections/ansible_collections/localai
ln -sfn ../../../.. build/collections/ansible_collections/localai/gallery

# ansible-test downloads a pip bootstrap script from a host that is unreachable here; this stand-in
# uses ensurepip and then pip itself (see ENVIRONMENT.md).
# The version is the pip that ansible-test pins; write the stand-in for the ones in use by 2.17-2.20.
for version in 23.1.2 24.0 24.2 25.0 25.0.1 25.1 25.1.1 25.2 25.3; do
  target="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
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
