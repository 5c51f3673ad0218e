"""`CassetteApp`: the ASGI app behind `mockserver record` and `mockserver replay`, and its two factories.

Per request: replay a recorded answer if the mode allows and one matches; else forward and record
if the mode allows; else hand the request to the fallback app; else answer the miss, explained.
Its own endpoints: `GET /__mock/cassettes` (what was played, recorded and missed),
`GET /__mock/cassettes/interactions` (every recorded interaction and whether it was played), the
callback capture URL `/__mock/cassettes/callback/<token>`, the dashboard `GET /__mock/ui`, and
`GET /__mock/health` when there is no fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from mockserver.answers import JSONAnswer
from mockserver.contracts import Contracts, load_contracts
from mockserver.errors import ApiError, error_response, openai_envelope
from mockserver.recording.asgi_io import (
    incoming_request,
    raw_path,
    read_body,
    read_file,
    replay_receive,
    write_refusal,
)
from mockserver.recording.cassettes import CASSETTE_SUFFIXES, Cassette, cassette_files, load_cassette
from mockserver.recording.filters import RedactionRules, request_filter
from mockserver.recording.library import CassetteLibrary, describe_candidates, describe_miss
from mockserver.recording.matchers import MatchOptions, check_match_on
from mockserver.recording.media import MEDIA_ROUTE, MediaLimits, media_base, valid_name
from mockserver.recording.media_capture import MediaRecorder
from mockserver.recording.modes import Plan, RecordMode, plan_for
from mockserver.recording.plays import Book, LocalBook, Miss, SharedBook, Stats
from mockserver.recording.proxy import CALLBACK_PATH, Forwarder, RecordingTarget
from mockserver.recording.replay import (
    EnvelopeFinder,
    deliver_callbacks,
    play,
    replay_speed,
    send_miss,
    with_media_links,
)
from mockserver.settings import Settings
from mockserver.stores import SharedState, Stores, open_store, parse_store_url
from mockserver.version import __version__

log = logging.getLogger("mockserver.recording")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
DEFAULT_CASSETTE_NAME = "recorded.yaml"
REWIND_PATH = "/__mock/cassettes/rewind"


def recording_path(cassettes: str | Path) -> Path:
    """Where new interactions go: the cassette file itself, or `recorded.yaml` inside a folder."""
    path = Path(cassettes)
    return path if path.suffix in (*CASSETTE_SUFFIXES, ".json") else path / DEFAULT_CASSETTE_NAME


class CassetteApp:
    """Replays, records, falls back or explains a miss, as its plan says (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        library: CassetteLibrary,
        *,
        contracts: Contracts,
        plan: Plan,
        mode: RecordMode,
        forwarder: Forwarder | None = None,
        fallback_app: ASGIApp | None = None,
        shared: SharedState | None = None,
        stores: Stores | None = None,
    ) -> None:
        """`shared`: where plays and misses are kept when other apps share them (see `plays`; None: in
        this app); `stores`: what was opened for this app alone, closed with it."""
        self.settings = settings
        self.speed = replay_speed(settings)  # 0: recorded answers go out at once
        self.library = library
        self.contracts = contracts
        self.plan = plan
        self.mode = mode
        self.forwarder = forwarder
        self.fallback_app = fallback_app
        self.stats = Stats()
        self.book: Book = LocalBook(library, self.stats) if shared is None else SharedBook(library, shared, self.stats)
        self._stores = stores
        emulator = self.emulator
        if emulator is not None:
            # The emulator's reset clears the store it shares with us: forget our own positions with it.
            emulator.on_reset.append(self.book.forget)
        # Told of each request's outcome, `observer.event(kind, method, path)` (e.g. `RecordProgress`).
        self.observer: Any = None
        self.family = EnvelopeFinder(contracts)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def emulator(self) -> Any:
        """The fallback emulator's `MockState` (None without `--fallback emulate` or another emulator)."""
        return getattr(getattr(self.fallback_app, "state", None), "mock", None)

    @property
    def recording_path(self) -> Path | None:
        return self.forwarder.target.cassette.path if self.forwarder else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            if self.fallback_app is not None:
                await self.fallback_app(scope, receive, send)
            return
        path: str = scope["path"]
        if (
            path.startswith("/__mock/cassettes")
            or path == "/__mock/ui"
            or (path == "/__mock/health" and self.fallback_app is None)
        ):
            await self._control(scope, receive, send)
            return
        try:
            body = await read_body(receive, self.settings.max_body_bytes)
        except ApiError as err:
            await error_response(self.family(scope["method"], path), err)(scope, receive, send)
            return
        request = incoming_request(scope, body)
        if self.plan.replay:
            key = self.library.key_of(request)
            book = self.book
            entry = await book.take(key) if book.shared else self.library.take(key)
            if entry is not None:
                self.stats.played += 1
                if self.observer is not None:
                    self.observer.event("played", request.method, request.path)
                speed = self.speed
                base = media_base(self.settings.public_url, scope)
                rewritten = with_media_links(entry, base) if entry.media else None
                await play(entry, send, speed=speed, head_only=request.method == "HEAD", rewritten=rewritten)
                if entry.callbacks:
                    recorded = entry.interaction.request
                    self._spawn(deliver_callbacks(entry.callbacks, recorded, request, speed, base))
                return
        if self.forwarder is not None and self.plan.record:
            await self.forwarder.forward(request, raw_path(scope), scope, receive, send)
            self.stats.recorded += 1
            if self.observer is not None:
                self.observer.event("recorded", request.method, request.path)
            return
        if self.fallback_app is not None:
            self.stats.fallbacks += 1
            if self.book.shared:
                await self.book.fell_back()
            if self.observer is not None:
                self.observer.event("fallback", request.method, request.path)
            await self.fallback_app(scope, replay_receive(body, receive), send)
            return
        key = self.library.key_of(request)
        candidates = self.library.nearest(request, key)
        explanation = describe_miss(request, candidates, self.library)
        miss = Miss(request.method, request.path, explanation, describe_candidates(candidates))
        self.stats.misses.append(miss)
        if self.book.shared:
            await self.book.missed(miss)
        log.warning("%s", explanation)
        if self.observer is not None:
            self.observer.event("missed", request.method, request.path)
        await send_miss(scope, receive, send, self.family(request.method, request.path), explanation)

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _control(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        if path.startswith(MEDIA_ROUTE) and scope["method"] in ("GET", "HEAD"):
            await self._media(scope, receive, send, path[len(MEDIA_ROUTE) :])
            return
        if path.startswith(CALLBACK_PATH) and scope["method"] == "POST" and self.forwarder is not None:
            body = await read_body(receive, self.settings.max_body_bytes)
            token = path[len(CALLBACK_PATH) :]
            await self.forwarder.handle_callback(token, incoming_request(scope, body), scope, receive, send)
            return
        if scope["method"] == "GET" and path in ("/__mock/ui", "/__mock/cassettes/interactions"):
            await (await self._dashboard(path))(scope, receive, send)
            return
        if scope["method"] == "POST" and path == REWIND_PATH:
            await self._rewind(scope, receive, send)
            return
        if scope["method"] != "GET" or path not in ("/__mock/cassettes", "/__mock/health"):
            err = ApiError(404, f"Invalid URL ({scope['method']} {path})", code="not_found")
            await error_response(openai_envelope, err)(scope, receive, send)
            return
        payload = {
            "status": "ok",
            "version": __version__,
            "mode": self.mode.value,
            "replaying": self.plan.replay,
            "recording": self.plan.record,
            "cassettes": [str(p) for p in self.library.cassettes],
            "interactions": len(self.library),
            "recording_to": str(self.recording_path) if self.recording_path else None,
            "media_files": len(self.library.media_files),
            "media_not_recorded": [str(p) for p in self.library.media_off],
            "shared": self.book.shared,  # plays and misses kept in a store other processes share
            **(await self.book.summary()),
        }
        await JSONAnswer(payload)(scope, receive, send)

    async def _dashboard(self, path: str) -> Any:
        """The dashboard page (its cassettes view, plus the emulator's views with `--fallback emulate`),
        or the interactions it lists."""
        if path == "/__mock/ui":
            from mockserver.ui import page_config, page_response

            config = page_config(
                mode=self.mode.value if self.plan.record else "replay",
                base_url=self.settings.base_url,
                operations=sorted(c.id for c in self.contracts),
                emulator=getattr(getattr(self.fallback_app, "state", None), "mock", None) is not None,
                cassettes=True,
            )
            return page_response(config)
        listed = [
            {
                "where": entry.where,
                "method": entry.interaction.request.method,
                "path": entry.interaction.request.path,
                "status": entry.status,
                "played": played,
            }
            for entry, played in zip(self.library.entries, await self.book.played(), strict=True)
        ]
        return JSONAnswer({"interactions": listed, "count": len(listed)})

    async def _rewind(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """`POST /__mock/cassettes/rewind`: play every interaction from the start again, in every process
        sharing the store. With an emulator behind the replay (`--fallback emulate`) the emulator is reset
        too: both keep their state in the one store, and resetting it halfway would leave the emulator's
        faults without their hit counts and its journal without its requests."""
        refusal = write_refusal(scope, self.settings.control_token)
        if refusal is None:
            try:
                body = await read_body(receive, self.settings.control_max_bytes)
            except ApiError as err:
                refusal = err
            else:
                if body.strip() not in (b"", b"{}"):
                    refusal = ApiError(400, "rewind takes no body (or {})", param="body")
        if refusal is not None:
            await error_response(openai_envelope, refusal)(scope, receive, send)
            return
        emulator = self.emulator
        if emulator is not None:
            await emulator.reset()  # resets its store, then its hooks call `book.forget`
        if emulator is None or (isinstance(self.book, SharedBook) and self.book.state is not emulator.shared):
            await self.book.rewind()
        await JSONAnswer({"rewound": True, "emulator_reset": emulator is not None})(scope, receive, send)

    async def _media(self, scope: dict[str, Any], receive: Any, send: Any, name: str) -> None:
        """A stored media file, byte for byte, with its recorded content type."""
        found = self.library.media_files.get(name) if valid_name(name) else None
        data = await asyncio.to_thread(read_file, found[0]) if found else None
        if found is None or data is None:
            why = f"no recorded media {name!r} in {len(self.library.cassettes)} cassette(s)"
            if found is not None:
                why = f"recorded media {name!r} is missing from {found[0].parent} (was the media folder kept?)"
            elif self.library.media_off:
                why += "; media was not recorded for " + ", ".join(map(str, self.library.media_off)) + " (--no-media)"
            err = ApiError(404, why, code="media_not_recorded", type="cassette_miss")
            await error_response(openai_envelope, err)(scope, receive, send)
            return
        headers = [(b"content-type", found[1].encode()), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else data
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        async with contextlib.AsyncExitStack() as stack:
            try:
                router = getattr(self.fallback_app, "router", None)
                if router is not None and hasattr(router, "lifespan_context"):
                    await stack.enter_async_context(router.lifespan_context(self.fallback_app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await self.aclose()
        await send({"type": "lifespan.shutdown.complete"})

    async def aclose(self) -> None:
        """Stop pending callback deliveries and close upstream connections."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.forwarder is not None:
            await self.forwarder.aclose()
        if self._stores is not None:
            await self._stores.shared.close()
            await self._stores.tasks.close()
            self._stores = None
        if self.observer is not None:
            self.observer.close()


# ---------------------------------------------------------------------------------------------
# Factories


def _library(settings: Settings, cassettes: Iterable[Cassette]) -> CassetteLibrary:
    match_on = check_match_on(settings.match_on)
    rules = RedactionRules.from_settings(settings)
    options = MatchOptions.build(settings.ignore_body_fields)
    return CassetteLibrary(
        cassettes,
        match_on=match_on,
        options=options,
        request_filter=request_filter(rules),
        redacted_with=rules.fingerprint,
    )


def _check_fallback(settings: Settings) -> None:
    if settings.fallback not in ("error", "emulate"):
        raise ValueError(f"fallback {settings.fallback!r} is not one of error, emulate")
    replay_speed(settings)


def _media_recorder(settings: Settings, cassette: Cassette) -> MediaRecorder | None:
    """Media capture beside the cassette being recorded, or None with `--no-media` (noted in the cassette)."""
    if not settings.media:
        cassette.meta["media"] = "off"
        return None
    if not cassette.interactions:
        cassette.meta.pop("media", None)
    assert cassette.path is not None
    parts = urlsplit(settings.upstream)
    limits = MediaLimits(True, settings.media_max_bytes, settings.media_max_total)
    own = settings.base_url + CALLBACK_PATH
    return MediaRecorder(cassette.path.parent, limits, f"{parts.scheme}://{parts.netloc}", exclude=(own,))


def create_replay_app(
    settings: Settings,
    fallback_app: ASGIApp | None = None,
    *,
    contracts: Contracts | None = None,
    shared: SharedState | None = None,
) -> CassetteApp:
    """Serve the cassettes under `settings.cassettes`; never call an upstream.

    Plays and misses are kept in `shared` when given (apps sharing it replay as one), else in the shared
    state of `settings.store` when that is shared by processes, else in the app. A miss goes to
    `fallback_app` when given — or, with `settings.fallback == "emulate"`, to the
    emulator — and otherwise answers a 404 in the family's envelope that explains it.
    """
    _check_fallback(settings)
    contracts = load_contracts() if contracts is None else contracts
    if fallback_app is None and settings.fallback == "emulate":
        from mockserver.app import create_app  # the one upward import: only for --fallback emulate

        fallback_app = create_app(settings, contracts=contracts)
    library = _library(settings, (load_cassette(p) for p in cassette_files(settings.cassettes)))
    stores = None
    if shared is None:
        shared, stores = _replay_state(settings, fallback_app)
    return CassetteApp(
        settings,
        library,
        contracts=contracts,
        plan=Plan(replay=True, record=False),
        mode=RecordMode.NONE,
        fallback_app=fallback_app,
        shared=shared,
        stores=stores,
    )


def _replay_state(settings: Settings, fallback_app: ASGIApp | None) -> tuple[SharedState | None, Stores | None]:
    """Where a replay server keeps its plays and misses: nowhere but the process with `--store memory`;
    else the store's shared state — the emulator's own when it falls back to one on the same store (one
    connection, one reset) — and the stores opened for it alone, if any."""
    if parse_store_url(settings.store)[0] == "memory":
        return None, None
    mock = getattr(getattr(fallback_app, "state", None), "mock", None)
    if mock is not None and mock.settings.store == settings.store:
        return (mock.shared if mock.shared.shared else None), None
    stores = open_store(settings.store)  # sqlite and redis: shared by every process on them
    return stores.shared, stores


def create_proxy_app(
    settings: Settings,
    *,
    contracts: Contracts | None = None,
    fallback_app: ASGIApp | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> CassetteApp:
    """The recording proxy for `settings.upstream`, honouring `settings.record_mode` (VCR.py semantics).

    Records into `settings.cassettes` when it names a `.yaml` file, else into `<folder>/recorded.yaml`.
    In `none` mode (or `once` with an existing cassette) it only replays, like `create_replay_app`.
    `upstream_transport` replaces the network (e.g. `httpx.ASGITransport(app)`; it buffers streams).
    """
    _check_fallback(settings)
    contracts = load_contracts() if contracts is None else contracts
    mode = RecordMode.parse(settings.record_mode)
    target = recording_path(settings.cassettes)
    plan = plan_for(mode, target.exists())
    loaded = {p: load_cassette(p) for p in cassette_files(settings.cassettes)} if plan.replay else {}
    library = _library(settings, loaded.values())
    forwarder = None
    if plan.record:
        if plan.fresh:
            cassette = Cassette(path=target)
        else:
            cassette = loaded[target] if target in loaded else load_cassette(target)
        rules = RedactionRules.from_settings(settings)
        forwarder = Forwarder(
            settings.upstream,
            RecordingTarget(cassette, rules.fingerprint),
            rules=rules,
            contracts=contracts,
            own_url=settings.base_url,
            transport=upstream_transport,
            media=_media_recorder(settings, cassette),
        )
    if fallback_app is None and settings.fallback == "emulate" and not plan.record:
        from mockserver.app import create_app

        fallback_app = create_app(settings, contracts=contracts)
    return CassetteApp(
        settings, library, contracts=contracts, plan=plan, mode=mode, forwarder=forwarder, fallback_app=fallback_app
    )
