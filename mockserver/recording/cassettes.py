"""Cassettes as YAML: VCR.py's `{version: 1, interactions: [...]}` plus our fields; load, save, find.

An interaction is written as VCR.py writes one (`request: {method, uri, headers, body}`,
`response: {status: {code, message}, headers, body: {string}}`), so VCR.py cassettes load as they are,
plus what VCR.py lacks: `operation` (the contract id), `recorded_at`, a stream's chunk boundaries with
their timing (`response.chunks: [{at, size}]`, `at` in seconds after the response head), the time to
the response head (`response.elapsed`), and captured task callbacks (`kind: callback`).
Text bodies are stored as readable strings; anything else as `!!binary` (base64).
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path
from typing import Any

import yaml

from mockserver.recording import cache
from mockserver.recording.model import (
    HOP_BY_HOP,
    Cassette,
    CassetteError,
    Chunk,
    Headers,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    header_value,
)
from mockserver.recording.persist import trim_partial_tail, write_atomic
from mockserver.version import __version__

log = logging.getLogger("mockserver.recording")

__all__ = [
    "CASSETTE_SUFFIXES",
    "HOP_BY_HOP",
    "Cassette",
    "CassetteError",
    "Chunk",
    "Headers",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "cassette_files",
    "header_value",
    "load_cassette",
    "parse_cassette",
    "render_cassette",
    "save_cassette",
]

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

CASSETTE_SUFFIXES = (".yaml", ".yml")
_CONTROL = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r") | {
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
}


# ---------------------------------------------------------------------------------------------
# Writing


class _Flow(dict[str, Any]):
    """A mapping written on one line (`{at: 0.01, size: 42}`)."""


class _Dumper(_BaseDumper):  # type: ignore[misc]
    """SafeDumper that writes multi-line text as literal blocks and chunks on one line."""


def _represent_str(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value and "\r" not in value and not (_CONTROL & set(value)) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_flow(dumper: Any, value: _Flow) -> Any:
    return dumper.represent_mapping("tag:yaml.org,2002:map", dict(value), flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Flow, _represent_flow)


def body_for_yaml(body: bytes) -> str | bytes:
    """Text bodies become strings (readable); anything else stays bytes (written as base64)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    if _CONTROL.isdisjoint(text):
        return text
    return body


def _headers_out(headers: Headers) -> dict[str, list[str]]:
    return {name: list(values) for name, values in headers.items()}


def interaction_to_dict(item: Interaction) -> dict[str, Any]:
    """The YAML mapping of one interaction (VCR.py's keys first, then ours)."""
    req, resp = item.request, item.response
    response: dict[str, Any] = {
        "status": {"code": resp.status, "message": resp.message or ""},
        "headers": _headers_out(resp.headers),
        "body": {"string": body_for_yaml(resp.body)},
    }
    if resp.chunks is not None:
        response["chunks"] = [_Flow(at=round(c.at, 4), size=c.size) for c in resp.chunks]
    if resp.elapsed is not None:
        response["elapsed"] = round(resp.elapsed, 4)
    if resp.incomplete:
        response["incomplete"] = True
    out: dict[str, Any] = {
        "request": {
            "method": req.method,
            "uri": req.uri,
            "headers": _headers_out(req.headers),
            "body": None if req.body is None else body_for_yaml(req.body),
        },
        "response": response,
    }
    if item.kind != "http":
        out["kind"] = item.kind
    if item.operation:
        out["operation"] = item.operation
    if item.callback_of is not None:
        out["callback_of"] = item.callback_of
    if item.after is not None:
        out["after"] = round(item.after, 4)
    if item.recorded_at:
        out["recorded_at"] = item.recorded_at
    out.update(item.extra)
    return out


def _dump(data: Any) -> str:
    text = str(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 20))
    # A document ending in a `|+` block gets an explicit end marker; pieces are concatenated, so drop it
    # (the next item, at a lower indentation, ends the block just as well).
    return text.removesuffix("...\n")


def render_interaction(item: Interaction) -> str:
    """One interaction as a YAML list item (rendered once, then cached on the interaction)."""
    if item._yaml is None:
        item._yaml = _dump([interaction_to_dict(item)])
    return item._yaml


def cassette_head(cassette: Cassette) -> str:
    """The text before the interactions, ending in `interactions:` (see `render_cassette`)."""
    meta = {"version": 1, "recorded_with": f"mockserver {__version__}"}
    meta.update({k: v for k, v in cassette.meta.items() if k not in ("version", "interactions", "recorded_with")})
    return _dump(meta) + "interactions:\n"


def render_cassette(cassette: Cassette) -> str:
    """The whole cassette as YAML text; `interactions` comes last so items are simply concatenated
    (and a recorder appends new ones to the file)."""
    head = cassette_head(cassette)
    if not cassette.interactions:
        return head.removesuffix("interactions:\n") + "interactions: []\n"
    return head + "".join(render_interaction(i) for i in cassette.interactions)


def save_cassette(path: str | Path, cassette: Cassette) -> Path:
    """Write `cassette` to `path` atomically (a temporary file renamed over the old one)."""
    path = Path(path)
    write_atomic(path, render_cassette(cassette))
    cassette.path = path
    return path


# ---------------------------------------------------------------------------------------------
# Reading (our format and VCR.py's)


def _as_bytes(value: Any, where: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and "string" in value:
        return _as_bytes(value["string"], where)
    raise CassetteError(f"{where}: a body is text, !!binary or null, not {type(value).__name__}")


def _headers_in(value: Any, where: str) -> Headers:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CassetteError(f"{where}: headers are a mapping of name to values")
    out: Headers = {}
    for name, values in value.items():
        if isinstance(values, list):
            out[str(name)] = [str(v) for v in values]
        elif values is not None:
            out[str(name)] = [str(values)]
    return out


def _decode_content(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
    """Undo gzip/deflate bodies recorded as they came over the wire (VCR.py keeps them encoded)."""
    encoding = (header_value(headers, "content-encoding") or "").strip().lower()
    if encoding not in ("gzip", "x-gzip", "deflate") or not body:
        return headers, body
    try:
        decoded = zlib.decompress(body, 47) if "gzip" in encoding else _inflate(body)
    except zlib.error:
        return headers, body
    kept = {k: v for k, v in headers.items() if k.lower() not in ("content-encoding", "content-length")}
    return kept, decoded


def _inflate(body: bytes) -> bytes:
    try:
        return zlib.decompress(body)
    except zlib.error:
        return zlib.decompress(body, -15)


def _request_from(raw: Any, where: str) -> RecordedRequest:
    if not isinstance(raw, dict) or "uri" not in raw or "method" not in raw:
        raise CassetteError(f"{where}: request needs at least `method` and `uri`")
    return RecordedRequest(
        method=str(raw["method"]).upper(),
        uri=str(raw["uri"]),
        headers=_headers_in(raw.get("headers"), where),
        body=_as_bytes(raw.get("body"), where),
    )


def _response_from(raw: Any, where: str) -> RecordedResponse:
    if not isinstance(raw, dict):
        raise CassetteError(f"{where}: response is a mapping")
    status = raw.get("status", raw.get("status_code"))
    message = None
    if isinstance(status, dict):
        message = status.get("message")
        status = status.get("code")
    if not isinstance(status, int):
        raise CassetteError(f"{where}: response.status.code must be an integer")
    body_raw = raw["body"] if "body" in raw else raw.get("content")
    body = _as_bytes(body_raw, where) or b""
    headers, body = _decode_content(_headers_in(raw.get("headers"), where), body)
    chunks = None
    if raw.get("chunks") is not None:
        try:
            chunks = [Chunk(float(c["at"]), int(c["size"])) for c in raw["chunks"]]
        except (TypeError, KeyError, ValueError):
            raise CassetteError(f"{where}: response.chunks items are {{at: seconds, size: bytes}}") from None
    elapsed = raw.get("elapsed")
    return RecordedResponse(
        status=status,
        headers=headers,
        body=body,
        message=str(message) if message else None,
        chunks=chunks,
        elapsed=float(elapsed) if isinstance(elapsed, (int, float)) else None,
        incomplete=bool(raw.get("incomplete", False)),
    )


_KNOWN = frozenset({"request", "response", "operation", "recorded_at", "kind", "callback_of", "after"})


def interaction_from_dict(raw: Any, where: str) -> Interaction:
    """Parse one interaction mapping (ours or VCR.py's)."""
    if not isinstance(raw, dict) or "request" not in raw or "response" not in raw:
        raise CassetteError(f"{where}: an interaction has `request` and `response`")
    recorded_at = raw.get("recorded_at")
    return Interaction(
        request=_request_from(raw["request"], where),
        response=_response_from(raw["response"], where),
        operation=str(raw["operation"]) if raw.get("operation") else None,
        recorded_at=str(recorded_at) if recorded_at is not None else None,
        kind=str(raw.get("kind") or "http"),
        callback_of=int(raw["callback_of"]) if raw.get("callback_of") is not None else None,
        after=float(raw["after"]) if raw.get("after") is not None else None,
        extra={k: v for k, v in raw.items() if k not in _KNOWN},
    )


def parse_cassette(text: str, where: str = "<cassette>") -> Cassette:
    """Parse cassette text (YAML, which includes JSON) into a `Cassette`."""
    return cassette_from_data(_parse_yaml(text, where), where)


def _parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise CassetteError(f"{where}: not valid YAML ({exc})") from None


def cassette_from_data(data: Any, where: str) -> Cassette:
    """A `Cassette` from parsed YAML data (`{version: 1, interactions: [...]}`)."""
    if data is None:
        return Cassette()
    if not isinstance(data, dict) or not isinstance(data.get("interactions", []), list):
        raise CassetteError(f"{where}: a cassette is a mapping with an `interactions` list")
    version = data.get("version", 1)
    if version != 1:
        raise CassetteError(f"{where}: cassette version {version!r} is not supported (only 1)")
    items = [interaction_from_dict(raw, f"{where} interaction {i}") for i, raw in enumerate(data["interactions"] or [])]
    meta = {k: v for k, v in data.items() if k not in ("interactions", "version")}
    return Cassette(items, meta=meta)


def load_cassette(path: str | Path) -> Cassette:
    """Read a cassette file; a file that does not exist yet is an empty cassette."""
    path = Path(path)
    try:
        stat = path.stat()
        data = cache.load(path, stat)
        if data is None:
            text = path.read_text(encoding="utf-8")
            whole = trim_partial_tail(text)
            if whole != text:
                log.warning("%s: dropped an interaction cut short by a crash while it was appended", path)
            data = _parse_yaml(whole, str(path))
            cache.store(path, stat, data)
    except FileNotFoundError:
        return Cassette(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteError(f"{path}: cannot read cassette ({exc})") from None
    cassette = cassette_from_data(data, str(path))
    cassette.path = path
    return cassette


def cassette_files(target: str | Path) -> list[Path]:
    """The cassette files under `target` (a folder, searched recursively, or one file)."""
    target = Path(target)
    if target.is_file() or target.suffix in (*CASSETTE_SUFFIXES, ".json"):
        return [target] if target.is_file() else []
    if not target.is_dir():
        return []
    found = [
        p
        for p in target.rglob("*")
        if p.suffix in CASSETTE_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(target).parts)
    ]
    return sorted(found)
