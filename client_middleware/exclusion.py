"""`exclude_paths`: glob patterns (`/health`, `/static/*`) of paths that are not tracked."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence

PathFilter = Callable[[str], bool]


def excluded_paths(patterns: Sequence[str]) -> PathFilter | None:
    """A test for paths matching any pattern (`*` spans `/` too), or None without patterns.

    Patterns are matched against the path below the app's `root_path`, as routes are written.
    """
    if not patterns:
        return None
    combined = re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))
    match = combined.match

    def is_excluded(path: str) -> bool:
        return match(path) is not None

    return is_excluded


def route_path(path: str, root_path: str) -> str:
    """The path below `root_path` (ASGI puts the root path into `path` too)."""
    if root_path and path.startswith(root_path):
        return path[len(root_path) :] or "/"
    return path
