"""`IndexedRouter`: Starlette's router with an index, so finding a route costs the same for 10 or 200 routes.

Starlette tries every route in order. With every documented operation, its aliases and the control
API that is well over a hundred regex matches for a request near the end of the list. Here static
paths are found in a dict and parameterised ones are tried only within their first path segment's
bucket; matching itself (methods, 405 on a partial match, path params) is still Starlette's.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


class IndexedRouter(Router):
    """A Router that looks routes up by exact path, then by first segment, then (rarely) in full."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: object) -> None:
        super().__init__(routes=list(routes), redirect_slashes=False, **kwargs)  # type: ignore[arg-type]
        self._static: dict[str, list[BaseRoute]] = {}
        self._dynamic: dict[str, list[BaseRoute]] = {}
        self._other: list[BaseRoute] = []
        for route in self.routes:
            if isinstance(route, Route):
                if "{" not in route.path:
                    self._static.setdefault(route.path, []).append(route)
                    continue
                head = _first_segment(route.path)
                if "{" not in head:
                    self._dynamic.setdefault(head, []).append(route)
                    continue
            self._other.append(route)

    def _candidates(self, path: str) -> list[BaseRoute]:
        static = self._static.get(path, [])
        return [*static, *self._dynamic.get(_first_segment(path), ()), *self._other]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial = None
        partial_scope: MutableMapping[str, Any] = {}
        # Routes match the path below the app's mount point (`root_path`), as Starlette's own router does.
        for route in self._candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await self.default(scope, receive, send)
