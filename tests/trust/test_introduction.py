"""The handshake's transition table, the two modes, and out-of-order messages."""

from __future__ import annotations

import pytest

from jobber.errors import ProtocolError
from jobber.trust.evidence import VACUOUS
from jobber.trust.introduction import FINAL, TRANSITIONS, Handshake, Input, Phase
from jobber.trust.messages import (
    Accept,
    IntroOffer,
    IntroRefuse,
    Mode,
    Propose,
    Ticket,
    Vouch,
)
from jobber.types import ConnectionId, Status, TenantId

from .helpers import network, trusted_pair

T = TenantId
C = ConnectionId("r#1")


def _shake(mode: Mode = Mode.SEQUENTIAL) -> Handshake:
    return Handshake(C, T("r"), T("t"), (T("i1"), T("i2")), mode, 0.0)


def _ticket() -> Ticket:
    return Ticket(C, T("r"), T("t"), (T("i1"), T("i2")), Status.PROBATION, 0.0, 10.0, "ok")


def test_final_phases_have_no_way_out() -> None:
    assert not any(phase in FINAL for phase, _input in TRANSITIONS)


def test_sequential_walks_every_introducer_then_proposes() -> None:
    s = _shake()
    first = s.start()
    assert first.recipient == "i1"
    second = s.receive(IntroOffer(T("i1"), T("r"), C, Vouch(T("i1"), T("r"), VACUOUS)))
    assert second is not None and second.recipient == "i2" and s.phase is Phase.ASKING
    proposal = s.receive(IntroOffer(T("i2"), T("r"), C, Vouch(T("i2"), T("i1"), VACUOUS)))
    assert isinstance(proposal, Propose) and len(proposal.chain) == 2
    assert s.phase is Phase.PROPOSED
    assert s.receive(Accept(T("t"), T("r"), C, _ticket())) is None
    assert s.phase is Phase.DONE and s.ticket is not None


@pytest.mark.parametrize(
    "message",
    [
        IntroOffer(T("i2"), T("r"), C, Vouch(T("i2"), T("i1"), VACUOUS)),  # out of order
        Accept(T("t"), T("r"), C, _ticket()),  # accept before the proposal
        Accept(T("i1"), T("r"), C, _ticket()),  # not the target
        IntroRefuse(T("mallory"), T("r"), C, "no"),  # not on the path
    ],
)
def test_messages_the_table_does_not_allow_are_protocol_errors(message: object) -> None:
    s = _shake()
    s.start()
    with pytest.raises(ProtocolError):
        s.receive(message)  # type: ignore[arg-type]
    assert s.phase is Phase.ASKING and s.chain == []


def test_a_refusal_ends_the_handshake() -> None:
    s = _shake(Mode.CHAIN)
    s.start()
    assert s.phase is Phase.CHAIN_SENT
    s.receive(IntroRefuse(T("i2"), T("r"), C, "score too low"))
    assert s.phase is Phase.REFUSED and "i2: score too low" in s.reason


def test_timeout_fails_closed() -> None:
    s = _shake()
    s.start()
    s.time_out("no answer")
    assert s.phase is Phase.FAILED
    assert (Phase.ASKING, Input.TIMEOUT) in TRANSITIONS


@pytest.mark.parametrize(("mode", "messages"), [(Mode.SEQUENTIAL, 6), (Mode.CHAIN, 4)])
def test_both_modes_reach_the_same_verdict(mode: Mode, messages: int) -> None:
    net = network("r", "i1", "i2", "t")
    trusted_pair(net, "i1", "i2", 0.0, clean=60)
    trusted_pair(net, "i2", "t", 0.0, clean=60)
    trusted_pair(net, "r", "i1", 0.0, clean=60)
    before = net.messages
    outcome = net.introduce(T("r"), T("t"), 0.0, mode=mode)
    # Two introducers: sequential 2·(2+1) = 6 messages, chain 2+2 = 4.
    assert net.messages - before == messages
    conn = net.ledgers[T("t")].connections[outcome.introduced.connection]
    assert outcome.introduced.status is Status.TRUSTED  # every hop at the cap: trusted
    assert conn.path == (T("i1"), T("i2"))
    assert set(net.ledgers[T("i1")].introductions) == {outcome.introduced.connection}


def test_handshake_that_never_completes_times_out_on_tick() -> None:
    net = network("r", "t")
    led = net.ledgers[T("r")]
    from jobber.trust.messages import Connect, Tick

    led.handle(Connect(T("t"), (T("ghost"),)), 0.0)  # nobody delivers it
    effects = led.handle(Tick(), 5.0)
    assert led.handshakes == {}
    assert effects and getattr(effects[0], "status", "x") is None
