# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The part of the internet the example inventory reaches, on a machine without one: an HTTPS proxy that answers
CONNECT for index.localai.io and raw.githubusercontent.com with LocalAI's gallery file (its default gallery
and that gallery's mirror) and for quay.io and registry-1.docker.io with a
loopback registry, under certificates from a throwaway CA. Every other host is refused.

    python internet_standin.py DIR GALLERY_FILE REGISTRY_HOST:PORT

runs in the foreground; once it listens it writes DIR/port and DIR/ca.pem. Clients use it through the standard
variables, exactly as they would a site proxy: https_proxy=http://127.0.0.1:PORT SSL_CERT_FILE=DIR/ca.pem.
DIR/requests.log has one line per request served: "HOST METHOD PATH STATUS".
"""

from __future__ import annotations

import http.client
import http.server
import os
import ssl
import subprocess
import sys
import threading

# LocalAI's default backend gallery and its mirror (core/config/runtime_settings_startup.go): host -> path
GALLERY_PATHS = {"index.localai.io": "/backends",
                 "raw.githubusercontent.com": "/mudler/LocalAI/master/backend/index.yaml"}  # github:...@master
REGISTRY_HOSTS = ("quay.io", "registry-1.docker.io")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "host"}


def make_certificates(directory: str) -> tuple[str, str, str]:
    """A CA, and a leaf for every host served, signed by it: (ca.pem, leaf.pem, leaf key)."""
    ca_key, ca_cert = os.path.join(directory, "ca-key.pem"), os.path.join(directory, "ca.pem")
    key, csr, cert = (os.path.join(directory, name) for name in ("key.pem", "leaf.csr", "leaf.pem"))
    extensions = os.path.join(directory, "leaf.ext")
    with open(extensions, "w", encoding="utf-8") as handle:
        handle.write("subjectAltName=%s\n" % ",".join("DNS:" + host for host in tuple(GALLERY_PATHS) + REGISTRY_HOSTS))
    commands = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", ca_key,
         "-out", ca_cert, "-subj", "/CN=stand-in internet CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=stand-in internet"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "2", "-out", cert, "-extfile", extensions],
    ]
    for command in commands:
        subprocess.run(command, check=True, capture_output=True)
    return ca_cert, cert, key


class Site(http.server.BaseHTTPRequestHandler):
    """Requests inside one CONNECT tunnel, to `site` (set per tunnel)."""

    protocol_version = "HTTP/1.1"
    site = ""

    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        self.answer()

    def do_HEAD(self) -> None:  # noqa: N802
        self.answer()

    def answer(self) -> None:
        if self.site in GALLERY_PATHS:
            status, headers, body = self.gallery()
        else:
            status, headers, body = self.forward()
        self.server.log_request_line("%s %s %s %d" % (self.site, self.command, self.path, status))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def gallery(self) -> tuple[int, list, bytes]:
        if self.path.split("?")[0] != GALLERY_PATHS[self.site]:
            return 404, [("Content-Length", "0")], b""
        body = self.server.gallery
        return 200, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))], body

    def forward(self) -> tuple[int, list, bytes]:
        upstream = http.client.HTTPConnection(self.server.registry, timeout=30)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        upstream.request(self.command, self.path, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        upstream.close()
        answer = []
        for name, value in response.getheaders():
            if name.lower() in HOP_BY_HOP:
                continue
            if name.lower() == "location":
                value = value.replace("http://" + self.server.registry, "https://" + self.site)
            answer.append((name, value))
        if self.command == "HEAD" and "content-length" not in {name.lower() for name, _value in answer}:
            answer.append(("Content-Length", "0"))
        return response.status, answer, body

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        pass


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_CONNECT(self) -> None:  # noqa: N802
        host = self.path.rsplit(":", 1)[0]
        if host not in GALLERY_PATHS and host not in REGISTRY_HOSTS:
            self.server.log_request_line("%s CONNECT refused" % host)
            self.send_error(502, "the stand-in internet has no route to %s" % host)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        try:
            tunnel = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        type("Site", (Site,), {"site": host})(tunnel, self.client_address, self.server)
        self.close_connection = True

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        pass


class StandInInternet(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, directory: str, gallery: bytes, registry: str) -> None:
        super().__init__(("127.0.0.1", 0), Proxy)
        _ca, cert, key = make_certificates(directory)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.gallery = gallery
        self.registry = registry
        self.log_path = os.path.join(directory, "requests.log")
        self.log_lock = threading.Lock()

    def log_request_line(self, line: str) -> None:
        with self.log_lock, open(self.log_path, "a", encoding="utf-8") as log:
            log.write(line + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    directory, gallery_file, registry = argv
    os.makedirs(directory, exist_ok=True)
    with open(gallery_file, "rb") as handle:
        server = StandInInternet(directory, handle.read(), registry)
    with open(os.path.join(directory, "port"), "w", encoding="utf-8") as handle:
        handle.write(str(server.server_address[1]))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
