"""One emulated data center, built and torn down: the network, the Jobber servers, the
controller, the security stack, the services and the sensors — and how to look at them.

``DataCenter.build`` realises a ``Topology`` in this order: the provider's and tenants' Jobber
servers (``Cluster``, loopback; each tenant's config gets a ``sensors:`` section with the
inventory and its sensor's token), the private Open vSwitch and its bridge, the hosts' and the
baseline pair's namespaces, the middlebox (nftables + ulogd), the honest services, the sensor
agents, and the controller (``jobber controller run``) with the middlebox's ports; then it waits
for the switch to connect. ``close`` undoes all of it, also after a failure half-way.

Observation: ``pair_decision`` reads what the switch enforces for a tenant pair right now (the
decision table's flows, by cookie); ``status`` what the target's server holds; ``decisions``
every server's decision log (``/v1/admin/decisions``).

Invariants: the servers and the controller listen on 127.0.0.1 only; everything else lives in
the namespaces; ``close`` never raises and returns what it could not remove.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from jobber.emu import middlebox, services
from jobber.emu.network import Network
from jobber.emu.ovs import EmulationError
from jobber.emu.topology import BASELINE_PORTS, MIDDLEBOX_PORTS, Service, Topology
from jobber.emu.watch import DecisionWatch
from jobber.enforce.openflow.messages import Cookie, Kind
from jobber.server.cluster import Cluster, free_port

DPID = 0xE1
_FLOW = re.compile(r"cookie=(0x[0-9a-f]+).*?table=(\d+), n_packets=(\d+).*?priority=(\d+)"
                   r"(?:,([^ ]*))? actions=(\S+)")


def decision_of(actions: str) -> str:
    if actions == "drop":
        return "DENY"
    if actions.startswith("goto_table"):
        return "DIRECT"
    return "INSPECT" if any(f"output:{p}" in actions for p in MIDDLEBOX_PORTS) else actions


@dataclass
class DataCenter:
    topo: Topology
    folder: Path
    net: Network = field(init=False)
    cluster: Cluster | None = None
    controller: subprocess.Popen[bytes] | None = None
    relay: services.SshdLogRelay = field(default_factory=services.SshdLogRelay)
    index: dict[str, int] = field(default_factory=dict)
    made_privsep: bool = False
    watch: DecisionWatch | None = None

    def __post_init__(self) -> None:
        self.net = Network(self.folder)
        self.index = {t.name: i for i, t in enumerate(self.topo.tenants, start=1)}

    def build(self, say: Any = print) -> None:
        topo, folder = self.topo, self.folder
        inventory = folder / "inventory.yaml"
        inventory.write_text(yaml.safe_dump({"tenants": topo.inventory()}, sort_keys=False))
        tokens = {t.name: secrets.token_urlsafe(18) for t in topo.tenants}
        say(f"starting {len(topo.tenants)} Jobber servers and the provider")
        self.cluster = Cluster(
            folder / "cluster", [t.name for t in topo.tenants],
            epoch_seconds=topo.timing.epoch_seconds, timeout=1.0, processes=2,
            extra={t: {"sensors": {"inventory": str(inventory), "tokens": {"stack": tok}}}
                   for t, tok in tokens.items()})
        self.cluster.start()
        self.watch = DecisionWatch({t.name: (m.url, m.client_token or "") for t in topo.tenants
                                    if (m := self.cluster.members[t.name])})  # type: ignore[index]
        self.watch.start()
        port = free_port()
        say(f"building the network (tag {self.net.tag}): Open vSwitch, "
            f"{len(topo.hosts) + 2} namespaces, the security stack")
        self.net.start_switch(DPID, port)
        ports = topo.ports()
        for host in topo.hosts:
            self.net.add_host(host, ports[host.name])
        self.net.add_baseline(*topo.baseline, BASELINE_PORTS)
        self.net.add_middlebox()
        stack = folder / "stack"
        middlebox.start(self.net, topo, stack)
        say("starting services (http.server, sshd, iperf3) and sensors")
        self.made_privsep = not services.PRIVSEP.exists()
        auth = services.start_services(self.net, topo, folder, self.relay)
        services.start_iperf3(self.net, topo.baseline[1], folder)
        for tenant in topo.tenants:
            member = self.cluster.members[tenant.name]  # type: ignore[index]
            config = services.write_agent(folder, tenant.name, member.url, tokens[tenant.name],
                                          middlebox.log_file(stack, tenant.name),
                                          auth[tenant.name])
            services.start_agent(self.net, config, folder / f"agent-{tenant.name}.log")
        config = folder / "controller.yaml"
        config.write_text(yaml.safe_dump({
            "listen": f"127.0.0.1:{port}",
            "cluster": str(self.cluster.write_description()),
            "inventory": topo.inventory(),
            "middleboxes": [{"dpid": DPID, "in_port": MIDDLEBOX_PORTS[0],
                             "out_port": MIDDLEBOX_PORTS[1]}],
            "timeouts": {"negotiation": 2, "decision_idle": topo.timing.decision_idle,
                         "deny": 5},
        }, sort_keys=False))
        self.controller = self.net.spawn(
            [sys.executable, "-m", "jobber.cli.main", "controller", "run", "--config",
             str(config)], folder / "controller.log")
        services.wait_listening(self.net, topo)
        end = time.monotonic() + 30
        while not self.net.is_connected():
            if self.controller.poll() is not None or time.monotonic() > end:
                raise EmulationError("the controller did not connect to the switch; see "
                                     f"{folder / 'controller.log'}")
            time.sleep(0.1)

    def close(self) -> list[str]:
        left: list[str] = []
        try:
            self.relay.stop()
        except Exception as exc:  # a relay failure must not keep the network alive
            left.append(f"sshd log relay: {exc}")
        left += self.net.close()
        if self.watch is not None:
            self.watch.stop()
        if self.cluster is not None:
            try:
                self.cluster.stop()
            except Exception as exc:
                left.append(f"Jobber servers: {exc}")
            left += [f"process {m.process.pid} ({t})" for t, m in self.cluster.members.items()
                     if m.process is not None and m.process.poll() is None]
        if self.watch is not None:
            self.watch.join()
        if self.made_privsep and services.PRIVSEP.is_dir() and \
                not any(services.PRIVSEP.iterdir()):
            services.PRIVSEP.rmdir()
        return left

    # --- looking ------------------------------------------------------------------------------

    def flows(self) -> list[tuple[int, int, int, int, str, str]]:
        out = self.net.run("ovs-ofctl", "-O", "OpenFlow13", "dump-flows", self.net.bridge,
                           "table=2", check=False).stdout
        found = []
        for line in out.splitlines():
            m = _FLOW.search(line)
            if m:
                found.append((int(m[1], 16), int(m[2]), int(m[3]), int(m[4]), m[5] or "", m[6]))
        return found

    def pair_decision(self, a: str, b: str) -> str | None:
        """What the switch enforces between tenants ``a`` and ``b`` now (None: nothing)."""
        lo, hi = sorted((self.index[a], self.index[b]))
        seen = {decision_of(actions) for cookie, _t, _n, prio, _m, actions in self.flows()
                if prio == 100 and (c := Cookie.decode(cookie)) is not None
                and c.kind is Kind.DECISION and (c.lo, c.hi) == (lo, hi)}
        return seen.pop() if len(seen) == 1 else ("/".join(sorted(seen)) or None)

    def _admin(self, tenant: str, path: str) -> Any:
        assert self.cluster is not None
        member = self.cluster.members[tenant]  # type: ignore[index]
        response = httpx.get(f"{member.url}{path}", timeout=5,
                             headers={"authorization": f"Bearer {member.admin_token}"})
        response.raise_for_status()
        return response.json()

    def status(self, requester: str, target: str) -> dict[str, Any] | None:
        """The newest connection ``target``'s server holds with ``requester`` (either way)."""
        held = [c for c in self._admin(target, "/v1/admin/connections")
                if {c["requester"], c["target"]} == {requester, target}]
        return max(held, key=lambda c: c["created"]) if held else None

    def decisions(self) -> list[dict[str, Any]]:
        assert self.cluster is not None
        out = []
        for tenant in self.cluster.members:
            for d in self._admin(str(tenant), "/v1/admin/decisions"):
                out.append({**d, "server": str(tenant)})
        return sorted(out, key=lambda d: float(d["at"]))

    def services_of(self, service: Service) -> list[str]:
        return [h.name for h in self.topo.hosts if service in h.services]
