# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place an error becomes a task result (modules and action plugins alike), and task arguments become
what a result may show of them."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.localai.gallery.plugins.module_utils.errors import AllSourcesFailedError, MissingLibraryError

CENSORED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def failure_result(exc: Exception, failure: str, where: str | None = None) -> dict:
    """{msg, exception[, attempts]}: one line that starts with `failure` (an OSError also names `where`), the
    traceback for -vvv, and every source tried when all failed."""
    if isinstance(exc, MissingLibraryError):
        message = missing_required_lib(exc.library, reason=exc.reason)
    elif isinstance(exc, OSError) and where:
        message = "%s in %s: %s" % (failure, where, exc)
    else:
        message = "%s: %s" % (failure, exc)
    result = {"msg": message, "exception": traceback.format_exc()}
    if isinstance(exc, AllSourcesFailedError):
        result["attempts"] = [{"source": source, "error": str(error)} for source, error in exc.attempts]
    return result


def redact_url(url: str) -> str:
    """A URL without the credentials it may carry (`https://user:token@host/x` -> `https://host/x`)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return "%s://%s%s%s" % (scheme, authority.rpartition("@")[2], slash, path)


def censored_args(args: dict, argument_spec: dict) -> dict:
    """Task arguments as a result may show them: options the spec marks no_log replaced, credentials cut out of
    gallery URLs."""
    censored = {}
    for key, value in args.items():
        if (argument_spec.get(key) or {}).get("no_log") and value:
            value = CENSORED
        elif key == "galleries" and isinstance(value, list):
            value = [dict(item, url=redact_url(str(item.get("url") or "")),
                          mirrors=[redact_url(str(mirror)) for mirror in item.get("mirrors") or []])
                     if isinstance(item, dict) else item for item in value]
        censored[key] = value
    return censored
