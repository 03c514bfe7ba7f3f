"""Crash test: feedback streams into a server that is SIGKILLed midway; after a restart every
acknowledged feedback value is in the store, and none is applied twice."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import httpx

from jobber.server.cluster import Cluster
from jobber.server.store import open_store
from jobber.types import TenantId

from .conftest import connect, connection

T = TenantId
TOTAL = 1000


def observed(cluster: Cluster) -> list[str]:
    store = open_store(f"sqlite:///{cluster.folder / 't2.db'}")
    try:
        return [json.loads(e.payload)["interaction"] for e in store.events("t2")
                if e.kind == "Observe"]
    finally:
        store.close()


def test_sigkill_loses_nothing_acknowledged(cluster_factory: Any) -> None:
    cluster: Cluster = cluster_factory(["t1", "t2"], processes=2)
    conn = connect(cluster, "t1", "t2")
    t2 = cluster.members[T("t2")]
    headers = {"authorization": f"Bearer {t2.client_token}"}
    acked: list[str] = []
    enough = threading.Event()

    def stream() -> None:
        with httpx.Client(timeout=5) as client:
            for i in range(TOTAL):
                body = {"connection": conn, "interaction": f"f{i}", "severity": "POS"}
                try:
                    response = client.post(f"{t2.url}/v1/local/observe", json=body,
                                           headers=headers)
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200 and response.json()["accepted"]:
                    acked.append(f"f{i}")
                if len(acked) >= TOTAL // 3:
                    enough.set()

    sender = threading.Thread(target=stream)
    sender.start()
    assert enough.wait(60), "the server acknowledged too little"
    cluster.kill("t2", signal.SIGKILL)
    sender.join(30)
    assert 0 < len(acked) < TOTAL

    stored = observed(cluster)
    assert set(acked) <= set(stored), "an acknowledged feedback value was lost"
    assert len(stored) == len(set(stored)), "a feedback value was stored twice"

    cluster.restart("t2")
    assert connection(t2, conn)["reported"] == len(stored)
    # Send everything again: what was applied is refused, the rest is applied once.
    with httpx.Client(timeout=5) as client:
        answers = [client.post(f"{t2.url}/v1/local/observe", headers=headers,
                               json={"connection": conn, "interaction": f"f{i}",
                                     "severity": "POS"}).json()["accepted"]
                   for i in range(TOTAL)]
    assert answers.count(False) == len(stored)
    final = observed(cluster)
    assert len(final) == len(set(final)) == TOTAL
    assert connection(t2, conn)["reported"] == TOTAL
