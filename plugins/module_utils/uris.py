# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a source uri is, decided once for the controller and the targets, and the order LocalAI tries uris in.

The decision reads only the text (the controller cannot look at a target's filesystem): `ocifile://PATH` is an
OCI archive; `http(s)://` URLs and names ending in .tar, .tar.gz, .tgz, .tar.zst or .tar.zstd are tarballs;
`file://`, `/`, `./` and `../` are directories; anything else must parse as an image reference (`oci://` and
`docker://` prefixes allowed). Another scheme (`ftp://`, `gopher://`) is refused before anything is created.
"""

from __future__ import annotations

import re

from ansible_collections.localai.gallery.plugins.module_utils.errors import SourceError
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import is_image_reference, parse_reference

IMAGE, OCIFILE, TARBALL, DIRECTORY = "image", "ocifile", "tarball", "directory"
OCIFILE_SCHEME = "ocifile://"
FILE_SCHEME = "file://"
TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd")
DIRECTORY_PREFIXES = (FILE_SCHEME, "/", "./", "../")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
SUPPORTED_SCHEMES = ("http", "https", "file", "ocifile", "oci", "docker")


def local_path(uri: str) -> str:
    """`file:///srv/x` -> `/srv/x`; a plain path stays as it is."""
    return uri[len(FILE_SCHEME):] if uri.startswith(FILE_SCHEME) else uri


def classify(uri: str) -> str:
    """IMAGE, OCIFILE, TARBALL or DIRECTORY; SourceError naming the scheme, or the form, when it is none."""
    scheme = _SCHEME.match(uri)
    if scheme and scheme.group(1).lower() not in SUPPORTED_SCHEMES:
        raise SourceError("unsupported URI scheme %s:// in %r: use an image reference (oci:// allowed), ocifile://PATH, "
                          "an http(s):// tarball, file://PATH or a directory path" % (scheme.group(1), uri[:200]))
    if uri.startswith(OCIFILE_SCHEME):
        return OCIFILE
    if uri.startswith(("http://", "https://")) or uri.endswith(TARBALL_SUFFIXES):
        return TARBALL
    if uri.startswith(DIRECTORY_PREFIXES):
        return DIRECTORY
    if is_image_reference(uri):
        return IMAGE
    raise SourceError("cannot use %r as a source: not an image reference, ocifile://, a directory (start a relative "
                      "path with ./) or a tarball URL" % uri[:200])


# LocalAI's defaults (core/gallery/backends.go defaultLatestTag, defaultMasterTag, defaultDevSuffix), changed there
# by LOCALAI_BACKEND_IMAGES_RELEASE_TAG, LOCALAI_BACKEND_IMAGES_BRANCH_TAG and LOCALAI_PREFER_DEV_BACKENDS, here by
# the release_tag, branch_tag and prefer_development options.
FALLBACK_TAG_SPEC = {"release_tag": {"type": "str", "default": "latest"},
                     "branch_tag": {"type": "str", "default": "master"},
                     "prefer_development": {"type": "bool", "default": False}}
DEFAULT_TAGS = {key: spec["default"] for key, spec in FALLBACK_TAG_SPEC.items()}
DEV_SUFFIX = "development"


def fallback_tags(options: dict | None) -> dict:
    """The tag settings of a module's options (or an entry's `fallback_tags`), LocalAI's defaults for unset ones."""
    options = options or {}
    return {key: options.get(key) if options.get(key) not in (None, "") else default
            for key, default in DEFAULT_TAGS.items()}


def fallback_uris(uri: str, mirrors: list[str] | None = None, tags: dict | None = None) -> list[str]:
    """LocalAI's order (core/gallery/backends.go InstallBackend): the uri, each mirror, then the release tag's
    `latest-` -> `master-`, then that plus `-development`. With prefer_development the development image (the
    uri with `master-` for `latest-`) comes first and the released uri right after it, before the mirrors."""
    tags = fallback_tags(tags)
    release, branch = tags["release_tag"] + "-", tags["branch_tag"] + "-"
    mirrors = [mirror for mirror in mirrors or [] if mirror]
    chain = [uri] + mirrors
    if is_image_reference(uri):
        reference = parse_reference(uri)
        if reference.tag and release in reference.tag and not reference.digest:
            branch_tag = reference.tag.replace(release, branch, 1)
            if tags["prefer_development"] and branch not in reference.tag:  # developmentURI
                chain = [str(reference.with_tag(branch_tag)), uri] + mirrors
            chain.append(str(reference.with_tag(branch_tag)))
            if "-" + DEV_SUFFIX not in branch_tag:
                chain.append(str(reference.with_tag(branch_tag + "-" + DEV_SUFFIX)))
    unique: list[str] = []
    for item in chain:  # a source listed twice (a mirror naming a fallback tag) is tried once
        if item not in unique:
            unique.append(item)
    return unique
