"""The endpoint of a request: the template of the route that served it (`/items/{item_id}`).

The request path only keeps the route object the router put in `scope["route"]` and the
`root_path` before and after routing; encoding a batch turns those into a template here.

Why not just `scope["route"].path_format`? Since FastAPI 0.137 an `include_router()` no
longer copies routes into the app: `scope["route"]` is the router's own `APIRoute`, whose path
lacks every prefix the inclusion added, and a Mount's prefix is in `root_path` only as the
concrete text (`/orgs/acme`, not `/orgs/{org}`). So the app's route tree is walked once
(through FastAPI's public `iter_route_contexts()` where it exists, which yields each route with
its effective, prefixed path) and every route object is mapped to its full template. Lookups
are then one dict access; the walk is redone only when a route turns up that it did not see.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("client_middleware")

UNMATCHED_ENDPOINT = "<unmatched>"
_MOUNT_SUFFIX = "/{path}"
_MAX_MOUNT_DEPTH = 16
# A route the walk did not find triggers a new walk at most this often (seconds).
_REWALK_INTERVAL = 10.0
_PARAMETER = re.compile(r"\{[^}]*\}")


@dataclass(slots=True)
class _Template:
    text: str
    route: Any  # held so the id() keys stay unique while the index lives
    _pattern: re.Pattern[str] | None = None

    def matches(self, route_path: str) -> bool:
        if self._pattern is None:
            self._pattern = template_pattern(self.text)
        return self._pattern.fullmatch(route_path) is not None


@dataclass(slots=True)
class _AppRoutes:
    by_route: dict[int, list[_Template]] = field(default_factory=dict)
    mounts: list[_Template] = field(default_factory=list)
    walked_at: float = 0.0


class EndpointResolver:
    """Route templates of the apps seen so far. Used by one thread (the sender) only."""

    def __init__(self) -> None:
        self._apps: dict[int, tuple[Any, _AppRoutes]] = {}

    def endpoint(
        self,
        app: Any,
        route_id: int,
        path_format: str | None,
        root_path: str,
        mounted_root_path: str,
        path: str,
        status_code: int,
    ) -> tuple[str, bool]:
        """The request's endpoint (`root_path` + the matched route's full template), and
        whether the same route ids and root paths always give this endpoint (cacheable).

        `route_id` is the id() of the route object in `scope["route"]` (the app keeps its
        routes alive, and so does the index, so ids are stable), `path_format` its own path
        format, None when no route matched.
        """
        if path_format is not None:
            templates = self._templates(app, route_id)
            if len(templates) == 1:
                return root_path + templates[0].text, True
            if templates:  # the same route reached through several prefixes: the path decides
                route_path = path[len(root_path) :] if path.startswith(root_path) else path
                fitting = [t for t in templates if t.matches(route_path)] or templates
                return root_path + fitting[0].text, False
            # Not in the tree we can walk: the mounts' concrete text is the best we know.
            return mounted_root_path + path_format, False
        if mounted_root_path != root_path and status_code != 404:
            # Served by a mounted app that has no routes of its own (StaticFiles, say).
            mount = self._mount_template(app, mounted_root_path[len(root_path) :])
            if mount is not None:
                return root_path + mount + _MOUNT_SUFFIX, False
        return UNMATCHED_ENDPOINT, False

    def _templates(self, app: Any, route_id: int) -> list[_Template]:
        routes = self._routes_of(app)
        templates = routes.by_route.get(route_id)
        if templates is None and time.monotonic() - routes.walked_at > _REWALK_INTERVAL:
            routes = self._walk(app)
            templates = routes.by_route.get(route_id)
        return templates or []

    def _mount_template(self, app: Any, concrete_prefix: str) -> str | None:
        for mount in self._routes_of(app).mounts:
            if mount.matches(concrete_prefix):
                return mount.text
        return None

    def _routes_of(self, app: Any) -> _AppRoutes:
        known = self._apps.get(id(app))
        if known is not None:
            return known[1]
        return self._walk(app)

    def _walk(self, app: Any) -> _AppRoutes:
        routes = _AppRoutes(walked_at=time.monotonic())
        try:
            _index_routes(getattr(app, "routes", None) or [], "", routes, depth=0)
        except Exception:  # a route tree we do not understand: fall back to scope data
            logger.debug("could not walk the app's routes", exc_info=True)
        self._apps[id(app)] = (app, routes)
        return routes


def _index_routes(routes: Iterable[Any], prefix: str, into: _AppRoutes, depth: int) -> None:
    if depth > _MAX_MOUNT_DEPTH:
        return
    for route, path_format in _effective_routes(routes):
        if _is_host(route):
            _index_routes(getattr(route, "routes", []), prefix, into, depth + 1)
            continue
        if not isinstance(path_format, str):
            continue
        template = _Template(prefix + path_format, route)
        into.by_route.setdefault(id(route), []).append(template)
        if _is_mount(route, path_format):
            mount_prefix = prefix + path_format.removesuffix(_MOUNT_SUFFIX)
            into.mounts.append(_Template(mount_prefix, route))
            _index_routes(getattr(route, "routes", []), mount_prefix, into, depth + 1)


def _effective_routes(routes: Iterable[Any]) -> Iterator[tuple[Any, str | None]]:
    """Each route with its effective path format, included routers expanded."""
    routes = list(routes)
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # Starlette alone, or a FastAPI that still flattens included routers
        for route in routes:
            yield route, getattr(route, "path_format", None)
        return
    for context in iter_route_contexts(routes):
        yield context.original_route, context.path_format


def _is_mount(route: Any, path_format: str) -> bool:
    return path_format.endswith(_MOUNT_SUFFIX) and _is_instance(route, "Mount")


def _is_host(route: Any) -> bool:
    return _is_instance(route, "Host")


def _is_instance(route: Any, starlette_class_name: str) -> bool:
    try:
        from starlette import routing
    except ImportError:  # not a Starlette app: no mounts to look into
        return False
    return isinstance(route, getattr(routing, starlette_class_name))


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the paths a template stands for (any text for a parameter)."""
    parts = _PARAMETER.split(template)
    return re.compile(".+".join(re.escape(part) for part in parts))
