# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The uris LocalAI tries, in its order, with its tag settings (core/gallery/backends.go at 82c191a):

    func developmentURI(uri, latestTag, masterTag string) (string, bool) {
        if strings.Contains(uri, masterTag+"-") {
            return "", false
        }
        branchURI := strings.Replace(uri, latestTag+"-", masterTag+"-", 1)
    ...
    if systemState.PreferDevelopmentBackends {
        if devURI, ok := developmentURI(string(config.URI), latestTag, masterTag); ok {
            primaryURI = devURI
            mirrors = append([]string{string(config.URI)}, config.Mirrors...)
    ...
    fallbackURI := strings.Replace(string(config.URI), latestTag+"-", masterTag+"-", 1)
    ...
        if !strings.Contains(fallbackURI, "-"+devSuffix) {
            devFallbackURI := fallbackURI + "-" + devSuffix
"""

from __future__ import annotations

import pytest

from ansible_collections.localai.gallery.plugins.module_utils.uris import fallback_tags, fallback_uris

URI = "quay.io/go-skynet/local-ai-backends:latest-cpu-llama-cpp"
MIRROR = "localai/localai-backends:latest-cpu-llama-cpp"
MASTER = "quay.io/go-skynet/local-ai-backends:master-cpu-llama-cpp"


@pytest.mark.parametrize("tags, chain", [
    (None, [URI, MIRROR, MASTER, MASTER + "-development"]),
    ({"prefer_development": True}, [MASTER, URI, MIRROR, MASTER + "-development"]),  # the repeat of MASTER: once
    ({"release_tag": "v3.9.0", "branch_tag": "edge"}, [URI, MIRROR]),  # nothing to replace in latest-...
])
def test_localai_order_with_its_tag_settings(tags, chain):
    assert fallback_uris(URI, [MIRROR], tags) == chain


def test_other_release_and_branch_tags():
    """LOCALAI_BACKEND_IMAGES_RELEASE_TAG / _BRANCH_TAG: `latestTag = systemState.BackendImagesReleaseTag`."""
    uri = "registry.lan/backends:v3.9.0-cpu-whisper"
    assert fallback_uris(uri, None, {"release_tag": "v3.9.0", "branch_tag": "edge", "prefer_development": True}) == [
        "registry.lan/backends:edge-cpu-whisper", uri, "registry.lan/backends:edge-cpu-whisper-development"]


def test_a_branch_image_has_no_development_image_and_digests_no_fallbacks():
    assert fallback_uris(MASTER, None, {"prefer_development": True}) == [MASTER]
    pinned = "quay.io/go-skynet/local-ai-backends:latest-cpu-x@sha256:" + "a" * 64
    assert fallback_uris(pinned, None, {"prefer_development": True}) == [pinned]


def test_unset_settings_are_localai_defaults():
    """getFallbackTagValues: an empty setting is the default (latest, master)."""
    defaults = {"release_tag": "latest", "branch_tag": "master", "prefer_development": False}
    assert fallback_tags({"release_tag": "", "branch_tag": None}) == defaults
