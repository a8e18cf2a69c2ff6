# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A loopback HTTP server for gallery files, with ETags (304 on If-None-Match) and a log of requests."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class GalleryServer:
    def __init__(self, documents: dict[str, bytes]) -> None:
        self.documents = documents
        self.requests: list[tuple[str, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                body = server.documents.get(self.path)
                if body is None:
                    status = 404
                else:
                    etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                    status = 304 if self.headers.get("If-None-Match") == etag else 200
                server.requests.append((self.path, status))
                self.send_response(status)
                if body is not None:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body) if status == 200 else 0))
                self.end_headers()
                if status == 200:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
