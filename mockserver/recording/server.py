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
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from mockserver.answers import JSONAnswer
from mockserver.contracts import Contracts, load_contracts
from mockserver.errors import ApiError, error_response, openai_envelope
from mockserver.recording.cassettes import CASSETTE_SUFFIXES, Cassette, RecordedRequest, cassette_files, load_cassette
from mockserver.recording.filters import RedactionRules, request_filter
from mockserver.recording.library import CassetteLibrary, describe_candidates, describe_miss
from mockserver.recording.matchers import MatchOptions, check_match_on
from mockserver.recording.media import MEDIA_ROUTE, MediaLimits, media_base, valid_name
from mockserver.recording.media_capture import MediaRecorder
from mockserver.recording.modes import Plan, RecordMode, plan_for
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
from mockserver.version import __version__

log = logging.getLogger("mockserver.recording")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
DEFAULT_CASSETTE_NAME = "recorded.yaml"


@dataclasses.dataclass
class Miss:
    """A request nothing recorded matched, and why."""

    method: str
    path: str
    explanation: str
    nearest: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Stats:
    """What a `CassetteApp` did: answers replayed, interactions recorded, requests missed or handed on."""

    played: int = 0
    recorded: int = 0
    fallbacks: int = 0
    misses: list[Miss] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "played": self.played,
            "recorded": self.recorded,
            "fallbacks": self.fallbacks,
            "misses": [dataclasses.asdict(m) for m in self.misses],
        }


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
    ) -> None:
        self.settings = settings
        self.speed = replay_speed(settings)  # 0: recorded answers go out at once
        self.library = library
        self.contracts = contracts
        self.plan = plan
        self.mode = mode
        self.forwarder = forwarder
        self.fallback_app = fallback_app
        self.stats = Stats()
        # Told of each request's outcome, `observer.event(kind, method, path)` (e.g. `RecordProgress`).
        self.observer: Any = None
        self.family = EnvelopeFinder(contracts)
        self._tasks: set[asyncio.Task[None]] = set()

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
            body = await _read_body(receive, self.settings.max_body_bytes)
        except ApiError as err:
            await error_response(self.family(scope["method"], path), err)(scope, receive, send)
            return
        request = incoming_request(scope, body)
        if self.plan.replay:
            key = self.library.key_of(request)
            entry = self.library.take(key)
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
            await self.forwarder.forward(request, _raw_path(scope), scope, receive, send)
            self.stats.recorded += 1
            if self.observer is not None:
                self.observer.event("recorded", request.method, request.path)
            return
        if self.fallback_app is not None:
            self.stats.fallbacks += 1
            if self.observer is not None:
                self.observer.event("fallback", request.method, request.path)
            await self.fallback_app(scope, _replay_receive(body, receive), send)
            return
        key = self.library.key_of(request)
        candidates = self.library.nearest(request, key)
        explanation = describe_miss(request, candidates, self.library)
        self.stats.misses.append(Miss(request.method, request.path, explanation, describe_candidates(candidates)))
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
            body = await _read_body(receive, self.settings.max_body_bytes)
            token = path[len(CALLBACK_PATH) :]
            await self.forwarder.handle_callback(token, incoming_request(scope, body), scope, receive, send)
            return
        if scope["method"] == "GET" and path in ("/__mock/ui", "/__mock/cassettes/interactions"):
            await self._dashboard(path)(scope, receive, send)
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
            **self.stats.as_dict(),
        }
        await JSONAnswer(payload)(scope, receive, send)

    def _dashboard(self, path: str) -> Any:
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
                "played": entry.played,
            }
            for entry in self.library.entries
        ]
        return JSONAnswer({"interactions": listed, "count": len(listed)})

    async def _media(self, scope: dict[str, Any], receive: Any, send: Any, name: str) -> None:
        """A stored media file, byte for byte, with its recorded content type."""
        found = self.library.media_files.get(name) if valid_name(name) else None
        data = await asyncio.to_thread(_read_file, found[0]) if found else None
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
        if self.observer is not None:
            self.observer.close()


# ---------------------------------------------------------------------------------------------
# Requests over ASGI


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body exceeds the {limit}-byte limit", param="body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay_receive(body: bytes, receive: Any) -> Any:
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return again


def _read_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _raw_path(scope: dict[str, Any]) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def incoming_request(scope: dict[str, Any], body: bytes) -> RecordedRequest:
    """The ASGI request as a `RecordedRequest` (its URI as the client addressed it)."""
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
    host = (headers.get("host") or [""])[0]
    if not host and scope.get("server"):
        host = f"{scope['server'][0]}:{scope['server'][1]}"
    query = scope.get("query_string", b"").decode("latin-1")
    uri = f"{scope.get('scheme', 'http')}://{host or 'localhost'}{_raw_path(scope)}" + (f"?{query}" if query else "")
    has_body = bool(body) or scope["method"] not in ("GET", "HEAD", "DELETE", "OPTIONS")
    return RecordedRequest(scope["method"], uri, headers, body if has_body else None)


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
    settings: Settings, fallback_app: ASGIApp | None = None, *, contracts: Contracts | None = None
) -> CassetteApp:
    """Serve the cassettes under `settings.cassettes`; never call an upstream.

    A miss goes to `fallback_app` when given — or, with `settings.fallback == "emulate"`, to the
    emulator — and otherwise answers a 404 in the family's envelope that explains it.
    """
    _check_fallback(settings)
    contracts = load_contracts() if contracts is None else contracts
    if fallback_app is None and settings.fallback == "emulate":
        from mockserver.app import create_app  # the one upward import: only for --fallback emulate

        fallback_app = create_app(settings, contracts=contracts)
    library = _library(settings, (load_cassette(p) for p in cassette_files(settings.cassettes)))
    return CassetteApp(
        settings,
        library,
        contracts=contracts,
        plan=Plan(replay=True, record=False),
        mode=RecordMode.NONE,
        fallback_app=fallback_app,
    )


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
