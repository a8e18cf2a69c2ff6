# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller's gallery cache against an HTTP server with ETags (once per run, mirrors, last good copy)."""

from __future__ import annotations

import os

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


def test_credentials_in_a_gallery_url_stay_out_of_results_messages_and_the_cache(server, tmp_path):
    from ansible_collections.localai.gallery.plugins.module_utils.results import censored_args
    from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_lookup import find_entry, load_galleries, slim_entry

    secret_url = server.url.replace("http://", "http://reader:s3cret-token@") + "/index.yaml"
    galleries = [{"name": "private", "url": secret_url}]
    os.environ["LOCALAI_GALLERY_CACHE_DIR"] = str(tmp_path / "cache")
    try:
        loaded, _warnings = load_galleries(galleries, os.path.abspath, True)
        gallery, entry = find_entry(loaded, "cpu-llama-cpp")
        assert slim_entry(entry, gallery)["gallery"]["url"] == server.url + "/index.yaml"  # what metadata.json gets
        server.documents.pop("/index.yaml")
        with pytest.raises(GalleryError) as failure:
            GalleryCache(str(tmp_path / "other"), run_id="9").load({"name": "private", "url": secret_url})
    finally:
        del os.environ["LOCALAI_GALLERY_CACHE_DIR"]
    assert "s3cret-token" not in str(failure.value) and server.url in str(failure.value)
    for directory, _dirs, files in os.walk(tmp_path):
        for name in files:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                assert "s3cret-token" not in handle.read(), name
    assert "s3cret-token" not in str(censored_args({"name": "x", "galleries": galleries}, {}))


def test_an_oversized_gallery_is_refused_while_it_streams(server, tmp_path, monkeypatch):
    from ansible_collections.localai.gallery.plugins.plugin_utils import gallery_cache

    monkeypatch.setattr(gallery_cache, "MAX_GALLERY_BYTES", 64)
    with pytest.raises(GalleryError, match="gallery big .*declares 193 bytes, more than the 64 allowed: refused"):
        GalleryCache(str(tmp_path), run_id="1").load({"name": "big", "url": server.url + "/index.yaml"})


@pytest.mark.parametrize("mode", [0o777, 0o775])
def test_a_cache_directory_others_can_write_is_never_trusted(tmp_path, mode):
    from ansible_collections.localai.gallery.plugins.module_utils.errors import CacheDirectoryError

    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(mode)
    with pytest.raises(CacheDirectoryError, match="writable by nobody else"):
        GalleryCache(str(cache), run_id="1").load({"name": "g", "url": "/nonexistent.yaml"})


def test_a_cache_directory_of_an_earlier_release_is_tightened(server, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o755)
    GalleryCache(str(cache), run_id="1").load({"name": "g", "url": server.url + "/index.yaml"})
    assert cache.stat().st_mode & 0o777 == 0o700
