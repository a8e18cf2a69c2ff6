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

import fcntl
import hashlib
import json
import os
import time
import urllib.error
from contextlib import contextmanager

import yaml
from ansible.module_utils.urls import open_url

from ansible_collections.localai.gallery.plugins.module_utils.errors import GalleryError
from ansible_collections.localai.gallery.plugins.module_utils.paths import local_path

try:
    from yaml import CSafeLoader as GalleryLoader
except ImportError:
    from yaml import SafeLoader as GalleryLoader

DEFAULT_GALLERIES = [{"name": "localai", "url": "github:mudler/LocalAI/backend/index.yaml@master"}]
CACHE_DIR_ENV = "LOCALAI_GALLERY_CACHE_DIR"


def expand_url(url: str) -> str:
    """`github:owner/repo/path@branch` -> the raw file of that branch (default main); other forms unchanged."""
    if not url.startswith("github:"):
        return url
    spec, _sep, branch = url[len("github:"):].partition("@")
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
    """The YAML list of entries (anchors and merge keys resolved), as plain JSON-able dicts."""
    try:
        document = yaml.load(data, Loader=GalleryLoader)  # nosec - a safe loader
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0]
        raise GalleryError("gallery %s (%s) is not valid YAML: %s" % (gallery_name, source, first_line))
    if not isinstance(document, list):
        raise GalleryError("gallery %s (%s) is not a list of backends: found %s"
                           % (gallery_name, source, describe_document(document)))
    return json.loads(json.dumps([entry for entry in document if isinstance(entry, dict)], default=str))


def current_run_id() -> str:
    """The ansible process this worker was forked from (with its start time, so a reused pid is another run)."""
    parent = os.getppid()
    try:
        with open("/proc/%d/stat" % parent, encoding="utf-8") as stat_file:
            started = stat_file.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "?"
    return "%d-%s" % (parent, started)


class GalleryCache:
    """Gallery indexes on the controller, read at most once per playbook run and kept as a last good copy.

    Each URL's entries are stored as JSON under `cache_dir` with the ETag and the id of the run that fetched
    them; a file lock makes the forks of one run wait for the first one instead of all downloading.
    """

    def __init__(self, cache_dir: str | None = None, run_id: str | None = None, resolve_path=None,
                 validate_certs: bool = True) -> None:
        self.cache_dir = cache_dir or os.environ.get(CACHE_DIR_ENV) or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "localai.gallery")
        self.run_id = run_id or current_run_id()
        self.resolve_path = resolve_path or os.path.abspath
        self.validate_certs = validate_certs
        self.warnings: list[str] = []

    def _paths(self, url: str) -> tuple[str, str]:
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        return os.path.join(self.cache_dir, key + ".json"), os.path.join(self.cache_dir, key + ".lock")

    @contextmanager
    def _locked(self, lock_path: str):
        os.makedirs(self.cache_dir, exist_ok=True)
        with open(lock_path, "a", encoding="utf-8") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield

    @staticmethod
    def _read(cache_path: str) -> dict | None:
        try:
            with open(cache_path, encoding="utf-8") as cache_file:
                return json.load(cache_file)
        except (OSError, ValueError):
            return None

    def _write(self, cache_path: str, record: dict) -> None:
        partial = "%s.%d.tmp" % (cache_path, os.getpid())
        with open(partial, "w", encoding="utf-8") as cache_file:
            json.dump(record, cache_file)
        os.replace(partial, cache_path)

    def _fetch(self, source: str, etag: str | None) -> tuple[bytes | None, str | None]:
        """(body, etag); body None means 304 Not Modified."""
        url = expand_url(source)
        if url.startswith(("http://", "https://")):
            headers = {"If-None-Match": etag} if etag else {}
            try:
                response = open_url(url, headers=headers, validate_certs=self.validate_certs, timeout=60,
                                    http_agent="localai.gallery")
                return response.read(), response.headers.get("ETag")
            except urllib.error.HTTPError as exc:
                if exc.code == 304:
                    return None, etag
                raise GalleryError("HTTP %d" % exc.code)
            except (urllib.error.URLError, OSError) as exc:
                raise GalleryError(str(getattr(exc, "reason", exc)))
        path = self.resolve_path(local_path(url))
        try:
            with open(path, "rb") as gallery_file:
                return gallery_file.read(), None
        except OSError as exc:
            raise GalleryError("cannot read %s: %s" % (path, exc.strerror or exc))

    def load(self, gallery: dict) -> list[dict]:
        """Entries of one gallery {name, url, mirrors}; fetched at most once per run."""
        name, url = gallery.get("name") or gallery.get("url"), gallery["url"]
        cache_path, lock_path = self._paths(url)
        cached = self._read(cache_path)
        if cached and cached.get("run_id") == self.run_id:
            return cached["entries"]
        with self._locked(lock_path):
            cached = self._read(cache_path)
            if cached and cached.get("run_id") == self.run_id:
                return cached["entries"]
            failures = []
            for source in [url] + list(gallery.get("mirrors") or []):
                try:
                    etag = cached.get("etag") if cached and cached.get("source") == source else None
                    body, new_etag = self._fetch(source, etag)
                    entries = cached["entries"] if body is None else parse_gallery(body, name, source)
                except GalleryError as exc:
                    failures.append("%s: %s" % (source, exc))
                    continue
                self._write(cache_path, {"url": url, "source": source, "etag": new_etag, "run_id": self.run_id,
                                         "fetched_at": time.time(), "entries": entries})
                return entries
            if cached:
                self.warnings.append("gallery %s: every source failed (%s); using the last good copy from %s"
                                     % (name, "; ".join(failures),
                                        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(cached["fetched_at"]))))
                return cached["entries"]
            raise GalleryError("gallery %s is unreadable and has no cached copy: %s" % (name, "; ".join(failures)))
