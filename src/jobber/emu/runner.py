"""``jobber emulate``: build the data center, run the scenario, measure, tear everything down.

Phases, in one run on one bridge:

1. **Rounds** — every traffic entry sends one honest interaction per round (an HTTP request or
   a short iperf3); the runner then waits until the switch's decision flows for those pairs idle
   out. The controller sees the flows removed and reports the interaction's end to both
   tenants' servers (``/v1/local/interactions``); each server turns what its sensors saw into
   feedback (POS when nothing bad). That is the real path; the runner reports nothing itself.
2. **Measurements** — ping and iperf3 on the no-Jobber pair (plain port-to-port flows), on a
   DIRECT pair and on an INSPECT pair, once the Jobber processes are quiet, interleaved with the
   order reversed every other repeat (DIRECT/no-Jobber is the median of each repeat's ratio);
   the first packet's round trip with a granted decision (the controller's cached grant) and
   with a fresh introduction.
3. **Attack** — while an honest DIRECT pair runs iperf3, the attacker brute-forces SSH (the
   target's sshd log → its sensor → ``ssh-brute-force`` MED at the interaction's end → demoted)
   and then scans ports through the security stack (nftables drops and logs ``jb-scan`` /
   ``jb-drop`` → ``port-scan`` HIGH → revoked → DENY). The HIGH feedback reaches the
   introducer, which recalls the attacker's other connections (demoted to INSPECT).
4. **Outcomes** — each pair's final status on the target's server, the decision timeline from
   every server, and what is left on the machine after ``close`` (nothing, or it says what).

SIGINT and SIGTERM interrupt the run at once and still run ``close`` (try/finally).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from jobber.emu import probes
from jobber.emu.datacenter import DataCenter
from jobber.emu.ovs import EmulationError, missing_tools
from jobber.emu.report import Results
from jobber.emu.topology import AttackKind, Role, Service, Talk, Topology

Say = Callable[[str], None]
DEPS = "make emulate-deps"


class Interrupted(EmulationError):
    """SIGTERM (or SIGINT) arrived; the emulation stopped and cleaned up."""


def unavailable() -> str | None:
    """Why this machine cannot emulate, in one line naming the fix; ``None`` if it can."""
    if os.geteuid() != 0:
        return ("jobber emulate needs root (network namespaces, veths, Open vSwitch); run it "
                f"as root, after `{DEPS}` if Open vSwitch and friends are missing")
    missing = missing_tools()
    if missing:
        return f"missing {', '.join(missing)}: `{DEPS}` installs them (as root)"
    return None


@contextmanager
def _signals() -> Iterator[None]:
    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(f"interrupted by {signal.Signals(signum).name}; cleaned up")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def run(topo: Topology, say: Say = print, keep: Path | None = None) -> Results:
    """The whole emulation; raises ``EmulationError`` (with everything removed) on failure."""
    reason = unavailable()
    if reason is not None:
        raise EmulationError(reason)
    folder = Path(tempfile.mkdtemp(prefix="jbemu-run-")) if keep is None else keep
    folder.mkdir(parents=True, exist_ok=True)
    dc = DataCenter(topo, folder)
    results = Results(topo.name, started=time.time())
    with _signals():
        try:
            dc.build(say)
            Phases(dc, results, say).run()
        finally:
            # a second signal must not cut the cleanup short
            previous = {s: signal.signal(s, signal.SIG_IGN) for s in
                        (signal.SIGTERM, signal.SIGINT)} \
                if threading.current_thread() is threading.main_thread() else {}
            try:
                results.timeline += _server_decisions(dc)
                say("removing everything the emulation created")
                results.leftovers = dc.close()
                if keep is None and not results.leftovers:
                    _remove(folder)
            finally:
                for s, handler in previous.items():
                    signal.signal(s, handler)
    results.ended = time.time()
    return results


def _server_decisions(dc: DataCenter) -> list[dict[str, Any]]:
    """The targets' decisions as their streams delivered them (the requester's server and
    introducers echo them; the target decides)."""
    if dc.watch is None:
        return []
    return [{"at": float(d["seen"]), "source": f"server {d['server']}",
             "text": f"{d['requester']}→{d['target']} {d['status']} ({d['decision']}): "
                     f"{d['reason']}", "decision": d["decision"], "status": d["status"],
             "requester": d["requester"], "target": d["target"]}
            for d in dc.watch.decisions() if d["server"] == d["target"]]


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _median(values: list[float]) -> float | None:
    return sorted(values)[len(values) // 2] if values else None


def _mbps(value: object) -> str:
    return f"{value:,.0f}" if isinstance(value, float) else "-"


class Phases:
    def __init__(self, dc: DataCenter, results: Results, say: Say) -> None:
        self.dc, self.topo, self.results, self.say = dc, dc.topo, results, say

    def mark(self, text: str, **extra: Any) -> float:
        now = time.time()
        self.results.timeline.append({"at": now, "source": "runner", "text": text, **extra})
        self.say(text)
        return now

    def ip(self, host: str) -> str:
        return self.topo.host(host).ip

    def tenants(self, src: str, dst: str) -> tuple[str, str]:
        return self.topo.host(src).tenant, self.topo.host(dst).tenant

    def run(self) -> None:
        for r in range(self.topo.rounds):
            self.round(r)
        self.measure()
        self.attack()
        self.outcomes()

    # --- 1. rounds ----------------------------------------------------------------------------

    def talk(self, talk: Talk) -> bool:
        if talk.service is Service.IPERF3:
            return probes.iperf3(self.dc.net, talk.src, self.ip(talk.dst), 0.5, "100M") \
                is not None
        return probes.http_get(self.dc.net, talk.src, self.ip(talk.dst))

    def round(self, r: int) -> None:
        talks = [t for t in self.topo.talks if t.rounds > r]
        with ThreadPoolExecutor(len(talks)) as pool:
            ok = list(pool.map(self.talk, talks))
        seen = {f"{t.src}→{t.dst}": self.dc.pair_decision(*self.tenants(t.src, t.dst)) or "-"
                for t in talks}
        ended = self.wait_idle(talks)
        self.results.rounds.append({"round": r + 1, "ok": sum(ok), "talks": len(talks),
                                    "decisions": seen, "ended": ended})
        self.mark(f"round {r + 1}: {sum(ok)}/{len(talks)} interactions answered; "
                  + ", ".join(f"{k} {v}" for k, v in seen.items()), kind="round")

    def wait_idle(self, talks: list[Talk]) -> bool:
        """Until the pairs' decision flows are gone (their interactions ended and were
        reported), at most ``round_timeout`` seconds."""
        pairs = {self.tenants(t.src, t.dst) for t in talks}
        end = time.monotonic() + self.topo.timing.round_timeout
        while time.monotonic() < end:
            live = [p for p in pairs if self.dc.pair_decision(*p) not in (None, "DENY")]
            if not live:
                time.sleep(0.3)  # the controller's report reaches the servers
                return True
            time.sleep(0.2)
        return False

    # --- 2. measurements ----------------------------------------------------------------------

    def measure(self) -> None:
        m, fig, net = self.topo.measure, self.results.figures, self.dc.net
        base = [h.name for h in self.topo.baseline]
        paths = {"baseline": (base[0], base[1]), "direct": m.direct, "inspect": m.inspect}
        enforced = {}
        granted = probes.first_reply(net, m.direct[0], self.ip(m.direct[1]))
        fresh_pair = self.fresh_pair()
        fresh = probes.first_reply(net, fresh_pair[0], self.ip(fresh_pair[1])) \
            if fresh_pair else None
        fig["setup_granted_ms"], fig["setup_fresh_ms"] = granted, fresh
        for label, (src, dst) in paths.items():
            rtt = probes.ping(net, src, self.ip(dst), count=m.ping_count, interval=0.05)
            fig[f"rtt_{label}_ms"] = rtt.median
            if label != "baseline":
                enforced[label] = self.dc.pair_decision(*self.tenants(src, dst))
        runs: dict[str, list[float]] = {label: [] for label in paths}
        # The Jobber servers digest the rounds for some seconds after the last one (on two cores
        # that took ~70 % of a core away from whichever path ran then): start when they are quiet
        marker = str(self.dc.folder)
        waited, load = probes.settle(marker)
        fig["settle_s"], fig["background_before_cores"] = round(waited, 1), round(load, 2)
        # a slow ping keeps each pair's flows alive, so the measurements are one interaction
        # per pair (a newcomer must not earn trust from the measuring itself)
        keep = m.repeats * len(paths) * (m.iperf_seconds + 2) + 5
        alive = [net.spawn(["ping", "-n", "-q", "-i", "0.5", "-c", str(int(keep / 0.5)),
                            self.ip(dst)], self.dc.folder / f"keepalive-{src}.log",
                           ns=net.ns(src)) for src, dst in (m.direct, m.inspect)]
        ratios, busy, order = [], [], list(paths.items())
        for r in range(m.repeats):  # interleaved, the order reversed every other repeat, so
            # DIRECT always runs next to the baseline and drift on a shared machine hits both
            got: dict[str, float] = {}
            for label, (src, dst) in order if r % 2 == 0 else order[::-1]:
                used, t0 = probes.cpu_seconds(marker), time.monotonic()
                value = probes.iperf3(net, src, self.ip(dst), m.iperf_seconds)
                busy.append((probes.cpu_seconds(marker) - used) / (time.monotonic() - t0))
                if value is not None:
                    runs[label].append(value)
                    got[label] = value
            if "baseline" in got and "direct" in got:
                ratios.append(got["direct"] / got["baseline"])
        for process in alive:
            net.stop(process)
        for label, values in runs.items():
            fig[f"throughput_{label}_mbps"] = _median(values)
        fig["iperf_runs"] = m.repeats
        fig["enforced_direct"], fig["enforced_inspect"] = enforced["direct"], enforced["inspect"]
        fig["direct_vs_baseline_runs"] = " ".join(f"{x:.2f}" for x in ratios)
        fig["background_during_runs_cores"] = round(max(busy), 2) if busy else None
        b, d, i = (fig.get(f"throughput_{k}_mbps") for k in ("baseline", "direct", "inspect"))
        fig["direct_vs_baseline"] = _median(ratios)  # paired: each repeat's two adjacent runs
        fig["inspect_vs_direct"] = i / d if isinstance(i, float) and isinstance(d, float) \
            and d else None
        self.mark(f"measured: first packet {granted} ms granted, {fresh} ms fresh "
                  f"({'→'.join(fresh_pair or ())}); median of {m.repeats} iperf3 runs: "
                  f"no-Jobber {_mbps(b)}, DIRECT {_mbps(d)}, INSPECT {_mbps(i)} Mbit/s; "
                  f"DIRECT/no-Jobber per repeat {fig['direct_vs_baseline_runs']}",
                  kind="measure")

    def fresh_pair(self) -> tuple[str, str] | None:
        """A newcomer's host and a host of a non-attacker tenant it has never talked to."""
        talked = {frozenset(self.tenants(t.src, t.dst)) for t in self.topo.talks}
        for src in self.topo.hosts:
            if self.topo.role_of(src.name) is not Role.NEWCOMER:
                continue
            for dst in self.topo.hosts:
                pair = frozenset((src.tenant, dst.tenant))
                if len(pair) == 2 and pair not in talked and \
                        self.topo.role_of(dst.name) is not Role.ATTACKER:
                    return src.name, dst.name
        return None

    # --- 3. the attack ------------------------------------------------------------------------

    def attack(self) -> None:
        if not self.topo.attacks:
            return
        fig, net, m = self.results.figures, self.dc.net, self.topo.measure
        cap = "1G"
        background: dict[str, float | None] = {}
        honest = threading.Thread(target=lambda: background.update(
            mbps=probes.iperf3(net, m.direct[0], self.ip(m.direct[1]), 15.0, cap)))
        honest.start()
        key = probes.ssh_key(net, self.dc.folder)
        first_bad: float | None = None
        for attack in self.topo.attacks:
            pair = self.tenants(attack.src, attack.dst)
            before = self.dc.pair_decision(*pair)
            if attack.kind is AttackKind.SSH_BRUTE_FORCE:
                t0 = self.mark(f"attack: {attack.src} tries {attack.count} SSH logins on "
                               f"{attack.dst} (switch: {before or 'no live flows'})", kind="attack",
                               label="ssh brute force")
                got = probes.ssh_brute_force(net, attack.src, self.ip(attack.dst),
                                             attack.count, key)
                fig["ssh_attempts_refused"] = got.refused_auth
                want: tuple[str, ...] = ("DEMOTED", "REVOKED")
            else:
                probes.http_get(net, attack.src, self.ip(attack.dst))  # flows in place first
                before = self.dc.pair_decision(*pair)
                t0 = self.mark(f"attack: {attack.src} scans {attack.count} ports of "
                               f"{attack.dst} (switch: {before or 'no live flows'})", kind="attack",
                               label="port scan")
                scan = probes.port_scan(net, attack.src, self.ip(attack.dst), attack.count)
                fig["scan_open"], fig["scan_refused"], fig["scan_silent"] = \
                    scan.open, scan.refused, scan.silent
                want = ("REVOKED",)
            first_bad = first_bad or t0
            status, at = self.wait_status(pair, want)
            key_name = attack.kind.value.replace("-", "_")
            fig[f"{key_name}_to_{(status or 'nothing').lower()}_s"] = \
                at - t0 if at is not None else None
            self.mark(f"{attack.kind}: {pair[1]}'s server holds {pair[0]} {status}", kind="verdict")
        self.recalls()
        att = self.topo.attacks[-1]
        deny_at = self.wait_deny(att.src, att.dst)
        fig["first_bad_to_drop_s"] = deny_at - first_bad if deny_at and first_bad else None
        fig["attacker_reaches_target_after"] = probes.tcp_connects(
            net, att.src, self.ip(att.dst), 80) or probes.reaches(net, att.src, self.ip(att.dst))
        honest.join(30)

        fig["honest_during_attack_mbps"], fig["honest_cap_mbps"] = background.get("mbps"), 1000.0

    def spared(self) -> list[tuple[str, str]]:
        """The attackers' tenant pairs that no attack targets: their introducer recalls them."""
        attacked = {self.tenants(a.src, a.dst) for a in self.topo.attacks}
        return sorted({p for t in self.topo.talks if (p := self.tenants(t.src, t.dst))
                       not in attacked and self.topo.role_of(t.src) is Role.ATTACKER})

    def recalls(self) -> None:
        """The attacker's other connections, demoted by their introducer's recall (HIGH feedback
        always recalls; a lone MED against a firm good view is taken for slander)."""
        started = next((float(e["at"]) for e in self.results.timeline
                        if e.get("kind") == "attack"), time.time())
        for pair in self.spared():
            status, at = self.wait_status(pair, ("DEMOTED", "REVOKED"), seconds=15.0)
            held = self.dc.status(*pair) or {}
            self.results.figures[f"recall_{pair[0]}_{pair[1]}_s"] = \
                at - started if at is not None else None
            self.mark(f"recall: {pair[1]}'s server holds {pair[0]} {status} "
                      f"({held.get('reason') or 'no reason'})", kind="recall",
                      label=f"{pair[0]}→{pair[1]} recalled")

    def wait_status(self, pair: tuple[str, str], want: tuple[str, ...],
                    seconds: float = 25.0) -> tuple[str | None, float | None]:
        end, held = time.monotonic() + seconds, None
        while time.monotonic() < end:
            held = self.dc.status(*pair)
            if held is not None and held["status"] in want:
                return held["status"], time.time()
            time.sleep(0.1)
        return (held["status"] if held else None), None

    def wait_deny(self, src: str, dst: str, seconds: float = 10.0) -> float | None:
        """When the switch drops the attacker's packets: a probe makes the controller install
        the (cached) DENY decision if the pair's flows had idled out."""
        end, pair = time.monotonic() + seconds, self.tenants(src, dst)
        while time.monotonic() < end:
            if self.dc.pair_decision(*pair) == "DENY":
                return self.mark(f"switch drops {pair[0]}→{pair[1]} (DENY flows)", kind="deny")
            probes.ping(self.dc.net, src, self.ip(dst), count=1, wait=0.3)  # not logged
        return None

    # --- 4. outcomes --------------------------------------------------------------------------

    def outcomes(self) -> None:
        expected = {Role.HONEST: "DIRECT", Role.NEWCOMER: "INSPECT", Role.ATTACKER: "DENY"}
        spared = self.spared()
        for talk in self.topo.talks:
            src, dst = self.tenants(talk.src, talk.dst)
            held = self.dc.status(src, dst)
            role = self.topo.tenant(src).role
            self.results.outcomes[f"{src}→{dst}"] = {  # recalled: back to INSPECT, not revoked
                "role": role.value, "expected": "INSPECT" if (src, dst) in spared
                else expected[role],
                "decision": held["decision"] if held else None,
                "status": held["status"] if held else None}
