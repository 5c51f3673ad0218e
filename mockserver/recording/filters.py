"""Redaction: request → request (and response → response) functions applied before anything is written.

On by default: auth headers (`Authorization`, `x-api-key`, `x-goog-api-key`, `mj-api-secret`, ...),
cookies, secret query parameters (`key=`, `api_key=`, ...), JSON fields named like secrets
(`api_key`, `password`, a token-like `key`), key-shaped strings anywhere (`sk-…`, `AIza…`, bearer
tokens, JWTs), and every secret found in the request wherever it reappears (request or response).
Configured extras: header names, JSON paths and regexes (applied to the UTF-8 bytes).

Redaction edits the bytes in place, so a body keeps its formatting and a stream keeps its chunking.
The replay side passes every incoming request through the same functions before matching, which is
why matching still works after redaction.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import orjson

from mockserver.recording import jsonpath
from mockserver.recording.cassettes import Chunk, Headers, Interaction, RecordedRequest, RecordedResponse

REDACTED = "REDACTED"
_R = REDACTED.encode()

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "mj-api-secret",
        "cookie",
        "set-cookie",
    }
)
SECRET_QUERY_PARAMS = frozenset(
    {"key", "api_key", "apikey", "api-key", "access_token", "token", "secret", "signature", "sig"}
)
# JSON fields whose string value is always a secret (names compared lower-case, '-' as '_').
SECRET_FIELDS = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "x_goog_api_key",
        "mj_api_secret",
        "secret",
        "secret_key",
        "client_secret",
        "password",
        "access_token",
        "refresh_token",
        "authorization",
    }
)
# Fields that hold a secret only when the value looks like one (the System API's token `key`).
TOKEN_FIELDS = frozenset({"key", "token", "sk"})
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-.]{20,}")
# Key shapes redacted wherever they appear.
KEY_PATTERNS = (
    rb"(?<![A-Za-z0-9_\-])sk-[A-Za-z0-9_\-]{16,}",
    rb"AIza[0-9A-Za-z_\-]{35}",
    rb"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    rb"(?<=[Bb][Ee][Aa][Rr][Ee][Rr] )[A-Za-z0-9._~+/\-]{12,}=*",
)
# Secrets shorter than this are only redacted where they stand alone, not inside other text.
_MIN_SUBSTRING_SECRET = 6

Span = tuple[int, int, bytes]
# Bump when the built-in rules change, so cassettes written under the old ones are redacted again on load.
_RULESET = "mockserver-redaction-2"  # 2: multipart fields, URLs inside JSON, secret/signature params


@dataclasses.dataclass(frozen=True)
class RedactionRules:
    """What to redact: header and query names, JSON paths, byte regexes."""

    headers: frozenset[str] = SECRET_HEADERS
    query_params: frozenset[str] = SECRET_QUERY_PARAMS
    json_paths: tuple[tuple[jsonpath.Step, ...], ...] = ()
    patterns: tuple[re.Pattern[bytes], ...] = tuple(re.compile(p) for p in KEY_PATTERNS)

    @classmethod
    def build(
        cls,
        headers: Iterable[str] = (),
        json_paths: Iterable[str] = (),
        patterns: Iterable[str] = (),
    ) -> RedactionRules:
        """The defaults plus extra header names, JSON paths and regexes (errors name the bad one)."""
        compiled = []
        for p in patterns:
            try:
                compiled.append(re.compile(p.encode("utf-8")))
            except re.error as exc:
                raise ValueError(f"redact pattern {p!r} is not a valid regex ({exc})") from None
        return cls(
            headers=SECRET_HEADERS | {h.strip().lower() for h in headers if h.strip()},
            json_paths=tuple(jsonpath.parse_path(p) for p in json_paths),
            patterns=(*cls.patterns, *compiled),
        )

    @classmethod
    def from_settings(cls, settings: Any) -> RedactionRules:
        return cls.build(settings.redact_headers, settings.redact_json_paths, settings.redact_patterns)

    @functools.cached_property
    def scanner(self) -> re.Pattern[bytes] | None:
        """Every pattern in one alternation (one pass over a body), or None if they do not combine."""
        try:
            return re.compile(b"|".join(b"(?:" + p.pattern + b")" for p in self.patterns))
        except re.error:  # e.g. a user pattern with global flags
            return None

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identifies these rules: a cassette written under the same rules needs no redaction when loaded."""
        parts = [
            _RULESET,
            *sorted(self.headers),
            "|",
            *sorted(self.query_params),
            "|",
            *sorted(SECRET_FIELDS | TOKEN_FIELDS),
            "|",
            *(repr(p) for p in self.json_paths),
            "|",
            *(p.pattern.decode("utf-8", "replace") for p in self.patterns),
        ]
        return hashlib.blake2b("\n".join(parts).encode(), digest_size=8).hexdigest()


# ---------------------------------------------------------------------------------------------
# Finding secrets


def _header_secret(name: str, value: str) -> str:
    """The secret part of an auth header value (`Bearer sk-x` → `sk-x`)."""
    _, sep, token = value.strip().partition(" ")
    if sep and name.lower() in ("authorization", "proxy-authorization") and token.strip():
        return token.strip()
    return value.strip()


def _json_of(body: bytes | None) -> Any:
    """The parsed JSON body, or None (not JSON, or not a document worth looking into)."""
    if not body or not (body[:1] in (b"{", b"[") or body[:1].isspace()):
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


_UNSET: Any = object()


def request_secrets(request: RecordedRequest, rules: RedactionRules, doc: Any = _UNSET) -> set[str]:
    """Secret values a request carries in its headers, query and JSON body (`doc`: the body parsed)."""
    found: set[str] = set()
    for name, values in request.headers.items():
        if name.lower() in rules.headers:
            found.update(_header_secret(name, v) for v in values)
    for name, value in request.query:
        if name.lower() in rules.query_params:
            found.add(value)
    doc = _json_of(request.body) if doc is _UNSET else doc
    if doc is not None:
        found.update(v for v in json_secrets(doc, rules) if isinstance(v, str))
    if request.body and request.content_type == "multipart/form-data":
        found.update(multipart_secrets(request.body, request.header("content-type") or ""))
    found.discard("")
    found.discard(REDACTED)
    return found


def json_secrets(doc: Any, rules: RedactionRules) -> list[Any]:
    """Values under secret-named fields (strings) and at the configured JSON paths (any type)."""
    out: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                name = str(key).lower().replace("-", "_")
                if (
                    isinstance(value, str)
                    and value
                    and (name in SECRET_FIELDS or (name in TOKEN_FIELDS and _TOKEN_LIKE.fullmatch(value)))
                ):
                    out.append(value)
                    continue
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    out.extend(_url_secrets(doc, rules))
    for path in rules.json_paths:
        out.extend(v for v in jsonpath.values_at(doc, path) if v is not None and v != REDACTED)
    return out


_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>]+")
_PART_NAME = re.compile(rb'(?i)content-disposition:[^\r\n]*;\s*name="([^"]*)"')


def _url_secrets(doc: Any, rules: RedactionRules) -> list[str]:
    """Values of secret query parameters in URLs anywhere in a JSON document (a `notifyHook` with
    `?token=...`, a signed link)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and "?" in node and "=" in node:
            for url in _URL_IN_TEXT.findall(node):
                for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
                    if name.lower() in rules.query_params and value and value != REDACTED:
                        out.append(value)

    walk(doc)
    return out


def multipart_secrets(body: bytes, content_type: str) -> list[str]:
    """Values of secret-named fields (`api_key`, `password`, a token-like `key`) in a multipart body."""
    boundary = _boundary(content_type)
    return [text for _, text in _secret_parts(body, boundary)] if boundary else []


def _boundary(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            return value.strip('"')
    return ""


def _secret_parts(body: bytes, boundary: str) -> list[tuple[int, str]]:
    """(index among the parts split on the boundary, value) of each secret-named text field."""
    out: list[tuple[int, str]] = []
    for index, part in enumerate(body.split(b"--" + boundary.encode("latin-1"))):
        head, sep, value = part.partition(b"\r\n\r\n")
        match = _PART_NAME.search(head) if sep else None
        if match is None or b"filename=" in head:
            continue
        field = match.group(1).decode("utf-8", "replace").lower().replace("-", "_")
        text = value.removesuffix(b"\r\n").decode("utf-8", "replace")
        if text and (field in SECRET_FIELDS or (field in TOKEN_FIELDS and _TOKEN_LIKE.fullmatch(text))):
            out.append((index, text))
    return out


def redact_multipart(body: bytes, content_type: str) -> bytes:
    """`body` with the values of secret-named fields replaced, whatever their length."""
    boundary = _boundary(content_type)
    found = dict(_secret_parts(body, boundary)) if boundary else {}
    if not found:
        return body
    marker = b"--" + boundary.encode("latin-1")
    parts = body.split(marker)
    for index in found:
        head, _, value = parts[index].partition(b"\r\n\r\n")
        tail = b"\r\n" if value.endswith(b"\r\n") else b""
        parts[index] = head + b"\r\n\r\n" + _R + tail
    return marker.join(parts)


# ---------------------------------------------------------------------------------------------
# Editing bytes


def _spans_for(body: bytes, secrets: Iterable[str], rules: RedactionRules) -> list[Span]:
    spans: list[Span] = []
    for secret in secrets:
        quoted = orjson.dumps(secret)
        needles = [(quoted, b'"' + _R + b'"')]
        if len(secret) >= _MIN_SUBSTRING_SECRET:
            needles.append((quoted[1:-1], _R))
            raw = secret.encode("utf-8")
            if raw != quoted[1:-1]:
                needles.append((raw, _R))
        for needle, replacement in needles:
            start = body.find(needle)
            while start != -1:
                spans.append((start, start + len(needle), replacement))
                start = body.find(needle, start + len(needle))
    scanner = rules.scanner
    for pattern in (scanner,) if scanner is not None else rules.patterns:
        spans.extend((m.start(), m.end(), _R) for m in pattern.finditer(body) if m.end() > m.start())
    return spans


def _apply(body: bytes, spans: list[Span]) -> tuple[bytes, list[Span]]:
    """Replace non-overlapping spans (earliest, then longest, wins); return the new bytes and spans used."""
    spans.sort(key=lambda s: (s[0], -s[1]))
    used: list[Span] = []
    out: list[bytes] = []
    pos = 0
    for start, end, replacement in spans:
        if start < pos:
            continue
        out.append(body[pos:start])
        out.append(replacement)
        used.append((start, end, replacement))
        pos = end
    out.append(body[pos:])
    return b"".join(out), used


def _remap(chunks: list[Chunk], used: list[Span]) -> list[Chunk]:
    """Chunk sizes after the edits: a boundary inside a replaced span moves to the span's end."""
    out: list[Chunk] = []
    boundary = 0
    new_prev = 0
    for chunk in chunks:
        boundary += chunk.size
        shift = 0
        moved = boundary
        for start, end, replacement in used:
            if end <= boundary:
                shift += len(replacement) - (end - start)
            elif start < boundary:
                moved = end
                shift += len(replacement) - (end - start)
        new_boundary = moved + shift
        out.append(Chunk(chunk.at, max(0, new_boundary - new_prev)))
        new_prev = max(new_prev, new_boundary)
    return out


def redact_bytes(
    body: bytes, rules: RedactionRules, secrets: Iterable[str] = (), doc: Any = _UNSET
) -> tuple[bytes, list[Span]]:
    """`body` with JSON secrets, configured paths, key patterns and the given secrets replaced."""
    all_secrets = set(secrets)
    doc = _json_of(body) if doc is _UNSET else doc
    if doc is not None:
        found = json_secrets(doc, rules)
        strings = [v for v in found if isinstance(v, str)]
        if len(strings) < len(found) or any(orjson.dumps(s) not in body for s in strings):
            # A non-string value (or an unusual escape) cannot be edited in place: rewrite the JSON.
            return orjson.dumps(_redact_doc(doc, rules, all_secrets | set(strings))), []
        all_secrets.update(strings)
    all_secrets.discard("")
    all_secrets.discard(REDACTED)
    return _apply(body, _spans_for(body, all_secrets, rules))


def _redact_doc(doc: Any, rules: RedactionRules, secrets: set[str]) -> Any:
    for path in rules.json_paths:
        for container, key in jsonpath.locate(doc, path):
            container[key] = REDACTED
    long_secrets = [s for s in secrets if len(s) >= _MIN_SUBSTRING_SECRET]

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items()}
        if isinstance(node, list):
            return [clean(v) for v in node]
        if isinstance(node, str):
            if node in secrets:
                return REDACTED
            for secret in long_secrets:
                node = node.replace(secret, REDACTED)
            raw, _ = _apply(node.encode(), _spans_for(node.encode(), (), rules))
            return raw.decode("utf-8", "replace")
        return node

    return clean(doc)


def _redact_text(value: str, rules: RedactionRules, secrets: Iterable[str]) -> str:
    raw = value.encode("utf-8")
    new, used = _apply(raw, _spans_for(raw, [s for s in secrets if len(s) >= _MIN_SUBSTRING_SECRET], rules))
    return new.decode("utf-8", "replace") if used else value


# ---------------------------------------------------------------------------------------------
# Request and response filters


def redact_headers(headers: Headers, rules: RedactionRules, secrets: Iterable[str] = ()) -> Headers:
    """Secret headers replaced (keeping an auth scheme: `Bearer REDACTED`); others scrubbed of secrets."""
    secrets = list(secrets)
    out: Headers = {}
    for name, values in headers.items():
        lowered = name.lower()
        if lowered in rules.headers:
            out[name] = [_redact_header_value(lowered, v) for v in values]
        else:
            out[name] = [_redact_text(v, rules, secrets) for v in values]
    return out


def _redact_header_value(name: str, value: str) -> str:
    scheme, sep, token = value.strip().partition(" ")
    if sep and name in ("authorization", "proxy-authorization") and token.strip():
        return f"{scheme} {REDACTED}"
    return REDACTED


def redact_query(query: str, rules: RedactionRules, secrets: Iterable[str] = ()) -> str:
    """Secret query parameters replaced, keeping the order and encoding of the others."""
    if not query:
        return query
    secrets = list(secrets)
    parts = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and unquote_plus(name).lower() in rules.query_params and value:
            parts.append(f"{name}={REDACTED}")
        else:
            parts.append(_redact_text(pair, rules, secrets))
    return "&".join(parts)


def redact_uri(uri: str, rules: RedactionRules, secrets: Iterable[str] = ()) -> str:
    base, sep, query = uri.partition("?")
    base = _redact_text(base, rules, secrets)
    return f"{base}?{redact_query(query, rules, secrets)}" if sep else base


def redact_request(request: RecordedRequest, rules: RedactionRules) -> RecordedRequest:
    """A copy of `request` with every secret replaced by `REDACTED`."""
    doc = _json_of(request.body)
    return _redact_request(request, rules, request_secrets(request, rules, doc), doc)


def _redact_request(
    request: RecordedRequest, rules: RedactionRules, secrets: set[str], doc: Any = _UNSET
) -> RecordedRequest:
    body = request.body
    if body:
        if request.content_type == "application/x-www-form-urlencoded":
            body = redact_query(body.decode("latin-1"), rules, secrets).encode("latin-1")
        elif request.content_type == "multipart/form-data":
            body, _ = redact_bytes(redact_multipart(body, request.header("content-type") or ""), rules, secrets, None)
        else:
            body, _ = redact_bytes(body, rules, secrets, doc)
    return RecordedRequest(
        method=request.method,
        uri=redact_uri(request.uri, rules, secrets),
        headers=redact_headers(request.headers, rules, secrets),
        body=body,
    )


def redact_response(response: RecordedResponse, rules: RedactionRules, secrets: Iterable[str] = ()) -> RecordedResponse:
    """A copy of `response` with secrets replaced; a stream's chunk boundaries follow the edits."""
    body, used = redact_bytes(response.body, rules, secrets) if response.body else (response.body, [])
    chunks = response.chunks
    if chunks is not None and body != response.body:
        chunks = _remap(chunks, used) if used else [Chunk(chunks[0].at if chunks else 0.0, len(body))]
    return dataclasses.replace(
        response, headers=redact_headers(response.headers, rules, secrets), body=body, chunks=chunks
    )


def redact_interaction(item: Interaction, rules: RedactionRules) -> Interaction:
    """Redact both sides; secrets the request carried are also scrubbed from the response."""
    doc = _json_of(item.request.body)
    secrets = request_secrets(item.request, rules, doc)
    return dataclasses.replace(
        item,
        request=_redact_request(item.request, rules, secrets, doc),
        response=redact_response(item.response, rules, secrets),
        _yaml=None,
    )


RequestFilter = Callable[[RecordedRequest], RecordedRequest]


def request_filter(rules: RedactionRules) -> RequestFilter:
    """The request → request function the recorder and the replay matcher both apply."""

    def apply(request: RecordedRequest) -> RecordedRequest:
        return redact_request(request, rules)

    return apply
