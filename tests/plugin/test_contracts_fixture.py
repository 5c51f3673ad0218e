"""The `mockserver_contracts` fixture: validation failures name the JSON path."""

from __future__ import annotations

import pytest

from pytest_plugin.checks import ContractChecker

GOOD_CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def checker() -> ContractChecker:
    return ContractChecker()


def test_valid_bodies_pass(checker: ContractChecker) -> None:
    checker.validate_request("chat_completions", GOOD_CHAT)
    checker.validate_response("chat_completions", 400, {"error": {"message": "bad", "type": "invalid_request_error"}})
    assert checker.is_valid_request("chat_completions", GOOD_CHAT)


def test_a_bad_request_names_the_path(checker: ContractChecker) -> None:
    with pytest.raises(AssertionError) as info:
        checker.validate_request("chat_completions", {"model": "gpt-4o", "messages": [{"content": "hi"}]})
    text = str(info.value)
    assert text.startswith("chat_completions request body does not conform to the contract")
    assert "messages[0].role: field required" in text


def test_a_bad_response_names_the_path(checker: ContractChecker) -> None:
    with pytest.raises(AssertionError, match=r"error\.message: field required"):
        checker.validate_response("chat_completions", 429, {"error": {"type": "rate_limit_error"}})
    with pytest.raises(AssertionError, match="status 302 is not documented for chat_completions"):
        checker.validate_response("chat_completions", 302, {})


def test_an_unknown_operation_suggests_close_ones(checker: ContractChecker) -> None:
    with pytest.raises(LookupError, match="did you mean chat_completions"):
        checker.validate_request("chat_completion", GOOD_CHAT)


def test_in_a_users_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_ok(mockserver_contracts):
            body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
            mockserver_contracts.validate_request("chat_completions", body)

        def test_wrong_expectation(mockserver_contracts):
            mockserver_contracts.validate_response("chat_completions", 200, {"id": "x", "object": "chat.completion"})
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*chat_completions response 200 does not conform to the contract*", "*choices: field required*"]
    )
