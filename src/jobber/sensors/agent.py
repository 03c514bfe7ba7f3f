"""``jobber sensor run``: follow the configured log sources and push their events to the server.

A sensor agent reads lines from files (followed through rotation and truncation, offsets kept
across restarts) and from a syslog listener, parses each with its source's parser into standard
events, and pushes them in batches to its tenant's Jobber server (``POST /v1/sensors/events``,
newline-delimited JSON, the sensor's own token). The rules run on the server, which knows the
tenant's inventory and turns verdicts into feedback at each interaction end.

Config (YAML, unknown keys refused)::

    server: http://127.0.0.1:8701
    token_file: ssh-sensor.token        # or token: ...
    reporter: acme
    state_dir: ./sensor-state           # where file offsets are kept
    sources:
      - {file: /var/log/auth.log, format: sshd}
      - {syslog: 127.0.0.1:5514, protocol: udp, format: netfilter}

A batch is committed (file offsets saved) only after the server acknowledged it, so a crash or
an unreachable server re-sends rather than loses; the server's rules see such a repeat as one
more sighting, which is why offsets are committed per acknowledged batch, not per line.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobber.config import explain
from jobber.errors import ConfigError
from jobber.sensors.event import Event, SensorError
from jobber.sensors.follow.syslog import SyslogListener
from jobber.sensors.follow.tail import FileFollower
from jobber.sensors.parsers import make_parser
from jobber.sensors.sensor import Sensor
from jobber.types import TenantId

BATCH = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileSource(_Strict):
    file: str
    format: str
    start_at_end: bool = False


class SyslogSource(_Strict):
    syslog: str = Field(description="host:port to listen on (loopback by default)")
    protocol: Literal["udp", "tcp"] = "udp"
    format: str


class AgentFile(_Strict):
    server: str
    token: str | None = None
    token_file: str | None = None
    reporter: str
    state_dir: str = "sensor-state"
    poll_seconds: float = Field(1.0, gt=0, le=60)
    sources: list[FileSource | SyslogSource] = Field(min_length=1)


@dataclass(slots=True)
class AgentConfig:
    server: str
    token: str
    reporter: TenantId
    state_dir: Path
    poll_seconds: float
    files: list[FileSource] = field(default_factory=list)
    syslogs: list[SyslogSource] = field(default_factory=list)


def load_agent_config(path: str | Path) -> AgentConfig:
    source = Path(path)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
        model = AgentFile(**(raw if isinstance(raw, dict) else {}))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(explain(source, exc)) from None
    base = source.parent
    token = model.token
    if model.token_file:
        try:
            token = (base / model.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{source}: token_file: {exc.strerror}") from None
    if not token:
        raise ConfigError(f"{source}: give token or token_file (the sensor's token on the "
                          "server, sensors.tokens in its config)")
    for src in model.sources:
        make_parser(src.format)  # an unknown format fails now, naming the known ones
    return AgentConfig(
        server=model.server.rstrip("/"), token=token, reporter=TenantId(model.reporter),
        state_dir=(base / model.state_dir).resolve(), poll_seconds=model.poll_seconds,
        files=[s for s in model.sources if isinstance(s, FileSource)],
        syslogs=[s for s in model.sources if isinstance(s, SyslogSource)],
    )


class Pusher:
    """Batches of events to the server; raises ``SensorError`` if it refuses or is away."""

    def __init__(self, config: AgentConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client
        self.pushed = 0

    async def push(self, events: list[Event]) -> None:
        for start in range(0, len(events), BATCH):
            body = "\n".join(e.to_json() for e in events[start:start + BATCH]).encode()
            try:
                response = await self.client.post(
                    f"{self.config.server}/v1/sensors/events", content=body, timeout=10,
                    headers={"authorization": f"Bearer {self.config.token}",
                             "content-type": "application/x-ndjson"})
            except httpx.HTTPError as exc:
                raise SensorError(f"server {self.config.server} unreachable: "
                                  f"{type(exc).__name__}") from exc
            if response.status_code != 200:
                raise SensorError(f"server refused the events: {response.status_code} "
                                  f"{response.text[:200]}")
            self.pushed += int(response.json().get("events", 0))


class Agent:
    def __init__(self, config: AgentConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.followers = [
            (FileFollower(src.file, config.state_dir / _state_name(src.file),
                          start_at_end=src.start_at_end),
             Sensor(make_parser(src.format), None, config.reporter, origin=src.file))
            for src in config.files
        ]
        self.pending: list[Event] = []

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> int:
        """Follow every source; with ``once``, read files to their end, push, and return."""
        listeners = [await self._listen(src) for src in self.config.syslogs] if not once else []
        async with httpx.AsyncClient(trust_env=False) as client:
            pusher = Pusher(self.config, client)
            try:
                while True:
                    self._poll_files()
                    if self.pending:
                        batch, self.pending = self.pending, []
                        try:
                            await pusher.push(batch)
                        except SensorError:
                            self.pending = batch + self.pending  # keep, retry next round
                            if once:
                                raise
                        else:
                            for follower, _sensor in self.followers:
                                follower.commit()
                    if once:
                        return pusher.pushed
                    if stop is not None and stop.is_set():
                        return pusher.pushed
                    await asyncio.sleep(self.config.poll_seconds)
            finally:
                for listener in listeners:
                    await listener.close()
                for follower, _sensor in self.followers:
                    follower.close()

    def _poll_files(self) -> None:
        for follower, sensor in self.followers:
            for line in follower.poll():
                event, _ = sensor.feed(line.data, self.clock(), offset=line.offset)
                if event is not None:
                    self.pending.append(event)

    async def _listen(self, src: SyslogSource) -> SyslogListener:
        sensor = Sensor(make_parser(src.format), None, self.config.reporter, origin=src.syslog)
        host, _, port = src.syslog.rpartition(":")

        def on_message(message: bytes) -> None:
            event, _ = sensor.feed(message, self.clock())
            if event is not None:
                self.pending.append(event)

        kwargs: dict[str, Any] = {"host": host or "127.0.0.1"}
        if src.protocol == "udp":
            kwargs.update(udp_port=int(port), tcp_port=None)
        else:
            kwargs.update(udp_port=None, tcp_port=int(port))
        listener = SyslogListener(on_message, **kwargs)
        await listener.start()
        return listener


def _state_name(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()[:16] + ".json"
