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


def fallback_uris(uri: str, mirrors: list[str] | None = None) -> list[str]:
    """LocalAI's order: the uri, each mirror, then `latest-` -> `master-`, then that plus `-development`."""
    chain = [uri] + [mirror for mirror in mirrors or [] if mirror]
    if is_image_reference(uri):
        reference = parse_reference(uri)
        if reference.tag and "latest-" in reference.tag and not reference.digest:
            master_tag = reference.tag.replace("latest-", "master-", 1)
            chain.append(str(reference.with_tag(master_tag)))
            if not master_tag.endswith("-development"):
                chain.append(str(reference.with_tag(master_tag + "-development")))
    unique: list[str] = []
    for item in chain:  # a source listed twice (a mirror naming a fallback tag) is tried once
        if item not in unique:
            unique.append(item)
    return unique
