"""Matchers: small pure functions named after what they compare, in a name → function table (VCR.py style).

Each matcher maps a (redacted) request to a comparable key; two requests match on a matcher when
their keys are equal. A request's match key is the tuple of the keys of the matchers in `match_on`,
which is what makes replay lookup a dict access however large the cassettes are. On a miss,
`explain(name, recorded, incoming)` says how the two differ.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from collections.abc import Callable, Hashable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from mockserver.recording import jsonpath
from mockserver.recording.cassettes import RecordedRequest

# Fields that carry the client's own callback URL: they differ between runs, so they never decide a match.
CALLBACK_FIELDS = ("notifyHook", "notify_hook", "callback_url", "callBackUrl")
DEFAULT_MATCH_ON = ("method", "path", "query", "body")
# Headers that say more about the client or the connection than about the request.
VOLATILE_HEADERS = frozenset(
    {
        "host",
        "user-agent",
        "content-length",
        "accept-encoding",
        "connection",
        "date",
        "traceparent",
        "tracestate",
        "x-request-id",
        "content-type",
    }
)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


@dataclasses.dataclass(frozen=True)
class MatchOptions:
    """Knobs the matchers share: body fields to ignore (JSON paths; callback URL fields by default)."""

    ignore_body_fields: tuple[tuple[jsonpath.Step, ...], ...] = tuple(jsonpath.parse_path(f) for f in CALLBACK_FIELDS)

    @classmethod
    def build(cls, ignore_body_fields: Iterable[str] = ()) -> MatchOptions:
        fields = (*CALLBACK_FIELDS, *ignore_body_fields)
        return cls(tuple(jsonpath.parse_path(f) for f in dict.fromkeys(fields)))


Matcher = Callable[[RecordedRequest, MatchOptions], Hashable]


def method(request: RecordedRequest, options: MatchOptions) -> Hashable:
    return request.method.upper()


def scheme(request: RecordedRequest, options: MatchOptions) -> Hashable:
    return request.scheme


def host(request: RecordedRequest, options: MatchOptions) -> Hashable:
    return request.host.lower()


def port(request: RecordedRequest, options: MatchOptions) -> Hashable:
    return request.port


def path(request: RecordedRequest, options: MatchOptions) -> Hashable:
    return unquote(request.path)


def query(request: RecordedRequest, options: MatchOptions) -> Hashable:
    """Query parameters as a sorted tuple: order does not matter, repeated names do."""
    return tuple(sorted(request.query))


def uri(request: RecordedRequest, options: MatchOptions) -> Hashable:
    return (
        scheme(request, options),
        host(request, options),
        port(request, options),
        path(request, options),
        query(request, options),
    )


def raw_body(request: RecordedRequest, options: MatchOptions) -> Hashable:
    return _digest(request.body or b"")


def body(request: RecordedRequest, options: MatchOptions) -> Hashable:
    """The canonical body: JSON with key order and ignored fields dropped, multipart without its boundary."""
    return _digest(orjson.dumps(canonical_body(request, options), option=orjson.OPT_SORT_KEYS))


def headers(request: RecordedRequest, options: MatchOptions) -> Hashable:
    """Headers other than the volatile ones (user agent, host, SDK telemetry such as `x-stainless-*`)."""
    return tuple(
        sorted(
            (name.lower(), value)
            for name, values in request.headers.items()
            if name.lower() not in VOLATILE_HEADERS and not name.lower().startswith("x-stainless-")
            for value in values
        )
    )


MATCHERS: dict[str, Matcher] = {
    "method": method,
    "scheme": scheme,
    "host": host,
    "port": port,
    "path": path,
    "query": query,
    "uri": uri,
    "body": body,
    "raw_body": raw_body,
    "headers": headers,
}


def check_match_on(names: Iterable[str]) -> tuple[str, ...]:
    """Validate matcher names (errors list the known ones)."""
    out = tuple(n.strip() for n in names if n.strip())
    unknown = [n for n in out if n not in MATCHERS]
    if unknown:
        raise ValueError(f"unknown matcher(s) {', '.join(unknown)}; known: {', '.join(MATCHERS)}")
    if not out:
        raise ValueError("match_on needs at least one matcher")
    return out


def match_key(request: RecordedRequest, match_on: tuple[str, ...], options: MatchOptions) -> tuple[Hashable, ...]:
    return tuple(MATCHERS[name](request, options) for name in match_on)


# ---------------------------------------------------------------------------------------------
# Canonical bodies


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def canonical_body(request: RecordedRequest, options: MatchOptions) -> Any:
    """A JSON-able form of the body for comparison: parsed JSON, form fields or parts, else raw bytes."""
    raw = request.body or b""
    if not raw:
        return None
    ctype = request.content_type
    if ctype.startswith("multipart/"):
        parts = multipart_parts(raw, request.header("content-type") or "")
        if parts is not None:
            ignored = {p[0] for p in options.ignore_body_fields if len(p) == 1 and isinstance(p[0], str)}
            return sorted([p for p in parts if p[0] not in ignored], key=lambda p: (p[0], p[1] or "", p[3]))
    if ctype == "application/x-www-form-urlencoded":
        ignored = {str(p[0]) for p in options.ignore_body_fields if len(p) == 1}
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
        return sorted([list(p) for p in pairs if p[0] not in ignored])
    if ctype.endswith("json") or raw[:1] in (b"{", b"["):
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = None
        else:
            for field_path in options.ignore_body_fields:
                jsonpath.delete_at(doc, field_path)
            return {"json": doc}
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"bytes": hashlib.blake2b(raw, digest_size=16).hexdigest()}


def multipart_parts(raw: bytes, content_type: str) -> list[list[Any]] | None:
    """[name, filename, content type, text or content digest] for every part; None when unparsable."""
    m = _BOUNDARY.search(content_type)
    if not m:
        return None
    delimiter = b"--" + m.group(1).encode("latin-1")
    sections = raw.split(delimiter)
    if len(sections) < 2:
        return None
    parts: list[list[Any]] = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        section = section[2:] if section.startswith(b"\r\n") else section.lstrip(b"\n")
        head, sep, content = section.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = section.partition(b"\n\n")
        content = content[:-2] if content.endswith(b"\r\n") else content.removesuffix(b"\n")
        fields: dict[str, str] = {}
        part_type = ""
        for line in head.decode("utf-8", "replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                fields = dict(_DISPOSITION.findall(value))
            elif name.strip().lower() == "content-type":
                part_type = value.strip()
        filename = fields.get("filename")
        if filename is None:
            try:
                shown: str = content.decode("utf-8")
            except UnicodeDecodeError:
                shown = "sha:" + hashlib.blake2b(content, digest_size=16).hexdigest()
        else:
            shown = "sha:" + hashlib.blake2b(content, digest_size=16).hexdigest()
        parts.append([fields.get("name", ""), filename, part_type, shown])
    return parts


# ---------------------------------------------------------------------------------------------
# Explaining a mismatch


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_differences(recorded: Any, incoming: Any, where: str = "", limit: int = 3) -> list[str]:
    """Up to `limit` places where two JSON documents differ, as `path: recorded X, got Y`."""
    out: list[str] = []

    def walk(a: Any, b: Any, at: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                sub = f"{at}.{key}" if at else str(key)
                if key not in b:
                    out.append(f"{sub}: only in the recorded request")
                elif key not in a:
                    out.append(f"{sub}: only in this request")
                else:
                    walk(a[key], b[key], sub)
                if len(out) >= limit:
                    return
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{at}[{i}]")
        elif a != b:
            out.append(f"{at or '(whole body)'}: recorded {_short(a)}, got {_short(b)}")

    walk(recorded, incoming, where)
    return out


def json_distance(a: Any, b: Any) -> float:
    """How far apart two JSON documents are: 1 per missing field or changed value, less for similar strings."""
    if isinstance(a, dict) and isinstance(b, dict):
        return sum(json_distance(a[k], b[k]) if k in a and k in b else 1.0 for k in set(a) | set(b))
    if isinstance(a, list) and isinstance(b, list):
        return abs(len(a) - len(b)) + sum(json_distance(x, y) for x, y in zip(a, b, strict=False))
    if a == b:
        return 0.0
    if isinstance(a, str) and isinstance(b, str):
        return 1.0 - difflib.SequenceMatcher(None, a[:200], b[:200]).ratio()
    return 1.0


def explain(name: str, recorded: RecordedRequest, incoming: RecordedRequest, options: MatchOptions) -> str:
    """Why `incoming` fails matcher `name` against `recorded` (one line)."""
    if name == "body":
        a, b = canonical_body(recorded, options), canonical_body(incoming, options)
        if isinstance(a, dict) and isinstance(b, dict) and "json" in a and "json" in b:
            diffs = json_differences(a["json"], b["json"])
            return "body differs: " + "; ".join(diffs)
        return f"body differs: recorded {_short(a)}, got {_short(b)}"
    if name == "query":
        a_pairs, b_pairs = dict(recorded.query), dict(incoming.query)
        diffs = json_differences(a_pairs, b_pairs)
        return "query differs: " + ("; ".join(diffs) if diffs else "repeated parameters differ")
    a_key, b_key = MATCHERS[name](recorded, options), MATCHERS[name](incoming, options)
    if isinstance(a_key, bytes):
        return f"{name} differs"
    return f"{name} differs: recorded {_short(_plain(a_key))}, got {_short(_plain(b_key))}"


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
