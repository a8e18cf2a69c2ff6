# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A multi-layer image with whiteouts and links extracts to the same tree as `umoci raw unpack`."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from helpers.images import entry
from helpers.trees import snapshot
from ansible_collections.localai.gallery.plugins.module_utils.oci.client import RegistryClient
from ansible_collections.localai.gallery.plugins.module_utils.sources import ImageSource

pytestmark = pytest.mark.skipif(not (shutil.which("skopeo") and shutil.which("umoci")), reason="needs skopeo and umoci")

LAYERS = [
    [entry("run.sh", "#!/bin/sh\n", mode=0o755), entry("lib", kind="dir"), entry("lib/a.so", "a" * 3000),
     entry("lib/b.so", "b"), entry("old", kind="dir"), entry("old/x", "x"), entry("old/sub/y", "y"),
     entry("keep/z", "z"), entry("share/doc.txt", "doc", mode=0o600)],
    [entry("lib/.wh.b.so"), entry("old/.wh..wh..opq"), entry("old/new", "new"),
     entry("lib/liba.so", kind="symlink", target="a.so"), entry("lib/hard.so", kind="hardlink", target="lib/a.so"),
     entry("bin", kind="dir", mode=0o750), entry("bin/tool", "tool", mode=0o4755)],
    [entry("keep/.wh.z"), entry("lib/a.so", "A" * 10), entry("share", kind="symlink", target="lib")],
]


def test_same_tree_as_umoci(registry, pusher, tmp_path):
    pusher.push_image("umoci/compare", "t", LAYERS)
    ours = tmp_path / "ours"
    ours.mkdir()
    source = ImageSource("%s/umoci/compare:t" % registry.host,
                         RegistryClient(wanted_platform={"os": "linux", "architecture": "amd64", "variant": None}))
    ours_fd = os.open(str(ours), os.O_RDONLY | os.O_DIRECTORY)
    try:
        source.fill(ours_fd)
    finally:
        os.close(ours_fd)
    layout = tmp_path / "layout"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "docker://%s/umoci/compare:t" % registry.host,
                    "oci:%s:t" % layout], check=True, capture_output=True)
    theirs = tmp_path / "theirs"
    subprocess.run(["umoci", "raw", "unpack", "--rootless", "--image", "%s:t" % layout, str(theirs)], check=True,
                   capture_output=True)
    ours_tree, theirs_tree = snapshot(str(ours), 0o777), snapshot(str(theirs), 0o777)  # umoci keeps setuid
    # umoci keeps a directory's own mode; we add u+rwx so later entries can be written (docs/behaviour.md).
    theirs_tree = {path: (kind, oct(int(mode, 8) | 0o700)) if kind == "dir" else value
                   for path, value in theirs_tree.items() for kind, mode in [value[:2]]}
    assert ours_tree == theirs_tree
    assert ours_tree["lib/a.so"][2] == b"A" * 10 and "lib/b.so" not in ours_tree and "keep/z" not in ours_tree
    assert sorted(path for path in ours_tree if path.startswith("old/")) == ["old/new"]
    assert os.stat(ours / "lib" / "hard.so").st_ino != os.stat(ours / "lib" / "a.so").st_ino  # a.so was replaced
