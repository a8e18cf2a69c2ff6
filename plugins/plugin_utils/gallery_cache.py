# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: read galleries once per playbook run, whatever the number of hosts and forks.

Each gallery index is cached on the controller as parsed JSON, with the ETag it came with and the id of
the run that fetched it. Workers of the same run (forks of one ansible-playbook process) read the
cache; the first worker of a new run revalidates it with one conditional request. When the URL and
every mirror fail, the last good copy is served with a warning.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error

import yaml
from ansible.module_utils.urls import open_url

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError, GalleryError
from ansible_collections.localai.gallery.plugins.module_utils.results import redact_url
from ansible_collections.localai.gallery.plugins.module_utils.oci.responses import SpeedGuard, read_limited
from ansible_collections.localai.gallery.plugins.module_utils.uris import local_path
from ansible_collections.localai.gallery.plugins.plugin_utils.run_cache import RunCache

try:
    from yaml import CSafeLoader as GalleryLoader
except ImportError:
    from yaml import SafeLoader as GalleryLoader

MAX_REFERENCE_BYTES = 4096  # a .ref file holds one file name
# LocalAI's own default (core/config/runtime_settings_startup.go DefaultBackendGalleriesJSON), so that
# metadata.json records the gallery_url LocalAI records.
DEFAULT_GALLERIES = [{"name": "localai", "url": "https://index.localai.io/backends",
                      "mirrors": ["github:mudler/LocalAI/backend/index.yaml@master"]}]
# LocalAI's real backend index is 0.3 MB and 44,000 values once its anchors are expanded: these bounds leave it
# room to grow a hundredfold, and stop a "billion laughs" document (a few hundred bytes of nested aliases that
# expand to billions of values) in a fraction of a second instead of many GB later.
MAX_GALLERY_BYTES = 32 << 20
MAX_GALLERY_VALUES = 2_000_000
GALLERY_TIMEOUT = 60


def _check_expansion(document) -> None:
    """Count the values the document holds once aliases are expanded, stopping at MAX_GALLERY_VALUES (PyYAML
    shares an aliased value; it is converting it to JSON that would copy it every time it is referred to)."""
    pending, seen = [document], 0
    while pending:
        value = pending.pop()
        seen += 1
        if seen > MAX_GALLERY_VALUES:
            raise ValueError("it expands to more than %d values (aliases nested too deep, or a loop)"
                             % MAX_GALLERY_VALUES)
        if isinstance(value, dict):
            pending.extend(value.values())
            seen += len(value)
        elif isinstance(value, list):
            pending.extend(value)


def expand_url(url: str) -> str:
    """`github:owner/repo/path@branch` (or `github://...`, pkg/downloader/uri.go GithubURI2) -> the raw file of
    that branch (default main); other forms unchanged."""
    if not url.startswith("github:"):
        return url
    prefix = "github://" if url.startswith("github://") else "github:"
    spec, _sep, branch = url[len(prefix):].partition("@")
    parts = spec.split("/", 2)
    if len(parts) < 3 or not all(parts):
        raise GalleryError("invalid gallery URL %r: expected github:owner/repo/path[@branch]" % url)
    return "https://raw.githubusercontent.com/%s/%s/%s/%s" % (parts[0], parts[1], branch or "main", parts[2])


def describe_document(document) -> str:
    if document is None:
        return "an empty document"
    if isinstance(document, dict):
        return "a mapping with keys %s" % ", ".join(sorted(str(key) for key in document)[:5])
    if isinstance(document, str):
        return "text starting %r" % document.strip()[:40]
    return "a %s" % type(document).__name__


def parse_gallery(data: bytes, gallery_name: str, source: str) -> list[dict]:
    """The YAML list of entries (anchors and merge keys resolved), as plain JSON-able dicts; a document too
    large, or expanding to too many values, is refused."""
    source = redact_url(source)
    if len(data) > MAX_GALLERY_BYTES:
        raise GalleryError("gallery %s (%s) is larger than %d bytes: refused"
                           % (gallery_name, source, MAX_GALLERY_BYTES))
    try:
        document = yaml.load(data, Loader=GalleryLoader)  # nosec - a safe loader
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0][:200]
        raise GalleryError("gallery %s (%s) is not valid YAML: %s" % (gallery_name, source, first_line))
    except RecursionError:
        raise GalleryError("gallery %s (%s) nests too deep to be a gallery: refused" % (gallery_name, source))
    if not isinstance(document, list):
        raise GalleryError("gallery %s (%s) is not a list of backends: found %s"
                           % (gallery_name, source, describe_document(document)))
    entries = [entry for entry in document if isinstance(entry, dict)]
    try:
        _check_expansion(entries)
    except ValueError as exc:
        raise GalleryError("gallery %s (%s) is refused: %s" % (gallery_name, source, exc))
    return json.loads(json.dumps(entries, default=str))


class GalleryCache:
    """Gallery indexes on the controller, read at most once per playbook run and kept as a last good copy.

    Each URL's entries are stored as JSON under `cache_dir` with the ETag and the id of the run that fetched
    them; a file lock makes the forks of one run wait for the first one instead of all downloading.
    """

    def __init__(self, cache_dir: str | None = None, run_id: str | None = None, resolve_path=None,
                 validate_certs: bool = True) -> None:
        self.records = RunCache("", cache_dir, run_id)
        self.cache_dir = self.records.directory
        self.run_id = self.records.run_id
        self.resolve_path = resolve_path or os.path.abspath
        self.validate_certs = validate_certs
        self.warnings: list[str] = []

    def _fetch(self, source: str, etag: str | None) -> tuple[bytes | None, str | None]:
        """(body, etag); body None means 304 Not Modified. A URL ending in `.ref` names a small file that holds
        the gallery's file name, next to it (core/gallery/gallery.go findGalleryURLFromReferenceURL)."""
        url = expand_url(source)
        if url.endswith(".ref"):
            reference = (self._read(url, None)[0] or b"")[:MAX_REFERENCE_BYTES + 1]
            target = reference.decode("utf-8", "replace").strip()
            if not target or len(reference) > MAX_REFERENCE_BYTES or any(char in target for char in "\r\n\0"):
                raise GalleryError("invalid reference file %s: it must hold one file name" % redact_url(url))
            url = url[:url.rindex("/") + 1] + target
        return self._read(url, etag)

    def _read(self, url: str, etag: str | None) -> tuple[bytes | None, str | None]:
        if url.startswith(("http://", "https://")):
            headers = {"If-None-Match": etag} if etag else {}
            try:
                response = open_url(url, headers=headers, validate_certs=self.validate_certs, timeout=GALLERY_TIMEOUT,
                                    http_agent="localai.gallery")
                body = read_limited(response, MAX_GALLERY_BYTES, SpeedGuard(GALLERY_TIMEOUT, redact_url(url)),
                                    "the gallery at %s" % redact_url(url))
                return body, response.headers.get("ETag")
            except urllib.error.HTTPError as exc:
                if exc.code == 304:
                    return None, etag
                raise GalleryError("HTTP %d" % exc.code)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                raise GalleryError(str(getattr(exc, "reason", exc)))
            except BackendError as exc:  # too large, or stalled
                raise GalleryError(str(exc))
        path = self.resolve_path(local_path(url))
        try:
            with open(path, "rb") as gallery_file:
                return gallery_file.read(MAX_GALLERY_BYTES + 1), None
        except OSError as exc:
            raise GalleryError("cannot read %s: %s" % (path, exc.strerror or exc))

    def load(self, gallery: dict) -> list[dict]:
        """Entries of one gallery {name, url, mirrors}; fetched at most once per run."""
        name, url = gallery.get("name") or redact_url(gallery["url"]), gallery["url"]
        cache_path, lock_path = self.records.paths(url)
        cached = self.records.read(cache_path)
        if cached and cached.get("run_id") == self.run_id:
            return cached["entries"]
        with self.records.locked(lock_path):
            cached = self.records.read(cache_path)
            if cached and cached.get("run_id") == self.run_id:
                return cached["entries"]
            failures = []
            for source in [url] + list(gallery.get("mirrors") or []):
                try:
                    etag = cached.get("etag") if cached and cached.get("source") == redact_url(source) else None
                    body, new_etag = self._fetch(source, etag)
                    entries = cached["entries"] if body is None else parse_gallery(body, name, source)
                except GalleryError as exc:
                    failures.append("%s: %s" % (redact_url(source), exc))
                    continue
                self.records.write(cache_path, {"url": redact_url(url), "source": redact_url(source),
                                                "etag": new_etag,
                                                "run_id": self.run_id, "fetched_at": time.time(), "entries": entries})
                return entries
            if cached:
                self.warnings.append("gallery %s: every source failed (%s); using the last good copy from %s"
                                     % (name, "; ".join(failures),
                                        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(cached["fetched_at"]))))
                return cached["entries"]
            raise GalleryError("gallery %s is unreadable and has no cached copy: %s" % (name, "; ".join(failures)))
