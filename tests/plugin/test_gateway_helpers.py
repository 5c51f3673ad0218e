"""The fixture's gateway helpers: `usage`, `cost_of`, `budget` (passing and failing) and `create_key`."""

from __future__ import annotations

import pytest


def test_usage_budget_and_keys(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import openai
        import pytest
        from pytest_plugin.control import BudgetExceeded

        HI = [{"role": "user", "content": "hello"}]

        def chat(mockserver, key=None):
            client = openai.OpenAI(base_url=mockserver.base_url, api_key=key or mockserver.api_key, max_retries=0)
            return client.chat.completions.create(model="gpt-4o", messages=HI)

        def test_usage_and_cost(mockserver):
            assert mockserver.usage()["quota"] == 0
            cost = mockserver.cost_of(lambda: chat(mockserver))
            assert cost > 0 and mockserver.usage()["quota"] == cost and mockserver.usage()["calls"] == 1

        def test_within_budget(mockserver):
            with mockserver.budget(usd=0.01) as spent:
                chat(mockserver)
            assert 0 < spent.quota <= 5000 and spent.usd == spent.quota / 500_000

        def test_over_budget_fails(mockserver):
            with pytest.raises(BudgetExceeded, match="over the budget of 1 quota"):
                with mockserver.budget(quota=1):
                    chat(mockserver)

        def test_a_key_that_runs_out(mockserver):
            key = mockserver.create_key(quota=700)["key"]
            with pytest.raises((openai.PermissionDeniedError, openai.AuthenticationError)):
                for _ in range(20):
                    chat(mockserver, key)
            assert mockserver.usage(key)["remain_quota"] >= 0
            assert [k["key"] for k in mockserver.keys if k["key"] == key] == [key]
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
