# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures: real registries on loopback and an image pusher (see tests/helpers)."""

from __future__ import annotations

import os
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS_DIR)

from helpers.images import Pusher  # noqa: E402  pylint: disable=wrong-import-position
from helpers.registry_server import RegistryServer  # noqa: E402  pylint: disable=wrong-import-position

REGISTRY_USER = "gallery-user"
REGISTRY_PASSWORD = "s3cret-Pa55word-xyz"


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    server = RegistryServer(str(tmp_path_factory.mktemp("registry"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory):
    server = RegistryServer(str(tmp_path_factory.mktemp("auth-registry")), username=REGISTRY_USER,
                            password=REGISTRY_PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pusher(registry):
    return Pusher(registry.url)


@pytest.fixture(scope="session")
def auth_pusher(auth_registry):
    return Pusher(auth_registry.url, REGISTRY_USER, REGISTRY_PASSWORD, auth_registry.ca_path)


@pytest.fixture
def backends_path(tmp_path):
    path = tmp_path / "backends"
    path.mkdir()
    return str(path)


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    """Loopback registries must be reached directly whatever proxy the machine has configured."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
