# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: the `galleries` option, read through the once-per-run cache, as lists of entries."""

from __future__ import annotations

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.localai.gallery.plugins.plugin_utils.gallery_cache import DEFAULT_GALLERIES, GalleryCache

# What the targets need of each entry to decide an upgrade (descriptions and icons stay on the controller).
UPGRADE_FIELDS = ("name", "version", "uri")


def gallery_list(raw) -> list[dict]:
    """The galleries option; ad hoc (`-a galleries=...`) it may be a JSON/YAML list or one URL."""
    galleries = raw or DEFAULT_GALLERIES
    if isinstance(galleries, str):
        try:
            parsed = yaml.safe_load(galleries)
        except yaml.YAMLError:
            parsed = None
        galleries = parsed if isinstance(parsed, list) else [{"name": "gallery", "url": galleries.strip()}]
    if not isinstance(galleries, list) or not all(isinstance(item, dict) and item.get("url") for item in galleries):
        raise AnsibleActionFail("galleries must be a list of {name, url, mirrors} dictionaries, each with a url")
    return galleries


def validate_certs_option(module_args: dict) -> bool:
    """validate_certs as the module would read it: `no`, `false`, `0` (ad hoc strings) are False."""
    try:
        return boolean(module_args.get("validate_certs", True), strict=True)
    except TypeError:
        raise AnsibleActionFail("validate_certs must be a boolean, got %r" % (module_args.get("validate_certs"),))


def load_galleries(raw, resolve_path, validate_certs: bool) -> tuple[list[dict], list[str]]:
    """([{name, url, mirrors, entries}], warnings): each gallery read at most once per playbook run."""
    cache = GalleryCache(resolve_path=resolve_path, validate_certs=validate_certs)
    loaded = [dict(gallery, entries=cache.load(gallery)) for gallery in gallery_list(raw)]
    return loaded, cache.warnings


def upgrade_index(galleries: list[dict]) -> list[dict]:
    """Every entry with a name, in lookup order, cut to what the upgrade check reads."""
    index = []
    for gallery in galleries:
        for entry in gallery["entries"]:
            if entry.get("name"):
                slim = {field: str(entry[field]) for field in UPGRADE_FIELDS if entry.get(field)}
                slim["gallery"] = gallery.get("name") or ""
                index.append(slim)
    return index
