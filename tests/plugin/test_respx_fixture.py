"""The `mockserver_respx` fixture: unmodified official SDKs (httpx2) and plain httpx, sync and async, no sockets."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_official_sdks_and_httpx_sync_and_async(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import anthropic, httpx, httpx2, openai

        MODELS = "https://api.yescale.io/v1/models"
        KEY = {"Authorization": "Bearer k"}
        MESSAGES = [{"role": "user", "content": "hello"}]

        def test_openai_sync(mockserver_respx):
            client = openai.OpenAI(base_url="https://api.yescale.io/v1", api_key="sk-test", max_retries=0)
            reply = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            assert reply.choices[0].message.role == "assistant"
            assert mockserver_respx.requests[-1]["operation"] == "chat_completions"
            assert mockserver_respx.calls.call_count == 1

        def test_openai_async_streaming(mockserver_respx):
            async def main():
                client = openai.AsyncOpenAI(base_url="https://api.yescale.io/v1", api_key="sk-test", max_retries=0)
                stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
                return [chunk async for chunk in stream]
            chunks = asyncio.run(main())
            assert chunks and chunks[0].object == "chat.completion.chunk"

        def test_anthropic_sync_and_async(mockserver_respx):
            client = anthropic.Anthropic(base_url="https://api.yescale.io", api_key="sk-test", max_retries=0)
            message = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)
            assert message.role == "assistant" and message.content
            async def main():
                aclient = anthropic.AsyncAnthropic(base_url="https://api.yescale.io", api_key="sk-test", max_retries=0)
                return await aclient.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)
            assert asyncio.run(main()).type == "message"

        def test_plain_httpx_and_httpx2(mockserver_respx):
            for lib in (httpx, httpx2):
                r = lib.get(MODELS, headers=KEY)
                assert r.status_code == 200, (lib.__name__, r.text)
            async def main():
                async with httpx.AsyncClient() as a, httpx2.AsyncClient() as b:
                    return [(await c.get(MODELS, headers=KEY)).status_code for c in (a, b)]
            assert asyncio.run(main()) == [200, 200]

        def test_faults_in_process(mockserver_respx):
            mockserver_respx.fault(operation="chat_completions", status=503, times=1)
            client = openai.OpenAI(base_url="https://api.yescale.io/v1", api_key="sk-test", max_retries=0)
            try:
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            except openai.APIStatusError as exc:
                assert exc.status_code == 503
            else:
                raise AssertionError("the fault did not fire")
        """
    )
    pytester.runpytest("-p", "no:randomly", "-W", "ignore::DeprecationWarning").assert_outcomes(passed=5)


def test_gemini_sdk(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        from google import genai
        from google.genai import types

        def client():
            return genai.Client(api_key="sk-test", http_options=types.HttpOptions(base_url="https://api.yescale.io"))

        def test_generate_content_sync_and_async(mockserver_respx):
            sync_client = client()
            reply = sync_client.models.generate_content(model="gemini-2.5-flash", contents="hello")
            assert reply.text
            async_client = client()
            async def main():
                return await async_client.aio.models.generate_content(model="gemini-2.5-flash", contents="hello")
            assert asyncio.run(main()).text
        """
    )
    pytester.runpytest("-p", "no:randomly", "-W", "ignore::DeprecationWarning").assert_outcomes(passed=1)


def test_other_hosts_pass_through(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, httpx2

        def test_loopback_is_real(mockserver_respx, mockserver):
            # The live emulator is a different host: reached over a real socket, not intercepted.
            for lib in (httpx, httpx2):
                r = lib.get(mockserver.url + "/__mock/health")
                assert r.status_code == 200
            assert mockserver_respx.calls.call_count == 0
            assert len(mockserver.requests) == 0  # control calls are not journaled
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_users_own_respx_routes_still_work(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, respx

        MODELS = "https://api.yescale.io/v1/models"

        def test_both(mockserver_respx):
            with respx.mock(assert_all_called=True) as mine:
                mine.get("https://example.org/thing").respond(json={"mine": True})
                assert httpx.get("https://example.org/thing").json() == {"mine": True}
                r = httpx.get(MODELS, headers={"Authorization": "Bearer k"})
                assert r.status_code == 200

        def test_respx_fixture_first(respx_mock, mockserver_respx):
            respx_mock.get("https://example.org/other").respond(204)
            assert httpx.get("https://example.org/other").status_code == 204
            assert httpx.get(MODELS, headers={"Authorization": "Bearer k"}).status_code == 200
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_nothing_is_intercepted_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, httpx2, pytest

        MODELS = "https://api.yescale.io/v1/models"

        def test_uses_it(mockserver_respx):
            assert httpx.get(MODELS, headers={"Authorization": "Bearer k"}).status_code == 200

        @pytest.mark.parametrize("lib", [httpx, httpx2])
        def test_after(lib):
            with pytest.raises(lib.ConnectError):
                lib.get("http://127.0.0.1:9/refused", timeout=2)
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_mockserver_app_with_asgi_transport(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio, httpx

        def test_asgi(mockserver_app):
            async def main():
                transport = httpx.ASGITransport(app=mockserver_app)
                async with httpx.AsyncClient(transport=transport, base_url="https://api.yescale.io") as client:
                    return await client.get("/v1/models", headers={"Authorization": "Bearer k"})
            r = asyncio.run(main())
            assert r.status_code == 200 and r.json()["data"]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_concurrent_async_requests_and_a_wrong_expectation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio, openai

        def ask(client, text):
            return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])

        def test_gather(mockserver_respx):
            async def main():
                client = openai.AsyncOpenAI(base_url="https://api.yescale.io/v1", api_key="sk-test", max_retries=0)
                return await asyncio.gather(*(ask(client, f"question {i}") for i in range(8)))
            replies = asyncio.run(main())
            assert len({r.id for r in replies}) == 8
            assert mockserver_respx.calls.call_count == 8

        def test_wrong_expectation(mockserver_respx):
            mockserver_respx.stub(match="weather", content="Sunny.")
            client = openai.OpenAI(base_url="https://api.yescale.io/v1", api_key="sk-test", max_retries=0)
            assert ask(client, "weather?").choices[0].message.content == "Rainy."
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: assert 'Sunny.' == 'Rainy.'*"])
