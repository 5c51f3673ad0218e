"""The dashboard at `/__mock/ui`: one self-contained page (HTML, CSS and vanilla JS, no CDN, no build step).

The page is a static shell: it holds no state, and reads everything from the control API with
same-origin `fetch` calls (sending `x-mock-token` from the page URL's `?token=` when there is one), the
journal live from `/__mock/requests/stream`. It puts every value in the page as text, never as HTML,
and is served with a Content-Security-Policy that allows only its own inline script and style (by hash)
and same-origin connections, so even a value that slipped through could not run as script.
Both the emulator and the replay server serve it (`page_response(config)`); this module imports only core.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.state import MockState
from mockserver.ui.stream import journal_stream
from mockserver.version import __version__

_PAGE_FILES = ("page.html", "page.css", "page.js")


@functools.cache
def _parts() -> tuple[str, str, str]:
    folder = resources.files(__name__)
    html, css, js = (folder.joinpath(name).read_text(encoding="utf-8") for name in _PAGE_FILES)
    return html, css, js


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def script_json(value: Any) -> str:
    """JSON that is safe inside a `<script>` element: `<`, `>` and `&` escaped, so no `</script>` can end it."""
    text = orjson.dumps(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(config: dict[str, Any]) -> tuple[str, str]:
    """The page with `config` embedded, and the Content-Security-Policy that lets exactly its script run."""
    html, css, js = _parts()
    page = html.replace("/*STYLE*/", css, 1).replace("/*CONFIG*/", script_json(config), 1)
    page = page.replace("/*SCRIPT*/", js, 1)
    policy = (
        f"default-src 'none'; script-src {_hash(js)}; style-src {_hash(css)}; connect-src 'self';"
        " img-src 'self' blob: data:; media-src 'self' blob: data:; base-uri 'none'; form-action 'none';"
        " frame-ancestors 'none'"
    )
    return page, policy


def page_response(config: dict[str, Any]) -> Response:
    """The dashboard page as an HTML answer (never cached, never framed, no referrer: the URL may hold a token)."""
    page, policy = render_page(config)
    headers = {
        "content-security-policy": policy,
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
    }
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


def page_config(*, mode: str, base_url: str, operations: list[str], emulator: bool, cassettes: bool) -> dict[str, Any]:
    """What the page needs to know about the server that serves it."""
    return {
        "mode": mode,
        "version": __version__,
        "base_url": base_url,
        "operations": operations,
        "emulator": emulator,
        "cassettes": cassettes,
    }


async def dashboard(request: Request) -> Response:
    """`GET /__mock/ui` on the emulator."""
    state: MockState = request.app.state.mock
    config = page_config(
        mode="emulator",
        base_url=state.settings.base_url,
        operations=sorted(c.id for c in state.contracts),
        emulator=True,
        cassettes=False,
    )
    return page_response(config)


Endpoint = Callable[[Request], Awaitable[Response]]


def routes(guard: Callable[[Endpoint], Endpoint] | None = None) -> list[Route]:
    """The dashboard's routes. `guard` (the control API's protection: token, cross-origin refusal) wraps
    the journal stream, which reads state; the page is a static shell that a browser must be able to
    load by address, so it stays open and sends the token from its own `?token=` on every call."""
    stream: Endpoint = journal_stream if guard is None else guard(journal_stream)
    return [
        Route("/__mock/ui", dashboard, methods=["GET"]),
        Route("/__mock/requests/stream", stream, methods=["GET"]),
    ]


ROUTES = routes()
