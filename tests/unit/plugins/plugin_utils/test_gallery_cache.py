# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller's gallery cache and parser on files (the HTTP side: tests/integration/engine)."""

from __future__ import annotations

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.errors import GalleryError
from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import GalleryCache, expand_url

GALLERY = b"""
- &meta
  name: llama-cpp
  alias: llama-cpp
  capabilities: {default: cpu-llama-cpp}
- !!merge <<: *meta
  name: cpu-llama-cpp
  uri: quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp
"""


def test_anchors_and_merge_keys_are_resolved(tmp_path):
    index = tmp_path / "index.yaml"
    index.write_bytes(GALLERY)
    entries = GalleryCache(str(tmp_path / "c"), run_id="1").load({"name": "f", "url": "file://%s" % index})
    assert entries[1]["capabilities"] == {"default": "cpu-llama-cpp"} and entries[1]["alias"] == "llama-cpp"


@pytest.mark.parametrize("content, found", [(b"a: 1\n", "a mapping with keys a"), (b"<html>hi</html>", "text starting"),
                                            (b"", "an empty document"), (None, "No such file")])
def test_unreadable_gallery_file_names_gallery_and_what_was_found(tmp_path, content, found):
    path = tmp_path / "gallery.yaml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GalleryError, match="gallery mine .*%s" % found):
        GalleryCache(str(tmp_path / "c"), run_id="1").load({"name": "mine", "url": str(path)})


def test_github_urls():
    assert expand_url("github:mudler/LocalAI/backend/index.yaml@master") == \
        "https://raw.githubusercontent.com/mudler/LocalAI/master/backend/index.yaml"
    assert expand_url("github:o/r/p.yaml").endswith("/o/r/main/p.yaml")
    with pytest.raises(GalleryError, match="expected github:owner/repo/path"):
        expand_url("github:onlyowner")


def test_github_double_slash_urls_as_localai_reads_them():
    """pkg/downloader/uri.go: GithubURI2 = "github://", resolved like "github:"."""
    assert expand_url("github://mudler/LocalAI/backend/index.yaml@master") == \
        "https://raw.githubusercontent.com/mudler/LocalAI/master/backend/index.yaml"


def test_a_ref_url_names_the_gallery_file_next_to_it(tmp_path):
    """core/gallery/gallery.go findGalleryURLFromReferenceURL: url[:LastIndex("/")+1] + the file's content."""
    (tmp_path / "index-2026.yaml").write_bytes(GALLERY)
    (tmp_path / "index.ref").write_text("index-2026.yaml\n")
    entries = GalleryCache(str(tmp_path / "c"), run_id="1").load({"name": "f", "url": str(tmp_path / "index.ref")})
    assert [entry["name"] for entry in entries] == ["llama-cpp", "cpu-llama-cpp"]


@pytest.mark.parametrize("content", ["", "a.yaml\nb.yaml", "x" * 5000])
def test_a_ref_file_that_does_not_hold_one_name_is_refused(tmp_path, content):
    (tmp_path / "index.ref").write_text(content)
    with pytest.raises(GalleryError, match="invalid reference file .*index.ref: it must hold one file name"):
        GalleryCache(str(tmp_path / "c"), run_id="1").load({"name": "f", "url": str(tmp_path / "index.ref")})
