"""`mockserver verify`: check recorded traffic against the contracts and report drift per operation.

Every recorded request (query and body), response (status and body), stream event and captured
callback is validated against the operation's contract. Drift kinds: `unknown field` (also where the
schema allows extra fields: compared with the declared `properties`), `missing required field`,
`type change`, `undocumented status code`, `unknown event type`, and `schema violation` for the rest
(enum, const, format, ...). Interactions no contract covers are listed, not counted as drift.
Operations whose contract is `inferred` and whose recordings all conform are reported as confirmed.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from mockserver.contracts import Contract, Contracts, Issue, load_contracts
from mockserver.recording.cassettes import CassetteError, Interaction, cassette_files, load_cassette
from mockserver.recording.matchers import multipart_parts
from mockserver.recording.media_verify import check_media, kind_drift
from mockserver.recording.report import Drift, OperationReport, Report
from mockserver.recording.schema_walk import SchemaWalker
from mockserver.recording.sse import parse_ndjson, parse_sse

_TERMINATORS = frozenset({"[DONE]"})


# ---------------------------------------------------------------------------------------------
# Checks


@dataclasses.dataclass(frozen=True)
class Finding:
    kind: str
    where: str
    path: str
    message: str


def classify(issue: Issue) -> str:
    """The drift kind of a validator issue."""
    message = issue.message
    if message == "field required" or "is a required property" in message:
        return "missing required field"
    if message == "unknown field" or "Additional properties are not allowed" in message:
        return "unknown field"
    if "is not of type" in message:
        return "type change"
    if message.startswith("unknown stream event type"):
        return "unknown event type"
    return "schema violation"


def _findings(issues: list[Issue], where: str) -> list[Finding]:
    return [Finding(classify(i), where, i.path, i.message) for i in issues]


def _unknown(
    contract: Contract, key: str, instance: Any, where: str, walkers: dict[tuple[str, str], SchemaWalker]
) -> list[Finding]:
    schema = contract.schema(key)
    if schema is None:
        return []
    walker = walkers.get((contract.id, key))
    if walker is None:
        walker = walkers[(contract.id, key)] = SchemaWalker(schema)
    return [
        Finding("unknown field", where, path, "not declared by the contract")
        for path in walker.unknown_fields(instance)
    ]


def _coerce(values: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Form and query strings as the numbers and booleans the schema declares (top level)."""
    props = (schema or {}).get("properties") or {}
    out = dict(values)
    for name, value in values.items():
        kinds = (props.get(name) or {}).get("type") if isinstance(props.get(name), dict) else None
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not isinstance(value, str) or "string" in kinds:
            continue
        if "integer" in kinds and value.lstrip("-").isdigit():
            out[name] = int(value)
        elif "number" in kinds:
            with contextlib.suppress(ValueError):
                out[name] = float(value)
        elif "boolean" in kinds and value.lower() in ("true", "false"):
            out[name] = value.lower() == "true"
    return out


def _request_body(item: Interaction, contract: Contract) -> Any:
    req = item.request
    raw = req.body or b""
    expected = contract.request_content_type or ""
    if not raw or not expected:
        return None
    if expected.startswith("multipart/"):
        parts = multipart_parts(raw, req.header("content-type") or "")
        if parts is None:
            return None
        fields: dict[str, Any] = {}
        for name, filename, _, shown in parts:
            value = filename if filename is not None else shown
            fields[name] = (
                [*fields[name], value]
                if isinstance(fields.get(name), list)
                else ([fields[name], value] if name in fields else value)
            )
        return _coerce(fields, contract.schema("request.body"))
    if expected == "application/x-www-form-urlencoded":
        return _coerce(dict(parse_qsl(raw.decode("latin-1"))), contract.schema("request.body"))
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_JSON


_NOT_JSON = object()


def _response_key(contract: Contract, status: int) -> str | None:
    responses = contract.raw.get("responses") or {}
    text = str(status)
    for key in (text, f"{text[0]}XX", "default"):
        if key in responses:
            return f"responses.{key}"
    return None


def check_interaction(
    item: Interaction, contract: Contract, walkers: dict[tuple[str, str], SchemaWalker]
) -> list[Finding]:
    """Everything about one interaction that disagrees with its contract."""
    if item.kind == "callback":
        if contract.raw.get("callback") is None:
            return []
        try:
            body = orjson.loads(item.request.body or b"null")
        except orjson.JSONDecodeError:
            return [Finding("schema violation", "callback", "", "callback body is not JSON")]
        found = _findings(contract.validate_named("callback", body), "callback")
        return found + _unknown(contract, "callback", body, "callback", walkers)
    out: list[Finding] = []
    req = item.request
    if 400 <= item.response.status < 500:
        # The server refused the request, as the contract says it would: only the answer is checked.
        return _check_response(item, contract, walkers)
    if contract.schema("request.query") is not None:
        query = _coerce(dict(req.query), contract.schema("request.query"))
        out += _findings(contract.validate_query(query), "query")
        out += _unknown(contract, "request.query", query, "query", walkers)
    body = _request_body(item, contract)
    if body is _NOT_JSON:
        out.append(Finding("schema violation", "request body", "", "request body is not JSON"))
    elif body is not None and contract.schema("request.body") is not None:
        out += _findings(contract.validate_body(body), "request body")
        out += _unknown(contract, "request.body", body, "request body", walkers)
    out += _check_response(item, contract, walkers)
    return out


def _check_response(
    item: Interaction, contract: Contract, walkers: dict[tuple[str, str], SchemaWalker]
) -> list[Finding]:
    resp = item.response
    status = resp.status
    where = f"response {status}"
    if not contract.has_response(status):
        documented = ", ".join(contract.response_statuses())
        return [
            Finding(
                "undocumented status code", where, "", f"status {status} is not documented (documented: {documented})"
            )
        ]
    ctype = resp.content_type
    if ctype in ("text/event-stream", "application/x-ndjson", "application/jsonl"):
        return _check_events(item, contract, walkers)
    key = _response_key(contract, status)
    if key is None or contract.schema(key) is None or not (ctype.endswith("json") or not ctype):
        return []
    if not resp.body.strip():
        return []
    try:
        body = orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        return [Finding("schema violation", where, "", f"body is not JSON ({ctype or 'no content type'})")]
    return _findings(contract.validate_response(status, body), where) + _unknown(contract, key, body, where, walkers)


def _check_events(item: Interaction, contract: Contract, walkers: dict[tuple[str, str], SchemaWalker]) -> list[Finding]:
    resp = item.response
    stream = contract.raw.get("stream") or {}
    terminators = _TERMINATORS | ({str(stream["terminator"])} if stream.get("terminator") else set())
    parse = parse_sse if resp.content_type == "text/event-stream" else parse_ndjson
    known = set(contract.event_types())
    out: list[Finding] = []
    for name, data in parse(resp.body):
        if data.strip() in terminators:
            continue
        event = name or "message"
        where = f"event {event}"
        if event not in known and "*" not in known:
            out.append(Finding("unknown event type", where, "", f"event type {event!r} is not in the contract"))
            continue
        try:
            payload: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            payload = data
        out += _findings(contract.validate_event(name, payload), where)
        key = f"stream.events.{event}" if event in known else "stream.events.*"
        out += _unknown(contract, key, payload, where, walkers)
    return out


# ---------------------------------------------------------------------------------------------
# Running over cassettes


def verify_paths(
    paths: Iterable[str | Path],
    *,
    contracts: Contracts | None = None,
    on_cassette: Callable[[Path, int], None] | None = None,
) -> Report:
    """Check every cassette under `paths` (files or folders) against the contracts; `on_cassette(file,
    interactions)` is called after each cassette (for progress)."""
    contracts = load_contracts() if contracts is None else contracts
    report = Report()
    walkers: dict[tuple[str, str], SchemaWalker] = {}
    for target in paths:
        files = cassette_files(target)
        if not files:
            report.errors.append(f"{target}: no cassette found")
        for file in files:
            try:
                cassette = load_cassette(file)
            except CassetteError as exc:
                report.errors.append(str(exc))
                if on_cassette is not None:
                    on_cassette(file, 0)
                continue
            report.cassettes += 1
            for index, item in enumerate(cassette.interactions):
                _verify_one(report, contracts, walkers, cassette.interactions, index, item, f"{file}#{index}")
                _verify_media(report, contracts, cassette.interactions, item, file, f"{file}#{index}")
            if on_cassette is not None:
                on_cassette(file, len(cassette.interactions))
    for op in report.operations.values():
        for field, seen in op.media.items():
            drift = kind_drift(field, seen)
            if drift is not None and (drift[0], drift[1], drift[2]) not in op.drift:
                kind, where, path, message = drift
                op.drift[(kind, where, path)] = Drift(op.operation, kind, where, path, message, "several recordings")
    return report


def _verify_media(
    report: Report, contracts: Contracts, items: list[Interaction], item: Interaction, file: Path, source: str
) -> None:
    """Media drift of one interaction (see `media_verify`), filed under its operation."""
    if "media" not in item.extra:
        return
    contract = _contract_for(contracts, item, items)
    op = report.operations.get(contract.id) if contract is not None else None
    if op is None:
        return
    findings, seen = check_media(item, file)
    for field, label in seen:
        counts = op.media.setdefault(field, {})
        counts[label] = counts.get(label, 0) + 1
    for kind, where, path, message in findings:
        key = (kind, where, path)
        if key in op.drift:
            op.drift[key].count += 1
        else:
            op.drift[key] = Drift(op.operation, kind, where, path, message, source)


def _contract_for(contracts: Contracts, item: Interaction, items: list[Interaction]) -> Contract | None:
    if item.kind == "callback":
        if item.callback_of is None or not 0 <= item.callback_of < len(items):
            return None
        item = items[item.callback_of]
    contract = contracts.find(item.request.method, item.request.path)
    if contract is None and item.operation and item.operation in contracts.by_id:
        contract = contracts.get(item.operation)
    return contract


def _verify_one(
    report: Report,
    contracts: Contracts,
    walkers: dict[tuple[str, str], SchemaWalker],
    items: list[Interaction],
    index: int,
    item: Interaction,
    source: str,
) -> None:
    report.interactions += 1
    contract = _contract_for(contracts, item, items)
    if contract is None:
        label = f"{item.request.method} {item.request.path}" + (" (callback)" if item.kind == "callback" else "")
        report.uncovered[label] = report.uncovered.get(label, 0) + 1
        return
    op = report.operations.get(contract.id)
    if op is None:
        op = report.operations[contract.id] = OperationReport(contract.id, contract.family, contract.confidence)
    op.interactions += 1
    findings = {(f.kind, f.where, f.path): f for f in reversed(check_interaction(item, contract, walkers))}
    for key, f in reversed(findings.items()):
        if key in op.drift:
            op.drift[key].count += 1
        else:
            op.drift[key] = Drift(contract.id, f.kind, f.where, f.path, f.message, source)
