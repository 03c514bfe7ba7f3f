"""A syslog listener: UDP datagrams and TCP streams in, one message at a time out. I/O (asyncio).

Devices and daemons (rsyslog, syslog-ng, firewalls, Suricata's syslog output) forward to it;
each message goes to ``on_message`` as bytes, unparsed — with or without its ``<PRI>`` header,
RFC 3164 or RFC 5424 — for a ``Sensor`` whose parser reads that framing (``parsers.syslog``).

TCP framing (RFC 6587) is decided per message, by ``TcpFramer``, a pure state machine:

* **octet counting**: ``<length> <message>`` — a frame that starts with a digit;
* **non-transparent**: the message runs to ``LF`` (a trailing ``CR`` and a ``NUL`` terminator are
  dropped).

Invariants: every message received is passed on exactly once or counted in ``dropped`` (an
oversized frame, a malformed length); memory per connection is bounded by ``max_message``; an
oversized octet-counted frame closes its connection (its stream can no longer be trusted), an
oversized LF-framed one is skipped up to its newline. The listener binds where it is told
(``127.0.0.1`` by default) and nowhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

MAX_MESSAGE = 64 * 1024
_MAX_DIGITS = 7

Sink = Callable[[bytes], None]


class FramingError(ValueError):
    """An octet-counted frame whose length is not a number or is over the limit."""


class TcpFramer:
    """Bytes of one TCP stream in, whole syslog messages out (both RFC 6587 framings)."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self.max_message = max_message
        self._buffer = bytearray()
        self._skipping = False  # inside an oversized LF-framed message
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by ``data``; raises ``FramingError`` on a bad octet count."""
        self._buffer += data
        messages: list[bytes] = []
        for _ in range(len(self._buffer) + 1):  # every pass consumes at least one byte or stops
            message = self._next()
            if message is None:
                break
            if message:
                messages.append(message)
        return messages

    def _next(self) -> bytes | None:
        buffer = self._buffer
        if not buffer:
            return None
        if self._skipping:
            newline = buffer.find(b"\n")
            if newline < 0:
                buffer.clear()
                return None
            del buffer[: newline + 1]
            self._skipping = False
            return b""
        if buffer[:1].isdigit():
            return self._octet_counted()
        newline = buffer.find(b"\n")
        if newline < 0:
            if len(buffer) > self.max_message:
                self.dropped += 1
                buffer.clear()
                self._skipping = True
            return None
        message = bytes(buffer[:newline]).rstrip(b"\r").rstrip(b"\0")
        del buffer[: newline + 1]
        if len(message) > self.max_message:
            self.dropped += 1
            return b""
        return message

    def _octet_counted(self) -> bytes | None:
        buffer = self._buffer
        space = buffer.find(b" ", 0, _MAX_DIGITS + 1)
        if space < 0:
            if len(buffer) > _MAX_DIGITS:
                raise FramingError(f"octet count {bytes(buffer[:_MAX_DIGITS])!r}… is too long")
            return None
        digits = bytes(buffer[:space])
        if not digits.isdigit():
            raise FramingError(f"octet count {digits!r} is not a number")
        length = int(digits)
        if length > self.max_message:
            raise FramingError(f"frame of {length} bytes is over the {self.max_message} limit")
        if len(buffer) < space + 1 + length:
            return None
        message = bytes(buffer[space + 1: space + 1 + length])
        del buffer[: space + 1 + length]
        return message.rstrip(b"\n")


@dataclass(slots=True)
class ListenerStats:
    received: int = 0
    dropped: int = 0
    connections: int = 0


class SyslogListener:
    """Listens on UDP and TCP; hands every message to ``on_message``."""

    def __init__(self, on_message: Sink, host: str = "127.0.0.1", udp_port: int | None = 0,
                 tcp_port: int | None = 0, max_message: int = MAX_MESSAGE) -> None:
        self.on_message = on_message
        self.host = host
        self.max_message = max_message
        self.stats = ListenerStats()
        self._want_udp, self._want_tcp = udp_port, tcp_port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self.udp_port: int | None = None
        self.tcp_port: int | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._want_udp is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(self.host, self._want_udp))
            self._udp = transport
            self.udp_port = transport.get_extra_info("sockname")[1]
        if self._want_tcp is not None:
            self._tcp = await asyncio.start_server(self._serve, self.host, self._want_tcp,
                                                   limit=self.max_message * 2)
            self.tcp_port = self._tcp.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None

    def _deliver(self, message: bytes) -> None:
        self.stats.received += 1
        self.on_message(message)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        framer = TcpFramer(self.max_message)
        try:
            while True:  # one connection's life; ends at EOF, on a framing error or on close
                data = await reader.read(65536)
                if not data:
                    break
                for message in framer.feed(data):
                    self._deliver(message)
        except FramingError:
            self.stats.dropped += 1
        except ConnectionError:
            pass
        finally:
            self.stats.dropped += framer.dropped
            writer.close()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        message = data.rstrip(b"\n").rstrip(b"\r").rstrip(b"\0")
        if len(message) > self.listener.max_message:
            self.listener.stats.dropped += 1
            return
        if message:
            self.listener._deliver(message)
