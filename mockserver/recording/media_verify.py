"""`mockserver verify` for recorded media: files present and intact, the kind each link field holds, sizes.

Drift kinds: `media missing` (the note names a file that is not beside the cassette, or a file whose size
differs from the note), `media type change` (the bytes are not what the note says, a field named for
one kind holds another — `video_url` holding audio — or one field holds different kinds across
recordings). Each operation's report also lists, per link field, the media types and size classes seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from mockserver.recording.media import kind_of, notes_of, sniff
from mockserver.recording.model import Interaction
from mockserver.recording.sse import parse_sse

# (kind, where, path, message), as `verify.Finding` takes them.
MediaFinding = tuple[str, str, str, str]
_SIZE_CLASSES = ((10 * 1024, "< 10 KB"), (1024 * 1024, "10 KB-1 MB"), (10 * 1024 * 1024, "1-10 MB"))
_FIELD_HINTS = (("video", "video"), ("audio", "audio"), ("image", "image"), ("cover", "image"), ("thumb", "image"))


def size_class(size: int) -> str:
    for bound, label in _SIZE_CLASSES:
        if size < bound:
            return label
    return "> 10 MB"


def _docs(item: Interaction) -> Iterator[Any]:
    body = item.request.body if item.kind == "callback" else item.response.body
    if not body:
        return
    try:
        yield orjson.loads(body)
        return
    except orjson.JSONDecodeError:
        pass
    for _, data in parse_sse(body):
        try:
            yield orjson.loads(data)
        except orjson.JSONDecodeError:
            continue


def _field_of(doc: Any, url: str, path: str = "") -> str | None:
    """Where in `doc` the link is (`data[].audio_url`), list indices folded to `[]`."""
    if isinstance(doc, str):
        return path or "$" if url in doc else None
    if isinstance(doc, dict):
        for key, value in doc.items():
            found = _field_of(value, url, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(doc, list):
        for value in doc:
            found = _field_of(value, url, f"{path}[]")
            if found:
                return found
    return None


def check_media(item: Interaction, cassette: Path) -> tuple[list[MediaFinding], list[tuple[str, str]]]:
    """Findings for one interaction's media notes, and (field, "type size-class") for the summary."""
    findings: list[MediaFinding] = []
    seen: list[tuple[str, str]] = []
    docs = list(_docs(item)) if notes_of(item) else []
    for note in notes_of(item):
        url = note["url"]
        field = next((f for d in docs if (f := _field_of(d, url))), "?")
        if "skipped" in note:
            seen.append((field, f"not stored ({note['skipped']})"))
            continue
        recorded = str(note.get("content_type") or "")
        file = cassette.parent / str(note.get("file") or "")
        if not file.is_file():
            findings.append(("media missing", "media", field, f"{note.get('file')} is not beside {cassette.name}"))
            continue
        data = file.read_bytes()
        if note.get("size") not in (None, len(data)):
            findings.append(
                ("media missing", "media", field, f"{file.name} has {len(data)} bytes, noted {note['size']}")
            )
        sniffed = sniff(data)
        if sniffed and kind_of(sniffed) != kind_of(recorded):
            findings.append(("media type change", "media", field, f"noted as {recorded}, the bytes are {sniffed}"))
        hinted = next((kind for word, kind in _FIELD_HINTS if word in field.rsplit(".", 1)[-1].lower()), None)
        if hinted and kind_of(recorded) and hinted != kind_of(recorded):
            findings.append(("media type change", "media", field, f"a {hinted} field holds {recorded}"))
        seen.append((field, f"{recorded} {size_class(len(data))}"))
    return findings, seen


def kind_drift(field: str, labels: dict[str, int]) -> MediaFinding | None:
    """One field holding different media kinds across recordings."""
    kinds = sorted({kind_of(label.split(" ", 1)[0]) or "?" for label in labels if not label.startswith("not stored")})
    if len(kinds) > 1:
        return ("media type change", "media", field, f"holds {' and '.join(kinds)} in different recordings")
    return None
