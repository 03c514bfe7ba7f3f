"""The server's end of the sensor framework: events pushed in, verdicts kept per peer tenant.

Sensors (``jobber sensor run``, applications, remote IDSs) push standard events
(``jobber.sensors.event``) to ``POST /v1/sensors/events`` as newline-delimited JSON, each sensor
with its own token. The server runs its tenant's rules (``sensors.rules`` in the config, else
the packaged defaults) with its inventory of addresses, and keeps the verdicts in a bounded log;
when an interaction on a connection ends, the verdicts about the peer in its window become the
one feedback value (``Runtime.interaction_feedback``).

Invariants: a malformed line is counted and reported, never raised, and changes nothing; an
event is always re-stamped with this tenant as its reporter (a sensor speaks for the tenant
that gave it a token, never for another); verdicts about addresses of no known tenant are kept
out of the feedback.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field, replace
from pathlib import Path

from jobber.inventory import Inventory
from jobber.sensors.event import Event, SensorError
from jobber.sensors.feedback import VerdictLog
from jobber.sensors.rules import RuleEngine
from jobber.sensors.ruleset import default_rules, load_rules
from jobber.types import TenantId

MAX_BATCH = 1 << 20
"""Bytes one push may carry."""


@dataclass(slots=True)
class Ingested:
    events: int = 0
    verdicts: int = 0
    errors: list[str] = field(default_factory=list)
    rejected: int = 0


class SensorHub:
    def __init__(self, me: TenantId, tokens: dict[str, str], rules: Path | None,
                 inventory: Path | None, verdicts: VerdictLog) -> None:
        self.me = me
        self.tokens = tokens
        self.inventory = Inventory.load(inventory) if inventory else Inventory()
        self.engine = RuleEngine(load_rules(rules) if rules else default_rules(),
                                 self.inventory)
        self.verdicts = verdicts
        self.counts: dict[str, int] = {}

    def sensor_for(self, authorization: str) -> str | None:
        """The sensor a bearer token belongs to, or ``None``."""
        given = authorization.removeprefix("Bearer ").encode()
        found = None
        for name, token in self.tokens.items():
            if hmac.compare_digest(given, token.encode()):
                found = name
        return found

    def ingest(self, sensor: str, body: bytes) -> Ingested:
        result = Ingested()
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                event = Event.from_json(line)
            except (SensorError, ValueError, TypeError) as exc:
                result.rejected += 1
                if len(result.errors) < 5:
                    result.errors.append(f"line {number}: {exc}"[:200])
                continue
            if event.reporter != self.me:
                event = replace(event, reporter=self.me)
            verdicts = self.engine.observe(event)
            self.verdicts.record(verdicts)
            result.events += 1
            result.verdicts += len(verdicts)
        self.counts[sensor] = self.counts.get(sensor, 0) + result.events
        return result
