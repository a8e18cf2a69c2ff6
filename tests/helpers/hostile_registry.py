# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A registry that serves one small backend image by the distribution API and misbehaves when told to.

Behaviours (set `registry.behaviour`): "huge-manifest" (100 MB, declared), "huge-manifest-chunked" (100 MB, no
length), "blob-overflow" (the blob goes on past its size, forever), "drip" (one byte a second), "redirect-loop",
"redirect-elsewhere" (blobs answered by an S3-like `Storage` host through a presigned URL), "retry-after"
(`retry_after_answers` 429s, then the real answers), "self-index", "nested-index", "bomb" (a gzip layer that
inflates 1000:1), "token-elsewhere" (a Bearer challenge whose realm is `TokenHost`), "huge-bundle" (a
referrer whose bundle layer is 2 MiB). `attach(digest, bundle)` lists a bundle referrer for `digest` in the OCI
1.1 referrers API (`/v2/<name>/referrers/<digest>`), which the distribution registry of the other tests lacks.
`requests` records (method, path, Authorization header) for each request it got.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import ssl
import subprocess
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers.images import RUN_SH, backend_files, tar_bytes

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
REPOSITORY = "hostile/backend"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _bomb_layer() -> bytes:
    """A tar with run.sh and 256 MiB of zeros, gzipped at level 9: about 1030:1."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w|") as archive:
            info = tarfile.TarInfo("run.sh")
            info.size, info.mode = len(RUN_SH), 0o755
            archive.addfile(info, io.BytesIO(RUN_SH))
            info = tarfile.TarInfo("lib/zeros.bin")
            info.size = 256 << 20
            archive.addfile(info, _Zeros(info.size))
    return buffer.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


class _Server:
    """A threaded HTTP(S) server on loopback with a handler function."""

    def __init__(self, handle, tls_dir: str | None = None) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append((self.command, self.path, self.headers.get("Authorization")))
                try:
                    handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            do_HEAD = do_GET

        self.requests: list[tuple[str, str, str | None]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.ca_path = None
        scheme = "http"
        if tls_dir:
            os.makedirs(tls_dir, exist_ok=True)
            key, self.ca_path = os.path.join(tls_dir, "key.pem"), os.path.join(tls_dir, "cert.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key,
                            "-out", self.ca_path, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                           check=True, capture_output=True)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.ca_path, key)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.host = "127.0.0.1:%d" % self.httpd.server_address[1]
        self.url = "%s://%s" % (scheme, self.host)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict | None = None,
          length: int | None = None) -> None:
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


class Storage:
    """An S3-like blob host: serves whatever blob a presigned URL names, and records the headers it got."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.server = _Server(self._handle)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        digest = handler.path.split("/")[-1].split("?")[0]
        if digest in self.blobs and "X-Amz-Signature=" in handler.path:
            _send(handler, 200, self.blobs[digest], {"Content-Type": "application/octet-stream"})
        else:
            _send(handler, 403)


class TokenHost:
    """A token service on another host than the registry: answers a token, and records who asked with what."""

    def __init__(self, tls_dir: str | None = None) -> None:
        self.server = _Server(self._handle, tls_dir)

    @staticmethod
    def _handle(handler: BaseHTTPRequestHandler) -> None:
        _send(handler, 200, json.dumps({"token": "t0ken"}).encode(), {"Content-Type": "application/json"})


class HostileRegistry:
    """Serves `REPOSITORY:t` (an index over a linux/amd64 image), as told by `behaviour`."""

    def __init__(self, tls_dir: str | None = None, username: str | None = None, password: str | None = None) -> None:
        self.behaviour = None
        self.retry_after_answers = 0
        self.retry_after_value = "1"
        self.token_realm = None
        self.credentials = base64.b64encode(("%s:%s" % (username, password)).encode()).decode() if username else None
        self.blobs: dict[str, bytes] = {}
        self.documents: dict[str, bytes] = {}
        self.referrers: dict[str, list[dict]] = {}
        self._build("v1")
        self.storage = Storage(self.blobs)
        self.server = _Server(self._handle, tls_dir)
        self.host, self.url, self.ca_path = self.server.host, self.server.url, self.server.ca_path
        self.uri = "%s/%s:t" % (self.host, REPOSITORY)

    @property
    def requests(self) -> list[tuple[str, str, str | None]]:
        return self.server.requests

    def _build(self, label: str, layer: bytes | None = None) -> None:
        self.layer = layer if layer is not None else gzip.compress(tar_bytes(backend_files(label)), mtime=0)
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
        self.manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                               "digest": _digest(config), "size": len(config)},
                                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                                "digest": _digest(self.layer), "size": len(self.layer)}]}).encode()
        self.index = self._index_over(_digest(self.manifest), len(self.manifest))
        self.blobs.update({_digest(self.layer): self.layer, _digest(config): config})

    @staticmethod
    def _index_over(digest: str, size: int, media_type: str = OCI_MANIFEST) -> bytes:
        return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": media_type, "digest": digest, "size": size,
             "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()

    def publish(self, label: str) -> None:
        """A new image under the same tag."""
        self._build(label)

    def publish_bomb(self) -> None:
        self._build("bomb", _bomb_layer())

    @property
    def manifest_digest(self) -> str:
        return _digest(self.manifest)

    @property
    def index_digest(self) -> str:
        return _digest(self.index)

    def attach(self, subject_digest: str, bundle: bytes, artifact_type: str = "application/vnd.dev.sigstore.bundle."
               "v0.3+json") -> None:
        """List a referrer of `subject_digest` in the referrers API: an artifact manifest with `bundle` as its layer."""
        empty = b"{}"
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                               "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": _digest(empty),
                                          "size": 2},
                               "layers": [{"mediaType": artifact_type, "digest": _digest(bundle),
                                           "size": len(bundle)}]}).encode()
        self.blobs.update({_digest(empty): empty, _digest(bundle): bundle})
        self.documents[_digest(manifest)] = manifest
        self.referrers.setdefault(subject_digest, []).append(
            {"mediaType": OCI_MANIFEST, "digest": _digest(manifest), "size": len(manifest),
             "artifactType": artifact_type})

    # --- serving ----------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        if self.credentials and handler.headers.get("Authorization") != "Basic " + self.credentials \
                and self.behaviour != "token-elsewhere":
            _send(handler, 401, headers={"WWW-Authenticate": 'Basic realm="hostile"'})
            return
        if self.behaviour == "token-elsewhere" and handler.headers.get("Authorization") != "Bearer t0ken":
            _send(handler, 401, headers={"WWW-Authenticate": 'Bearer realm="%s",service="hostile"' % self.token_realm})
            return
        if self.behaviour == "retry-after" and self.retry_after_answers > 0:
            self.retry_after_answers -= 1
            _send(handler, 429, headers={"Retry-After": self.retry_after_value})
            return
        if path == "/v2/":
            _send(handler, 200, b"{}")
        elif path.startswith("/v2/%s/manifests/" % REPOSITORY):
            self._manifest(handler, path.rsplit("/", 1)[1])
        elif path.startswith("/v2/%s/blobs/" % REPOSITORY):
            self._blob(handler, path.rsplit("/", 1)[1])
        elif path.startswith("/v2/%s/referrers/" % REPOSITORY):
            listed = self.referrers.get(path.rsplit("/", 1)[1], [])
            _send(handler, 200, json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": listed}).encode(),
                  {"Content-Type": OCI_INDEX})
        else:
            _send(handler, 404)

    def _manifest(self, handler: BaseHTTPRequestHandler, key: str) -> None:
        if self.behaviour in ("huge-manifest", "huge-manifest-chunked") and key == "t":
            self._huge(handler, self.behaviour == "huge-manifest")
            return
        documents = dict(self.documents, t=self.index)
        documents.update({_digest(self.index): self.index, _digest(self.manifest): self.manifest})
        if self.behaviour == "self-index":
            # An index whose only entry is a digest that, asked for, answers the index itself.
            loop = self._index_over("sha256:" + "1" * 64, 1, OCI_INDEX)
            documents = {"t": loop, "sha256:" + "1" * 64: loop}
        elif self.behaviour == "nested-index":
            document = self.manifest
            for _depth in range(5):
                digest, size = _digest(document), len(document)
                documents[digest] = document
                document = self._index_over(digest, size, OCI_INDEX if document is not self.manifest else OCI_MANIFEST)
            documents["t"] = document
        document = documents.get(key)
        if document is None:
            _send(handler, 404)
            return
        media_type = json.loads(document).get("mediaType", OCI_MANIFEST)
        _send(handler, 200, document, {"Content-Type": media_type, "Docker-Content-Digest": _digest(document)})

    @staticmethod
    def _huge(handler: BaseHTTPRequestHandler, declared: bool) -> None:
        size = 100 << 20
        handler.send_response(200)
        handler.send_header("Content-Type", OCI_INDEX)
        if declared:
            handler.send_header("Content-Length", str(size))
        else:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        block = b"[" + b" " * ((1 << 20) - 1)
        for _number in range(100):
            if declared:
                handler.wfile.write(block)
            else:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
        if not declared:
            handler.wfile.write(b"0\r\n\r\n")

    def _blob(self, handler: BaseHTTPRequestHandler, digest: str) -> None:
        blob = self.blobs.get(digest)
        if blob is None:
            _send(handler, 404)
        elif self.behaviour == "huge-bundle" and any(
                digest == layer["digest"] for document in self.documents.values()
                for layer in json.loads(document).get("layers", [])):
            _send(handler, 200, b" " * (2 << 20), {"Content-Type": "application/octet-stream"})
        elif self.behaviour == "redirect-loop":
            _send(handler, 302, headers={"Location": handler.path})
        elif self.behaviour == "redirect-elsewhere":
            presigned = "%s/bucket/%s?X-Amz-Signature=abc" % (self.storage.server.url, digest)
            _send(handler, 307, headers={"Location": presigned})
        elif self.behaviour == "drip" and digest == _digest(self.layer):
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(blob)))
            handler.end_headers()
            for byte in blob:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(1)
        elif self.behaviour == "blob-overflow" and digest == _digest(self.layer):
            handler.send_response(200)
            handler.end_headers()  # no length: the body is what the client reads until it stops
            handler.wfile.write(blob)
            self.overflow_sent = len(blob)
            while True:
                handler.wfile.write(b"\0" * 65536)
                self.overflow_sent += 65536
        else:
            _send(handler, 200, blob, {"Content-Type": "application/octet-stream"})

    def stop(self) -> None:
        self.server.stop()
        self.storage.server.stop()
