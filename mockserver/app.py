"""`create_app(settings)`: the emulator as a Starlette app — control API, media, and every family's routes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette._utils import get_route_path
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver import control, gateway, media
from mockserver.contracts import Contracts, load_contracts
from mockserver.errors import ApiError, Envelope, error_response, internal_error
from mockserver.gateway import routes as gateway_routes
from mockserver.models import Model, ModelCatalog
from mockserver.pipeline import endpoint_app, endpoint_asgi
from mockserver.registry import Registry, load_families
from mockserver.routing import IndexedRouter
from mockserver.setting_checks import lease_seconds
from mockserver.settings import Settings
from mockserver.state import MockState
from mockserver.stores import open_store
from mockserver.tasks.engine import engine
from mockserver.wire import RAW_SEND

log = logging.getLogger("mockserver")


def family_routes(
    state: MockState, registry: Registry
) -> tuple[list[BaseRoute], dict[str, str], dict[tuple[str, str], ASGIApp]]:
    """Starlette routes for every family endpoint, the (method, path) → operation map, and the raw
    ASGI endpoints of exact (parameter-free) paths for the fast lane."""
    routes: list[BaseRoute] = []
    served: dict[str, str] = {}
    fast: dict[tuple[str, str], ASGIApp] = {}
    catalog = ModelCatalog(registry.models)
    state.ext["models"] = catalog
    for extra in state.settings.models:
        catalog.add(Model(extra, "custom"))
    for family in registry.families:
        for setup in family.setups:
            setup(state)
        for endpoint in family.routes:
            contract = state.contracts.get(endpoint.operation)
            if contract.family != family.name:
                raise RuntimeError(
                    f"{endpoint.operation} is served by {family.name} but its contract says {contract.family}"
                )
            method = (endpoint.method or contract.method).upper()
            path = endpoint.path or contract.path
            key = f"{method} {path}"
            if key in served:
                raise RuntimeError(f"{key} is served twice ({served[key]} and {endpoint.operation})")
            served[key] = endpoint.operation
            run = endpoint_app(endpoint, contract, state)
            routes.append(Route(path, run, methods=[method], name=endpoint.operation))
            if "{" not in path:
                fast[(method, path)] = endpoint_asgi(run, state.envelope(contract.vendor))
    return routes, served, fast


class Emulator(Starlette):
    """The Starlette app with a fast lane: a request for an operation's exact path and method goes
    straight to its pipeline (which answers every error itself); all else takes Starlette's way, as
    does everything once a user adds middleware of their own."""

    fast_lane: dict[tuple[str, str], ASGIApp] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND] = send  # the server's own send: wire faults close its connection (see wire.py)
        if scope["type"] == "http" and not self.user_middleware:
            endpoint = self.fast_lane.get((scope["method"], get_route_path(scope)))
            if endpoint is not None:
                scope["app"] = self
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, contracts: Contracts | None = None) -> Starlette:
    """Build the emulator. Contracts are compiled once per process and shared by every app."""
    settings = settings or Settings()
    contracts = contracts or load_contracts()
    registry = load_families()
    stores = open_store(
        settings.store,
        speed=settings.speed,
        start=settings.start_time,
        instant=settings.instant,
        journal_size=settings.journal_size,
        journal_max_bytes=settings.journal_max_bytes,
        lease=lease_seconds(settings),
    )
    state = MockState.build(
        settings,
        contracts,
        store=stores.tasks,
        shared=stores.shared,
        clock=stores.clock,
        envelopes=registry.envelopes,
        task_vendors=registry.task_vendors,
    )
    gateway.install(state)  # before the families: the System API's account seeds its sample keys into it
    engine(state)  # every emulator has tasks: the engine runs callbacks from start-up on
    routes, served, fast = family_routes(state, registry)

    def guess(request: Request) -> Envelope:
        return registry.envelope(contracts.vendor_of(request.method, get_route_path(request.scope)))

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        family = guess(request)
        entry = state.journal.record(
            method=request.method,
            path=request.scope["path"],
            query=request.scope["query_string"],
            headers=request.scope["headers"],
            body=None,
            operation=None,
            at=state.clock.now(),
        )
        entry.status = exc.status_code
        await state.journal.finish(entry)
        if exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            err = ApiError(
                405,
                f"Method {request.method} is not allowed for {request.url.path} (allowed: {allow})",
                code="method_not_allowed",
                headers={"Allow": allow} if allow else None,
            )
        elif exc.status_code == 404:
            err = ApiError(404, f"Invalid URL ({request.method} {request.url.path})", code="not_found")
        else:
            err = ApiError(exc.status_code, str(exc.detail))
        return error_response(family, err)

    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("mockserver bug outside any operation")
        return error_response(guess(request), internal_error(exc))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await state.refresh()  # the settings document (written first by whoever starts first)
        for hook in state.on_startup:
            await hook()
        try:
            yield {}
        finally:
            for hook in reversed(state.on_shutdown):
                await hook()

    # The gateway's control routes (/__mock/keys, usage, prices) sit behind the control API's protection.
    gateway_control = [
        Route(r.path, control.guarded(r.endpoint), methods=sorted(r.methods or ()))
        for r in gateway_routes.ROUTES
        if isinstance(r, Route)
    ]
    all_routes = [*control.ROUTES, *gateway_control, *media.ROUTES, *routes]
    app = Emulator(routes=all_routes, exception_handlers={HTTPException: not_found, Exception: crashed})
    app.fast_lane = fast
    # Same routes, found through an index (see routing.py); the lifespan runs the families' hooks.
    app.router = IndexedRouter(all_routes, lifespan=lifespan)
    app.state.mock = state
    app.state.served = served  # "METHOD /path" -> operation id, for tests and tools
    return app
