# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start and stop real CNCF distribution registries (Debian's docker-registry) on loopback for tests.

Usable from pytest (RegistryServer) and from the Makefile:
    python tests/helpers/registry_server.py start DIR PORT [--tls-auth USER PASS | --tls]
    python tests/helpers/registry_server.py stop DIR
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RegistryServer:
    """One registry process; `url` is its base URL, `host` its host:port."""

    def __init__(self, directory: str, port: int | None = None, username: str | None = None,
                 password: str | None = None, token_auth: dict | None = None, storage: str | None = None,
                 proxy: dict | None = None, tls: bool | None = None) -> None:
        self.directory = os.path.abspath(directory)
        self.port = port or free_port()
        self.username = username
        self.password = password
        self.token_auth = token_auth
        self.storage = storage
        self.proxy = proxy  # {remoteurl, username, password}: a pull-through cache of that registry
        self.tls = username is not None if tls is None else tls
        self.host = "127.0.0.1:%d" % self.port
        self.url = ("https://" if self.tls else "http://") + self.host
        self.ca_path = os.path.join(self.directory, "cert.pem") if self.tls else None
        self.log_path = os.path.join(self.directory, "registry.log")
        self.pid_path = os.path.join(self.directory, "registry.pid")
        self.process: subprocess.Popen | None = None

    def _write_config(self) -> str:
        storage = self.storage or os.path.join(self.directory, "storage")
        os.makedirs(storage, exist_ok=True)
        lines = ["version: 0.1", "log: {level: info, accesslog: {disabled: false}}",
                 "storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}" % storage,
                 "http:", "  addr: %s" % self.host]
        if self.tls:
            key = os.path.join(self.directory, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-keyout", key, "-out", self.ca_path, "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
            lines.append("  tls: {certificate: %s, key: %s}" % (self.ca_path, key))
        if self.username is not None:
            htpasswd = os.path.join(self.directory, "htpasswd")
            with open(htpasswd, "w", encoding="utf-8") as handle:
                handle.write(subprocess.run(["htpasswd", "-Bbn", self.username, self.password], check=True,
                                            capture_output=True, text=True).stdout)
            lines.append("auth: {htpasswd: {realm: localai-test, path: %s}}" % htpasswd)
        if self.proxy:
            lines.append("proxy: %s" % json.dumps(self.proxy))
        if self.token_auth:
            lines.append("auth: {token: {realm: %(realm)s, service: %(service)s, issuer: %(issuer)s, "
                         "rootcertbundle: %(rootcertbundle)s}}" % self.token_auth)
        config = os.path.join(self.directory, "config.yml")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return config

    def start(self) -> "RegistryServer":
        os.makedirs(self.directory, exist_ok=True)
        config = self._write_config()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(["docker-registry", "serve", config], stdout=log, stderr=log,
                                            start_new_session=True)
        with open(self.pid_path, "w", encoding="utf-8") as handle:
            handle.write(str(self.process.pid))
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        session = requests.Session()
        session.trust_env = False
        while time.monotonic() < deadline:
            try:
                session.get(self.url + "/v2/", timeout=1, verify=self.ca_path or True)
                return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("registry on %s did not start; see %s" % (self.host, self.log_path))

    def stop(self) -> None:
        stop_pid_file(self.pid_path)
        if self.process is not None:
            self.process.wait(timeout=10)
            self.process = None

    def request_lines(self, needle: str = "") -> list[str]:
        """Access-log lines (one per HTTP request served) containing needle."""
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return [line for line in log if '"GET /v2/' in line or '"HEAD /v2/' in line if needle in line]


def stop_pid_file(pid_path: str) -> None:
    try:
        with open(pid_path, encoding="utf-8") as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    os.unlink(pid_path)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"] and (len(argv) in (3, 6) or argv[3:] == ["--tls"]):
        username, password = (argv[4], argv[5]) if len(argv) == 6 else (None, None)
        server = RegistryServer(argv[1], int(argv[2]), username, password, tls=len(argv) > 3).start()
        print(server.url)
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        stop_pid_file(os.path.join(os.path.abspath(argv[1]), "registry.pid"))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
