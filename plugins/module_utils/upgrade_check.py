# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which installed backends LocalAI would offer to upgrade (core/gallery/upgrade.go CheckUpgradesAgainst).

For one host, rule by rule as upstream:
- system rows, and rows keyed by anything but their metadata `name` (the synthetic alias rows), are skipped;
- a non-development `X` is skipped when `X-development` is installed (drop-in replacement guard);
- the gallery entry is found by the recorded `name` (case-insensitive, or `gallery@name`), over every
  gallery unfiltered by capability; no entry, no row;
- versions on both sides decide (different = upgrade); a gallery version with none recorded = upgrade;
- otherwise, for an image uri, the digest the tag names now (one manifest request) against the recorded
  digest; none recorded = upgrade; a failed request skips the row (upstream logs and continues).
Deviation (docs/behaviour.md, Sources): any image reference is asked, not only quay.io/ghcr.io/docker.io/oci://
prefixes, and registry mirrors apply, as they do for installs.
"""

from __future__ import annotations

from ansible_collections.localai.gallery.plugins.module_utils.errors import BackendError
from ansible_collections.localai.gallery.plugins.module_utils.oci.reference import is_image_reference, strip_scheme

DEV_SUFFIX = "-development"
UPGRADE_FIELDS = ("installed_version", "available_version", "installed_digest", "available_digest")


def find_gallery_entry(index: list[dict], name: str) -> dict | None:
    """FindGalleryElement: `gallery@name` against "<gallery>@<name>", else the name, case-insensitively; first wins."""
    lowered = name.lower()
    if "@" in name:
        return next((entry for entry in index
                     if ("%s@%s" % (entry.get("gallery") or "", entry.get("name") or "")).lower() == lowered), None)
    return next((entry for entry in index if str(entry.get("name") or "").lower() == lowered), None)


def check_upgrades(rows: dict, index: list[dict], remote_digest) -> tuple[dict, dict, list[str]]:
    """(upgrades, checked, warnings).

    `upgrades` is LocalAI's map {name: UpgradeInfo} (only the fields upstream sets); `checked` has, for every
    name that reached a decision, upgrade_available and installed/available version and digest.
    `remote_digest(uri, mirrors)` returns the top-level digest, asking the sources install would try (the uri,
    the entry's alternates, through registry_mirrors), or raises BackendError; such a row is `checked` with
    `upgrade_check_error` saying why, so a report never counts it as up to date.
    """
    installed_names = {row["metadata"].get("name") for row in rows.values()
                       if not row["is_system"] and row["metadata"].get("name")}
    upgrades, checked, warnings = {}, {}, []
    for key, row in sorted(rows.items()):
        if row["is_system"]:
            continue
        name = row["metadata"].get("name") or row["directory"]
        if key != name:
            continue
        if not name.endswith(DEV_SUFFIX) and name + DEV_SUFFIX in installed_names:
            continue
        entry = find_gallery_entry(index, name)
        if entry is None:
            continue
        installed = {"installed_version": row["metadata"].get("version") or "",
                     "installed_digest": row["metadata"].get("digest") or ""}
        gallery_version = entry.get("version") or ""
        if gallery_version:
            flagged = gallery_version != installed["installed_version"]
            checked[name] = dict(installed, available_version=gallery_version, available_digest="",
                                 upgrade_available=flagged)
            if flagged:
                upgrades[name] = {"backend_name": name, "installed_version": installed["installed_version"],
                                  "available_version": gallery_version}
            continue
        uri = entry.get("uri") or ""
        if not uri or not is_image_reference(strip_scheme(uri)):
            continue
        try:
            available = remote_digest(uri, entry.get("mirrors") or [])
        except BackendError as exc:
            warnings.append("upgrade check of %s skipped: %s" % (name, exc))
            checked[name] = dict(installed, available_version="", available_digest="", upgrade_available=False,
                                 upgrade_check_error=str(exc))
            continue
        flagged = not installed["installed_digest"] or available != installed["installed_digest"]
        checked[name] = dict(installed, available_version="", available_digest=available, upgrade_available=flagged)
        if flagged:
            upgrades[name] = {"backend_name": name, "installed_digest": installed["installed_digest"],
                              "available_digest": available}
    return upgrades, checked, warnings


def annotate_rows(rows: dict, checked: dict) -> None:
    """Every row gets upgrade_available; rows whose name was checked get the versions and digests too."""
    for key, row in rows.items():
        info = checked.get(key)
        row["upgrade_available"] = bool(info and info["upgrade_available"])
        if info:
            row.update({field: info[field] for field in UPGRADE_FIELDS})
            if info.get("upgrade_check_error"):
                row["upgrade_check_error"] = info["upgrade_check_error"]
