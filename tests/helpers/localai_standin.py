# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-in for LocalAI's HTTP API on one port, for many hosts (path prefix /HOST).

LocalAI itself cannot run on the test machines. This answers what the collection asks of it (LocalAI 82c191a):
- GET /readyz (core/http/routes/health.go): after a restart 503 for READY_AFTER seconds, then 200; a host
  marked broken never becomes ready after its next restart.
- GET /version, and GET /system (admin: the API key as `Authorization: Bearer`, when the host has one), whose
  `backends` are the names registered in the model loader. As LocalAI does, the stand-in registers backends only
  when it (re)starts (core/application/startup.go: `gallery.RegisterBackends(options.SystemState, ...)`), from
  what is on disk then, by ListSystemBackends' rules (below); nothing installed or removed later is seen until the
  next restart.
- GET /backends/available: the backends of the host's galleries, each fetched from its URL or, when that fails,
  from LocalAI's last good copy on disk (core/gallery/gallery_mirrors.go galleryCachePath, isUsableGalleryIndex).

    python tests/helpers/localai_standin.py start DIR PORT     # in the background; pid in DIR/standin.pid
    python tests/helpers/localai_standin.py stop DIR
    python tests/helpers/localai_standin.py restart URL        # URL = http://127.0.0.1:PORT/HOST (the restart
                                                               # command a host's role runs)
    POST URL/configure {"backends_path", "system_backends_path", "api_key", "galleries"}: a LocalAI that starts
    POST URL/break, POST URL/fix; GET URL/state: {"restarts", "not_ready_answers", "ready_answers", "broken",
    "registered"}
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

READY_AFTER = 1.5
VERSION = "v0.0.0-standin (LocalAI 82c191a rules)"


def gallery_cache_path(base_path: str, url: str) -> str:
    """galleryCachePath: `if !filepath.IsAbs(basePath) { return "" }`; `sum := sha256.Sum256([]byte(url))`;
    `filepath.Join(basePath, "..", "cache", "gallery", hex.EncodeToString(sum[:])+".yaml")`."""
    if not os.path.isabs(base_path):
        return ""
    return os.path.join(os.path.dirname(os.path.normpath(base_path)), "cache", "gallery",
                        hashlib.sha256(url.encode("utf-8")).hexdigest() + ".yaml")


def available_backends(galleries: list[dict], backends_path: str) -> list[dict]:
    """For each gallery: its URL, else (`// Every source failed. A copy from a previous run is much better than no
    gallery at all`) the copy on disk, if `isUsableGalleryIndex` (a non-empty YAML sequence)."""
    listed = []
    for gallery in galleries:
        try:
            with urllib.request.urlopen(gallery["url"], timeout=2) as response:
                body = response.read()
        except (OSError, ValueError):
            path = gallery_cache_path(backends_path, gallery["url"])
            try:
                with open(path, "rb") as handle:
                    body = handle.read()
            except OSError:
                continue
        try:
            entries = yaml.safe_load(body)
        except yaml.YAMLError:
            continue
        if not isinstance(entries, list) or not entries:
            continue
        listed += [{"name": entry.get("name"), "gallery": {"name": gallery.get("name"), "url": gallery["url"]}}
                   for entry in entries if isinstance(entry, dict)]
    return listed


def registered_names(backends_path: str, system_backends_path: str = "") -> list[str]:
    """The names RegisterBackends gives the model loader: the keys of ListSystemBackends (core/gallery/backends.go).

    System backends: `if systemBackend.IsDir() { ... if _, err := os.Stat(run); err == nil { backends[name] = ...`.
    User backends, per directory entry `if !e.IsDir() { continue }`: the concrete `if _, err := os.Stat(run); err ==
    nil`, its alias `if metadata.Alias != "" { aliasGroups[metadata.Alias] = append(...) }` (an alias group always
    yields an entry: a candidate's runFile is a joined path, never ""), and a meta `if metadata.MetaBackendFor !=
    "" { backends[metadata.Name] = ...`. A metadata.json that cannot be parsed fails the whole listing
    (`return nil, rerr`), and startup then registers nothing."""
    names = set()
    for base, system in ((system_backends_path, True), (backends_path, False)):
        try:
            entries = sorted(os.scandir(base), key=lambda entry: entry.name) if base else []
        except OSError:
            if system:
                continue
            return []
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            runnable = os.path.exists(os.path.join(base, entry.name, "run.sh"))
            if system:
                if runnable:
                    names.add(entry.name)
                continue
            metadata = {"name": entry.name}
            path = os.path.join(base, entry.name, "metadata.json")
            if os.path.exists(path):
                try:
                    with open(path, encoding="utf-8") as handle:
                        metadata = json.load(handle) or {"name": entry.name}
                except ValueError:
                    return []
            if runnable:
                names.add(entry.name)
            if metadata.get("alias"):
                names.add(metadata["alias"])
            if metadata.get("meta_backend_for"):
                names.add(metadata.get("name") or "")
    return sorted(names)


class StandIn(BaseHTTPRequestHandler):
    hosts: dict[str, dict] = {}

    def _host(self) -> tuple[dict, str]:
        _empty, name, *rest = self.path.split("/", 2) + [""]
        state = self.hosts.setdefault(name, {"restarts": 0, "not_ready_answers": 0, "ready_answers": 0,
                                             "broken": False, "ready_at": 0.0, "registered": [], "config": {}})
        return state, rest[0]

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        state, action = self._host()
        if action == "readyz":
            ready = not state["broken"] and time.monotonic() >= state["ready_at"]
            state["ready_answers" if ready else "not_ready_answers"] += 1
            self._answer(200 if ready else 503, {"ready": ready})
        elif action == "state":
            self._answer(200, {key: value for key, value in state.items() if key not in ("ready_at", "config")})
        elif action == "backends/available":
            config = state["config"]
            self._answer(200, available_backends(config.get("galleries") or [], config.get("backends_path", "")))
        elif action == "version":
            self._answer(200, {"version": VERSION})
        elif action == "system":
            api_key = state["config"].get("api_key")
            if api_key and self.headers.get("Authorization") != "Bearer " + api_key:
                self._answer(401, {"error": {"code": 401, "message": "An authentication key is required",
                                             "type": "invalid_request_error"}})
                return
            self._answer(200, {"backends": state["registered"], "loaded_models": []})
        else:
            self._answer(404, {"error": "unknown path"})

    def do_POST(self) -> None:  # noqa: N802
        state, action = self._host()
        if action == "restart":
            state["restarts"] += 1
            state["ready_at"] = time.monotonic() + READY_AFTER
            config = state["config"]
            state["registered"] = registered_names(config.get("backends_path", ""),
                                                   config.get("system_backends_path", ""))
        elif action == "configure":
            length = int(self.headers.get("Content-Length") or 0)
            state["config"] = json.loads(self.rfile.read(length) or b"{}")
            # a LocalAI that starts now, with what the backends path holds now
            state["registered"] = registered_names(state["config"].get("backends_path", ""),
                                                   state["config"].get("system_backends_path", ""))
        elif action in ("break", "fix"):
            state["broken"] = action == "break"
        else:
            self._answer(404, {"error": "unknown path"})
            return
        self._answer(200, {"ok": True})

    def log_message(self, *_args) -> None:
        pass


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"] and len(argv) == 2:
        ThreadingHTTPServer(("127.0.0.1", int(argv[1])), StandIn).serve_forever()
        return 0
    if argv[:1] == ["start"] and len(argv) == 3:
        os.makedirs(argv[1], exist_ok=True)
        process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", argv[2]],
                                   start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(argv[1], "standin.pid"), "w", encoding="utf-8") as handle:
            handle.write(str(process.pid))
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen("http://127.0.0.1:%s/probe/state" % argv[2], timeout=1).close()
                return 0
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    if argv[:1] == ["stop"] and len(argv) == 2:
        try:
            with open(os.path.join(argv[1], "standin.pid"), encoding="utf-8") as handle:
                os.kill(int(handle.read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        return 0
    if argv[:1] == ["restart"] and len(argv) == 2:
        urllib.request.urlopen(urllib.request.Request(argv[1].rstrip("/") + "/restart", data=b"", method="POST"),
                               timeout=10).close()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
