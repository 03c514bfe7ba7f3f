"""A test fabric: the pure pipeline driving software flow tables, a fake negotiator, middleboxes.

``Fabric.send`` pushes one frame into a switch and follows it everywhere it goes: through the
tables, to the controller (pipeline) and back, through a middlebox (which forwards from one of
its ports to the other and counts), until it leaves on host ports or is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from jobber.client.negotiator import Grant
from jobber.enforce.openflow.flowtable import FlowTable
from jobber.enforce.openflow.hosts import Tenancy
from jobber.enforce.openflow.layout import Middlebox, Settings
from jobber.enforce.openflow.messages import FlowMod, FlowStatsRequest, MeterMod, PacketOut
from jobber.enforce.openflow.pipeline import Effect, InteractionEnded, Negotiate, Pipeline, ToSwitch
from jobber.types import Decision, TenantId

T = TenantId
NOW = 1_700_000_000.0


@dataclass
class Delivery:
    ports: list[int] = field(default_factory=list)  # host ports it left on
    middlebox: int = 0  # times it crossed a middlebox
    asked: int = 0  # times it went to the controller


class Fabric:
    def __init__(self, owned: dict[str, list[str]], *, middlebox: Middlebox | None = None,
                 dpids: Iterable[int] = (1,), ports: Iterable[int] = range(1, 9),
                 settings: Settings | None = None, decisions: dict[frozenset[str], Decision]
                 | None = None, auto: bool = True, first_serial: int = 0) -> None:
        self.now = NOW
        self.dpids = list(dpids)
        self.middlebox = middlebox
        boxes: dict[int, dict[TenantId | None, Middlebox]] = \
            {d: {None: middlebox} for d in self.dpids} if middlebox else {}
        self.pipeline = Pipeline(Tenancy.from_lists(owned), boxes, settings, first_serial)
        self.tables = {d: FlowTable() for d in self.dpids}
        self.decisions = decisions or {}
        self.auto = auto
        self.negotiations: list[Negotiate] = []
        self.reports: list[tuple[TenantId, InteractionEnded]] = []
        self.delivery = Delivery()
        self.serial = 0
        for d in self.dpids:
            self.run(self.pipeline.switch_up(d, set(ports), self.now))

    def grant_for(self, requester: str, target: str, decision: Decision | None = None,
                  ttl: float = 600.0) -> Grant:
        self.serial += 1
        decision = decision or self.decisions.get(frozenset((requester, target)),
                                                  Decision.DIRECT)
        return Grant(T(requester), T(target), decision, f"{requester}#{self.serial}",
                     self.now + ttl, "test")

    def run(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Negotiate):
                self.negotiations.append(effect)
                if self.auto:
                    self.push(self.grant_for(effect.requester, effect.target))
            elif isinstance(effect, InteractionEnded):
                for tenant in effect.tenants:  # the app reports to both tenants' servers
                    self.reports.append((tenant, effect))
            else:
                self.deliver(effect)

    def push(self, grant: Grant) -> None:
        self.run(self.pipeline.granted(grant, self.now))

    def deliver(self, effect: ToSwitch) -> None:
        table, msg = self.tables[effect.dpid], effect.message
        if isinstance(msg, FlowMod):
            for removed in table.apply(msg, self.now):
                self.run(self.pipeline.flow_removed(effect.dpid, removed.entry, removed.reason,
                                                    self.now))
        elif isinstance(msg, PacketOut):
            self._follow(effect.dpid, msg.in_port, msg.data, table.packet_out(msg, self.now))
        elif isinstance(msg, FlowStatsRequest):
            self.run(self.pipeline.flow_stats(effect.dpid, table.stats(), self.now))
        else:
            assert isinstance(msg, MeterMod)

    def _follow(self, dpid: int, in_port: int, data: bytes, trace: object) -> None:
        from jobber.enforce.openflow.flowtable import Trace

        assert isinstance(trace, Trace)
        if trace.controller is not None:
            self.delivery.asked += 1
            self.run(self.pipeline.packet_in(dpid, in_port, trace.controller, data, self.now))
        box = self.middlebox
        for port in trace.outputs:
            if box is not None and port in (box.in_port, box.out_port):
                self.delivery.middlebox += 1
                back = box.out_port if port == box.in_port else box.in_port
                if self.delivery.middlebox < 10:  # a loop would show as many crossings
                    self.inject(dpid, back, data)
            else:
                self.delivery.ports.append(port)

    def inject(self, dpid: int, in_port: int, data: bytes) -> None:
        self._follow(dpid, in_port, data, self.tables[dpid].process(data, in_port, self.now))

    def send(self, dpid: int, in_port: int, data: bytes) -> Delivery:
        """One frame from a host on ``in_port``: where did it end up?"""
        self.delivery = Delivery()
        self.inject(dpid, in_port, data)
        return self.delivery

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.pipeline.tick(self.now)
        for dpid, table in self.tables.items():
            for removed in table.expire(self.now):
                self.run(self.pipeline.flow_removed(dpid, removed.entry, removed.reason,
                                                    self.now))

    def flows(self, dpid: int = 1, table: int | None = None) -> list[FlowMod]:
        return self.tables[dpid].flows(table)
