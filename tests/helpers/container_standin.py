# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The part of the docker / podman CLI the collection uses, for a LocalAI "container" on machines without a
container runtime (tests/helpers/container-engine/docker and podman run this).

A container is a directory under $LOCALAI_TEST_CONTAINERS/NAME: `rootfs/run` and `rootfs/usr/local` (what a
LocalAI image holds there: run/localai/capability, usr/local/cuda-13), `env.json` (its Config.Env, a list of
"NAME=value"), and optionally `restart_url` (the LocalAI stand-in host that restarting the container restarts).
`exec` runs the command in a mount namespace of its own (unshare) where the container's run and usr/local are
bind-mounted over /run and /usr/local, so it reads the container's files at the paths LocalAI reads.

    docker inspect --format '{{json .Config.Env}}' NAME
    docker inspect --format '{{.State.Running}}' NAME
    docker exec NAME COMMAND...
    docker restart NAME
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

BIND = 'mount --bind "$1/run" /run && mount --bind "$1/usr/local" /usr/local && shift && exec "$@"'


def container(name: str) -> str:
    path = os.path.join(os.environ.get("LOCALAI_TEST_CONTAINERS", "/nonexistent"), name)
    if not os.path.isdir(path):
        print("Error: No such container: %s" % name, file=sys.stderr)
        sys.exit(1)
    return path


def main(engine: str, argv: list[str]) -> int:
    if argv[:2] == ["inspect", "--format"] and len(argv) == 4:
        path = container(argv[3])
        if argv[2] == "{{json .Config.Env}}":
            with open(os.path.join(path, "env.json"), encoding="utf-8") as handle:
                print(json.dumps(json.load(handle)))
            return 0
        if argv[2] == "{{.State.Running}}":
            print("true")
            return 0
    if argv[:1] == ["exec"] and len(argv) >= 3:
        rootfs = os.path.join(container(argv[1]), "rootfs")
        return subprocess.run(["unshare", "--mount", "--fork", "sh", "-c", BIND, "sh", rootfs] + argv[2:],
                              check=False).returncode
    if argv[:1] == ["restart"] and len(argv) == 2:
        url_file = os.path.join(container(argv[1]), "restart_url")
        if os.path.exists(url_file):
            with open(url_file, encoding="utf-8") as handle:
                url = handle.read().strip()
            urllib.request.urlopen(urllib.request.Request(url.rstrip("/") + "/restart", data=b"", method="POST"),
                                   timeout=10).close()
        print(argv[1])
        return 0
    print("%s stand-in: unsupported command: %s" % (engine, " ".join(argv)), file=sys.stderr)
    return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
