"""Hypothesis strategies from the mockserver contracts (built on Schemathesis's schema-to-Hypothesis engine).

```python
from hypothesis import given
from pytest_plugin.strategies import requests, responses

@given(responses("chat_completions"))
def test_my_parser_handles_any_valid_answer(body):
    parse_completion(body)          # your code

@given(requests("chat_completions", negative=True))
def test_my_validator_refuses_invalid_requests(body):
    assert not my_validator(body)
```
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["cases", "requests", "responses"]


@functools.lru_cache(maxsize=1)
def _contracts() -> Any:
    from mockserver.contracts import load_contracts

    return load_contracts()


def _contract(op: str) -> Any:
    from pytest_plugin.checks import ContractChecker

    return ContractChecker(_contracts()).contract(op)


def requests(op: str, *, negative: bool = False) -> Any:
    """Request bodies valid for operation `op` — or, with `negative=True`, JSON values its contract refuses.

    Multipart operations give a dict of form fields (file parts as bytes).
    """
    from hypothesis import strategies as st

    from mockserver import fuzzing

    contract = _contract(op)
    if contract.schema("request.body") is None or not contract.request_content_type:
        raise ValueError(f"{op} takes no request body; use cases({op!r}) for its path and query parameters")
    if not negative:
        return fuzzing.case_strategy(contract, contracts=_contracts()).map(lambda case: fuzzing.plain(case.body))
    if contract.request_content_type.startswith("multipart/"):
        raise ValueError(f"{op} takes a multipart form; negative bodies exist for JSON operations only")

    def refused(body: Any) -> bool:
        return bool(contract.validate_body(body))

    negative_bodies = fuzzing.case_strategy(contract, negative=True, contracts=_contracts()).map(lambda c: c.body)
    return st.one_of(negative_bodies.filter(_is_json_value), _mutations(contract)).filter(refused)


def _is_json_value(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_value(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json_value(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _mutations(contract: Any) -> Any:
    """Valid bodies with one required field dropped or one field's value replaced by a wrong type."""
    from hypothesis import strategies as st

    from mockserver import fuzzing

    schema = contract.schema("request.body") or {}
    required = [name for name in schema.get("required", []) if isinstance(name, str)]
    valid = fuzzing.case_strategy(contract, contracts=_contracts()).map(lambda case: case.body)
    wrong: Any = st.sampled_from([None, 12345, -1.5, True, "not-valid", [], {"unexpected": 1}])

    def mutate(draw: Any) -> Any:
        body = dict(draw(valid))
        if required and draw(st.booleans()):
            body.pop(draw(st.sampled_from(required)), None)
        elif body:
            body[draw(st.sampled_from(sorted(body)))] = draw(wrong)
        return body

    return st.composite(mutate)() if isinstance(schema, dict) and schema.get("type") == "object" else st.nothing()


SHAPES = ("sdk", "contract")


def responses(op: str, status: int | str = 200, *, shape: str = "sdk") -> Any:
    """Response bodies valid under operation `op`'s contract for `status` (`4XX` ranges and `default` apply).

    `shape="sdk"` (the default) narrows the contract to what its documented examples show, so the official
    SDKs' typed models parse every body (see `pytest_plugin.sdk_shape`); `shape="contract"` keeps the
    contract's looser shape (fields an SDK requires may be missing). For the unhappy path,
    `responses(op, 400)` gives the family's error envelope.
    """
    from mockserver import fuzzing
    from pytest_plugin.sdk_shape import sdk_schema

    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    contract = _contract(op)
    status = str(status)
    doc = _contracts().openapi()
    documented = doc["paths"][contract.path][contract.method.lower()]["responses"]
    for key in (status, f"{status[0]}XX", "default"):
        if key in documented:
            content = documented[key].get("content") or {}
            schema = (content.get("application/json") or {}).get("schema")
            if schema is None:
                raise ValueError(f"{op} answers {status} with no JSON body (content: {sorted(content) or 'none'})")
            if shape == "sdk":
                shown = [
                    e["response"]
                    for e in contract.examples
                    if str(e.get("status", 200)) == status and isinstance(e.get("response"), (dict, list))
                ]
                schema = sdk_schema(schema, doc["components"], shown)
            return fuzzing.body_strategy(schema, doc["components"])
    raise ValueError(f"{op} documents no {status} answer (documented: {', '.join(documented)})")


def cases(op: str, *, negative: bool = False) -> Any:
    """Whole Schemathesis `Case`s (path parameters, query, headers and body) for operation `op`."""
    from mockserver import fuzzing

    return fuzzing.case_strategy(_contract(op), negative=negative, contracts=_contracts())
