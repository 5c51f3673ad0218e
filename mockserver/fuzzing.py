"""Property-based fuzzing from the contracts: strategies (through Schemathesis), checks, `mockserver fuzz`.

Schemathesis turns the contracts' OpenAPI 3.1 document into Hypothesis strategies of requests, valid
(`positive`) or deliberately invalid (`negative`). Each case is sent to a server and judged by small
checks named for what they check: `not_a_server_error`, `status_documented`,
`response_schema_conformance`, `invalid_request_refused`. A failure is shrunk by Hypothesis and
reported with a curl command, the body and the seed that reproduce it.

Schemathesis and Hypothesis come with the `pytest` extra; they are imported only when used.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from typing import Any

from mockserver.contracts import Contract, Contracts, Issue, load_contracts
from mockserver.progress import Progress, summary_table

DEFAULT_MAX_EXAMPLES = 50
DROPPED_HEADERS = {"user-agent", "x-schemathesis-testcaseid", "accept-encoding", "connection", "accept"}


# ---------------------------------------------------------------------------------------------
# Strategies


@functools.lru_cache(maxsize=4)
def openapi_schema(contracts: Contracts) -> Any:
    """The contracts' OpenAPI document loaded by Schemathesis (once per set of contracts)."""
    import schemathesis

    return schemathesis.openapi.from_dict(contracts.openapi())


def case_strategy(contract: Contract, *, negative: bool = False, contracts: Contracts | None = None) -> Any:
    """A strategy of Schemathesis `Case`s (path parameters, query, headers, body) for one operation."""
    from schemathesis import GenerationMode

    schema = openapi_schema(contracts or load_contracts())
    operation = schema[contract.path][contract.method]
    mode = GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
    return operation.as_strategy(generation_mode=mode)


def body_strategy(schema: dict[str, Any], components: dict[str, Any], media_type: str = "application/json") -> Any:
    """A strategy of values valid for `schema` (refs under `#/components/schemas`), through Schemathesis.

    Schemathesis generates request bodies, so the schema becomes the body of a one-operation document.
    """
    import schemathesis

    doc = {
        "openapi": "3.1.0",
        "info": {"title": "values of one schema", "version": "1"},
        "paths": {
            "/value": {
                "post": {
                    "requestBody": {"required": True, "content": {media_type: {"schema": schema}}},
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "components": components,
    }
    operation = schemathesis.openapi.from_dict(doc)["/value"]["POST"]
    return operation.as_strategy().map(lambda case: plain(case.body))


def plain(value: Any) -> Any:
    """Schemathesis values as plain Python (its `Binary` file parts become bytes, "no body" None)."""
    from schemathesis.core import NotSet
    from schemathesis.transport.serialization import Binary

    if isinstance(value, NotSet):
        return None
    if isinstance(value, Binary):
        return bytes(value.data) if hasattr(value, "data") else str(value).encode()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# One exchange


@dataclasses.dataclass
class Exchange:
    """A request sent for a case and what came back."""

    case: Any
    negative: bool
    expected_invalid: bool
    status: int
    content_type: str
    body: Any
    curl: str


def request_issues(contract: Contract, case: Any) -> list[Issue]:
    """What our own validators find wrong with a case (as the emulator's pipeline would see it)."""
    from schemathesis.core import NotSet

    from mockserver.pipeline import coerce_strings

    issues: list[Issue] = []
    if contract.schema("request.query") is not None:
        query = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in (case.query or {}).items()}
        issues += contract.validate_query(coerce_strings(query, contract.schema("request.query")))
    body_schema = contract.schema("request.body")
    if body_schema is None or not contract.request_content_type:
        return issues
    body = case.body
    if isinstance(body, (NotSet, bytes, bytearray)):
        return [*issues, Issue("body", "missing or not well-formed")]
    if contract.request_content_type.startswith("multipart/"):
        if not isinstance(body, dict):
            return [*issues, Issue("body", "not a form")]
        body = coerce_strings({k: _form_text(v) for k, v in body.items()}, body_schema)
    return issues + contract.validate_body(body)


def _form_text(value: Any) -> Any:
    from schemathesis.transport.serialization import Binary

    if isinstance(value, Binary):
        return "upload"
    if isinstance(value, list):
        return [_form_text(v) for v in value]
    return value if isinstance(value, str) else json.dumps(value)


def send_case(client: Any, contract: Contract, case: Any, *, negative: bool, api_key: str, base_url: str) -> Exchange:
    """Send `case` with an httpx client (live target or in-process app) and keep the answer."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() not in DROPPED_HEADERS}
    headers["Authorization"] = f"Bearer {api_key}"
    payload: dict[str, Any] = {}
    if "json" in kwargs:
        payload["content"] = json.dumps(kwargs["json"], ensure_ascii=False).encode()
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(kwargs.get("data"), (bytes, str)):
        payload["content"] = kwargs["data"]
    elif kwargs.get("data"):
        payload["data"] = kwargs["data"]
    if kwargs.get("files"):
        payload["files"] = [(name, _file_part(part)) for name, part in kwargs["files"]]
        headers.pop("Content-Type", None)
        headers.pop("content-type", None)
    response = client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=headers, **payload)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    body: Any = response.content
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            body = response.json()
        except ValueError:
            body = response.text
    elif content_type == "text/event-stream":
        body = response.text
    curl = curl_command(response.request)
    return Exchange(
        case, negative, bool(request_issues(contract, case)), response.status_code, content_type, body, curl
    )


def curl_command(request: Any) -> str:
    """A curl command that sends `request` again (the key replaced by `$MOCKSERVER_API_KEY`)."""
    skipped = {"host", "content-length", "accept-encoding", "user-agent", "connection", "accept"}
    parts = ["curl", "-X", request.method, shlex.quote(str(request.url))]
    for name, value in request.headers.items():
        if name.lower() in skipped:
            continue
        if name.lower() == "authorization":
            parts += ["-H", '"Authorization: Bearer $MOCKSERVER_API_KEY"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    try:
        body = request.read()  # a multipart body sent by a real client is a stream until read
    except Exception:
        body = b""
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if text and text.isprintable() and len(text) <= 20_000:
            parts += ["--data-raw", shlex.quote(text)]
        else:
            data = "".join(chr(b) if 32 <= b < 127 and b not in (39, 92) else f"\\x{b:02x}" for b in body)
            parts += ["--data-binary", f"@<(printf '{data}')"]
    return " ".join(parts)


def _file_part(part: Any) -> Any:
    """A multipart part httpx can encode: generated values that are neither bytes, text nor a file
    (a negative case may put a number where an upload belongs) are sent as their text."""

    def encodable(value: Any) -> Any:
        return value if isinstance(value, (bytes, str)) or hasattr(value, "read") else str(value)

    if isinstance(part, tuple) and len(part) >= 2:
        return (part[0], encodable(part[1]), *part[2:])
    return encodable(part)


# ---------------------------------------------------------------------------------------------
# Checks: (contract, exchange) -> a problem, or None


def not_a_server_error(contract: Contract, ex: Exchange) -> str | None:
    if ex.status >= 500:
        return f"server error {ex.status}: {_short(ex.body)}"
    return None


def status_documented(contract: Contract, ex: Exchange) -> str | None:
    if not contract.has_response(ex.status):
        return f"status {ex.status} is not documented for {contract.id}: {_short(ex.body)}"
    return None


def response_schema_conformance(contract: Contract, ex: Exchange) -> str | None:
    if not contract.has_response(ex.status):
        return None
    if ex.content_type == "text/event-stream" and contract.streams:
        for name, data in sse_events(ex.body):
            if data == contract.raw["stream"].get("terminator", "[DONE]"):
                continue
            issues = contract.validate_event(name, _json_or_text(data))
            if issues:
                return f"stream event {name or 'message'} does not conform: " + "; ".join(map(str, issues[:3]))
        return None
    if isinstance(ex.body, (bytes, str)) and ex.content_type not in ("application/json",):
        return None  # media (audio, images, video) and plain text: the status check is what applies
    issues = contract.validate_response(ex.status, ex.body)
    if issues:
        return f"{ex.status} answer does not conform: " + "; ".join(map(str, issues[:3]))
    return None


def invalid_request_refused(contract: Contract, ex: Exchange) -> str | None:
    if ex.expected_invalid and not 400 <= ex.status < 500:
        return f"an invalid request was answered {ex.status} instead of a 4xx: {_short(ex.body)}"
    return None


CHECKS: dict[str, Callable[[Contract, Exchange], str | None]] = {
    "not_a_server_error": not_a_server_error,
    "status_documented": status_documented,
    "response_schema_conformance": response_schema_conformance,
    "invalid_request_refused": invalid_request_refused,
}


def sse_events(text: str) -> Iterator[tuple[str | None, str]]:
    """(event name, data) of each event of a server-sent-events body."""
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            yield name, "\n".join(data)


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _short(body: Any, limit: int = 300) -> str:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------------------------------------
# Runner


@dataclasses.dataclass
class Failure:
    """A (shrunk) failing case: which check, why, and how to reproduce it."""

    operation: str
    negative: bool
    check: str
    message: str
    curl: str
    body: Any
    seed: int

    def report(self, target: str = "") -> str:
        mode = "negative" if self.negative else "positive"
        again = f"mockserver fuzz --target {target} --operation {self.operation} --seed {self.seed}"
        lines = [
            f"FAILED {self.operation} ({mode} case) — {self.check}: {self.message}",
            f"  reproduce: {again}{' --negative' if self.negative else ''}",
            f"  request: {self.curl}",
        ]
        if self.body is not None:
            lines.append(f"  body: {_short(plain(self.body), 2000)}")
        return "\n".join(lines)


class _CheckFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclasses.dataclass
class Outcome:
    """What one operation's run saw: statuses and the failure, if any."""

    operation: str
    negative: bool
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)
    failure: Failure | None = None


def fuzz_operation(
    contract: Contract,
    client: Any,
    *,
    base_url: str,
    api_key: str,
    negative: bool = False,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = 0,
    contracts: Contracts | None = None,
    checks: dict[str, Callable[[Contract, Exchange], str | None]] | None = None,
) -> Outcome:
    """Run Hypothesis over one operation's cases; the outcome holds the shrunk failure, if any."""
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import seed as hypothesis_seed
    from hypothesis import settings as hypothesis_settings

    outcome = Outcome(contract.id, negative)
    active = checks or CHECKS

    @hypothesis_seed(seed)
    @hypothesis_settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
        print_blob=False,
    )
    @given(case_strategy(contract, negative=negative, contracts=contracts))
    def run(case: Any) -> None:
        try:
            ex = send_case(client, contract, case, negative=negative, api_key=api_key, base_url=base_url)
        except Exception as exc:
            body = plain(getattr(case, "body", None))
            raise _CheckFailed(Failure(contract.id, negative, "transport", repr(exc), "", body, seed)) from None
        outcome.statuses[ex.status] = outcome.statuses.get(ex.status, 0) + 1
        for name, check in active.items():
            problem = check(contract, ex)
            if problem:
                raise _CheckFailed(Failure(contract.id, negative, name, problem, ex.curl, case.body, seed))

    try:
        run()
    except _CheckFailed as exc:
        outcome.failure = exc.failure
    except BaseExceptionGroup as group:
        found = [e for e in group.exceptions if isinstance(e, _CheckFailed)]
        if not found:
            raise
        outcome.failure = found[0].failure
    return outcome


# ---------------------------------------------------------------------------------------------
# `mockserver fuzz`


def register(subparsers: Any, *, add_server_flags: Any, add_emulator_flags: Any) -> None:
    """Add `mockserver fuzz` to the command line."""
    parser = subparsers.add_parser("fuzz", help="fuzz a server (the emulator or the real API) from the contracts")
    parser.add_argument("--target", required=True, metavar="URL", help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--operation", action="append", metavar="ID", help="operation id (repeatable; default all)")
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, metavar="N", help="cases each")
    parser.add_argument("--negative", action="store_true", help="also send invalid requests (must get a 4xx)")
    parser.add_argument("--api-key", metavar="KEY", help="key to send (default $MOCKSERVER_API_KEY, else 'sk-fuzz')")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (printed with every failure)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    parser.set_defaults(func=cmd_fuzz)


def cmd_fuzz(args: argparse.Namespace) -> int:
    try:
        import httpx
        import schemathesis  # noqa: F401
    except ImportError as exc:
        print(
            f"mockserver fuzz needs the pytest extra (pip install 'yescale-mockserver[pytest]'): {exc}", file=sys.stderr
        )
        return 2
    problem = _check_args(args)
    if problem:
        print(f"mockserver fuzz: {problem}", file=sys.stderr)
        return 2
    contracts = load_contracts()
    wanted = args.operation or [c.id for c in sorted(contracts, key=lambda c: (c.path, c.method))]
    unknown = [op for op in wanted if op not in contracts.by_id]
    if unknown:
        import difflib

        hints = []
        for op in unknown:
            close = difflib.get_close_matches(op, list(contracts.by_id), n=3, cutoff=0.6)
            hints.append(f"{op!r}" + (f" (closest: {', '.join(close)})" if close else ""))
        print(f"mockserver fuzz: unknown operation(s): {', '.join(hints)}", file=sys.stderr)
        return 2
    api_key = args.api_key or os.environ.get("MOCKSERVER_API_KEY") or "sk-fuzz"
    target = args.target.rstrip("/")
    unreachable = _unreachable(target, args.timeout)
    if unreachable:
        print(f"mockserver fuzz: cannot reach --target {target}: {unreachable}", file=sys.stderr)
        return 1
    failures: list[Failure] = []
    kinds = (False, True) if args.negative else (False,)
    rows: list[tuple[str, str, int, str, str]] = []
    with (
        httpx.Client(timeout=args.timeout) as client,
        Progress("fuzz", len(wanted) * len(kinds), unit="runs", stream=sys.stdout) as progress,
    ):
        for op in wanted:
            for negative in kinds:
                outcome = fuzz_operation(
                    contracts.get(op),
                    client,
                    base_url=target,
                    api_key=api_key,
                    negative=negative,
                    max_examples=args.max_examples,
                    seed=args.seed,
                    contracts=contracts,
                )
                seen = ", ".join(f"{s}×{n}" for s, n in sorted(outcome.statuses.items())) or "no cases"
                mark = "FAIL" if outcome.failure else "ok"
                kind = "negative" if negative else "positive"
                progress.advance(line=f"{mark:4} {op} ({kind}): {seen}")
                verdict = f"FAIL: {outcome.failure.check}" if outcome.failure else "ok"
                rows.append((op, kind, sum(outcome.statuses.values()), seen, verdict))
                if outcome.failure:
                    failures.append(outcome.failure)
    title = f"mockserver fuzz: {len(rows)} runs against {target}, {len(failures)} failing"
    summary_table(title, ("operation", "kind", "cases", "statuses", "result"), rows, stream=sys.stdout)
    for failure in failures:
        print("\n" + failure.report(target), file=sys.stderr)
    if failures:
        print(f"\n{len(failures)} failing operation run(s)", file=sys.stderr)
    return 1 if failures else 0


def _check_args(args: argparse.Namespace) -> str | None:
    """The first bad flag, as one line (`--max-examples must be >= 1 (got 0)`)."""
    from urllib.parse import urlsplit

    parts = urlsplit(args.target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--target must be an http(s) URL such as http://127.0.0.1:8080 (got {args.target!r})"
    if args.max_examples < 1:
        return f"--max-examples must be >= 1 (got {args.max_examples})"
    if not args.timeout > 0:
        return f"--timeout must be > 0 (got {args.timeout})"
    return None


def _unreachable(target: str, timeout: float) -> str | None:
    """Why `target` does not answer HTTP at all (any status counts as an answer), or None."""
    import httpx

    try:
        httpx.get(target + "/", timeout=min(timeout, 10.0))
    except httpx.ConnectError as exc:
        return f"connection failed ({exc})"
    except httpx.TimeoutException:
        return "no answer within the timeout"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
