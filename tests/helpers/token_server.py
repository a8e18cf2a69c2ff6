# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A registry token service (the Docker token auth spec) for a docker-registry configured with `auth: token`.

Issues RS256 JWTs with an `x5c` certificate that the registry trusts (its rootcertbundle). Anyone gets
pull access to repositories under `public/`; the users it knows (basic auth) get pull and push everywhere;
wrong credentials get HTTP 401. Every request is logged in `requests`.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

ISSUER = "localai-test-issuer"
SERVICE = "localai-test-registry"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    def __init__(self, directory: str, users: dict[str, str]) -> None:
        self.users = users
        self.requests: list[dict] = []
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .sign(self.key, hashes.SHA256()))
        os.makedirs(directory, exist_ok=True)
        self.cert_path = os.path.join(directory, "token-cert.pem")
        with open(self.cert_path, "wb") as handle:
            handle.write(self.cert.public_bytes(serialization.Encoding.PEM))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                status, body = server.answer(self.path, self.headers.get("Authorization"))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = "http://127.0.0.1:%d/token" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def registry_auth(self) -> dict:
        """The `auth: token` block for the registry's config."""
        return {"realm": self.realm, "service": SERVICE, "issuer": ISSUER, "rootcertbundle": self.cert_path}

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict]:
        query = parse_qs(urlparse(path).query)
        user = None
        if authorization and authorization.startswith("Basic "):
            user, _sep, password = base64.b64decode(authorization[6:]).decode().partition(":")
            if self.users.get(user) != password:
                self.requests.append({"user": user, "status": 401})
                return 401, {"details": "invalid credentials"}
        access = []
        for scope in query.get("scope", []):
            kind, _sep, rest = scope.partition(":")
            repository, _sep, actions = rest.rpartition(":")
            granted = ["pull", "push"] if user else (["pull"] if repository.startswith("public/") else [])
            access.append({"type": kind, "name": repository,
                           "actions": [action for action in actions.split(",") if action in granted]})
        self.requests.append({"user": user, "status": 200, "scope": query.get("scope", [])})
        return 200, {"token": self._jwt(user or "", access), "expires_in": 300}

    def _jwt(self, subject: str, access: list[dict]) -> str:
        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = "%s.%s" % (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()))
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
