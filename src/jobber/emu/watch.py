"""The decisions every Jobber server takes, stamped with the wall time they were seen.

A server's decision log (``/v1/admin/decisions``) gives each decision the start of its epoch (60 s
by default), too coarse for a timeline of seconds. ``DecisionWatch`` follows each tenant's stream
of decisions (``GET /v1/local/events``, server-sent events — the same stream the controller
follows) in one thread per tenant and stamps each with the time it arrived.

Invariants: the threads are daemons that end when ``stop`` is called and their stream closes
(the servers stopping closes it); a broken stream is followed again after a short pause until
then; ``events`` only grows, and the list is appended under a lock.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx


class DecisionWatch:
    def __init__(self, servers: dict[str, tuple[str, str]]) -> None:
        """``servers``: tenant → (URL, client token)."""
        self.servers = servers
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Semaphore(0)
        self._threads = [threading.Thread(target=self._follow, args=(t, *s), daemon=True,
                                          name=f"jb-watch-{t}") for t, s in servers.items()]

    def start(self, wait: float = 5.0) -> None:
        for thread in self._threads:
            thread.start()
        end = time.monotonic() + wait
        for _ in self._threads:  # each stream subscribed before the first decision is taken
            self._ready.acquire(timeout=max(0.0, end - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()

    def join(self, seconds: float = 2.0) -> None:
        end = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))

    def _follow(self, tenant: str, url: str, token: str) -> None:
        first = True
        while not self._stop.is_set():
            try:
                with httpx.stream("GET", f"{url}/v1/local/events", trust_env=False,
                                  headers={"authorization": f"Bearer {token}"},
                                  timeout=httpx.Timeout(5.0, read=30.0)) as stream:
                    for line in stream.iter_lines():
                        if first and line.startswith(":"):
                            first = False
                            self._ready.release()
                        if self._stop.is_set():
                            return
                        if line.startswith("data: "):
                            event = json.loads(line[6:])
                            with self._lock:
                                self.events.append({**event, "server": tenant,
                                                    "seen": time.time()})
            except (httpx.HTTPError, ValueError):
                time.sleep(0.2)

    def decisions(self) -> list[dict[str, Any]]:
        with self._lock:
            return sorted(self.events, key=lambda e: float(e["seen"]))
