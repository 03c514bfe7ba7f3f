"""The pipeline, run against the software flow table: where does each packet go?"""

from __future__ import annotations

import pytest

from jobber.enforce.openflow.layout import DECISION, INGRESS, Middlebox, Settings
from jobber.enforce.openflow.messages import Command, Cookie, FlowMod, Kind, PacketOut
from jobber.enforce.openflow.packet import arp, ipv4
from jobber.enforce.openflow.pipeline import InteractionEnded, Negotiate, ToSwitch
from jobber.types import Decision

from .fabric import Fabric

OWNED = {"t1": ["10.97.1.0/24"], "t2": ["10.97.2.0/24"], "t3": ["10.97.3.0/24"]}
BOX = Middlebox(in_port=7, out_port=8)
HOSTS = {  # name: (port, mac, ip)
    "a1": (1, "02:00:00:00:01:01", "10.97.1.1"),
    "a2": (2, "02:00:00:00:01:02", "10.97.1.2"),
    "b1": (3, "02:00:00:00:02:01", "10.97.2.1"),
    "c1": (4, "02:00:00:00:03:01", "10.97.3.1"),
}


def frame(src: str, dst: str) -> bytes:
    return ipv4(HOSTS[src][1], HOSTS[dst][1], HOSTS[src][2], HOSTS[dst][2])


def announce(fabric: Fabric, *names: str) -> None:
    for name in names:
        port, mac, ip = HOSTS[name]
        fabric.send(1, port, arp(mac, ip, "10.97.0.254"))


def make(decisions: dict[frozenset[str], Decision] | None = None, **kw: object) -> Fabric:
    fabric = Fabric(OWNED, middlebox=BOX, decisions=decisions, **kw)  # type: ignore[arg-type]
    announce(fabric, *HOSTS)
    return fabric


def decision_flows(fabric: Fabric, dpid: int = 1) -> list[FlowMod]:
    return [f for f in fabric.flows(dpid, DECISION) if f.priority == 100]


def test_intra_tenant_traffic_is_forwarded_without_negotiation() -> None:
    fabric = make()
    went = fabric.send(1, 1, frame("a1", "a2"))
    assert went.ports == [2] and went.asked == 0 and went.middlebox == 0
    assert fabric.send(1, 2, frame("a2", "a1")).ports == [1]
    assert fabric.negotiations == [] and decision_flows(fabric) == []


def test_arp_floods_to_host_ports_only_never_into_the_middlebox() -> None:
    fabric = make()
    went = fabric.send(1, 3, arp(HOSTS["b1"][1], HOSTS["b1"][2], "10.97.1.1"))
    assert sorted(went.ports) == [1, 2, 4, 5, 6] and went.middlebox == 0


def test_first_inter_tenant_packet_is_negotiated_then_direct_both_ways() -> None:
    fabric = make({frozenset(("t2", "t1")): Decision.DIRECT})
    went = fabric.send(1, 3, frame("b1", "a1"))
    assert went.ports == [1] and went.middlebox == 0  # the parked packet was released
    assert fabric.negotiations == [Negotiate("t2", "t1")]  # type: ignore[arg-type]
    back = fabric.send(1, 1, frame("a1", "b1"))
    assert back.ports == [3] and back.asked == 0 and len(fabric.negotiations) == 1
    flows = decision_flows(fabric)
    assert len(flows) == 2 and all(f.goto == 3 and f.send_flow_removed for f in flows)
    assert {f.hard_timeout for f in flows} == {600}
    assert len({f.cookie for f in flows}) == 1
    assert fabric.send(1, 3, frame("b1", "a2")).ports == [2]  # the grant is per tenant pair
    assert len(fabric.negotiations) == 1


def test_inspect_steers_both_directions_through_the_middlebox() -> None:
    fabric = make({frozenset(("t2", "t1")): Decision.INSPECT})
    went = fabric.send(1, 3, frame("b1", "a1"))
    assert went.ports == [1] and went.middlebox == 1
    back = fabric.send(1, 1, frame("a1", "b1"))
    assert back.ports == [3] and back.middlebox == 1 and back.asked == 0
    outs = {f.actions[0].port for f in decision_flows(fabric)}
    assert outs == {BOX.in_port, BOX.out_port}


def test_inspect_without_a_middlebox_fails_closed() -> None:
    fabric = Fabric(OWNED, decisions={frozenset(("t2", "t1")): Decision.INSPECT})
    announce(fabric, *HOSTS)
    assert fabric.send(1, 3, frame("b1", "a1")).ports == []


def test_deny_drops_both_directions_with_a_short_negative_cache() -> None:
    fabric = make({frozenset(("t2", "t1")): Decision.DENY})
    assert fabric.send(1, 3, frame("b1", "a1")).ports == []
    back = fabric.send(1, 1, frame("a1", "b1"))
    assert back.ports == [] and back.asked == 0
    assert {(f.idle_timeout, f.hard_timeout) for f in decision_flows(fabric)} == {(5, 5)}
    fabric.advance(6)
    assert decision_flows(fabric) == []
    assert fabric.send(1, 3, frame("b1", "a1")).asked == 1  # asked again after the cache


def test_spoofed_sources_are_dropped_and_quarantined() -> None:
    fabric = make()
    spoofer = "02:00:00:00:09:09"  # port 5 claims a1's address with its own MAC
    went = fabric.send(1, 5, ipv4(spoofer, HOSTS["b1"][1], "10.97.1.1", "10.97.2.1"))
    assert went.ports == [] and fabric.negotiations == []
    quarantined = [f for f in fabric.flows(1, INGRESS) if f.priority == 150]
    assert len(quarantined) == 1 and quarantined[0].hard_timeout == 5
    assert fabric.send(1, 5, ipv4(spoofer, HOSTS["b1"][1], "10.97.1.1", "10.97.2.1")).asked == 0
    nobody = fabric.send(1, 6, ipv4("02:00:00:00:09:0a", HOSTS["a1"][1], "10.97.200.1",
                                    "10.97.1.1"))
    assert nobody.ports == []  # an address no tenant owns
    # b1 (bound on port 3) sending as another t2 address from its port is a new binding, but
    # as t1's address it is a spoof: the bound MAC speaks for t2.
    assert fabric.send(1, 3, ipv4(HOSTS["b1"][1], HOSTS["a1"][1], "10.97.1.77",
                                  "10.97.1.1")).ports == []


def test_revocation_removes_exactly_that_pairs_flows() -> None:
    fabric = make({frozenset(("t2", "t1")): Decision.DIRECT,
                   frozenset(("t3", "t1")): Decision.DIRECT})
    fabric.send(1, 3, frame("b1", "a1"))
    fabric.send(1, 4, frame("c1", "a1"))
    before = decision_flows(fabric)
    t3_flows = [f for f in before if Cookie.decode(f.cookie) and f.cookie != before[0].cookie]
    assert len(before) == 4 and len(t3_flows) == 2
    fabric.push(fabric.grant_for("t2", "t1", Decision.DENY))
    after = decision_flows(fabric)
    assert [f for f in after if f.cookie == t3_flows[0].cookie] == t3_flows  # untouched
    denied = [f for f in after if f.cookie != t3_flows[0].cookie]
    assert len(denied) == 2 and all(not f.actions and f.goto is None for f in denied)
    assert fabric.send(1, 3, frame("b1", "a1")).ports == []
    assert fabric.send(1, 4, frame("c1", "a1")).ports == [1]


def test_revocation_is_one_masked_delete_per_switch() -> None:
    fabric = Fabric(OWNED, middlebox=BOX, dpids=(1, 2))
    for dpid in (1, 2):
        for name in ("a1", "b1"):
            port, mac, ip = HOSTS[name]
            fabric.send(dpid, port, arp(mac, ip, "10.97.0.254"))
        fabric.send(dpid, 3, frame("b1", "a1"))
    effects = fabric.pipeline.granted(fabric.grant_for("t2", "t1", Decision.INSPECT), fabric.now)
    deletes = [e for e in effects if isinstance(e, ToSwitch) and isinstance(e.message, FlowMod)
               and e.message.command is Command.DELETE]
    assert sorted(e.dpid for e in deletes) == [1, 2]
    fabric.run(effects)
    assert fabric.send(2, 3, frame("b1", "a1")).middlebox == 1


def test_flow_removed_ends_the_interaction_at_both_servers() -> None:
    fabric = make()
    fabric.send(1, 3, frame("b1", "a1"))
    for _ in range(3):
        fabric.send(1, 1, frame("a1", "b1"))
    fabric.advance(61)  # idle timeout: both directions go, one report per tenant
    assert decision_flows(fabric) == []
    assert sorted(t for t, _ in fabric.reports) == ["t1", "t2"]
    ended = {e for _, e in fabric.reports}
    assert len(ended) == 1
    (end,) = ended
    assert isinstance(end, InteractionEnded) and end.connection.startswith("t2#")
    assert end.packets == 4 and end.octets > 0 and end.ended >= end.started
    assert end.interaction.startswith("of-")


def test_a_flow_without_traffic_is_not_an_interaction() -> None:
    fabric = make()
    fabric.send(1, 3, frame("b1", "a1"))
    fabric.push(fabric.grant_for("t2", "t1", Decision.INSPECT))  # one packet was seen
    assert len(fabric.reports) == 2
    fabric.push(fabric.grant_for("t2", "t1", Decision.DIRECT))  # this one saw none
    assert len(fabric.reports) == 2


def test_parked_packets_are_bounded_and_expire() -> None:
    fabric = make(auto=False, settings=Settings(parked_per_pair=2, pending_seconds=3))
    for _ in range(5):  # the pending flow stops the rest at the switch
        fabric.inject(1, 3, frame("b1", "a1"))
    sw = fabric.pipeline.switches[1]
    assert len(fabric.negotiations) == 1 and sum(len(q) for q in sw.parked.values()) == 1
    for _ in range(5):  # packets racing the pending flow still park at most two
        fabric.run(fabric.pipeline.packet_in(1, 3, DECISION, frame("b1", "a1"), fabric.now))
    assert sum(len(q) for q in sw.parked.values()) == 2
    fabric.advance(4)
    assert sw.parked == {}
    fabric.push(fabric.grant_for("t2", "t1"))
    assert fabric.send(1, 3, frame("b1", "a1")).ports == [1]


def test_a_moving_vm_is_followed_and_an_idle_one_forgotten() -> None:
    fabric = make()
    port, mac, ip = HOSTS["a2"]
    assert fabric.send(1, 6, arp(mac, ip, "10.97.1.1")).ports  # a2 now on port 6
    assert fabric.send(1, 1, frame("a1", "a2")).ports == [6]
    assert not [f for f in fabric.flows(1, INGRESS) if f.match.get("in_port") == port]
    fabric.advance(301)
    assert not [f for f in fabric.flows(1) if (c := Cookie.decode(f.cookie)) and
                c.kind is Kind.HOST]
    assert fabric.pipeline.hosts.by_ip == {}


def test_a_controller_restart_reconciles_stale_flows() -> None:
    fabric = make()
    fabric.send(1, 3, frame("b1", "a1"))
    old = {f.cookie for f in decision_flows(fabric)}
    fresh = Fabric(OWNED, middlebox=BOX, first_serial=1000)
    fresh.tables = fabric.tables  # the switch kept its flows; the controller forgot all
    fresh.run(fresh.pipeline.switch_up(1, set(range(1, 9)), fresh.now))
    assert fresh.negotiations == [Negotiate("t2", "t1")]  # type: ignore[arg-type]
    now = decision_flows(fresh)
    assert len(now) == 2 and not {f.cookie for f in now} & old
    hosts = [f for f in fresh.flows(1) if (c := Cookie.decode(f.cookie)) and c.kind is Kind.HOST]
    assert hosts == []  # relearned from the next packets
    announce(fresh, "a1", "b1")
    assert fresh.send(1, 3, frame("b1", "a1")).ports == [1]


def test_someone_elses_flows_are_never_touched() -> None:
    fabric = make()
    foreign = FlowMod(0, 500, {"in_port": 9}, cookie=0x1234)
    fabric.tables[1].apply(foreign, fabric.now)
    fabric.run(fabric.pipeline.switch_up(1, set(range(1, 10)), fabric.now))
    assert foreign in fabric.flows(1)


@pytest.mark.parametrize("table", [1, 3, 7])
def test_packet_ins_from_other_tables_are_ignored(table: int) -> None:
    fabric = make()
    assert fabric.pipeline.packet_in(1, 3, table, frame("b1", "a1"), fabric.now) == []


def test_learning_reinjects_the_first_packet_through_the_tables() -> None:
    fabric = Fabric(OWNED, middlebox=BOX)
    effects = fabric.pipeline.packet_in(1, 1, INGRESS, frame("a1", "a2"), fabric.now)
    outs = [e.message for e in effects if isinstance(e, ToSwitch)
            and isinstance(e.message, PacketOut)]
    assert len(outs) == 1 and outs[0].in_port == 1
