"""The lean server-to-server HTTP client against canned peers on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from jobber.server.http import MAX_ANSWER, LeanTransport
from jobber.server.peers import PeerUnavailable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


def test_keeps_the_connection_alive_and_reuses_it() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                request = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            body = b'{"echo": %d}' % len(request)
            writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: %d\r\n\r\n%s"
                         % (len(body), body))
            await writer.drain()
        writer.close()

    async def run() -> None:
        server, url = await serve(handler)
        transport = LeanTransport()
        answers = [await transport.post(f"{url}/v1/messages", b"x" * n, timeout=2)
                   for n in (1, 10, 100)]
        await transport.aclose()
        server.close()
        assert [status for status, _ in answers] == [202, 202, 202]
        assert connections == 1

    asyncio.run(run())


def test_a_connection_the_peer_closed_is_replaced_once() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # no keep-alive announced, but the connection ends

    async def run() -> None:
        server, url = await serve(handler)
        transport = LeanTransport()
        for _ in range(3):
            assert await transport.post(url + "/", b"{}", timeout=2) == (200, b"ok")
        await transport.aclose()
        server.close()

    asyncio.run(run())


def test_chunked_answers_are_read() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                     b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")
        await writer.drain()

    async def run() -> None:
        server, url = await serve(handler)
        transport = LeanTransport()
        assert await transport.get(url + "/v1/registry", timeout=2) == (200, b"abcde")
        await transport.aclose()
        server.close()

    asyncio.run(run())


@pytest.mark.parametrize("answer", [
    b"garbage\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (MAX_ANSWER + 1),
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
])
def test_a_malformed_answer_is_an_unavailable_peer(answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def run() -> None:
        server, url = await serve(handler)
        transport = LeanTransport()
        with pytest.raises(PeerUnavailable):
            await transport.post(url + "/", b"{}", timeout=2)
        await transport.aclose()
        server.close()

    asyncio.run(run())


def test_silence_and_refusal_are_unavailable_peers() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def run() -> None:
        server, url = await serve(silent)
        transport = LeanTransport()
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(PeerUnavailable):
            await transport.post(url + "/", b"{}", timeout=0.3)
        assert loop.time() - started < 1.0
        server.close()
        port = int(url.rsplit(":", 1)[1])
        await server.wait_closed()
        with pytest.raises(PeerUnavailable):
            await transport.post(f"http://127.0.0.1:{port}/", b"{}", timeout=0.5)
        with pytest.raises(PeerUnavailable):
            await transport.post("https://127.0.0.1:1/", b"{}", timeout=0.5)
        await transport.aclose()

    asyncio.run(run())
