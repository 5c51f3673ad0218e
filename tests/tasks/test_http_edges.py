"""`CallbackClient` against receivers that misbehave on a kept-alive connection or answer with a huge head."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from mockserver.tasks.http import CallbackClient, CallbackError

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
Handler = Callable[[int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return await reader.readexactly(length)


async def start(handle: Handler) -> tuple[asyncio.Server, str, list[bytes]]:
    """A raw server calling `handle(connection number, reader, writer)`; every request body it reads is kept."""
    count = 0

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        count += 1
        try:
            await handle(count, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook", []


def run(
    handle: Callable[[list[bytes]], Handler], scenario: Callable[[CallbackClient, str, list[bytes]], Awaitable[None]]
) -> None:
    async def main() -> None:
        bodies: list[bytes] = []
        server, url, _ = await start(handle(bodies))
        client = CallbackClient(timeout=5.0)
        try:
            await scenario(client, url, bodies)
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_a_callback_is_not_sent_twice_when_the_receiver_broke_off_its_answer() -> None:
    def handle(bodies: list[bytes]) -> Handler:
        async def serve(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            bodies.append(await read_request(reader))
            writer.write(OK)  # the first answer keeps the connection open ...
            await writer.drain()
            bodies.append(await read_request(reader))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Le")  # ... the second stops half-way
            await writer.drain()

        return serve

    async def scenario(client: CallbackClient, url: str, bodies: list[bytes]) -> None:
        assert await client.post(url, b"first") == 200
        with pytest.raises(CallbackError) as broken:
            await client.post(url, b"second")
        assert broken.value.kind == "RemoteProtocolError" and "mid-answer" in str(broken.value)
        assert bodies == [b"first", b"second"]  # sent once, not again on a fresh connection

    run(handle, scenario)


def test_a_kept_connection_the_receiver_dropped_is_replaced() -> None:
    closed = asyncio.Event()

    def handle(bodies: list[bytes]) -> Handler:
        async def serve(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            bodies.append(await read_request(reader))
            writer.write(OK)  # says nothing of closing, then closes: an idle timeout on the receiver's side
            await writer.drain()
            if n == 1:
                writer.close()
                await writer.wait_closed()
                closed.set()

        return serve

    async def scenario(client: CallbackClient, url: str, bodies: list[bytes]) -> None:
        assert await client.post(url, b"one") == 200
        await closed.wait()
        assert await client.post(url, b"two") == 200
        assert bodies == [b"one", b"two"]

    run(handle, scenario)


@pytest.mark.parametrize("size", [40 * 1024, 200 * 1024])
def test_an_answer_with_a_huge_head_is_refused(size: int) -> None:
    def handle(bodies: list[bytes]) -> Handler:
        async def serve(n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            bodies.append(await read_request(reader))
            headers = b"".join(b"X-Filler-%06d: %s\r\n" % (i, b"y" * 100) for i in range(size // 120))
            writer.write(b"HTTP/1.1 200 OK\r\n" + headers + b"Content-Length: 0\r\n\r\n")
            await writer.drain()

        return serve

    async def scenario(client: CallbackClient, url: str, bodies: list[bytes]) -> None:
        if size < 64 * 1024:
            assert await client.post(url, b"{}") == 200
            return
        with pytest.raises(CallbackError, match="response head too large") as refused:
            await client.post(url, b"{}")
        assert refused.value.kind == "RemoteProtocolError"

    run(handle, scenario)
