"""The os-ken app: a thin translation of OpenFlow events into pipeline calls and back.

Every handler runs on os-ken's single event thread and returns at once: it parses the event,
calls the pure ``Pipeline`` with ``time.time()`` and sends what comes back. Negotiations and
interaction reports go to the ``Worker`` (its own thread and asyncio loop); their answers come
back as ``EventDecided`` on this app's queue, so the pipeline is only ever touched from this
thread. A ``EventTick`` every second expires parked packets.

os-ken is untyped: this module and ``launcher`` are the only ones that import it, and they keep
its objects behind ``Any`` in narrow places. The app gets its collaborators as the ``jobber``
keyword argument (``Wiring``), passed by the launcher to ``AppManager.instantiate_apps``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast

from os_ken.base import app_manager
from os_ken.controller import event, ofp_event
from os_ken.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3, ofproto_v1_3_parser

from jobber.client.negotiator import Grant
from jobber.enforce.openflow.messages import (
    FlowEntry,
    FlowMod,
    FlowStatsRequest,
    Message,
    MeterMod,
    PacketOut,
    RemovedReason,
)
from jobber.enforce.openflow.pipeline import Effect, InteractionEnded, Negotiate, Pipeline, ToSwitch
from jobber.enforce.openflow.wire import Encoder
from jobber.enforce.openflow.worker import NegotiatorLike, Worker

log = logging.getLogger("jobber.enforce.openflow")
_F = TypeVar("_F", bound=Callable[..., None])


def on(ev_cls: Any, dispatchers: Any = None) -> Callable[[_F], _F]:
    """os-ken's ``set_ev_cls``, typed (it only tags the function)."""
    return cast(Callable[[_F], _F], set_ev_cls(ev_cls, dispatchers))


@dataclass(frozen=True, slots=True)
class Wiring:
    """What the app is built from (injected, never global)."""

    pipeline: Pipeline
    make_negotiator: Callable[[], NegotiatorLike]
    tick_seconds: float = 1.0


class _OF13:
    """What os-ken's message classes need of a datapath to serialize (the app speaks only 1.3)."""

    ofproto = ofproto_v1_3
    ofproto_parser = ofproto_v1_3_parser


class EventDecided(event.EventBase):  # type: ignore[misc]
    def __init__(self, grant: Grant, pushed: bool) -> None:
        super().__init__()
        self.grant, self.pushed = grant, pushed


class EventTick(event.EventBase):  # type: ignore[misc]
    pass


class JobberApp(app_manager.OSKenApp):  # type: ignore[misc]
    OFP_VERSIONS: ClassVar[list[int]] = [ofproto_v1_3.OFP_VERSION]
    _EVENTS: ClassVar[list[type]] = [EventDecided, EventTick]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        wiring = kwargs.pop("jobber")
        super().__init__(*args, **kwargs)
        self.name = "jobber"
        self.wiring: Wiring = wiring
        self.pipeline = wiring.pipeline
        self.datapaths: dict[int, Any] = {}
        self.ports: dict[int, set[int]] = {}
        self.stats: dict[int, list[FlowEntry]] = {}
        self.worker = Worker(wiring.make_negotiator, self._decided)
        self.encoder = Encoder(lambda m: to_osken(_OF13, m))
        self._running = True

    def start(self) -> Any:
        thread = super().start()
        self.worker.start()
        self.threads.append(hub.spawn(self._ticker))
        return thread

    def stop(self) -> None:
        self._running = False
        self.worker.stop()
        super().stop()

    def _ticker(self) -> None:
        while self._running:
            hub.sleep(self.wiring.tick_seconds)
            self.send_event(self.name, EventTick())

    def _decided(self, grant: Grant, pushed: bool) -> None:  # on the worker thread
        self.send_event(self.name, EventDecided(grant, pushed))

    # --- os-ken events → pipeline -----------------------------------------------------------

    @on(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state(self, ev: Any) -> None:
        dp: Any = ev.datapath
        dpid: int | None = dp.id
        if dpid is None:
            return
        if ev.state == MAIN_DISPATCHER:
            self.datapaths[dpid] = dp
            self.ports[dpid] = {int(p) for p in (dp.ports or {})}
            log.info("switch %016x up (%d ports)", dpid, len(self.ports[dpid]))
            self.run(self.pipeline.switch_up(dpid, self.ports[dpid], time.time()))
        elif self.datapaths.get(dpid) is dp:
            log.info("switch %016x down", dpid)
            del self.datapaths[dpid]
            self.pipeline.switch_down(dpid)

    @on(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev: Any) -> None:
        msg = ev.msg
        self.run(self.pipeline.packet_in(msg.datapath.id, int(msg.match["in_port"]),
                                         int(msg.table_id), bytes(msg.data), time.time()))

    @on(ofp_event.EventOFPFlowRemoved, MAIN_DISPATCHER)
    def _flow_removed(self, ev: Any) -> None:
        msg = ev.msg
        entry = FlowEntry(int(msg.table_id), int(msg.priority), {}, int(msg.cookie),
                          int(msg.packet_count), int(msg.byte_count), float(msg.duration_sec))
        try:
            reason = RemovedReason(int(msg.reason))
        except ValueError:
            reason = RemovedReason.DELETE
        self.run(self.pipeline.flow_removed(msg.datapath.id, entry, reason, time.time()))

    @on(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats(self, ev: Any) -> None:
        msg = ev.msg
        dpid = msg.datapath.id
        self.stats.setdefault(dpid, []).extend(
            FlowEntry(int(s.table_id), int(s.priority), {}, int(s.cookie), int(s.packet_count),
                      int(s.byte_count)) for s in msg.body)
        if not msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE:
            self.run(self.pipeline.flow_stats(dpid, self.stats.pop(dpid), time.time()))

    @on(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev: Any) -> None:
        msg = ev.msg
        dp, ofp = msg.datapath, msg.datapath.ofproto
        ports = self.ports.setdefault(dp.id, set())
        if msg.reason == ofp.OFPPR_DELETE:
            ports.discard(int(msg.desc.port_no))
        else:
            ports.add(int(msg.desc.port_no))
        self.run(self.pipeline.ports_changed(dp.id, set(ports)))

    @on(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def _error(self, ev: Any) -> None:
        msg = ev.msg
        log.warning("switch %016x: OpenFlow error type %d code %d", msg.datapath.id, msg.type,
                    msg.code)

    @on(EventDecided)
    def _on_decided(self, ev: EventDecided) -> None:
        if ev.pushed:
            log.info("pushed: %s ↔ %s now %s (%s)", ev.grant.requester, ev.grant.target,
                     ev.grant.decision.value, ev.grant.reason)
        self.run(self.pipeline.granted(ev.grant, time.time()))

    @on(EventTick)
    def _on_tick(self, _ev: EventTick) -> None:
        dropped = self.pipeline.tick(time.time())
        if dropped:
            log.info("dropped %d parked packet(s): no decision in time", dropped)

    # --- pipeline → switches and worker -----------------------------------------------------

    def run(self, effects: list[Effect]) -> None:
        """Send each switch its messages as one write, in order; hand the rest to the worker.

        One ``send`` per switch (not one per message) matters: each is a hop to the
        datapath's sender thread, and a granted pair's setup is two FLOW_MODs and a
        PACKET_OUT."""
        out: dict[int, list[bytes]] = {}
        for effect in effects:
            if isinstance(effect, ToSwitch):
                dp = self.datapaths.get(effect.dpid)
                if dp is not None:
                    dp.xid = xid = (dp.xid + 1) & ofproto_v1_3.MAX_XID
                    out.setdefault(effect.dpid, []).append(
                        self.encoder.encode(effect.message, xid))
            elif isinstance(effect, Negotiate):
                self.worker.negotiate(effect.requester, effect.target)
            elif isinstance(effect, InteractionEnded):
                self.worker.report(effect)
        for dpid, bufs in out.items():
            self.datapaths[dpid].send(bufs[0] if len(bufs) == 1 else b"".join(bufs))


def to_osken(dp: Any, msg: Message) -> Any:
    """One of our messages as an os-ken parser object for ``dp``."""
    ofp, parser = dp.ofproto, dp.ofproto_parser
    if isinstance(msg, FlowMod):
        inst: list[Any] = []
        if msg.meter is not None:
            inst.append(parser.OFPInstructionMeter(msg.meter, ofp.OFPIT_METER))
        if msg.actions:
            inst.append(parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [
                parser.OFPActionOutput(a.port, a.max_len) for a in msg.actions]))
        if msg.metadata is not None:
            inst.append(parser.OFPInstructionWriteMetadata(*msg.metadata))
        if msg.goto is not None:
            inst.append(parser.OFPInstructionGotoTable(msg.goto))
        return parser.OFPFlowMod(
            dp, cookie=msg.cookie, cookie_mask=msg.cookie_mask, table_id=msg.table,
            command=int(msg.command), idle_timeout=msg.idle_timeout,
            hard_timeout=msg.hard_timeout, priority=msg.priority, buffer_id=ofp.OFP_NO_BUFFER,
            out_port=msg.out_port, out_group=ofp.OFPG_ANY,
            flags=ofp.OFPFF_SEND_FLOW_REM if msg.send_flow_removed else 0,
            match=parser.OFPMatch(**dict(msg.match)), instructions=inst)
    if isinstance(msg, PacketOut):
        return parser.OFPPacketOut(dp, buffer_id=ofp.OFP_NO_BUFFER, in_port=msg.in_port,
                                   actions=[parser.OFPActionOutput(a.port, a.max_len)
                                            for a in msg.actions], data=msg.data)
    if isinstance(msg, MeterMod):
        return parser.OFPMeterMod(
            dp, command=ofp.OFPMC_DELETE if msg.delete else ofp.OFPMC_ADD,
            flags=ofp.OFPMF_PKTPS | ofp.OFPMF_BURST, meter_id=msg.meter_id,
            bands=[] if msg.delete else [parser.OFPMeterBandDrop(rate=msg.rate,
                                                                 burst_size=msg.burst)])
    assert isinstance(msg, FlowStatsRequest)
    return parser.OFPFlowStatsRequest(dp, 0, msg.table, ofp.OFPP_ANY, ofp.OFPG_ANY, msg.cookie,
                                      msg.cookie_mask, parser.OFPMatch())
