# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller's gallery cache against an HTTP server with ETags (once per run, mirrors, last good copy)."""

from __future__ import annotations

import pytest

from helpers.gallery_server import GalleryServer

from ansible_collections.localai.gallery.plugins.module_utils.errors import GalleryError
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import GalleryCache

GALLERY = b"""
- &meta
  name: llama-cpp
  alias: llama-cpp
  capabilities: {default: cpu-llama-cpp}
- !!merge <<: *meta
  name: cpu-llama-cpp
  uri: quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp
"""


@pytest.fixture
def server():
    gallery_server = GalleryServer({"/index.yaml": GALLERY, "/map.yaml": b"a: 1\n", "/page.html": b"<html>hi</html>",
                                    "/empty.yaml": b""})
    yield gallery_server
    gallery_server.stop()


def test_once_per_run_then_revalidated_with_etag(server, tmp_path):
    gallery = {"name": "g", "url": server.url + "/index.yaml"}
    for _host in range(5):
        entries = GalleryCache(str(tmp_path), run_id="run-1").load(gallery)
    assert server.requests == [("/index.yaml", 200)]
    assert entries[1]["capabilities"] == {"default": "cpu-llama-cpp"} and entries[1]["alias"] == "llama-cpp"
    GalleryCache(str(tmp_path), run_id="run-2").load(gallery)
    assert server.requests[-1] == ("/index.yaml", 304)


def test_mirrors_then_last_good_copy(server, tmp_path):
    gallery = {"name": "g", "url": server.url + "/gone.yaml", "mirrors": [server.url + "/index.yaml"]}
    assert len(GalleryCache(str(tmp_path), run_id="1").load(gallery)) == 2
    server.documents.pop("/index.yaml")
    cache = GalleryCache(str(tmp_path), run_id="2")
    assert len(cache.load(gallery)) == 2
    assert "every source failed" in cache.warnings[0] and "last good copy" in cache.warnings[0]


@pytest.mark.parametrize("path, found", [("/map.yaml", "a mapping with keys a"), ("/page.html", "text starting"),
                                         ("/empty.yaml", "an empty document"), ("/missing.yaml", "HTTP 404")])
def test_unreadable_gallery_names_gallery_and_what_was_found(server, tmp_path, path, found):
    with pytest.raises(GalleryError, match="gallery mine .*%s" % found):
        GalleryCache(str(tmp_path), run_id="1").load({"name": "mine", "url": server.url + path})
