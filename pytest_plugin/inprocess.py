"""Answer httpx and httpx2 requests to the YEScale base URL from an ASGI app, in-process and without sockets.

Two pieces:

- `AppThread` runs an ASGI app (lifespan included) on an event loop in a daemon thread and answers
  `httpx.Request`s from any thread or event loop through `httpx.ASGITransport`. Every request the app
  sees runs on that one loop, so the app's background work (task clock, callback delivery) keeps
  a single home whether the caller is sync or async.
- `YEScaleRouter`, a respx router registered with respx's own httpcore mocker (plain httpx) *and*
  with a mocker for httpcore2 (httpx2, which the current official SDKs send through): one set of
  routes serves both. Requests aimed elsewhere pass through, or go on to the user's own respx
  routers when they have some.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import importlib.util
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import respx
from respx.mocks import HTTPCoreMocker, Mocker

# Where a request came from: set on requests intercepted in httpcore2 (see `_httpcore2_mocker`).
VIA_EXTENSION = "mockserver.via"
HTTPCORE2_MOCKER = "mockserver-httpcore2"
# The route that answers from the app (its `calls` are the intercepted requests).
ROUTE_NAME = "mockserver"
_HTTPCORE2_TARGETS = [
    "httpcore2._sync.connection.HTTPConnection",
    "httpcore2._sync.connection_pool.ConnectionPool",
    "httpcore2._sync.http_proxy.HTTPProxy",
    "httpcore2._async.connection.AsyncHTTPConnection",
    "httpcore2._async.connection_pool.AsyncConnectionPool",
    "httpcore2._async.http_proxy.AsyncHTTPProxy",
]
# True while a router resolves a request for an async client (side effects may then return coroutines).
_RESOLVING_ASYNC: contextvars.ContextVar[bool] = contextvars.ContextVar("mockserver_resolving_async", default=False)


class AppThread:
    """An ASGI app served on its own event loop in a daemon thread; `handle`/`ahandle` answer requests."""

    def __init__(self, app: Any, *, timeout: float = 60.0) -> None:
        self.app = app
        self.timeout = timeout
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="mockserver-inprocess", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> AppThread:
        self.thread.start()
        if not self._ready.wait(self.timeout):
            raise TimeoutError(f"the in-process app did not start within {self.timeout}s")
        if self._error is not None:
            raise RuntimeError(f"the in-process app failed to start: {self._error!r}") from self._error
        return self

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(self.timeout)

    def __enter__(self) -> AppThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        lifespan = _Lifespan(self.app)
        try:
            await lifespan.startup()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            await lifespan.shutdown()  # collect the app's failed lifespan task (else asyncio reports it at exit)
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await lifespan.shutdown()

    @property
    def in_app_thread(self) -> bool:
        """True when called from the app's own thread (e.g. a recording proxy calling its upstream)."""
        return threading.current_thread() is self.thread

    # -- answering ----------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer `request` from the app, blocking the calling thread."""
        response: httpx.Response = self._submit(request).result(self.timeout)
        return response

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        """Answer `request` from the app without blocking the caller's event loop."""
        async with asyncio.timeout(self.timeout):  # not wait_for: on 3.11 it can swallow the caller's cancel
            return await asyncio.wrap_future(self._submit(request))

    def _submit(self, request: httpx.Request) -> Any:
        if self.loop is None or not self.thread.is_alive():
            raise RuntimeError("the in-process mockserver is not running (its fixture has ended)")
        return asyncio.run_coroutine_threadsafe(self._answer(request), self.loop)

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        """Run the app for `request` on this loop; a connection the app drops (a wire fault) becomes the
        error the caller's HTTP stack raises for a dropped connection (see `_dropped_error`)."""
        status, headers, chunks, dropped = await _drive(self.app, request)
        flavour = request.extensions.get(VIA_EXTENSION)
        if status is None or (dropped and dropped.reset):
            raise _dropped_error(flavour, "Server disconnected without sending a response.")
        if dropped is not None:
            stream = _CutStream(chunks, flavour)
            return httpx.Response(status, headers=headers, stream=stream, request=request)
        return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)


async def _drive(app: Any, request: httpx.Request) -> tuple[int | None, list[tuple[bytes, bytes]], list[bytes], Any]:
    """Call the ASGI app once (as `httpx.ASGITransport` does) and collect its answer: status, headers,
    body chunks, and the `ConnectionDropped` it raised, if any. Other exceptions propagate."""
    from mockserver.wire import ConnectionDropped

    url = request.url
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "server": (url.host, url.port),
        "client": ("127.0.0.1", 123),
        "root_path": "",
    }
    body = request.content
    sent_body = False
    done = asyncio.Event()
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            if message.get("body"):
                chunks.append(message["body"])
            if not message.get("more_body", False):
                done.set()

    dropped: Any = None
    try:
        await app(scope, receive, send)
    except ConnectionDropped as exc:
        dropped = exc
    except BaseExceptionGroup as group:
        found, rest = group.split(ConnectionDropped)
        if rest is not None or found is None:
            raise
        dropped = found.exceptions[0]
    finally:
        done.set()
    return status, headers, chunks, dropped


def _dropped_error(flavour: Any, message: str) -> Exception:
    """httpcore's (or httpcore2's) RemoteProtocolError, which httpx (httpx2) turns into its own."""
    if flavour == HTTPCORE2_MOCKER:
        import httpcore2

        return httpcore2.RemoteProtocolError(message)
    import httpcore

    return httpcore.RemoteProtocolError(message)


class _CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The chunks an answer got out before its connection was dropped, then the dropped-connection error."""

    def __init__(self, chunks: list[bytes], flavour: Any) -> None:
        self.chunks = chunks
        self.flavour = flavour

    def _error(self) -> Exception:
        return _dropped_error(
            self.flavour, "peer closed connection without sending complete message body (incomplete chunked read)"
        )

    def __iter__(self) -> Any:
        yield from self.chunks
        raise self._error()

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            yield chunk
        raise self._error()


class _Lifespan:
    """Drive an ASGI app's lifespan protocol (apps without one are served all the same)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.supported = True
        self._receive: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _app(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        try:
            await self.app(scope, self._receive.get, self._sent.put)
        except BaseException:
            if self.supported:
                await self._sent.put({"type": "lifespan.unsupported"})
            raise

    async def _expect(self, event: str) -> None:
        await self._receive.put({"type": f"lifespan.{event}"})
        message = await self._sent.get()
        kind = message.get("type", "")
        if kind == "lifespan.unsupported":
            self.supported = False
        elif kind.endswith(".failed"):
            raise RuntimeError(message.get("message") or f"lifespan {event} failed")

    async def startup(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._app())
        await self._expect("startup")

    async def shutdown(self) -> None:
        if self.supported and self._task is not None and not self._task.done():
            await self._expect("shutdown")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):  # the app's own exit; nothing waits for it
                await self._task


def _httpcore2_mocker() -> type[HTTPCoreMocker]:
    """respx's httpcore mocker re-aimed at httpcore2 (registered once per process)."""
    existing = Mocker.registry.get(HTTPCORE2_MOCKER)
    if existing is not None:
        return existing  # type: ignore[return-value]

    class HTTPCore2Mocker(HTTPCoreMocker):
        name = HTTPCORE2_MOCKER
        targets = list(_HTTPCORE2_TARGETS)

        @classmethod
        def to_httpx_request(cls, **kwargs: Any) -> httpx.Request:
            request: httpx.Request = super().to_httpx_request(**kwargs)  # type: ignore[no-untyped-call]
            request.extensions = {**request.extensions, VIA_EXTENSION: HTTPCORE2_MOCKER}
            return request

        @classmethod
        def from_sync_httpx_response(cls, httpx_response: httpx.Response, target: Any, **kwargs: Any) -> Any:
            import httpcore2

            return httpcore2.Response(
                status=httpx_response.status_code,
                headers=httpx_response.headers.raw,
                content=httpx_response.stream,
                extensions=httpx_response.extensions,
            )

    return HTTPCore2Mocker


class YEScaleRouter(respx.MockRouter):
    """A respx router active for httpx (httpcore) and httpx2 (httpcore2) at once."""

    def __init__(self) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True, using="httpcore")
        self._mocker2 = _httpcore2_mocker()

    def start(self) -> None:
        super().start()
        self._mocker2.register(self)
        self._mocker2.start()

    def stop(self, clear: bool = True, reset: bool = True, quiet: bool = False) -> None:
        self._mocker2.unregister(self)
        self._mocker2.stop()
        super().stop(clear=clear, reset=reset, quiet=quiet)

    async def aresolve(self, request: httpx.Request) -> Any:
        token = _RESOLVING_ASYNC.set(True)
        try:
            return await super().aresolve(request)
        finally:
            _RESOLVING_ASYNC.reset(token)

    def others_for(self, request: httpx.Request) -> bool:
        """True when other respx routers share the mocker this request came through."""
        mocker: Any = self._mocker2 if request.extensions.get(VIA_EXTENSION) == HTTPCORE2_MOCKER else HTTPCoreMocker
        return any(router is not self for router in mocker.routers)


Answer = Callable[[httpx.Request], httpx.Response]


def route_to_app(router: YEScaleRouter, base_url: str, runner: AppThread) -> None:
    """Send requests under `base_url` to `runner`'s app; let everything else go its way."""
    target = httpx.URL(base_url)

    def answer(request: httpx.Request) -> Any:
        if runner.in_app_thread:
            return request  # the app itself calling out (a recording proxy's upstream): real network
        if _RESOLVING_ASYNC.get():
            return runner.ahandle(request)
        return runner.handle(request)

    def elsewhere(request: httpx.Request) -> Any:
        # None: "not mine", so the user's own respx routers get their turn; else a real request.
        return None if router.others_for(request) else request

    pattern: dict[str, Any] = {"scheme": target.scheme, "host": target.host}
    if target.port is not None:
        pattern["port"] = target.port
    router.route(name=ROUTE_NAME, **pattern).mock(side_effect=answer)
    router.route(name="mockserver-pass-through").mock(side_effect=elsewhere)


@contextlib.contextmanager
def google_genai_over_httpx2() -> Iterator[None]:
    """Make google-genai's async client send through httpx2 (which the router sees) while the block runs.

    google-genai prefers aiohttp for async calls whenever aiohttp is installed (instructor, for one,
    pulls it in), and no respx mocker reaches aiohttp; its sync client uses httpx2 either way.
    """
    if importlib.util.find_spec("aiohttp") is None or importlib.util.find_spec("google.genai") is None:
        yield
        return
    api_client: Any = importlib.import_module("google.genai._api_client")
    before = getattr(api_client, "has_aiohttp", False)
    api_client.has_aiohttp = False
    try:
        yield
    finally:
        api_client.has_aiohttp = before
