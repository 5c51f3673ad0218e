"""The recording side: forward a request upstream, pass the answer through chunk by chunk, record it.

Nothing is buffered before the client sees it: each piece the upstream sends is passed on at once and
noted with its time. When the answer is complete the interaction is redacted, appended to the cassette
and written (atomically) before the client's response is closed, so a client that has its answer
can rely on the cassette holding it.

Callback capture: a JSON request whose top level carries a callback URL (`notifyHook`, `notify_hook`,
`callback_url`) is sent upstream with the proxy's own URL instead (when the upstream can reach the
proxy: it is on loopback, or `public_url` is set). What the upstream POSTs there is recorded and
forwarded to the client's URL, and the proxy's URL is swapped back wherever an answer echoes it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import datetime
import ipaddress
import logging
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from mockserver.contracts import Contracts
from mockserver.errors import ApiError, error_response, openai_envelope
from mockserver.recording.cassettes import (
    HOP_BY_HOP,
    Cassette,
    Chunk,
    Headers,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    cassette_head,
    render_cassette,
    render_interaction,
)
from mockserver.recording.filters import RedactionRules, redact_interaction
from mockserver.recording.media_capture import MediaRecorder, auth_headers
from mockserver.recording.persist import AppendingWriter, clean_temp_files
from mockserver.recording.replay import EnvelopeFinder, callback_url
from mockserver.recording.wire import asgi_headers

log = logging.getLogger("mockserver.recording")

CALLBACK_PATH = "/__mock/cassettes/callback/"
STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "application/jsonl", "application/stream+json")
_TIMEOUT = httpx.Timeout(30.0, read=600.0)
# A request keeps its own Content-Encoding (its body is passed on as sent); the proxy's client asks
# for the encodings it can undo itself, because answers are recorded decoded.
_NOT_RECORDED = HOP_BY_HOP - {"content-encoding"}
_NOT_FORWARDED = _NOT_RECORDED | {"accept-encoding"}


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RecordingTarget:
    """The cassette being recorded into: interactions are appended, then written atomically."""

    def __init__(self, cassette: Cassette, redacted_with: str | None = None) -> None:
        if cassette.path is None:
            raise ValueError("a recording target needs a cassette path")
        self.cassette = cassette
        # Claim the redaction rules only for what they redacted: a fresh cassette, or one written under them.
        if redacted_with and (not cassette.interactions or cassette.meta.get("redacted_with") == redacted_with):
            cassette.meta["redacted_with"] = redacted_with
        else:
            cassette.meta.pop("redacted_with", None)
        removed = clean_temp_files(cassette.path)  # left by a recorder killed mid-write
        if removed:
            log.warning("removed %d stale temp files of %s", len(removed), cassette.path)
        atexit.register(clean_temp_files, cassette.path)  # and ours, should a write be cut short at exit
        self.writer = AppendingWriter(
            cassette.path,
            head=lambda: cassette_head(self.cassette),
            items=lambda: self.cassette.interactions,
            render=render_interaction,
            empty=lambda: render_cassette(self.cassette),
        )
        self.writer.adopt()  # a loaded cassette grows from where its file ends
        self.recorded = 0

    def append(self, item: Interaction) -> int:
        self.cassette.interactions.append(item)
        self.recorded += 1
        return len(self.cassette.interactions) - 1

    async def persist(self) -> None:
        await self.writer.persist()


@dataclasses.dataclass(eq=False)
class _CallbackRoute:
    client_url: str
    proxy_url: str
    submitted: float
    index: int | None = None
    pending: list[Interaction] = dataclasses.field(default_factory=list)


def _headers_of(pairs: Any) -> Headers:
    out: Headers = {}
    for name, value in pairs:
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        val = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        for existing in out:
            if existing.lower() == key.lower():
                out[existing].append(val)
                break
        else:
            out[key] = [val]
    return out


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Forwarder:
    """Sends requests to the upstream and records each exchange into a `RecordingTarget`."""

    def __init__(
        self,
        upstream: str,
        target: RecordingTarget,
        *,
        rules: RedactionRules,
        contracts: Contracts,
        own_url: str | None,
        transport: httpx.AsyncBaseTransport | None = None,
        media: MediaRecorder | None = None,
    ) -> None:
        parts = urlsplit(upstream.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"upstream {upstream!r} is not an http(s) URL")
        self.upstream = upstream.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.target = target
        self.rules = rules
        self.contracts = contracts
        self.family = EnvelopeFinder(contracts)
        self.own_url = own_url.rstrip("/") if own_url else None
        self.transport = transport
        self.media = media
        self._routes: dict[str, _CallbackRoute] = {}
        self._clients: dict[int, httpx.AsyncClient] = {}

    def client(self) -> httpx.AsyncClient:
        """One connection pool per event loop (an app may be driven from several, e.g. by TestClient)."""
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False, transport=self.transport)
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with contextlib.suppress(RuntimeError):  # created on a loop that is gone
                await client.aclose()

    # -- one exchange -------------------------------------------------------------------------
    async def forward(self, request: RecordedRequest, raw_path: str, scope: Any, receive: Any, send: Any) -> None:
        """Forward `request` (as the client sent it), stream the answer back and record it."""
        query = request.query_string
        url = self.upstream + raw_path + (f"?{query}" if query else "")
        headers = [(k, v) for k, vs in request.headers.items() if k.lower() not in _NOT_FORWARDED for v in vs]
        body, route = self._substitute_callback(request.body)
        client = self.client()
        started = time.monotonic()
        try:
            upstream_req = client.build_request(request.method, url, headers=headers, content=body)
            resp = await client.send(upstream_req, stream=True)
        except httpx.HTTPError as exc:
            family = self.family(request.method, request.path)
            err = ApiError(502, f"upstream {self.upstream} did not answer: {exc!r}", code="upstream_unreachable")
            await error_response(family, err)(scope, receive, send)
            return
        head_at = time.monotonic()
        resp_headers = _headers_of(resp.headers.raw)
        content_type = (resp.headers.get("content-type") or "").split(";")[0].strip().lower()
        streamed = content_type in STREAM_TYPES
        await send({"type": "http.response.start", "status": resp.status_code, "headers": asgi_headers(resp_headers)})
        pieces: list[bytes] = []
        chunks: list[Chunk] = []
        incomplete = False
        try:
            async for piece in resp.aiter_bytes():
                if not piece:
                    continue
                piece = self._swap_back(piece)
                pieces.append(piece)
                chunks.append(Chunk(time.monotonic() - head_at, len(piece)))
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        except httpx.HTTPError as exc:
            log.warning("upstream broke off %s %s: %r", request.method, request.path, exc)
            incomplete = True
        finally:
            await resp.aclose()
        contract = self.contracts.find(request.method, request.path)
        item = Interaction(
            request=dataclasses.replace(
                request,
                uri=self.origin + raw_path + (f"?{query}" if query else ""),
                headers={k: v for k, v in request.headers.items() if k.lower() not in _NOT_RECORDED},
            ),
            response=RecordedResponse(
                status=resp.status_code,
                headers={k: v for k, v in resp_headers.items() if k.lower() not in HOP_BY_HOP},
                body=b"".join(pieces),
                message=resp.reason_phrase or None,
                chunks=chunks if streamed else None,
                elapsed=head_at - started,
                incomplete=incomplete,
            ),
            operation=contract.id if contract else None,
            recorded_at=utc_now(),
        )
        stored = redact_interaction(item, self.rules)
        if self.media is not None:
            await self.media.capture(client, item, stored, auth_headers(request.headers))
        index = self.target.append(stored)
        if route is not None:
            route.index = index
            route.submitted = time.monotonic()
            for pending in route.pending:
                pending.callback_of = index
                self.target.append(pending)
            route.pending.clear()
        await self.target.persist()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # -- callbacks ----------------------------------------------------------------------------
    def _capture_callbacks(self) -> bool:
        return self.own_url is not None and (_is_loopback(self.upstream) or not _is_loopback(self.own_url))

    def _substitute_callback(self, body: bytes | None) -> tuple[bytes | None, _CallbackRoute | None]:
        found = callback_url(body) if self._capture_callbacks() else None
        if body is None or found is None or self.own_url is None:
            return body, None
        field, client_url = found
        token = uuid.uuid4().hex
        route = _CallbackRoute(client_url, f"{self.own_url}{CALLBACK_PATH}{token}", time.monotonic())
        needle = orjson.dumps(client_url)
        if needle in body:
            new_body = body.replace(needle, orjson.dumps(route.proxy_url))
        else:
            doc = orjson.loads(body)
            doc[field] = route.proxy_url
            new_body = orjson.dumps(doc)
        self._routes[token] = route
        return new_body, route

    def _swap_back(self, piece: bytes) -> bytes:
        if not self._routes or CALLBACK_PATH.encode() not in piece:
            return piece
        for route in self._routes.values():
            piece = piece.replace(route.proxy_url.encode(), route.client_url.encode())
        return piece

    async def handle_callback(self, token: str, request: RecordedRequest, scope: Any, receive: Any, send: Any) -> None:
        """Record what the upstream POSTs to the proxy's callback URL and pass it on to the client's."""
        route = self._routes.get(token)
        if route is None:
            err = ApiError(404, f"unknown callback token {token!r}", code="unknown_callback")
            await error_response(openai_envelope, err)(scope, receive, send)
            return
        body = self._swap_back(request.body or b"")
        headers = [(k, v) for k, vs in request.headers.items() if k.lower() not in _NOT_RECORDED for v in vs]
        try:
            answer = await self.client().post(route.client_url, content=body, headers=headers)
            status, answer_headers, answer_body = answer.status_code, _headers_of(answer.headers.raw), answer.content
            message = answer.reason_phrase or None
        except httpx.HTTPError as exc:
            status, answer_headers, message = 502, {"content-type": ["text/plain"]}, None
            answer_body = f"callback receiver {route.client_url} did not answer: {exc!r}".encode()
        item = Interaction(
            request=RecordedRequest("POST", route.client_url, request.headers, body),
            response=RecordedResponse(
                status=status,
                headers={k: v for k, v in answer_headers.items() if k.lower() not in HOP_BY_HOP},
                body=answer_body,
                message=message,
            ),
            kind="callback",
            after=time.monotonic() - route.submitted,
            recorded_at=utc_now(),
        )
        raw_item, item = item, redact_interaction(item, self.rules)
        if self.media is not None:
            await self.media.capture(self.client(), raw_item, item, [], skip=(route.client_url,))
        if route.index is None:
            route.pending.append(item)
        else:
            item.callback_of = route.index
            self.target.append(item)
            await self.target.persist()
        await send({"type": "http.response.start", "status": status, "headers": asgi_headers(answer_headers)})
        await send({"type": "http.response.body", "body": answer_body, "more_body": False})
