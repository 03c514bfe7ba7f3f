"""The syslog listener over loopback (127.0.0.1 only), and its TCP framer."""

from __future__ import annotations

import asyncio

import pytest

from jobber.sensors.event import Kind
from jobber.sensors.follow import FramingError, SyslogListener, TcpFramer
from jobber.sensors.parsers import make_parser
from jobber.sensors.sensor import Sensor
from jobber.types import TenantId

LOOPBACK = "127.0.0.1"
OBSERVED = 1795824000.0


def classic(index: int) -> bytes:
    return (f"<38>Nov 27 08:14:03 bastion sshd[{index}]: Failed password for root from "
            f"198.51.100.{index % 250 + 1} port {1024 + index} ssh2").encode()


def rfc5424(index: int) -> bytes:
    return (f"<38>1 2026-11-27T08:14:03Z bastion sshd {index} - - Invalid user u{index} from "
            f"203.0.113.{index % 250 + 1} port {1024 + index}").encode()


def octet_counted(message: bytes) -> bytes:
    return str(len(message)).encode() + b" " + message


# -- the framer (pure) -----------------------------------------------------------------------
def test_framer_reads_both_framings_even_one_byte_at_a_time() -> None:
    stream = octet_counted(b"first msg") + b"second\r\n" + octet_counted(b"third\nwith LF") + (
        b"fourth\0\n")
    whole = TcpFramer().feed(stream)
    framer = TcpFramer()
    trickled = [message for byte in stream for message in framer.feed(bytes([byte]))]
    assert whole == trickled == [b"first msg", b"second", b"third\nwith LF", b"fourth"]


def test_framer_waits_for_incomplete_frames() -> None:
    framer = TcpFramer()
    assert framer.feed(b"11 hello") == []
    assert framer.feed(b" world") == [b"hello world"]
    assert framer.feed(b"no newline yet") == []
    assert framer.feed(b"\n") == [b"no newline yet"]


def test_oversized_frames() -> None:
    framer = TcpFramer(max_message=10)
    assert framer.feed(b"x" * 11) == []
    assert framer.feed(b"yyy\nok\n") == [b"ok"]  # the long one is skipped to its newline
    assert framer.dropped == 1
    with pytest.raises(FramingError, match="over the 10 limit"):
        TcpFramer(max_message=10).feed(b"11 ")
    with pytest.raises(FramingError, match="too long"):
        TcpFramer().feed(b"123456789")


# -- the listener over loopback ------------------------------------------------------------------
async def _tcp_burst(count: int) -> tuple[list[bytes], SyslogListener]:
    received: list[bytes] = []
    listener = SyslogListener(received.append, LOOPBACK, udp_port=None, tcp_port=0)
    await listener.start()
    assert listener.tcp_port is not None
    try:
        _, writer = await asyncio.open_connection(LOOPBACK, listener.tcp_port)
        burst = b"".join(octet_counted(classic(i)) if i % 2 else rfc5424(i) + b"\n"
                         for i in range(count))
        writer.write(burst)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        for _ in range(1000):
            if len(received) >= count:
                break
            await asyncio.sleep(0.01)
    finally:
        await listener.close()
    return received, listener


def test_tcp_burst_of_ten_thousand_messages_counts_every_one() -> None:
    received, listener = asyncio.run(_tcp_burst(10_000))
    assert len(received) == listener.stats.received == 10_000
    assert listener.stats.dropped == 0
    expected = [classic(i) if i % 2 else rfc5424(i) for i in range(10_000)]
    assert received == expected


async def _udp(count: int) -> list[bytes]:
    received: list[bytes] = []
    listener = SyslogListener(received.append, LOOPBACK, udp_port=0, tcp_port=None)
    await listener.start()
    assert listener.udp_port is not None
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=(LOOPBACK, listener.udp_port))
    try:
        for index in range(count):
            transport.sendto(classic(index) + b"\n")
            if index % 20 == 19:
                await asyncio.sleep(0.001)  # let the receiver keep up: UDP does not wait
        for _ in range(500):
            if len(received) >= count:
                break
            await asyncio.sleep(0.01)
    finally:
        transport.close()
        await listener.close()
    return received


def test_udp_messages_are_received() -> None:
    received = asyncio.run(_udp(500))
    assert sorted(received) == sorted(classic(i) for i in range(500))


def test_listener_feeds_a_sensor() -> None:
    sensor = Sensor(make_parser("sshd"), None, TenantId("acme"), "syslog")
    kinds: list[Kind] = []

    def on_message(message: bytes) -> None:
        event, _ = sensor.feed(message, OBSERVED)
        if event is not None:
            kinds.append(event.kind)

    async def run() -> None:
        listener = SyslogListener(on_message, LOOPBACK, udp_port=None, tcp_port=0)
        await listener.start()
        assert listener.tcp_port is not None
        _, writer = await asyncio.open_connection(LOOPBACK, listener.tcp_port)
        writer.write(rfc5424(1) + b"\n" + octet_counted(classic(2)) + b"garbage\n")
        await writer.drain()
        writer.close()
        for _ in range(200):
            if sensor.tally.lines >= 3:
                break
            await asyncio.sleep(0.01)
        await listener.close()

    asyncio.run(run())
    assert kinds == [Kind.AUTH_FAILURE, Kind.AUTH_FAILURE]
    assert sensor.tally.unparsed == 1
