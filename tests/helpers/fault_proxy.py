# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A loopback HTTP proxy in front of a real registry that injects faults a test asks for.

It forwards every request unchanged to the registry except where a fault matches:
- cut_blobs: the first N blob downloads stop after `cut_after` bytes (connection closed);
- status_for: answer this status (e.g. 403) to every request whose path contains a string;
- corrupt_blobs: flip one byte in blob bodies (a registry serving bad data);
- stall_after: blob downloads stop sending after this many bytes and hold the connection (`stalled` is set).
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultProxy:
    def __init__(self, upstream_host: str) -> None:
        self.upstream_host = upstream_host
        self.cut_blobs = 0
        self.cut_after = 1024
        self.status_for: dict[str, int] = {}
        self.corrupt_blobs = False
        self.stall_after: int | None = None
        self.stalled = threading.Event()
        self._release = threading.Event()
        self.requests: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                proxy.forward(self)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append("%s %s" % (handler.command, handler.path))
        for needle, status in self.status_for.items():
            if needle in handler.path:
                handler.send_response(status)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
        upstream = http.client.HTTPConnection(self.upstream_host, timeout=30)
        headers = {key: value for key, value in handler.headers.items() if key.lower() != "host"}
        upstream.request(handler.command, handler.path, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        is_blob = "/blobs/sha256:" in handler.path and handler.command == "GET" and response.status in (200, 206)
        handler.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding"):
                handler.send_header(key, value)
        handler.end_headers()
        if is_blob and self.corrupt_blobs and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        if is_blob and self.stall_after is not None and len(body) > self.stall_after:
            handler.wfile.write(body[:self.stall_after])
            handler.wfile.flush()
            self.stalled.set()
            self._release.wait(60)
            handler.close_connection = True
            return
        if is_blob and self.cut_blobs > 0 and len(body) > self.cut_after:
            self.cut_blobs -= 1
            handler.wfile.write(body[:self.cut_after])
            handler.wfile.flush()
            handler.close_connection = True
            return
        if handler.command != "HEAD":
            handler.wfile.write(body)
        upstream.close()
