"""Load `contracts/`, compile their validators once, look operations up, export the index and OpenAPI 3.1.

A contract file describes one operation (one method + path). Shared schemas live in
`contracts/_common/<name>.json` under `$defs` and are referenced as
`{"$ref": "_common/<name>.json#/$defs/<Def>"}`; a contract may also keep local `$defs` and refer to
them as `#/$defs/<Def>`. At load time every reference is rewritten to `#/$defs/<namespace>.<Def>` and
the definitions it reaches are bundled next to each schema, so validators and the OpenAPI document
need no file access afterwards.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib.resources
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema_rs

from mockserver.version import __version__

CONFIDENCE_LEVELS = ("docs-page", "other-gateway-docs", "upstream-vendor", "inferred")
_REF = re.compile(r"^(?:_common/(?P<file>[\w-]+)\.json)?#/\$defs/(?P<name>[\w.-]+)$")
_PARAM = re.compile(r"{(\w+)}")


class ContractError(Exception):
    """A contract file is malformed; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class Issue:
    """One validation failure: where (a JSON path such as `messages[0].role`) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def format_path(parts: Any, prefix: str = "") -> str:
    """Turn a JSON-pointer-like sequence of keys and indexes into `a.b[0].c`."""
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _closest(errors: Any) -> list[Any]:
    """The errors to report: an `anyOf`/`oneOf` that no branch matched is replaced by the errors of the
    branch that came closest (its first error lies deepest), so the message names the field that broke
    rather than "not valid under any of the schemas"."""
    out: list[Any] = []
    for err in errors:
        branches = getattr(err.kind, "context", None)
        if branches:
            best = max(branches, key=lambda branch: (max(len(list(e.instance_path)) for e in branch), -len(branch)))
            out.extend(_closest(best))
        else:
            out.append(err)
    return out


class _Validator:
    """A compiled schema that reports `Issue`s naming the JSON path."""

    __slots__ = ("_v", "schema")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._v = jsonschema_rs.Draft202012Validator(schema)

    def is_valid(self, instance: Any) -> bool:
        return bool(self._v.is_valid(instance))

    def issues(self, instance: Any, prefix: str = "") -> list[Issue]:
        if self._v.is_valid(instance):
            return []
        out: list[Issue] = []
        for err in _closest(self._v.iter_errors(instance)):
            parts = list(err.instance_path)
            kind = err.kind
            message = err.message
            if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
                parts.append(kind.property)
                message = "field required"
            elif isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
                unexpected = list(kind.unexpected)
                if len(unexpected) == 1:
                    parts.append(unexpected[0])
                    message = "unknown field"
            out.append(Issue(format_path(parts, prefix), message))
        out.sort(key=lambda i: (i.path.count(".") + i.path.count("["), i.path))
        return out


@dataclasses.dataclass
class Contract:
    """One operation: its schemas (compiled), docs entries, provenance and examples."""

    id: str
    family: str
    method: str
    path: str
    file: str
    raw: dict[str, Any]
    aliases: tuple[tuple[str, str], ...] = ()
    _validators: dict[str, _Validator] = dataclasses.field(default_factory=dict, repr=False)

    @functools.cached_property
    def vendor(self) -> str:
        """Whose wire format the operation speaks, which picks its error envelope (default: the family)."""
        return str(self.raw.get("vendor") or self.family)

    @property
    def docs_entries(self) -> list[str]:
        return list(self.raw.get("docs_entries", []))

    @property
    def confidence(self) -> str:
        return str(self.raw["provenance"]["confidence"])

    @property
    def request(self) -> dict[str, Any]:
        return dict(self.raw.get("request") or {})

    @functools.cached_property
    def request_content_type(self) -> str | None:
        ct = (self.raw.get("request") or {}).get("content_type")
        return str(ct) if ct else None

    @property
    def streams(self) -> bool:
        return bool(self.raw.get("stream"))

    @property
    def examples(self) -> list[dict[str, Any]]:
        return list(self.raw.get("examples", []))

    def validator(self, key: str) -> _Validator | None:
        """The compiled schema at `key` (e.g. `request.body`), if the contract has one."""
        return self._validators.get(key)

    def schema(self, key: str) -> dict[str, Any] | None:
        v = self._validators.get(key)
        return v.schema if v else None

    def _issues(self, key: str, instance: Any, prefix: str = "") -> list[Issue]:
        v = self._validators.get(key)
        return v.issues(instance, prefix) if v else []

    def validate_body(self, body: Any) -> list[Issue]:
        """Check a request body; [] when it conforms (or the operation takes no body schema)."""
        return self._issues("request.body", body)

    def validate_query(self, query: Mapping[str, Any]) -> list[Issue]:
        return self._issues("request.query", dict(query))

    def response_statuses(self) -> list[str]:
        return list((self.raw.get("responses") or {}).keys())

    def validate_response(self, status: int | str, body: Any) -> list[Issue]:
        """Check a response body against the schema for `status` (or `default`, or the status class)."""
        status = str(status)
        for key in (status, f"{status[0]}XX", "default"):
            if f"responses.{key}" in self._validators:
                return self._issues(f"responses.{key}", body)
            if key in (self.raw.get("responses") or {}):
                return []
        return [Issue("", f"status {status} is not documented for {self.id}")]

    def has_response(self, status: int | str) -> bool:
        status = str(status)
        responses = self.raw.get("responses") or {}
        return any(key in responses for key in (status, f"{status[0]}XX", "default"))

    def event_types(self) -> list[str]:
        return list(((self.raw.get("stream") or {}).get("events") or {}).keys())

    def validate_event(self, event_type: str | None, data: Any) -> list[Issue]:
        """Check one stream event (`message` for an unnamed SSE event) against its schema."""
        name = event_type or "message"
        key = f"stream.events.{name}"
        if key not in self._validators:
            if "stream.events.*" in self._validators:
                return self._issues("stream.events.*", data)
            return [Issue("", f"unknown stream event type {name!r} for {self.id}")]
        return self._issues(key, data)

    def validate_named(self, key: str, instance: Any) -> list[Issue]:
        """Check `instance` against another compiled schema of the contract (`task`, `callback`)."""
        if key not in self._validators:
            return [Issue("", f"{self.id} has no {key} schema")]
        return self._issues(key, instance)


# ---------------------------------------------------------------------------------------------
# Loading


_METHODS = ("POST", "GET", "PUT", "PATCH", "DELETE")


def _path_prefix(path: str) -> str:
    """What groups a path with its family's others: `v1/<resource>` (or `v1beta/...`), else its first segment."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] in ("v1", "v1beta") and len(parts) > 1:
        return "/".join(parts[:2]).split("{")[0].split(":")[0]
    return parts[0] if parts else ""


def default_root() -> Path:
    """Where the contracts are: inside the installed wheel, else the project's `contracts/`."""
    packaged = importlib.resources.files("mockserver") / "_contracts"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "contracts"


def _rewrite_refs(node: Any, namespace: str, where: str) -> Any:
    """Copy `node` with every `$ref` rewritten to the flat `#/$defs/<ns>.<Def>` form."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                m = _REF.match(value)
                if not m:
                    raise ContractError(f"{where}: unsupported $ref {value!r} (use _common/X.json#/$defs/Y)")
                ns = m.group("file") or namespace
                out[key] = f"#/$defs/{ns}.{m.group('name')}"
            else:
                out[key] = _rewrite_refs(value, namespace, where)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, namespace, where) for v in node]
    return node


def _refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs_in(value)
    elif isinstance(node, list):
        for v in node:
            yield from _refs_in(v)


class Contracts:
    """Every contract under a root folder, with compiled validators and lookups."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else default_root()
        self.defs: dict[str, Any] = {}
        self.by_id: dict[str, Contract] = {}
        self._routes: dict[str, list[tuple[re.Pattern[str], Contract]]] = {}
        self._prefixes: dict[str, str] | None = None
        self._load()

    # -- loading ------------------------------------------------------------------------------
    def _load(self) -> None:
        common = self.root / "_common"
        if common.is_dir():
            for file in sorted(common.glob("*.json")):
                data = self._read(file)
                for name, schema in (data.get("$defs") or {}).items():
                    self.defs[f"{file.stem}.{name}"] = _rewrite_refs(schema, file.stem, str(file))
        for file in sorted(self.root.glob("*/*.json")):
            if file.parent.name.startswith("_"):
                continue
            self._add(file)
        for key in list(self.defs):
            for ref in _refs_in(self.defs[key]):
                if ref not in self.defs:
                    raise ContractError(f"common definition {key} refers to missing {ref}")

    @staticmethod
    def _read(file: Path) -> dict[str, Any]:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ContractError(f"{file}: cannot read contract ({exc})") from None
        if not isinstance(data, dict):
            raise ContractError(f"{file}: a contract is a JSON object")
        return data

    def _add(self, file: Path) -> None:
        raw = self._read(file)
        rel = file.relative_to(self.root).as_posix()
        for key in ("id", "family", "method", "path", "toc_title", "docs_entries", "provenance", "responses"):
            if key not in raw:
                raise ContractError(f"{rel}: missing top-level key {key!r}")
        op_id = raw["id"]
        folder = rel.split("/")[0] if "/" in rel else None
        if folder is not None and folder != raw["family"]:
            raise ContractError(f"{rel}: family {raw['family']!r} must be the contract's folder ({folder!r})")
        if op_id in self.by_id:
            raise ContractError(f"{rel}: duplicate operation id {op_id!r} (also in {self.by_id[op_id].file})")
        if raw["provenance"].get("confidence") not in CONFIDENCE_LEVELS:
            raise ContractError(f"{rel}: provenance.confidence must be one of {CONFIDENCE_LEVELS}")
        for name, schema in (raw.get("$defs") or {}).items():
            self.defs[f"{op_id}.{name}"] = _rewrite_refs(schema, op_id, rel)
        aliases = tuple((a.get("method", raw["method"]).upper(), a["path"]) for a in raw.get("aliases", []))
        contract = Contract(
            id=op_id,
            family=raw["family"],
            method=raw["method"].upper(),
            path=raw["path"],
            file=rel,
            raw=raw,
            aliases=aliases,
        )
        self.by_id[op_id] = contract
        for method, path in ((contract.method, contract.path), *aliases):
            self._routes.setdefault(method, []).append((_path_regex(path), contract))

    def compile(self) -> Contracts:
        """Compile every schema once (load is cheap; compile is what start-up pays for)."""
        for contract in self.by_id.values():
            for key, schema in _schemas_of(contract.raw):
                rewritten = _rewrite_refs(schema, contract.id, contract.file)
                bundled = self._bundle(rewritten)
                try:
                    contract._validators[key] = _Validator(bundled)
                except Exception as exc:
                    raise ContractError(f"{contract.file}: {key} is not a valid schema ({exc})") from None
        return self

    def _bundle(self, schema: Any) -> dict[str, Any]:
        """Attach the `$defs` that `schema` reaches (transitively) so it validates on its own."""
        needed: dict[str, Any] = {}
        todo = list(_refs_in(schema))
        while todo:
            name = todo.pop()
            if name in needed:
                continue
            if name not in self.defs:
                raise ContractError(f"reference to missing definition {name}")
            needed[name] = self.defs[name]
            todo.extend(_refs_in(self.defs[name]))
        out: dict[str, Any] = dict(schema) if isinstance(schema, dict) else {"const": schema}
        if needed:
            out["$defs"] = {**needed, **out.get("$defs", {})}
        return out

    # -- lookups ------------------------------------------------------------------------------
    def get(self, op_id: str) -> Contract:
        try:
            return self.by_id[op_id]
        except KeyError:
            raise KeyError(f"no contract with id {op_id!r}") from None

    def __iter__(self) -> Iterator[Contract]:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)

    def find(self, method: str, path: str) -> Contract | None:
        """The operation serving a concrete request path (`/mj/task/123/fetch`), or None."""
        for regex, contract in self._routes.get(method.upper(), ()):
            if regex.match(path):
                return contract
        return None

    def vendor_of(self, method: str, path: str) -> str:
        """Whose error envelope a request answers in: its operation's vendor, else (an unknown path or a
        wrong method) the vendor of an operation sharing its first path segments, else the gateway's."""
        contract = self.find(method, path)
        if contract is None:
            contract = next((c for m in _METHODS if (c := self.find(m, path)) is not None), None)
        if contract is not None:
            return contract.vendor
        if self._prefixes is None:
            prefixes: dict[str, str] = {}
            for c in self.by_id.values():
                for _, known in ((c.method, c.path), *c.aliases):
                    prefixes.setdefault(_path_prefix(known), c.vendor)
            self._prefixes = prefixes
        return self._prefixes.get(_path_prefix(path), "openai")

    # -- exports ------------------------------------------------------------------------------
    def index(self) -> dict[str, Any]:
        """The `contracts/index.json` document (operations sorted by path, then method)."""
        ops = sorted(self.by_id.values(), key=lambda c: (c.path, c.method))
        return {
            "version": 1,
            "operations": [
                {
                    "id": c.id,
                    "family": c.family,
                    **({"vendor": c.vendor} if c.vendor != c.family else {}),
                    "method": c.method,
                    "path": c.path,
                    "file": c.file,
                    "docs_entries": c.docs_entries,
                    "confidence": c.confidence,
                }
                for c in ops
            ],
        }

    def openapi(self, server_url: str = "https://api.yescale.io") -> dict[str, Any]:
        """One OpenAPI 3.1 document for every operation (aliases included), refs under components."""
        paths: dict[str, dict[str, Any]] = {}
        for contract in self.by_id.values():
            for method, path in ((contract.method, contract.path), *contract.aliases):
                op = _openapi_operation(contract, path, primary=(method, path) == (contract.method, contract.path))
                paths.setdefault(path, {})[method.lower()] = op
        doc = {
            "openapi": "3.1.0",
            "info": {
                "title": "YEScale API (mockserver contracts)",
                "version": __version__,
                "description": "Generated from the mockserver contracts; each operation keeps its provenance.",
            },
            "servers": [{"url": server_url}],
            "paths": dict(sorted(paths.items())),
            "components": {
                "schemas": {name: _to_components(s) for name, s in sorted(self.defs.items())},
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearer": []}],
        }
        return doc


def _path_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    last = 0
    for m in _PARAM.finditer(template):
        pattern += re.escape(template[last : m.start()]) + f"(?P<{m.group(1)}>[^/]+?)"
        last = m.end()
    pattern += re.escape(template[last:])
    return re.compile(f"^{pattern}$")


def _schemas_of(raw: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every schema a contract holds, keyed as the validators are."""
    request = raw.get("request") or {}
    for part in ("headers", "query", "body"):
        if request.get(part) is not None:
            yield f"request.{part}", request[part]
    for status, resp in (raw.get("responses") or {}).items():
        if isinstance(resp, dict) and resp.get("body") is not None:
            yield f"responses.{status}", resp["body"]
    for name, schema in ((raw.get("stream") or {}).get("events") or {}).items():
        yield f"stream.events.{name}", schema
    for key in ("task", "callback"):
        if raw.get(key) is not None:
            yield key, raw[key]


def _to_components(schema: Any) -> Any:
    text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/')
    return json.loads(text)


def _openapi_operation(contract: Contract, path: str, *, primary: bool) -> dict[str, Any]:
    raw = contract.raw
    request = raw.get("request") or {}
    op: dict[str, Any] = {
        "operationId": contract.id if primary else f"{contract.id}__{_slug(path)}",
        "summary": raw["toc_title"],
        "tags": [contract.family],
        "x-docs-entries": contract.docs_entries,
        "x-confidence": contract.confidence,
        "x-provenance": raw["provenance"],
    }
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in _PARAM.findall(path)
    ]
    query = request.get("query")
    if query:
        q = _to_components(_rewrite_refs(query, contract.id, contract.file))
        required = set(q.get("required", []))
        for name, schema in (q.get("properties") or {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": schema})
    if params:
        op["parameters"] = params
    body = request.get("body")
    if body is not None and request.get("content_type"):
        op["requestBody"] = {
            "required": True,
            "content": {
                request["content_type"]: {"schema": _to_components(_rewrite_refs(body, contract.id, contract.file))}
            },
        }
    responses: dict[str, Any] = {}
    for status, resp in (raw.get("responses") or {}).items():
        entry: dict[str, Any] = {"description": resp.get("description") or f"{status} answer"}
        content: dict[str, Any] = {}
        if resp.get("body") is not None:
            schema = _to_components(_rewrite_refs(resp["body"], contract.id, contract.file))
            content[resp.get("content_type", "application/json")] = {"schema": schema}
        elif resp.get("content_type"):
            content[resp["content_type"]] = {"schema": {"type": "string", "format": "binary"}}
        if status.startswith("2") and raw.get("stream"):
            stream = raw["stream"]
            content[stream.get("content_type", "text/event-stream")] = {
                "schema": {"type": "string"},
                "x-stream-events": sorted((stream.get("events") or {}).keys()),
            }
        if content:
            entry["content"] = content
        responses[status] = entry
    op["responses"] = responses
    if raw.get("callback") is not None:
        op["x-callback-schema"] = _to_components(_rewrite_refs(raw["callback"], contract.id, contract.file))
    return op


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")


@functools.lru_cache(maxsize=4)
def load_contracts(root: str | None = None) -> Contracts:
    """Load and compile the contracts once per process (per root)."""
    return Contracts(Path(root) if root else None).compile()


def write_index(contracts: Contracts | None = None) -> Path:
    """Regenerate `contracts/index.json` from the contract files."""
    contracts = contracts or Contracts()
    path = contracts.root / "index.json"
    path.write_text(json.dumps(contracts.index(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def example_pairs(contract: Contract) -> Iterator[tuple[str, str, Any]]:
    """(example name, 'request'|'response:<status>', body) for every docs example of a contract."""
    for ex in contract.examples:
        name = ex.get("name", "?")
        if "request" in ex and ex["request"] is not None:
            yield name, "request", copy.deepcopy(ex["request"])
        if "response" in ex and ex["response"] is not None:
            status = str(ex.get("status", 200))
            yield name, f"response:{status}", copy.deepcopy(ex["response"])
