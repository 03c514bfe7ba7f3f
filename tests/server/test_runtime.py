"""The server runtime without HTTP: durability first, replay, and a store that fails."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jobber.config import ServerSettings
from jobber.server.keys import KeyPair
from jobber.server.runtime import Refused, Runtime
from jobber.server.store import StoreError, open_store
from jobber.trust.messages import Connect, Observe
from jobber.trust.policy import DEFAULT_POLICY
from jobber.types import ConnectionId, InteractionId, Severity, TenantId


class Unreachable:
    """A transport to nowhere: every peer is away."""

    async def post(self, url: str, body: bytes, **_kw: Any) -> tuple[int, bytes]:
        from jobber.server.peers import PeerUnavailable

        raise PeerUnavailable(url)

    async def get(self, url: str, **_kw: Any) -> tuple[int, bytes]:
        from jobber.server.peers import PeerUnavailable

        raise PeerUnavailable(url)

    async def aclose(self) -> None:
        return None


class FlakyStore:
    """A real store whose next ``append`` fails when told to."""

    def __init__(self, url: str) -> None:
        self.inner = open_store(url)
        self.fail_next = False
        self.is_sqlite = True

    def append(self, *args: Any, **kwargs: Any) -> int:
        if self.fail_next:
            self.fail_next = False
            raise StoreError("disk full (simulated)")
        return self.inner.append(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def settings(tmp: Path) -> ServerSettings:
    return ServerSettings(me=TenantId("acme"), key_file=tmp / "k", host="127.0.0.1", port=0,
                          url=None, store_url="", admin_token=None, client_token=None,
                          provider_url=None, epoch_seconds=60.0, timeout=0.5,
                          policy=DEFAULT_POLICY, source=tmp / "acme.yaml")


def test_a_store_failure_leaves_nothing_half_done(tmp_path: Path) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path / 'acme.db'}")

    async def run() -> None:
        rt = Runtime(settings(tmp_path), KeyPair.generate(), store,  # type: ignore[arg-type]
                     Unreachable(), clock=lambda: 6000.0)
        await rt.submit(Connect(TenantId("globex")))  # a handshake in flight
        assert rt.ledger.handshakes
        store.fail_next = True
        with pytest.raises(StoreError):
            await rt.submit(Connect(TenantId("initech")))
        # The failed event is not in memory either: the ledger was rebuilt from the log.
        assert [h.target for h in rt.ledger.handshakes.values()] == ["globex"]
        with pytest.raises(Refused):
            await rt.submit(Observe(ConnectionId("acme#9"), InteractionId("i"), Severity.POS))
        await rt.stop()

    asyncio.run(run())
    fresh = Runtime(settings(tmp_path), KeyPair.generate(), store,  # type: ignore[arg-type]
                    Unreachable())
    assert fresh.replay() == 1
    assert [h.target for h in fresh.ledger.handshakes.values()] == ["globex"]
