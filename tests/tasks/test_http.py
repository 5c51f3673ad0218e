"""`CallbackClient` against raw servers: keep-alive reuse, chunked and close-delimited bodies, a receiver
that drops idle connections, bad URLs and timeouts."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.tasks.http import CallbackClient, CallbackError

ANSWERS = {
    "/plain": b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello",
    "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "/close": b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nno length, ends at close",
    "/empty": b"HTTP/1.1 204 No Content\r\n\r\n",
    "/garbage": b"SMTP ready\r\n\r\n",
}


async def serve(connections: list[int], bodies: list[bytes]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                bodies.append(await reader.readexactly(length))
                path = head.split(b" ")[1].decode().split("?")[0]
                if path == "/silent":
                    await asyncio.sleep(5)
                writer.write(ANSWERS[path])
                await writer.drain()
                if path in ("/close", "/drop"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_exchanges() -> None:
    async def scenario() -> None:
        connections: list[int] = []
        bodies: list[bytes] = []
        server = await serve(connections, bodies)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        client = CallbackClient(timeout=0.5)
        try:
            assert await client.post(base + "/plain", b'{"a":1}', {"Content-Type": "application/json"}) == 201
            assert await client.post(base + "/chunked?x=1", b"{}") == 200
            assert await client.post(base + "/empty", b"{}") == 204
            assert len(connections) == 1  # one keep-alive connection so far
            assert await client.post(base + "/close", b"{}") == 500
            assert await client.post(base + "/plain", b"{}") == 201
            assert len(connections) == 2  # the server closed the first one
            assert bodies[0] == b'{"a":1}'
            with pytest.raises(CallbackError) as garbage:
                await client.post(base + "/garbage", b"{}")
            assert garbage.value.kind == "RemoteProtocolError"
            with pytest.raises(CallbackError) as slow:
                await client.post(base + "/silent", b"{}")
            assert slow.value.kind == "ReadTimeout"
            with pytest.raises(CallbackError) as bad:
                await client.post("ftp://example.com/x", b"{}")
            assert bad.value.kind == "UnsupportedProtocol"
            server.close()
            await server.wait_closed()
            with pytest.raises(CallbackError) as refused:
                await client.post(base + "/plain", b"{}")
            assert refused.value.kind in ("ConnectError", "RemoteProtocolError")
        finally:
            await client.aclose()

    asyncio.run(scenario())
