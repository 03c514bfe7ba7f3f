"""One Jobber server's live state: the trust core, its event log, its outbox, its subscribers.

Every change to the ledger is an event handled under one lock and written to the store, with the
messages it produces, in one transaction *before* anyone is told it happened: an acknowledged
message, feedback or request is never lost. On start the server replays its event log through a
fresh ledger (the core is deterministic given each event and its ``now``), then resumes
delivering whatever the outbox still holds. A message may therefore be delivered twice after a
crash; receivers drop the copy (nonces, and the core's once-per-interaction rule).

Time: the core counts epochs; ``now`` is the number of whole epochs of ``epoch_seconds`` since
the Unix epoch, so everything within one interaction slot happens at one time, as in the
simulator (five clean interactions inside one epoch are exactly five units of evidence).

The provider's runtime also keeps the directory of live connections (from ``LinkNotice``
messages, which go through the same log) and the registry of tenants' keys and URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from jobber.config import ServerSettings
from jobber.errors import ProtocolError
from jobber.sensors.feedback import VerdictLog
from jobber.server.codec import WireError, decode_message, encode_message
from jobber.server.courier import Courier
from jobber.server.directory import Directory
from jobber.server.keys import KeyPair
from jobber.server.peers import PeerUnavailable, Registry, Transport
from jobber.server.sensing import SensorHub
from jobber.server.store import Store, StoreError, StoreNonces
from jobber.server.wire import Verifier, sign_ticket
from jobber.trust.ledger import Ledger
from jobber.trust.messages import (
    Accept,
    Closed,
    Connect,
    Effect,
    Enforce,
    Event,
    Feedback,
    Introduced,
    IntroRequest,
    LinkNotice,
    Message,
    Mode,
    Observe,
    Send,
    Tick,
    Ticket,
)
from jobber.trust.provider import ProviderLedger
from jobber.types import PROVIDER, ConnectionId, InteractionId, Severity, TenantId


class Refused(ProtocolError):
    """The trust core refused an event: nothing changed and nothing was written."""


_T = TypeVar("_T")

RECENT = 500
"""How many recent decisions and feedback values the operator API keeps."""


@dataclass(frozen=True, slots=True)
class Decided:
    """An ``Enforce`` effect as the operator sees it: the decision and why, at a wall time."""

    at: float
    connection: str
    requester: str
    target: str
    status: str
    decision: str
    expires: float
    reason: str

    def as_json(self) -> dict[str, Any]:
        """The decision as the operator API and the decision stream show it."""
        return {name: getattr(self, name) for name in self.__slots__}


def encode_event(event: Event) -> tuple[str, bytes]:
    """(kind, payload) for the event log."""
    if isinstance(event, Message):
        encoded = encode_message(event)
        return encoded["type"], json.dumps(encoded["body"]).encode()
    if isinstance(event, Connect):
        body: dict[str, Any] = {"target": event.target, "path": list(event.path),
                                "mode": event.mode.value}
    elif isinstance(event, Observe):
        body = {"connection": event.connection, "interaction": event.interaction,
                "severity": event.severity.name}
    else:
        body = {}
    return type(event).__name__, json.dumps(body).encode()


def decode_event(kind: str, payload: bytes) -> Event:
    body = json.loads(payload)
    if kind == "Connect":
        return Connect(TenantId(body["target"]), tuple(TenantId(t) for t in body["path"]),
                       Mode(body["mode"]))
    if kind == "Observe":
        return Observe(ConnectionId(body["connection"]), InteractionId(body["interaction"]),
                       Severity[body["severity"]])
    if kind == "Tick":
        return Tick()
    return decode_message(kind, body)


class Runtime:
    """The trust core of one server, made durable and connected."""

    def __init__(self, settings: ServerSettings, key: KeyPair, store: Store,
                 transport: Transport, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.me = settings.me
        self.key = key
        self.store = store
        self.transport = transport
        self.clock = clock
        policy = settings.policy
        self.ledger: Ledger = ProviderLedger(policy) if settings.is_provider else Ledger(
            self.me, policy)
        self.directory = Directory()
        self.registry = Registry(transport, settings.provider_url, settings.timeout)
        self.verifier = Verifier(self.me, self.registry.known, StoreNonces(store),
                                 window=max(30.0, 2 * settings.timeout))
        self.lock = asyncio.Lock()
        self.waiters: dict[ConnectionId, asyncio.Future[Introduced]] = {}
        self.subscribers: set[asyncio.Queue[Decided]] = set()
        self.decisions: deque[Decided] = deque(maxlen=RECENT)
        self.feedback: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.counters: dict[str, int] = {}
        self.verdicts = VerdictLog()  # what this tenant's sensors concluded, per peer tenant
        self.sensors = SensorHub(self.me, dict(settings.sensor_tokens), settings.sensor_rules,
                                 settings.sensor_inventory, self.verdicts)
        self.tickets: dict[ConnectionId, tuple[Ticket, str]] = {}  # granted or received
        self._link_refused = False
        self._reported_live: dict[ConnectionId, bool] = {}  # what the directory was told
        self.courier = Courier(self.me, key, store, self.registry, transport,
                               timeout=settings.timeout, clock=clock, store_call=self.store_call,
                               count=self.count)
        self._tasks: list[asyncio.Task[None]] = []
        self.replayed = 0

    # --- life cycle ---------------------------------------------------------------------------

    def epoch(self, wall: float | None = None) -> float:
        return float(math.floor((self.clock() if wall is None else wall)
                                / self.settings.epoch_seconds))

    def wall(self, epoch: float) -> float:
        return epoch * self.settings.epoch_seconds

    def replay(self) -> int:
        """Rebuild the ledger from the event log; return how many events were replayed."""
        count = 0
        for stored in self.store.events(self.me):
            event = decode_event(stored.kind, stored.payload)
            effects = self._apply(event, stored.now)
            if not self.settings.is_provider:
                self._link_notices(effects)  # what was reported then (sent from the outbox)
            self._observe_locally(event, effects, stored.now, live=False)
            count += 1
        self.replayed = count
        return count

    def _rebuild(self) -> None:
        policy = self.settings.policy
        self.ledger = ProviderLedger(policy) if self.settings.is_provider else Ledger(
            self.me, policy)
        self.directory = Directory()
        self._reported_live = {}
        self.replay()

    async def start(self) -> None:
        await asyncio.to_thread(self.replay)
        await self.registry.prefetch()
        self._tasks = [asyncio.create_task(self.courier.retry_forever()),
                       asyncio.create_task(self._tick_forever())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # --- the one way in -----------------------------------------------------------------------

    async def submit(self, event: Event) -> list[Effect]:
        """Handle ``event`` now; durable before this returns; ``Refused`` if it changed nothing."""
        async with self.lock:
            now = self.epoch()
            effects = self._apply(event, now)
            refusal = self._refusal(event)
            if refusal is not None:
                self.count("refused_by_core")
                raise Refused(refusal)
            kind, payload = encode_event(event)
            messages = self._outgoing(effects)
            outbox = [(m.recipient, _payload(m)) for m in messages]
            try:
                seq = await self.store_call(self.store.append, self.me, now, kind, payload,
                                            outbox)
            except StoreError:
                # Not durable, so it did not happen: rebuild the ledger from what is stored.
                self.count("store_errors")
                self._rebuild()
                raise
            self._observe_locally(event, effects, now, live=True)
        if messages:
            # Deliver at once from memory; the outbox row is only the safety net for a crash
            # or a failed delivery, which the background loop retries.
            self.courier.send(seq, messages)
        self.count(f"events_{kind}")
        return effects

    async def receive(self, raw: bytes) -> Message:
        """Verify a signed envelope from a peer and handle the message in it."""
        sender = _sender_of(raw)
        if sender is not None and self.registry.known(sender) is None:
            with contextlib.suppress(PeerUnavailable):
                await self.registry.resolve(sender)
        message = self.verifier.open(raw, self.clock())
        if isinstance(message, LinkNotice) and not self.settings.is_provider:
            raise WireError(400, "LinkNotice goes to the provider")
        await self.submit(message)
        return message

    def _apply(self, event: Event, now: float) -> list[Effect]:
        self._link_refused = False
        if isinstance(event, LinkNotice):
            self._link_refused = not self.directory.apply(event)
            return []
        return self.ledger.handle(event, now)

    def _refusal(self, event: Event) -> str | None:
        if isinstance(event, LinkNotice):
            return "link notice from a non-endpoint or about a dead link" if \
                self._link_refused else None
        return self.ledger.refusal

    def _outgoing(self, effects: list[Effect]) -> list[Message]:
        messages = [self._signed(e.message) for e in effects if isinstance(e, Send)]
        if not self.settings.is_provider:
            messages += self._link_notices(effects)
        return messages

    def _link_notices(self, effects: list[Effect]) -> list[Message]:
        """Keep the provider's directory of live connections: tell it when a connection of ours
        comes alive or dies — only then, not at every change of status."""
        notices: list[Message] = []
        for effect in effects:
            if isinstance(effect, Enforce):
                live = effect.status.is_live
                if self._reported_live.get(effect.connection) == live:
                    continue
                self._reported_live[effect.connection] = live
                notices.append(LinkNotice(self.me, PROVIDER, effect.connection,
                                          effect.requester, effect.target, live))
            elif isinstance(effect, Closed):
                if self._reported_live.pop(effect.connection, None) is False:
                    continue
                notices.append(LinkNotice(self.me, PROVIDER, effect.connection, self.me,
                                          effect.peer, False))
        return notices

    def _signed(self, message: Message) -> Message:
        """The target signs every ticket it grants, so a third party can verify it."""
        if isinstance(message, Accept) and not message.signature:
            return replace(message, signature=sign_ticket(message.ticket, self.key))
        return message

    def _observe_locally(self, event: Event, effects: list[Effect], now: float,
                         live: bool) -> None:
        wall = self.wall(now)
        if isinstance(event, Accept) and event.signature:
            self.tickets[event.connection] = (event.ticket, event.signature)
        for effect in effects:
            if isinstance(effect, Send) and isinstance(effect.message, Accept):
                signed = self._signed(effect.message)
                assert isinstance(signed, Accept)
                self.tickets[signed.connection] = (signed.ticket, signed.signature)
        if (isinstance(event, Observe) and effects) or (isinstance(event, Feedback) and \
                self._accepted(event)):
            self.feedback.append(_feedback_record(event, wall, self.me))
        for effect in effects:
            if isinstance(effect, Enforce):
                decided = Decided(wall, effect.connection, effect.requester, effect.target,
                                  effect.status.name, effect.decision.value,
                                  self.wall(effect.expires), effect.reason)
                self.decisions.append(decided)
                if live:
                    for queue in list(self.subscribers):
                        with contextlib.suppress(asyncio.QueueFull):
                            queue.put_nowait(decided)
            elif isinstance(effect, Introduced) and live:
                waiter = self.waiters.pop(effect.connection, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(effect)

    def _accepted(self, feedback: Feedback) -> bool:
        record = self.ledger.introductions.get(feedback.connection)
        return record is not None and (feedback.interaction, feedback.reporter) in record.seen

    async def connect(self, target: TenantId, path: tuple[TenantId, ...], mode: Mode,
                      timeout: float) -> Introduced | None:
        """One introduction attempt as requester; ``None`` if no answer came in time."""
        effects = await self.submit(Connect(target, path, mode))
        immediate = next((e for e in effects if isinstance(e, Introduced)), None)
        if immediate is not None:
            return immediate
        first = next(e.message for e in effects if isinstance(e, Send))
        assert isinstance(first, IntroRequest)
        cid = first.connection
        # No await between submit returning and this line: the answer cannot slip past.
        waiter: asyncio.Future[Introduced] = asyncio.get_running_loop().create_future()
        self.waiters[cid] = waiter
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            self.count("introductions_timed_out")
            return None
        finally:
            self.waiters.pop(cid, None)

    def interaction_feedback(self, connection: ConnectionId, started: float, ended: float,
                             packets: int) -> Severity | None:
        """One feedback value for an interaction that ran from ``started`` to ``ended`` (wall
        seconds): the worst verdict the sensors gave about the peer meanwhile; POS when there
        was traffic and nothing bad; nothing when nothing was seen."""
        conn = self.ledger.connections.get(connection)
        if conn is None:
            return None
        seen = self.verdicts.feedback_for(conn.peer(self.me), started, ended)
        if seen is None and packets > 0:
            return Severity.POS
        return seen

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    async def store_call(self, call: Callable[..., _T], *args: Any) -> _T:
        """Run a store call: in the loop for SQLite (well under a millisecond, and a thread hop
        would double it), in a worker thread for a networked database."""
        if getattr(self.store, "is_sqlite", False):
            return call(*args)
        return await asyncio.to_thread(call, *args)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.epoch_seconds)
            await self.submit(Tick())
            await self.registry.prefetch()  # tenants registered since, and changed keys
            # Nonces older than the clock window can never be replayed: forget them.
            await self.store_call(self.store.purge_nonces, self.clock())


def _payload(message: Message) -> bytes:
    return json.dumps(encode_message(message)).encode()



def _sender_of(raw: bytes) -> TenantId | None:
    try:
        sender = json.loads(raw).get("sender")
    except (ValueError, AttributeError):
        return None
    return TenantId(sender) if isinstance(sender, str) and len(sender) <= 128 else None


def _feedback_record(event: Observe | Feedback, wall: float, me: TenantId) -> dict[str, Any]:
    if isinstance(event, Observe):
        return {"at": wall, "connection": event.connection, "interaction": event.interaction,
                "reporter": me, "severity": event.severity.name, "hop": 0}
    return {"at": wall, "connection": event.connection, "interaction": event.interaction,
            "reporter": event.reporter, "subject": event.subject,
            "severity": event.severity.name, "hop": event.hop}
