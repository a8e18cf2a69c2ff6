# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a running LocalAI reports about itself (core/http/routes/localai.go at 82c191a).

`GET /version` answers `{"version": ...}`. `GET /system` (admin) answers `{"backends": [...], "loaded_models":
[...]}`, where `backends` are the names its model loader has registered (`ml.GetAllExternalBackends`): LocalAI
registers the backends on disk when it starts (core/application/startup.go RegisterBackends) and after its own
installs, never after ours. So `/system` tells whether the running LocalAI can use what is installed. The API key
goes as `Authorization: Bearer`, which LocalAI's auth middleware reads first.
"""

from __future__ import annotations

import json
import urllib.error

from ansible.module_utils.urls import open_url

from ansible_collections.localai.gallery.plugins.module_utils.errors import LocalAIAPIError

MAX_ANSWER_BYTES = 1 << 20
TIMEOUT = 10


def _get(url: str, path: str, api_key: str | None) -> dict:
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    address = url.rstrip("/") + path
    try:
        with open_url(address, headers=headers, timeout=TIMEOUT, follow_redirects="none") as response:
            body = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        hint = ": set localai.api_key (LocalAI's API key)" if exc.code in (401, 403) else ""
        raise LocalAIAPIError("LocalAI at %s answered HTTP %d to GET %s%s" % (url, exc.code, path, hint))
    except (urllib.error.URLError, OSError) as exc:
        raise LocalAIAPIError("LocalAI at %s cannot be reached (GET %s): %s; check localai.url"
                              % (url, path, getattr(exc, "reason", exc)))
    if len(body) > MAX_ANSWER_BYTES:
        raise LocalAIAPIError("LocalAI at %s answered GET %s with more than %d bytes" % (url, path, MAX_ANSWER_BYTES))
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LocalAIAPIError("LocalAI at %s answered GET %s with something that is not JSON" % (url, path))
    if not isinstance(answer, dict):
        raise LocalAIAPIError("LocalAI at %s answered GET %s with JSON that is not an object" % (url, path))
    return answer


def live_state(url: str, api_key: str | None = None) -> dict:
    """{version, registered}: LocalAI's version and the backend names its running process has registered."""
    version = _get(url, "/version", api_key).get("version")
    backends = _get(url, "/system", api_key).get("backends")
    if not isinstance(backends, list):
        raise LocalAIAPIError("LocalAI at %s answered GET /system without a list of backends" % url)
    return {"version": version if isinstance(version, str) else None,
            "registered": sorted(str(name) for name in backends)}
