# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One install or removal in its own process, for fault tests; optionally SIGKILLs itself at a precise point.

    install_child.py BACKENDS NAME URI [--force] [--lock-timeout S] [--retries N]
                     [--kill-after-files N] [--kill-after-swap] [--no-exchange] [--pace SECONDS]
    install_child.py BACKENDS NAME --remove [--lock-timeout S]

Prints the result as JSON; exit 0 on success, 3 with the one-line error on a BackendError.
The hooks wrap the standard library from the outside: the engine has no test-only switches.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for helpers

# The collection comes from PYTHONPATH (a collections path), as for every other test.
from ansible_collections.localai.gallery.plugins.module_utils import layers, store  # noqa: E402
from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError  # noqa: E402
from helpers.engine import Engine  # noqa: E402


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_hooks(args) -> None:
    real_open = os.open
    files = {"count": 0}

    def counting_open(path, flags, *rest, **kwargs):
        descriptor = real_open(path, flags, *rest, **kwargs)
        if flags & os.O_EXCL:
            files["count"] += 1
            if args.kill_after_files is not None and files["count"] >= args.kill_after_files:
                die()
            if args.pace:  # each file created waits: the extractor makes files with their mode, no fchmod to pace
                time.sleep(args.pace)
        return descriptor

    layers.os.open = counting_open
    if args.no_exchange:
        store.rename_at = lambda *arguments: False  # as on a kernel or filesystem without renameat2
    if args.kill_after_swap:
        real_rename, real_rename_at = os.rename, store.rename_at

        def rename_then_die(source, target, **dir_fds):
            real_rename(source, target, **dir_fds)
            if os.path.basename(target).startswith(store.BACKUP):
                die()  # between the two renames of the fallback swap

        def exchange_then_die(*arguments):
            if real_rename_at(*arguments):
                if arguments[-1] == store.RENAME_EXCHANGE:
                    die()  # after the atomic exchange, before the old tree is deleted
                return True
            return False

        store.os.rename = rename_then_die
        store.rename_at = exchange_then_die


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("backends")
    parser.add_argument("name")
    parser.add_argument("uri", nargs="?")
    parser.add_argument("--remove", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--lock-timeout", type=float, default=600)
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--kill-after-files", type=int)
    parser.add_argument("--kill-after-swap", action="store_true")
    parser.add_argument("--no-exchange", action="store_true")
    parser.add_argument("--pace", type=float, default=0)
    args = parser.parse_args()
    install_hooks(args)
    engine = Engine(args.backends, lock_timeout=args.lock_timeout, retries=args.retries)
    try:
        if args.remove:
            result = {"removed": engine.remove(args.name).removed}
        else:
            change = engine.install(args.name, [args.uri], {"uri": args.uri}, force=args.force)
            result = {"changed": change.changed, "reason": change.reason, "digest": change.digest}
    except BackendError as exc:
        print(str(exc))
        return 3
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
