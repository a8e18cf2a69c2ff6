# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sshd on several loopback addresses (127.0.0.2, 127.0.0.3, ...) as many ssh "hosts" on one machine.

At most 16 ListenAddress lines per sshd process; root logs in with a generated key.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time


class LoopbackSshd:
    def __init__(self, directory: str, hosts: int, port: int = 2223) -> None:
        if hosts > 16:
            raise ValueError("one sshd listens on at most 16 addresses")
        self.directory = os.path.abspath(directory)
        self.addresses = ["127.0.0.%d" % number for number in range(2, 2 + hosts)]
        self.port = port
        self.client_key = os.path.join(self.directory, "client_key")
        self.pid_path = os.path.join(self.directory, "sshd.pid")

    def start(self) -> "LoopbackSshd":
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        for key in ("host_key", "client_key"):
            if not os.path.exists(os.path.join(self.directory, key)):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(self.directory, key)],
                               check=True)
        with open(self.client_key + ".pub", encoding="utf-8") as public, \
                open(os.path.join(self.directory, "authorized_keys"), "w", encoding="utf-8") as authorized:
            authorized.write(public.read())
        config = os.path.join(self.directory, "sshd_config")
        with open(config, "w", encoding="utf-8") as handle:
            handle.writelines("ListenAddress %s:%d\n" % (address, self.port) for address in self.addresses)
            handle.write("HostKey %s/host_key\nPidFile %s\nAuthorizedKeysFile %s/authorized_keys\n"
                         "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\nStrictModes no\n"
                         "MaxStartups 50:30:100\nSubsystem sftp internal-sftp\n"
                         % (self.directory, self.pid_path, self.directory))
        subprocess.run(["/usr/sbin/sshd", "-f", config], check=True)
        for address in self.addresses:
            deadline = time.monotonic() + 15
            while True:
                try:
                    socket.create_connection((address, self.port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        return self

    def stop(self) -> None:
        try:
            with open(self.pid_path, encoding="utf-8") as handle:
                os.kill(int(handle.read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass

    def inventory_vars(self) -> dict:
        return {"ansible_port": self.port, "ansible_user": "root", "ansible_ssh_private_key_file": self.client_key,
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}
