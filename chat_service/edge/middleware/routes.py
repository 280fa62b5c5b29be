"""Route labels for metrics, traces and logs: the route template, never the raw path."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

UNMATCHED = "unmatched"

RouteLabel = Callable[[Scope], str]


class RouteLabels:
    """Names the route a request went to: a Starlette route's path template (`/health`,
    `/v1/items/{id}`), a mount's (`/static/{path}`), one of the Twirp paths, or `unmatched`
    for anything else (the Twirp edge, mounted at the root, answers those `bad_route`).

    The set of labels is bounded by the app's routes, whatever paths clients send.
    """

    def __init__(self, routes: Sequence[BaseRoute], *, twirp_paths: Collection[str]) -> None:
        self._routes = [
            r for r in routes if isinstance(r, Route) or (isinstance(r, Mount) and r.path)
        ]
        self._twirp_paths = frozenset(twirp_paths)

    def __call__(self, scope: Scope) -> str:
        path: str = scope.get("path", "")
        if path in self._twirp_paths:
            return path
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is Match.NONE:
                continue
            # PARTIAL: the path matched, the method did not.
            return route.path_format if isinstance(route, Mount) else route.path
        return UNMATCHED
