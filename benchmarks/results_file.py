"""Where benchmark results go: printed, and written as JSON under benchmarks/results/ (git-ignored)."""

from __future__ import annotations

import json
import os


def write_result(path: str, result: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    print(json.dumps(result, indent=2))
