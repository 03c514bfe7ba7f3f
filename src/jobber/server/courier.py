"""The courier: delivers a server's outgoing messages to its peers, at once and again if needed.

Every event a server handles is written to the store with the messages it produces (the
outbox) before anyone is told; the courier then delivers those messages straight from memory.
Messages for one recipient queue up behind one sender task, so those that pile up while a
request is under way travel together in one batch POST (``/v1/messages/batch``, one signed
envelope per line; a lone message goes to ``/v1/messages``). Bookkeeping notices (the
provider's directory and probations) wait up to ``BOOKKEEPING_DELAY`` so that an introduction's
own messages go first and the notices batch — unless something urgent for the same recipient
joins them.

Invariants: an event's outbox rows are forgotten only once every one of its messages got an
answer that settles it (accepted, or refused for good); a message that could not be delivered
stays in the outbox, and ``retry_forever`` takes it up again with backoff (also after a
restart). A message may therefore arrive twice; receivers drop the copy (nonces, and the core's
once-only rules).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from jobber.server.codec import decode_message
from jobber.server.keys import KeyPair
from jobber.server.peers import PeerUnavailable, Registry, Transport
from jobber.server.store import Store
from jobber.server.wire import seal
from jobber.trust.messages import LinkNotice, Message, StatusNotice
from jobber.types import TenantId

BATCH_MESSAGES = 64
"""Messages one POST to a peer may carry."""

BOOKKEEPING_DELAY = 0.05
"""Seconds notices that are not on anyone's critical path wait, to batch and to yield."""

StoreCall = Callable[..., Awaitable[Any]]


class Courier:
    def __init__(self, me: TenantId, key: KeyPair, store: Store, registry: Registry,
                 transport: Transport, *, timeout: float, store_call: StoreCall,
                 count: Callable[[str], None], clock: Callable[[], float] = time.time) -> None:
        self.me = me
        self.key = key
        self.store = store
        self.registry = registry
        self.transport = transport
        self.timeout = timeout
        self.store_call = store_call
        self.count = count
        self.clock = clock
        self._wake = asyncio.Event()
        self._wake.set()  # at start: whatever a previous run left in the outbox
        self._in_flight: dict[int, int] = {}  # event seq → its messages still being sent
        self._failed: set[int] = set()  # event seqs with a message that did not get through
        self._queues: dict[TenantId, list[tuple[int, Message]]] = {}  # recipient → to send
        self._senders: dict[TenantId, asyncio.Task[None]] = {}
        self._urgent: dict[TenantId, asyncio.Event] = {}  # wakes a sender holding notices back

    def send(self, seq: int, messages: list[Message]) -> None:
        """Deliver event ``seq``'s messages (already in the outbox)."""
        self._in_flight[seq] = self._in_flight.get(seq, 0) + len(messages)
        for message in messages:
            recipient = message.recipient
            self._queues.setdefault(recipient, []).append((seq, message))
            if recipient not in self._senders:
                self._senders[recipient] = asyncio.create_task(self._drain(recipient))
            elif recipient in self._urgent and not _is_bookkeeping(message):
                self._urgent[recipient].set()

    async def _drain(self, recipient: TenantId) -> None:
        queue = self._queues[recipient]
        try:
            if all(_is_bookkeeping(m) for _seq, m in queue):
                urgent = self._urgent[recipient] = asyncio.Event()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(urgent.wait(), BOOKKEEPING_DELAY)
                del self._urgent[recipient]
            while queue:
                batch, queue[:] = queue[:BATCH_MESSAGES], queue[BATCH_MESSAGES:]
                delivered = await self.deliver(recipient, [m for _, m in batch])
                for seq, _message in batch:
                    await self._settle(seq, delivered)
        finally:
            del self._senders[recipient]
            if not queue:
                del self._queues[recipient]

    async def _settle(self, seq: int, delivered: bool) -> None:
        if not delivered:
            self._failed.add(seq)
        left = self._in_flight[seq] - 1
        if left:
            self._in_flight[seq] = left
            return
        del self._in_flight[seq]
        if seq in self._failed:
            self._failed.discard(seq)
            self._wake.set()  # the outbox keeps it: the retry loop takes over
        else:
            await self.store_call(self.store.mark_event_delivered, self.me, seq)

    async def retry_forever(self) -> None:
        """Deliver what the outbox still holds whenever something failed, with backoff."""
        backoff = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                retry = await self.deliver_pending()
            except Exception:  # a store or peer failure must not kill delivery for good
                retry = True
                self.count("delivery_errors")
            if retry:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._wake.set()
            else:
                backoff = 0.05

    async def deliver_pending(self) -> bool:
        """Deliver what the outbox still holds once; return True if something must be retried."""
        items = await self.store_call(self.store.pending_outbox, self.me)
        items = [i for i in items if i.event_seq not in self._in_flight]  # not twice at once
        if not items:
            return False
        results = await asyncio.gather(*(self.deliver(TenantId(i.recipient),
                                                      [_message(i.payload)]) for i in items))
        done = [i.id for i, ok in zip(items, results, strict=True) if ok]
        failed = [i.id for i, ok in zip(items, results, strict=True) if not ok]
        if done:
            await self.store_call(self.store.mark_delivered, done)
        for item_id in failed:
            await self.store_call(self.store.mark_attempt, item_id)
        return bool(failed)

    async def deliver(self, recipient: TenantId, messages: list[Message]) -> bool:
        """One POST to ``recipient``. True when the answer settles the messages (accepted or
        refused); False when they must be retried."""
        try:
            peer = await self.registry.resolve(recipient)
        except PeerUnavailable:
            self.count("delivery_unreachable")
            return False
        if peer is None:
            self.count("delivery_unknown_recipient")
            return True  # nobody to deliver to: drop it (counted)
        now = self.clock()
        sealed = [seal(m, self.key, now) for m in messages]
        path = "/v1/messages" if len(sealed) == 1 else "/v1/messages/batch"
        try:
            status, _ = await self.transport.post(f"{peer.url}{path}", b"\n".join(sealed),
                                                  timeout=self.timeout)
        except PeerUnavailable:
            self.count("delivery_unreachable")
            return False
        if status >= 500:
            return False
        if status >= 400:
            self.count("delivery_refused")
        return True


def _is_bookkeeping(message: Message) -> bool:
    return isinstance(message, LinkNotice | StatusNotice)


def _message(payload: bytes) -> Message:
    body = json.loads(payload)
    return decode_message(body["type"], body["body"])
