# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The same image installed through every inflater route this machine has gives the same tree, byte for byte:
contents, modes, mtimes, links, metadata.json. make test installs every route (pigz, igzip, zlib-ng, isal)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from helpers.engine import Engine
from helpers.images import backend_files, entry
from helpers.inflater_routes import GZIP_ROUTES, ZSTD_ROUTES, forced


def tree(root: str) -> dict:
    """Every entry below root: (kind, mode, mtime, content or link target)."""
    found = {}
    for directory, names, files in os.walk(root):
        for name in sorted(names + files):
            path = os.path.join(directory, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, root)
            if relative.startswith(".localai-gallery"):
                continue
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                with open(path, "rb") as handle:
                    content = handle.read()
                mtime = int(info.st_mtime)
                if name == "metadata.json":  # everything but the time of the install
                    content, mtime = dict(json.loads(content), installed_at=""), 0
                found[relative] = ("file", stat.S_IMODE(info.st_mode), mtime, content)
    return found


def layers() -> list[list[dict]]:
    files = backend_files("routes", extra=200)
    files += [entry("lib/big.bin", os.urandom(1 << 20) * 3), entry("lib/link", kind="symlink", target="big.bin"),
              entry("lib/hard", kind="hardlink", target="lib/big.bin")]
    return [files, [entry("lib/second.txt", "second layer\n")]]


@pytest.fixture(scope="module")
def images(registry, pusher):
    return {compression: "%s/routes/%s:t" % (registry.host, compression)
            for compression in ("gzip", "zstd")
            if pusher.push_image("routes/" + compression, "t", layers(), compression=compression)}


@pytest.mark.parametrize("compression, routes", [("gzip", GZIP_ROUTES), ("zstd", ZSTD_ROUTES)])
def test_every_route_installs_the_same_tree(monkeypatch, tmp_path, images, compression, routes):
    trees, used = {}, []
    for route in routes:
        with monkeypatch.context() as patch:
            try:
                chosen = forced(patch, route)
            except pytest.skip.Exception:
                continue
            backends = str(tmp_path / route)
            os.mkdir(backends)
            result = Engine(backends, inflaters=chosen).install("routes", [images[compression]])
            assert result.changed and result.decompressor == route
            trees[route] = tree(backends)
            used.append(route)
    assert len(used) >= 1
    reference = trees[used[0]]
    assert len(reference) > 200
    for route in used[1:]:
        assert trees[route] == reference, "%s wrote another tree than %s" % (route, used[0])
    if len(used) < len(routes):
        pytest.skip("routes not on this machine: %s (make test installs them)" % sorted(set(routes) - set(used)))
