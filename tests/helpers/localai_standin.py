# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-in for LocalAI's HTTP API on one port, for many hosts (path prefix /HOST), for rolling-upgrade tests.

LocalAI itself cannot run on the test machines. What upgrade.yml needs of it is its readiness probe: GET
/readyz answers 200 when ready. Here a restart makes /HOST/readyz answer 503 for READY_AFTER seconds, then 200;
a host marked broken never becomes ready after its next restart.

    python tests/helpers/localai_standin.py start DIR PORT     # in the background; pid in DIR/standin.pid
    python tests/helpers/localai_standin.py stop DIR
    python tests/helpers/localai_standin.py restart URL        # URL = http://127.0.0.1:PORT/HOST (the restart
                                                               # command a host's role runs)
    POST URL/break, POST URL/fix; GET URL/state: {"restarts", "not_ready_answers", "ready_answers", "broken"}
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READY_AFTER = 1.5


class StandIn(BaseHTTPRequestHandler):
    hosts: dict[str, dict] = {}

    def _host(self) -> tuple[dict, str]:
        _empty, name, *rest = self.path.split("/", 2) + [""]
        state = self.hosts.setdefault(name, {"restarts": 0, "not_ready_answers": 0, "ready_answers": 0,
                                             "broken": False, "ready_at": 0.0})
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
            self._answer(200, {key: value for key, value in state.items() if key != "ready_at"})
        else:
            self._answer(404, {"error": "unknown path"})

    def do_POST(self) -> None:  # noqa: N802
        state, action = self._host()
        if action == "restart":
            state["restarts"] += 1
            state["ready_at"] = time.monotonic() + READY_AFTER
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
