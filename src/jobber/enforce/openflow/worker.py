"""The negotiation worker: a thread running an asyncio loop that owns the Negotiator.

os-ken handles each app's events on one thread with a queue of 128: a handler that waited for a
Jobber server would stall every switch. So the app hands ``negotiate`` and ``report`` to this
worker and returns at once; answers (and decisions pushed by the servers) come back through the
``deliver`` callback, which the app turns into an os-ken event.

Invariants: the Negotiator is created, used and closed on the worker's loop only; every request
is bounded by the negotiator's own timeout; a failed report is logged and dropped (it loses one
feedback value, never a decision); ``stop`` returns within ``grace`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from jobber.client.negotiator import Grant, Subscriber
from jobber.enforce.openflow.pipeline import InteractionEnded
from jobber.types import TenantId

log = logging.getLogger("jobber.enforce.openflow")


class NegotiatorLike(Protocol):
    """What the worker needs of ``jobber.client.negotiator.Negotiator`` (tests pass fakes)."""

    async def grant(self, requester: TenantId, target: TenantId) -> Grant: ...

    async def report_interaction(self, tenant: TenantId, connection: str, interaction: str,
                                 started: float, ended: float, packets: int = 0,
                                 octets: int = 0) -> str | None: ...

    def subscribe(self, callback: Subscriber) -> None: ...

    async def watch(self) -> None: ...

    async def aclose(self) -> None: ...


class Worker:
    def __init__(self, make_negotiator: Callable[[], NegotiatorLike],
                 deliver: Callable[[Grant, bool], None]) -> None:
        self._make = make_negotiator
        self._deliver = deliver  # (grant, pushed) — called on the worker thread
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="jobber-negotiator", daemon=True)
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self.negotiator: NegotiatorLike | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the negotiation worker did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        negotiator = self.negotiator = self._make()
        negotiator.subscribe(lambda grant: self._deliver(grant, True))
        try:
            await negotiator.watch()
        except Exception:  # a server down at start: decisions are still negotiated on demand
            log.exception("following the servers' decisions failed")
        self._ready.set()
        await self._stopping.wait()
        await negotiator.aclose()

    def _submit(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        def spawn() -> None:
            task = self._loop.create_task(work())
            task.add_done_callback(_log_failure)

        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(spawn)

    def negotiate(self, requester: TenantId, target: TenantId) -> None:
        async def work() -> None:
            assert self.negotiator is not None
            grant = await self.negotiator.grant(requester, target)
            log.info("%s → %s: %s (%s)", requester, target, grant.decision.value, grant.reason)
            self._deliver(grant, False)

        self._submit(work)

    def report(self, ended: InteractionEnded) -> None:
        async def work() -> None:
            assert self.negotiator is not None
            for tenant in ended.tenants:  # both ends of the connection give feedback
                try:
                    await self.negotiator.report_interaction(
                        tenant, ended.connection, ended.interaction, ended.started,
                        ended.ended, ended.packets, ended.octets)
                except Exception as exc:  # one lost feedback value, logged
                    log.warning("reporting %s to %s failed: %s", ended.interaction, tenant, exc)

        self._submit(work)

    def stop(self, grace: float = 5.0) -> None:
        if self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(grace)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("negotiation worker task failed", exc_info=task.exception())
