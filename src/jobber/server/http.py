"""A lean HTTP/1.1 client for the one kind of call servers make to each other.

Jobber servers POST small signed envelopes to each other and GET the provider's registry;
nothing else. ``LeanTransport`` does exactly that over keep-alive connections (a small pool per
peer), in a few hundred microseconds less per call than a general-purpose client, which adds up
along an introduction's chain of hops (docs/decisions.md). It implements ``Transport``.

Invariants: every failure — refused connection, reset, timeout, a malformed answer — closes the
connection it happened on and becomes ``PeerUnavailable`` naming the peer; a connection goes
back to the pool only after a complete, well-formed answer that does not ask to close; answers
are bounded in size.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from jobber.server.peers import PeerUnavailable

MAX_ANSWER = 8 << 20
MAX_IDLE = 8  # idle connections kept per peer

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LeanTransport:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[Stream]] = {}

    async def post(self, url: str, body: bytes, *, timeout: float,
                   headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return await self._call("POST", url, body, timeout, headers)

    async def get(self, url: str, *, timeout: float,
                  headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return await self._call("GET", url, b"", timeout, headers)

    async def aclose(self) -> None:
        for streams in self._idle.values():
            for _reader, writer in streams:
                writer.close()
        self._idle.clear()

    async def _call(self, method: str, url: str, body: bytes, timeout: float,
                    headers: dict[str, str] | None) -> tuple[int, bytes]:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise PeerUnavailable(f"{url}: only http:// URLs are supported here")
        host, port = parts.hostname, parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n")
        request = head.encode("latin-1") + body
        for attempt in (0, 1):  # a pooled connection the peer closed meanwhile: one fresh try
            stream, reused = await self._connect(host, port, timeout, url)
            try:
                status, answer, keep = await asyncio.wait_for(self._exchange(stream, request),
                                                               timeout)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                stream[1].close()
                if reused and attempt == 0 and not isinstance(exc, TimeoutError):
                    continue
                raise PeerUnavailable(f"{url}: {type(exc).__name__}") from exc
            if keep:
                idle = self._idle.setdefault((host, port), [])
                if len(idle) < MAX_IDLE:
                    idle.append(stream)
                else:
                    stream[1].close()
            else:
                stream[1].close()
            return status, answer
        raise PeerUnavailable(f"{url}: no answer")  # not reached

    async def _connect(self, host: str, port: int, timeout: float,
                       url: str) -> tuple[Stream, bool]:
        idle = self._idle.get((host, port))
        while idle:
            stream = idle.pop()
            if not stream[0].at_eof() and not stream[1].is_closing():
                return stream, True
            stream[1].close()
        try:
            stream = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise PeerUnavailable(f"{url}: {type(exc).__name__}") from exc
        return stream, False

    @staticmethod
    async def _exchange(stream: Stream, request: bytes) -> tuple[int, bytes, bool]:
        reader, writer = stream
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
        fields = status_line.split(b" ", 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/1.") or not fields[1].isdigit():
            raise ValueError("not an HTTP/1.x status line")
        status = int(fields[1])
        length: int | None = None
        chunked = False
        keep = fields[0] == b"HTTP/1.1"
        for _ in range(100):
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ValueError("connection closed in the headers")
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                keep = value != b"close"
        else:
            raise ValueError("too many header lines")
        if chunked:
            answer = await _read_chunked(reader)
        elif length is not None:
            if length > MAX_ANSWER:
                raise ValueError("answer too large")
            answer = await reader.readexactly(length)
        else:
            answer = await reader.read(MAX_ANSWER)
            keep = False
        return status, answer, keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        line = await reader.readline()
        try:
            chunk = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise ValueError("malformed chunk size") from None
        if chunk == 0:
            await reader.readline()  # the empty trailer line
            return b"".join(parts)
        size += chunk
        if size > MAX_ANSWER:
            raise ValueError("answer too large")
        parts.append(await reader.readexactly(chunk))
        await reader.readline()  # CRLF after the chunk
