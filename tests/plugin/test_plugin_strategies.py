"""`pytest_plugin.strategies`: request and response bodies from the contracts, through Schemathesis."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from pytest_plugin.checks import ContractChecker
from pytest_plugin.strategies import cases, requests, responses

CHECK = ContractChecker()
FEW = settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
SOME = settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@FEW
@given(requests("chat_completions"))
def test_requests_are_valid(body: dict[str, object]) -> None:
    CHECK.validate_request("chat_completions", body)


@FEW
@given(requests("chat_completions", negative=True))
def test_negative_requests_are_refused_by_the_contract(body: object) -> None:
    assert not CHECK.is_valid_request("chat_completions", body)


@FEW
@given(responses("chat_completions"))
def test_responses_are_valid(body: dict[str, object]) -> None:
    CHECK.validate_response("chat_completions", 200, body)


@FEW
@given(responses("claude_messages", status=429))
def test_error_responses_use_the_family_envelope(body: dict[str, object]) -> None:
    CHECK.validate_response("claude_messages", 429, body)
    assert body["type"] == "error"


@FEW
@given(requests("audio_transcriptions"))
def test_multipart_requests_carry_file_bytes(body: dict[str, object]) -> None:
    assert isinstance(body["file"], bytes)


@FEW
@given(cases("chat_completions"))
def test_cases_are_schemathesis_cases(case: object) -> None:
    assert case.method == "POST" and case.path == "/v1/chat/completions"  # type: ignore[attr-defined]


@SOME
@given(responses("chat_completions"), responses("embeddings_create"), responses("claude_messages"))
def test_responses_parse_with_the_official_sdks_by_default(chat: object, embeddings: object, message: object) -> None:
    from anthropic.types import Message
    from openai.types import CreateEmbeddingResponse
    from openai.types.chat import ChatCompletion

    assert isinstance(chat, dict) and "model" in chat  # the contract allows it missing; the SDK does not
    ChatCompletion.model_validate(chat)
    CreateEmbeddingResponse.model_validate(embeddings)
    Message.model_validate(message)
    CHECK.validate_response("chat_completions", 200, chat)  # and still valid under the contract


@SOME
@given(responses("chat_completions", shape="contract"))
def test_the_contract_shape_is_still_available(body: dict[str, object]) -> None:
    CHECK.validate_response("chat_completions", 200, body)


def test_clear_errors() -> None:
    with pytest.raises(ValueError, match="shape must be one of sdk, contract"):
        responses("chat_completions", shape="strict")
    with pytest.raises(LookupError, match="no operation 'chat' in the mockserver contracts"):
        requests("chat")
    with pytest.raises(ValueError, match="models_list takes no request body"):
        requests("models_list")
    with pytest.raises(ValueError, match="chat_completions documents no 302 answer"):
        responses("chat_completions", 302)


def test_a_users_fragile_parser_is_caught(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from hypothesis import given, settings
        from pytest_plugin.strategies import responses

        def first_word(completion):
            # Wrong: content may be null (e.g. when the model answers with tool calls).
            return completion["choices"][0]["message"]["content"].split()[0]

        @settings(max_examples=50, database=None, deadline=None, report_multiple_bugs=False)
        @given(responses("chat_completions"))
        def test_parser(body):
            first_word(body)
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Failing test case: test_parser(*"])
    assert "Error" in result.stdout.str()
