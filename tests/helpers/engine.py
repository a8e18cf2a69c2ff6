# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The install engine driven as the modules drive it, for tests, the reliability child and benchmarks."""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils.backend_installer import (
    BackendInstaller,
    Change,
    ConcreteBackend,
)
from ansible_collections.localai.gallery.plugins.module_utils.ownership import Ownership
from ansible_collections.localai.gallery.plugins.module_utils.registry import RegistryClient
from ansible_collections.localai.gallery.plugins.module_utils.store import BackendStore


class Engine:
    """Install one concrete backend from a list of uris into a backends path (check mode: plan only)."""

    def __init__(self, backends_path: str, mirrors: dict | None = None, check_mode: bool = False,
                 lock_timeout: float = 600, ownership: Ownership | None = None, upstream_fallback: bool = True,
                 **client_options) -> None:
        self.check_mode = check_mode
        self.installer = BackendInstaller(BackendStore(backends_path, lock_timeout), RegistryClient(**client_options),
                                          mirrors, ownership, upstream_fallback)

    def install(self, name: str, uris: list[str], metadata: dict | None = None, state: str = "present",
                force: bool = False, sha256: str | None = None) -> Change:
        metadata = metadata or {}
        backend = ConcreteBackend(name, uris, metadata.get("uri"), metadata.get("alias", ""),
                                  metadata.get("gallery_url", ""), metadata.get("version", ""), sha256)
        if self.check_mode:
            return self.installer.plan(backend, state, force)
        return self.installer.install(backend, state, force)
