"""Media in cassettes: fetch what recorded answers link to, store it beside the cassette, serve it on replay.

While recording, every http(s) link in a recorded answer (JSON body, stream events) or captured callback
is fetched once by the proxy; what comes back as an image, audio or video is stored content-addressed as
`<cassette folder>/media/<sha256>.<ext>` and the interaction notes it under `media`:

    media:
    - {url: https://cdn.example/grid.png, file: media/3f1c….png, content_type: image/png, size: 48213}

Links the request itself carried (a callback URL, an input image) are not fetched: they are the
client's. Limits per file and per cassette keep a recording bounded (a link past them is noted with
`skipped: <why>`), and `--no-media` turns capture off (the cassette then says `media: off`). File names
come from the content's hash, so a secret in a signed link never reaches a name; the links noted are
taken from the redacted answer.

On replay each noted link is rewritten to the replay server's own route
`/__mock/cassettes/media/<file>` (under `--public-url`, else the host the client called), wherever it
appears (also `\\/`-escaped), with a stream's chunk boundaries moved to match, and the route serves the
stored bytes with the recorded content type.
"""

from __future__ import annotations

import dataclasses
import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mockserver.recording.model import Chunk, Interaction

MEDIA_ROUTE = "/__mock/cassettes/media/"
MEDIA_DIR = "media"
MEDIA_KINDS = ("image", "audio", "video")
# Links tried per interaction: an answer listing hundreds of URLs is not a media answer.
MAX_LINKS = 32
_LINK = re.compile(rb"https?:(?://|\\/\\/)[^\s\"'<>]+")
_TRAILING = b").,;]}"
_NAME = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]{1,8}$")

# Magic numbers of the formats gateways hand out (enough to tell image, audio and video apart).
_IMAGES = ((b"\x89PNG\r\n\x1a\n", 0, "image/png"), (b"\xff\xd8\xff", 0, "image/jpeg"), (b"GIF8", 0, "image/gif"))
_AUDIO = ((b"ID3", 0, "audio/mpeg"), (b"\xff\xfb", 0, "audio/mpeg"), (b"\xff\xf3", 0, "audio/mpeg"))
_MORE_AUDIO = ((b"OggS", 0, "audio/ogg"), (b"fLaC", 0, "audio/flac"), (b"WAVE", 8, "audio/wav"))
_VIDEO = ((b"ftyp", 4, "video/mp4"), (b"\x1a\x45\xdf\xa3", 0, "video/webm"))
_MAGIC: tuple[tuple[bytes, int, str], ...] = (*_IMAGES, (b"WEBP", 8, "image/webp"), *_AUDIO, *_MORE_AUDIO, *_VIDEO)


def sniff(data: bytes) -> str | None:
    """The media type the bytes' magic number says, or None."""
    for magic, offset, kind in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if kind == "video/mp4" and data[8:11] in (b"M4A", b"M4B"):
                return "audio/mp4"
            return kind
    if data.lstrip()[:5] in (b"<svg ", b"<?xml") and b"<svg" in data[:2048]:
        return "image/svg+xml"
    return None


def kind_of(content_type: str | None) -> str | None:
    """`image`, `audio` or `video` for a media type, else None."""
    major = (content_type or "").split("/", 1)[0].strip().lower()
    return major if major in MEDIA_KINDS else None


def find_links(body: bytes | None) -> list[str]:
    """The distinct http(s) links in `body`, in order of appearance (`\\/`-escaped ones unescaped)."""
    if not body:
        return []
    seen: dict[str, None] = {}
    for match in _LINK.finditer(body):
        raw = match.group(0).replace(b"\\/", b"/").rstrip(_TRAILING)
        if raw.endswith(b"\\"):
            raw = raw[:-1]
        try:
            seen.setdefault(raw.decode("utf-8"), None)
        except UnicodeDecodeError:
            continue
    return list(seen)


def candidates(item: Interaction, *, exclude: Iterable[str] = ()) -> list[str]:
    """Links in an answer (or a callback's body) that may be media: not echoed from the request."""
    body = item.request.body if item.kind == "callback" else item.response.body
    echoed = set(exclude)
    if item.kind != "callback":
        echoed.update(find_links(item.request.body))
        echoed.add(item.request.uri)
    return [link for link in find_links(body) if link not in echoed][:MAX_LINKS]


@dataclasses.dataclass
class MediaLimits:
    """Capture switch and bounds: bytes per file and per cassette."""

    enabled: bool = True
    max_file: int = 50 * 1024 * 1024
    max_total: int = 1024 * 1024 * 1024


def extension_for(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    special = {"audio/mpeg": "mp3", "image/jpeg": "jpg", "audio/wav": "wav", "audio/x-wav": "wav", "video/mp4": "mp4"}
    if base in special:
        return special[base]
    guessed = mimetypes.guess_extension(base) or ".bin"
    return guessed.lstrip(".")[:8] or "bin"


def store_file(folder: Path, data: bytes, content_type: str) -> str:
    """Write `data` once under `folder/media/` named by its SHA-256; return the name relative to `folder`."""
    name = f"{hashlib.sha256(data).hexdigest()}.{extension_for(content_type)}"
    target = folder / MEDIA_DIR / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return f"{MEDIA_DIR}/{name}"


def notes_of(item: Interaction) -> list[dict[str, Any]]:
    """The `media` notes of an interaction (empty when it has none)."""
    notes = item.extra.get("media")
    return (
        [n for n in notes if isinstance(n, dict) and isinstance(n.get("url"), str)] if isinstance(notes, list) else []
    )


# ---------------------------------------------------------------------------------------------
# Replay: rewrite links, keep chunk boundaries


def rewrite(
    body: bytes, mapping: Mapping[str, str], chunks: list[Chunk] | None = None
) -> tuple[bytes, list[Chunk] | None]:
    """`body` with every recorded link replaced (plain and `\\/`-escaped), and the chunks re-cut to match."""
    needles: dict[bytes, bytes] = {}
    for old, new in mapping.items():
        needles[old.encode()] = new.encode()
        needles[old.replace("/", "\\/").encode()] = new.replace("/", "\\/").encode()
    if not needles or not any(n in body for n in needles):
        return body, chunks
    pattern = re.compile(b"|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    spans: list[tuple[int, int, int]] = []  # (start, end, growth)
    out: list[bytes] = []
    last = 0
    for match in pattern.finditer(body):
        replacement = needles[match.group(0)]
        out += [body[last : match.start()], replacement]
        spans.append((match.start(), match.end(), len(replacement) - (match.end() - match.start())))
        last = match.end()
    out.append(body[last:])
    new_body = b"".join(out)
    if not chunks:
        return new_body, chunks
    bounds, offset = [], 0
    for chunk in chunks:
        offset += chunk.size
        bounds.append(offset)
    moved = []
    for bound in bounds:
        shift = 0
        for start, end, growth in spans:
            if end <= bound:
                shift += growth
            elif start < bound:  # a link cut by a chunk boundary: the boundary moves to its end
                shift += growth + (end - bound)
        moved.append(bound + shift)
    recut, previous = [], 0
    for chunk, bound in zip(chunks, moved, strict=True):
        recut.append(Chunk(chunk.at, max(0, bound - previous)))
        previous = max(previous, bound)
    return new_body, recut


def media_base(public_url: str | None, scope: Mapping[str, Any]) -> str:
    """Where the replay server's media route is reached: `--public-url`, else the host the client called."""
    if public_url:
        return public_url.rstrip("/")
    host = ""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1")
            break
    if not host and scope.get("server"):
        host = f"{scope['server'][0]}:{scope['server'][1]}"
    return f"{scope.get('scheme', 'http')}://{host or 'localhost'}"


def link_mapping(notes: list[dict[str, Any]], base: str) -> dict[str, str]:
    """Recorded link → replay link, for the notes that have a stored file."""
    return {n["url"]: base + MEDIA_ROUTE + Path(str(n["file"])).name for n in notes if n.get("file")}


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def is_loopback_or_same(url: str, origin: str) -> bool:
    """True when `url` is on `origin` (the upstream): only then does the client's auth go with the fetch."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == origin
