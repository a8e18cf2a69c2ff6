# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where LocalAI runs on a host (the `localai` option), and the capability as LocalAI itself sees it there.

LocalAI reads its capability inside its own process (pkg/system/capabilities.go): its environment, the run file
`/run/localai/capability` that every LocalAI image writes (`default` in the CPU image, `nvidia-cuda-13` in the
CUDA 13 one), and `/usr/local/cuda-*` of its own filesystem. In a container those are the container's, read here
with `docker`/`podman` `exec` and `inspect` (as the container's own user, in its own namespaces: nothing the
container holds is opened by root on the host). For a systemd service they are the main process's environment
(`/proc/PID/environ`, Environment= and EnvironmentFile= applied) and the host's files. GPUs and their memory are
the host's in every case: a container sees the host's /sys.
"""

from __future__ import annotations

import json
import os

from ansible_collections.localai.gallery.plugins.module_utils.capability import HostProbe
from ansible_collections.localai.gallery.plugins.module_utils.errors import LocalAITargetError

ENGINES = ("docker", "podman")
MAX_ENVIRON_BYTES = 1 << 20
MAX_FILE_BYTES = 4096
# The variables of LocalAI's environment that decide its capability; nothing else is kept.
CAPABILITY_VARIABLES = ("LOCALAI_FORCE_META_BACKEND_CAPABILITY", "LOCALAI_FORCE_META_BACKEND_CAPABILITY_RUN_FILE")

LOCALAI_SPEC = {
    "type": "dict",
    "options": {
        "container": {"type": "str"},
        "container_engine": {"type": "str", "choices": list(ENGINES), "default": "docker"},
        "service": {"type": "str"},
        "url": {"type": "str"},
        "api_key": {"type": "str", "no_log": True},
    },
    "mutually_exclusive": [["container", "service"]],
}


def _capability_environ(pairs) -> dict[str, str]:
    environ = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if sep and name in CAPABILITY_VARIABLES:
            environ[name] = value
    return environ


class ContainerProbe(HostProbe):
    """The host's GPUs, the container's environment and files (through the engine's CLI)."""

    def __init__(self, host: HostProbe, engine: str, container: str) -> None:
        super().__init__(host.find_tool, host.run, host.root, {}, host.system, host.machine)
        self.engine_path = host.find_tool(engine)
        if not self.engine_path:
            raise LocalAITargetError("localai.container is %s, but %s is not on the target's PATH: install it, or "
                                     "set localai.container_engine" % (container, engine))
        self.engine, self.container = engine, container
        self.where = "container %s" % container
        rc, out, err = self.run([self.engine_path, "inspect", "--format", "{{json .Config.Env}}", container])
        if rc != 0:
            said = (err or out).strip().splitlines()
            raise LocalAITargetError("%s inspect %s failed (%s); check localai.container (the name or id of LocalAI's "
                                     "container)" % (engine, container, said[-1] if said else "rc %d" % rc))
        try:
            variables = json.loads(out.strip() or "null") or []
        except ValueError:
            raise LocalAITargetError("%s inspect %s did not print the container's environment as JSON"
                                     % (engine, container))
        self.environ = _capability_environ(variables)

    def read_text(self, absolute: str) -> str | None:
        # at most a few KiB: whoever runs in the container decides how large the file is
        rc, out, _err = self.run([self.engine_path, "exec", self.container, "head", "-c", str(MAX_FILE_BYTES), "--",
                                  absolute])
        return out.strip() if rc == 0 else None

    def has_dir(self, absolute: str) -> bool:
        rc, _out, _err = self.run([self.engine_path, "exec", self.container, "test", "-d", absolute])
        return rc == 0


class ServiceProbe(HostProbe):
    """The host's GPUs and files, the environment of the systemd unit's running main process."""

    def __init__(self, host: HostProbe, service: str) -> None:
        super().__init__(host.find_tool, host.run, host.root, {}, host.system, host.machine)
        self.where = "service %s" % service
        systemctl = host.find_tool("systemctl")
        rc, out, err = self.run([systemctl, "show", "--property", "MainPID", "--value", service])
        pid = out.strip()
        if rc != 0 or not pid.isdigit():
            raise LocalAITargetError("systemctl show %s failed: %s" % (service, (err or out).strip() or rc))
        self.running = pid != "0"
        if self.running:
            self.environ = _capability_environ(self._process_environ(int(pid)))

    def _process_environ(self, pid: int) -> list[str]:
        try:
            handle = os.open(self.path("/proc/%d/environ" % pid), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise LocalAITargetError("cannot read the environment of %s (pid %d): %s"
                                     % (self.where, pid, exc.strerror or exc))
        try:
            data = os.read(handle, MAX_ENVIRON_BYTES)
        finally:
            os.close(handle)
        return data.decode("utf-8", "replace").split("\0")


def localai_probe(host: HostProbe, options: dict | None) -> HostProbe:
    """The probe capability detection reads: LocalAI's own view when `options` say where it runs."""
    if not options:
        return host
    if options.get("container"):
        return ContainerProbe(host, options.get("container_engine") or "docker", options["container"])
    if options.get("service") and host.find_tool("systemctl"):
        return ServiceProbe(host, options["service"])
    return host  # no container, or a service without systemd (an init script): LocalAI sees the host's files


def describe(options: dict | None) -> dict | None:
    """What the options say about LocalAI, for results: kind (container, service, url only) and name."""
    if not options:
        return None
    if options.get("container"):
        return {"kind": "container", "name": options["container"], "engine": options.get("container_engine")}
    if options.get("service"):
        return {"kind": "service", "name": options["service"]}
    return {"kind": "url", "name": None}
