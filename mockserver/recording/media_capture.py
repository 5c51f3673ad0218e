"""The recording proxy's media capture: fetch the links of a recorded answer and note what was stored."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from mockserver.recording.media import (
    MediaLimits,
    candidates,
    is_loopback_or_same,
    kind_of,
    sniff,
    store_file,
)
from mockserver.recording.model import Interaction

log = logging.getLogger("mockserver.recording")

# Request headers that may authorize a media download from the upstream itself (never sent elsewhere).
AUTH_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "mj-api-secret", "api-key"})
_OCTET = ("", "application/octet-stream", "binary/octet-stream")
_FETCH_TIMEOUT = httpx.Timeout(60.0)


class MediaRecorder:
    """Fetches and stores the media an upstream's answers link to (see `mockserver.recording.media`)."""

    def __init__(self, folder: Path, limits: MediaLimits, origin: str, exclude: Iterable[str] = ()) -> None:
        self.folder = folder
        self.limits = limits
        self.origin = origin
        self.exclude = tuple(exclude)
        self.total = 0
        # link as fetched → note without the link (each link is fetched once per recording session)
        self._known: dict[str, dict[str, Any] | None] = {}

    async def capture(
        self,
        client: httpx.AsyncClient,
        raw: Interaction,
        stored: Interaction,
        auth: list[tuple[str, str]],
        skip: Iterable[str] = (),
    ) -> None:
        """Fetch the links of `raw` (the interaction before redaction) and note them on `stored`; links in
        `skip` (e.g. the client's own callback URL) are never fetched."""
        skip = tuple(skip)
        found = candidates(raw, exclude=skip)
        links = [link for link in found if not (self.exclude and link.startswith(self.exclude))]
        if not links:
            return
        shown = candidates(stored, exclude=skip)
        # Redaction keeps a body's links in order; a link it changed is noted as it was written.
        written_as = dict(zip(found, shown, strict=True)) if len(shown) == len(found) else {s: s for s in shown}
        notes = []
        for link in links:
            written = written_as.get(link)
            if written is None:
                continue
            note = self._known[link] if link in self._known else await self._fetch(client, link, auth)
            self._known[link] = note
            if note is not None:
                notes.append({"url": written, **note})
        if notes:
            stored.extra["media"] = notes
            stored._yaml = None

    async def _fetch(self, client: httpx.AsyncClient, url: str, auth: list[tuple[str, str]]) -> dict[str, Any] | None:
        headers = auth if is_loopback_or_same(url, self.origin) else []
        limit = self.limits.max_file
        try:
            async with client.stream("GET", url, headers=headers, timeout=_FETCH_TIMEOUT) as resp:
                if resp.status_code != 200:
                    return None
                declared = (resp.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
                if kind_of(declared) is None and declared not in _OCTET:
                    return None  # a page, an API answer, JSON: not media
                length = resp.headers.get("content-length")
                if length and length.isdigit() and int(length) > limit:
                    return {"skipped": f"larger than the {limit}-byte limit per file ({length} bytes)"}
                buffer = bytearray()
                async for piece in resp.aiter_bytes():
                    buffer += piece
                    if len(buffer) > limit:
                        return {"skipped": f"larger than the {limit}-byte limit per file"}
        except httpx.HTTPError as exc:
            log.warning("media link %s could not be fetched: %r", url.split("?", 1)[0], exc)
            return None
        data = bytes(buffer)
        content_type = declared if kind_of(declared) else sniff(data)
        if content_type is None:
            return None
        if self.total + len(data) > self.limits.max_total:
            return {"skipped": f"the cassette's media limit of {self.limits.max_total} bytes is reached"}
        self.total += len(data)
        file = await asyncio.to_thread(store_file, self.folder, data, content_type)
        return {"file": file, "content_type": content_type, "size": len(data)}


def auth_headers(headers: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The client's credentials, for fetching media the upstream itself serves."""
    return [(k, v) for k, values in headers.items() if k.lower() in AUTH_HEADERS for v in values]
