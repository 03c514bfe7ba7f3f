"""The Jobber OpenFlow client against real Open vSwitch (userspace datapath), real namespaces,
a middlebox namespace and real Jobber servers.

    a1, a2 (t1)  b1 (t2)  c1 (t3)  ──  jbr-XXXX (OVS, controller: jobber controller run)
                                        └─ ports 7/8: the middlebox (a non-learning Linux bridge)

The tests run in order on one lab (module fixture): intra-tenant, probation (INSPECT), trust
(DIRECT), revocation (DENY, timed), controller restart.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jobber.enforce.openflow.messages import Cookie, Kind
from jobber.server.cluster import Cluster, free_port

from .conftest import admin, clean, observe
from .netlab import Flow, Netlab, missing_prerequisites

pytestmark = pytest.mark.skipif(missing_prerequisites() is not None,
                                reason=str(missing_prerequisites()))
DPID = 0xA1
HOSTS = {"a1": ("t1", "10.97.1.1", "02:97:00:00:01:01", 1),
         "a2": ("t1", "10.97.1.2", "02:97:00:00:01:02", 2),
         "b1": ("t2", "10.97.2.1", "02:97:00:00:02:01", 3),
         "c1": ("t3", "10.97.3.1", "02:97:00:00:03:01", 4)}
INDEX = {"t1": 1, "t2": 2, "t3": 3}


class Lab:
    def __init__(self, net: Netlab, cluster: Cluster, config: Path) -> None:
        self.net, self.cluster, self.config = net, cluster, config
        self.ns = {name: f"jb-{net.tag}-{name}" for name in [*HOSTS, "mb"]}
        self.controller = net.start_controller(config)

    def restart_controller(self) -> None:
        assert self.net.stop(self.controller) == 0  # SIGTERM: a clean exit
        self.controller = self.net.start_controller(self.config)

    def pair_flows(self, a: str, b: str) -> list[Flow]:
        lo, hi = sorted((INDEX[a], INDEX[b]))
        return [f for f in self.net.flows(2) if (c := Cookie.decode(f.cookie)) is not None
                and c.kind is Kind.DECISION and (c.lo, c.hi) == (lo, hi)]

    def middlebox_packets(self) -> int:
        """Packets the middlebox forwarded (it sends nothing of its own: no IPv6, no address)."""
        return sum(int(self.net.counters(self.ns["mb"], dev)["tx"]["packets"])
                   for dev in ("in", "out"))

    def connection(self, requester: str, target: str) -> str:
        held = [c for c in admin(self.cluster.members[target], "/v1/admin/connections")  # type: ignore[index]
                if {c["requester"], c["target"]} == {requester, target}]
        assert held, f"{target} holds no connection with {requester}"
        return str(held[-1]["connection"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("jbopenflow")
    net = Netlab(folder)
    cluster = Cluster(folder / "cluster", ["t1", "t2", "t3"], processes=2, timeout=1.0)
    try:
        cluster.start()
        port = free_port()
        config = folder / "controller.yaml"
        config.write_text(yaml.safe_dump({
            "listen": f"127.0.0.1:{port}",
            "cluster": str(cluster.write_description()),
            "inventory": {"t1": ["10.97.1.0/24"], "t2": ["10.97.2.0/24"],
                          "t3": ["10.97.3.0/24"]},
            "middleboxes": [{"dpid": DPID, "in_port": 7, "out_port": 8}],
            "timeouts": {"negotiation": 2, "decision_idle": 30},
        }))
        net.start_switch(port, DPID)
        for name, (_, ip, mac, ofport) in HOSTS.items():
            net.add_host(name, ip, mac, ofport)
        net.add_middlebox(7, 8)
        built = Lab(net, cluster, config)
        assert net.wait(net.is_connected, 20), (folder / "controller.log").read_text()[-3000:]
        yield built
    finally:
        net.close()
        cluster.stop()


def test_intra_tenant_traffic_needs_no_negotiation(lab: Lab) -> None:
    assert lab.net.ping(lab.ns["a1"], "10.97.1.2")
    assert lab.pair_flows("t1", "t1") == [] and lab.net.flows(2) and \
        not [f for f in lab.net.flows(2) if f.priority == 100]


def test_probationary_traffic_crosses_the_middlebox(lab: Lab) -> None:
    before = lab.middlebox_packets()
    assert lab.net.ping(lab.ns["b1"], "10.97.1.1", count=4)
    flows = lab.pair_flows("t2", "t1")
    assert sorted(f.actions for f in flows) == ["output:7", "output:8"], flows
    assert lab.middlebox_packets() - before >= 6  # requests and replies crossed it
    # OVS updates flow counters from its datapath every ~0.5 s
    assert lab.net.wait(lambda: sum(f.packets for f in lab.pair_flows("t2", "t1")) >= 6, 3)


def test_trusted_traffic_takes_the_direct_flows(lab: Lab) -> None:
    conn = lab.connection("t2", "t1")
    clean(lab.cluster.members["t1"], conn, 5, tag="of-")  # type: ignore[index]
    clean(lab.cluster.members["t2"], conn, 3, tag="of-")  # type: ignore[index]
    assert lab.net.wait(lambda: {f.actions for f in lab.pair_flows("t2", "t1")}
                        == {"goto_table:3"}, 10), lab.pair_flows("t2", "t1")
    server = lab.net.spawn([sys.executable, "-m", "http.server", "8080", "--bind",
                            "10.97.1.1"], lab.net.folder / "http.log", ns=lab.ns["a1"])
    before = lab.middlebox_packets()
    assert lab.net.ping(lab.ns["b1"], "10.97.1.1", count=4)
    fetch = ("import urllib.request, time\n"
             "for i in range(50):\n"
             "    try:\n"
             "        print(urllib.request.urlopen('http://10.97.1.1:8080/', timeout=2).status)\n"
             "        break\n"
             "    except OSError:\n"
             "        time.sleep(0.1)\n")
    got = lab.net.run(sys.executable, "-c", fetch, ns=lab.ns["b1"], timeout=20)
    lab.net.stop(server)
    assert got.stdout.strip() == "200", got
    assert lab.net.wait(lambda: all(f.packets >= 5 for f in lab.pair_flows("t2", "t1")), 3), \
        lab.pair_flows("t2", "t1")  # ping + TCP both ways, direct
    assert lab.middlebox_packets() - before <= 1  # nothing crossed the security stack


def test_revocation_takes_effect_within_100_ms(lab: Lab) -> None:
    conn = lab.connection("t2", "t1")
    assert observe(lab.cluster.members["t1"], conn, "of-attack", "HIGH")["accepted"]  # type: ignore[index]
    returned = time.monotonic()
    assert lab.net.wait(lambda: {f.actions for f in lab.pair_flows("t2", "t1")} == {"drop"}, 5,
                        step=0.005)
    took = time.monotonic() - returned
    print(f"revocation: flows rewritten {took * 1000:.1f} ms after the feedback POST returned")
    assert took < 0.1, f"{took * 1000:.0f} ms"
    assert not lab.net.ping(lab.ns["b1"], "10.97.1.1", count=2)
    assert lab.net.wait(lambda: sum(f.packets for f in lab.pair_flows("t2", "t1")) >= 1, 3)


def test_after_a_controller_restart_traffic_resumes_without_stale_flows(lab: Lab) -> None:
    assert lab.net.ping(lab.ns["c1"], "10.97.1.1")
    before = {f.cookie for f in lab.net.flows() if (c := Cookie.decode(f.cookie)) is not None
              and c.kind in (Kind.DECISION, Kind.HOST)}
    assert before
    lab.restart_controller()
    assert lab.net.wait(lambda: not lab.net.is_connected(), 5, step=0.02) or True
    assert lab.net.wait(lab.net.is_connected, 20)
    assert lab.net.wait(lambda: lab.net.ping(lab.ns["c1"], "10.97.1.1", count=1), 15)
    assert lab.net.ping(lab.ns["a1"], "10.97.1.2", count=1)
    after = {f.cookie for f in lab.net.flows()}
    assert not before & after, "a previous controller's flows survived the restart"
    assert sorted(f.actions for f in lab.pair_flows("t3", "t1")) == ["output:7", "output:8"]

