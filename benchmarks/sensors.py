"""Sensor throughput, measured side by side in one run (never a bare absolute time).

Times are CPU seconds (``time.process_time`` in this process; ``getrusage`` of the child for
fail2ban-regex), best of three, interleaved: on a shared machine, wall time measures the
neighbours as much as the tools.

1. sshd: Jobber's parse-and-rules (default rules) against ``fail2ban-regex`` with fail2ban's stock
   sshd filter, on the same generated 200,000-line auth log (20,000 with ``--quick``), with both
   tools' counts of failures found. fail2ban's time is taken two ways: whole, and minus its
   start-up (fail2ban-regex on a one-line file, measured in the same run); the target (≥ 5×) is
   judged on the second, which is the less flattering to Jobber.
2. Suricata EVE: Jobber's parser (and parser + rules) against a bare ``json.loads`` loop over the
   same lines (target: ≥ 50% of the bare parse).

The logs are generated here from a seeded RNG, with documentation addresses only, drawn from a
pool of 5,000 sources (one in seven IPv6). The last line
printed with ``--json`` is one JSON object of every figure. fail2ban-regex missing is an error
(exit code 2): install it with ``apt-get install fail2ban``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from jobber.sensors.event import Kind
from jobber.sensors.parsers import make_parser
from jobber.sensors.rules import RuleEngine
from jobber.sensors.ruleset import default_rules
from jobber.sensors.sensor import Sensor
from jobber.types import TenantId

START = 1795737600  # 2026-11-26T18:40:00Z
OBSERVED = START + 86400.0
USERS = ("admin", "test", "oracle", "ubuntu", "guest", "postgres", "git", "user", "pi", "ftp")
REPEATS = 3
POOL = 5000  # distinct source addresses in the generated logs
FILTERS = (Path("/etc/fail2ban/filter.d/sshd.conf"),)


def attacker(rng: random.Random) -> str:
    """A source address from a pool of ``POOL`` (real logs see the same peers again and again)."""
    index = rng.randrange(POOL)
    if index % 7 == 0:
        return f"2001:db8:{index // 256 + 1:x}::{index % 256 + 1:x}"
    net = ("203.0.113", "198.51.100")[index % 2]
    return f"{net}.{index % 254 + 1}"


def sshd_sessions(rng: random.Random) -> list[str]:
    """One sshd session's messages: a brute force, a root guess, a login, or a scanner."""
    addr, port = attacker(rng), rng.randrange(1024, 65535)
    roll = rng.random()
    if roll < 0.35:
        user = rng.choice(USERS)
        tries = rng.randrange(1, 4)
        return ([f"Invalid user {user} from {addr} port {port}"]
                + [f"Failed password for invalid user {user} from {addr} port {port} ssh2"] * tries
                + [f"Connection closed by invalid user {user} {addr} port {port} [preauth]"])
    if roll < 0.55:
        return ([f"Failed password for root from {addr} port {port} ssh2"] * 3
                + [f"error: maximum authentication attempts exceeded for root from {addr} "
                   f"port {port} ssh2 [preauth]",
                   f"Disconnecting authenticating user root {addr} port {port}: "
                   "Too many authentication failures [preauth]"])
    if roll < 0.80:
        addr = f"192.0.2.{rng.randrange(1, 255)}"
        return [f"Accepted publickey for deploy from {addr} port {port} ssh2: ED25519 "
                "SHA256:9f2Qb0r6mFXqk1Jxv7nO1r3mY5c3GmM8aY1Ql2s3k4E",
                "pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
                f"Received disconnect from {addr} port {port}:11: disconnected by user",
                f"Disconnected from user deploy {addr} port {port}",
                "pam_unix(sshd:session): session closed for user deploy"]
    if roll < 0.90:
        return [f"Connection closed by {addr} port {port} [preauth]"]
    return [f"Unable to negotiate with {addr} port {port}: no matching key exchange method "
            "found. Their offer: diffie-hellman-group1-sha1 [preauth]"]


def generate_sshd(count: int, rng: random.Random) -> list[str]:
    lines: list[str] = []
    pid = 4000
    while len(lines) < count:
        pid += 1
        for message in sshd_sessions(rng):
            moment = time.gmtime(START + len(lines) // 4)
            stamp = time.strftime("%b %d %H:%M:%S", moment)
            lines.append(f"{stamp} bastion sshd[{pid}]: {message}")
    return lines[:count]


def generate_eve(count: int, rng: random.Random) -> list[str]:
    lines = []
    for index in range(count):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(START + index // 10))
        base = {"timestamp": f"{stamp}.{index % 1000000:06d}+0000", "flow_id": 1000 + index,
                "in_iface": "eth0", "src_ip": attacker(rng), "src_port": rng.randrange(1024, 65535),
                "dest_ip": f"192.0.2.{rng.randrange(1, 255)}", "dest_port": 443, "proto": "TCP"}
        roll = rng.random()
        if roll < 0.3:
            base |= {"event_type": "alert", "alert": {
                "action": "allowed", "gid": 1, "signature_id": 2001219 + index % 50, "rev": 20,
                "signature": "ET SCAN Potential SSH Scan", "category": "Attempted Information Leak",
                "severity": 1 + index % 3}}
        elif roll < 0.8:
            base |= {"event_type": "flow", "app_proto": "tls", "flow": {
                "pkts_toserver": 12, "pkts_toclient": 10, "bytes_toserver": 2400,
                "bytes_toclient": 9100, "start": f"{stamp}.000000+0000",
                "end": f"{stamp}.500000+0000", "age": 0, "state": "closed", "reason": "timeout",
                "alerted": False}}
        elif roll < 0.9:
            base |= {"event_type": "anomaly", "anomaly": {
                "type": "stream", "event": "stream.pkt_invalid_ack", "layer": "proto_detect"}}
        else:
            base |= {"event_type": "dns", "dns": {"type": "query", "id": 1, "rrname":
                     "example.org", "rrtype": "A"}}
        lines.append(json.dumps(base))
    return lines


def time_jobber(fmt: str, lines: list[str], rules: bool) -> tuple[float, Sensor, int]:
    """Seconds to feed every line; the sensor; and the definite auth failures found (sshd)."""
    engine = RuleEngine(default_rules()) if rules else None
    sensor = Sensor(make_parser(fmt), engine, TenantId("bench"), "bench")
    feed = sensor.feed
    failures = 0
    if fmt != "sshd":  # as bare a loop as the json.loads one it is compared with
        started = time.process_time()
        for line in lines:
            feed(line, OBSERVED)
        return time.process_time() - started, sensor, 0
    started = time.process_time()
    for line in lines:
        event, _ = feed(line, OBSERVED)
        if event is not None and event.kind is Kind.AUTH_FAILURE and event.confidence >= 1.0:
            failures += 1
    return time.process_time() - started, sensor, failures


def time_fail2ban(path: Path, sshd_filter: Path) -> tuple[float, int]:
    """CPU seconds fail2ban-regex spends on ``path`` (its process only), and its failures."""
    argv = ["fail2ban-regex", "-o", "ip", str(path), str(sshd_filter)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=1800)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, sum(1 for line in done.stdout.splitlines() if line.strip())


def time_bare_json(lines: list[str]) -> float:
    started = time.process_time()
    for line in lines:
        json.loads(line)
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 lines instead of 200,000")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args()
    if shutil.which("fail2ban-regex") is None:
        print("benchmarks/sensors.py: fail2ban-regex is not installed; it is the baseline. "
              "Install it: apt-get install -y fail2ban", file=sys.stderr)
        return 2
    sshd_filter = next((path for path in FILTERS if path.exists()), None)
    if sshd_filter is None:
        print("benchmarks/sensors.py: fail2ban's sshd filter is missing "
              f"(looked in {', '.join(map(str, FILTERS))})", file=sys.stderr)
        return 2
    count = 20_000 if args.quick else 200_000
    rng = random.Random(20261127)
    sshd_lines = generate_sshd(count, rng)
    eve_lines = generate_eve(count // 2, rng)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "auth.log"
        log.write_text("\n".join(sshd_lines) + "\n", encoding="utf-8")
        one = Path(tmp) / "one.log"
        one.write_text(sshd_lines[0] + "\n", encoding="utf-8")
        # Best of several runs, interleaved, so that a busy machine slows both sides alike.
        f2b_start = min(time_fail2ban(one, sshd_filter)[0] for _ in range(REPEATS))
        f2b_runs, jobber_runs = [], []
        for _ in range(REPEATS):
            f2b_runs.append(time_fail2ban(log, sshd_filter))
            jobber_runs.append(time_jobber("sshd", sshd_lines, rules=True))
    f2b_cpu, f2b_failures = min(f2b_runs)
    jobber_s = min(run[0] for run in jobber_runs)
    _, sensor, jobber_failures = jobber_runs[0]
    f2b_work = max(f2b_cpu - f2b_start, 1e-9)
    bare_runs, eve_runs, eve_rules_runs = [], [], []
    for _ in range(REPEATS):
        bare_runs.append(time_bare_json(eve_lines))
        eve_runs.append(time_jobber("suricata", eve_lines, rules=False))
        eve_rules_runs.append(time_jobber("suricata", eve_lines, rules=True))
    bare_s = min(bare_runs)
    eve_s = min(run[0] for run in eve_runs)
    eve_sensor = eve_runs[0][1]
    eve_rules_s = min(run[0] for run in eve_rules_runs)
    figures = {
        "sshd_lines": count,
        "jobber_lines_per_cpu_s": round(count / jobber_s),
        "fail2ban_lines_per_cpu_s": round(count / f2b_cpu),
        "fail2ban_lines_per_cpu_s_without_startup": round(count / f2b_work),
        "fail2ban_startup_cpu_s": round(f2b_start, 3),
        "speedup_vs_fail2ban": round(f2b_cpu / jobber_s, 2),
        "speedup_vs_fail2ban_without_startup": round(f2b_work / jobber_s, 2),
        "jobber_failures": jobber_failures,
        "fail2ban_failures": f2b_failures,
        "jobber_verdicts": sensor.tally.verdicts,
        "jobber_unparsed": sensor.tally.unparsed,
        "eve_lines": len(eve_lines),
        "eve_events": eve_sensor.tally.events,
        "bare_json_lines_per_cpu_s": round(len(eve_lines) / bare_s),
        "jobber_eve_lines_per_cpu_s": round(len(eve_lines) / eve_s),
        "jobber_eve_with_rules_lines_per_cpu_s": round(len(eve_lines) / eve_rules_s),
        "eve_ratio_vs_bare_json": round(bare_s / eve_s, 3),
        "eve_with_rules_ratio_vs_bare_json": round(bare_s / eve_rules_s, 3),
    }
    figures["sshd_target_met"] = (figures["speedup_vs_fail2ban_without_startup"] >= 5.0
                                  and jobber_failures >= f2b_failures)
    figures["eve_target_met"] = figures["eve_ratio_vs_bare_json"] >= 0.5
    report(figures)
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0


def report(figures: Mapping[str, object]) -> None:
    print(f"sshd auth log, {figures['sshd_lines']:,} lines (same file for both tools); "
          "lines per CPU second, best of 3")
    print(f"  Jobber parse + default rules : {figures['jobber_lines_per_cpu_s']:>9,} lines/s, "
          f"{figures['jobber_failures']:,} failures, {figures['jobber_verdicts']:,} verdicts, "
          f"{figures['jobber_unparsed']} unparsed")
    print(f"  fail2ban-regex (stock sshd)  : {figures['fail2ban_lines_per_cpu_s']:>9,} lines/s, "
          f"{figures['fail2ban_lines_per_cpu_s_without_startup']:,} without its "
          f"{figures['fail2ban_startup_cpu_s']} s start-up, "
          f"{figures['fail2ban_failures']:,} failures")
    print(f"  ratio Jobber / fail2ban      : {figures['speedup_vs_fail2ban_without_startup']}x "
          f"(without start-up), {figures['speedup_vs_fail2ban']}x (whole)  target >= 5x and "
          f"no fewer failures: {'met' if figures['sshd_target_met'] else 'NOT met'}")
    print(f"Suricata EVE, {figures['eve_lines']:,} lines")
    print(f"  bare json.loads              : {figures['bare_json_lines_per_cpu_s']:>9,} lines/s")
    print(f"  Jobber parser                : {figures['jobber_eve_lines_per_cpu_s']:>9,} lines/s "
          f"= {figures['eve_ratio_vs_bare_json']} of bare  target >= 0.5: "
          f"{'met' if figures['eve_target_met'] else 'NOT met'}")
    with_rules = figures["jobber_eve_with_rules_lines_per_cpu_s"]
    print(f"  Jobber parser + rules        : {with_rules:>9,} "
          f"lines/s = {figures['eve_with_rules_ratio_vs_bare_json']} of bare")


if __name__ == "__main__":
    sys.exit(main())
