"""The rule engine: matching, windows, distinct counts, cool-downs, cancels, ignore lists; and the
validation of rules files."""

from __future__ import annotations

import pytest

from jobber.errors import ConfigError
from jobber.inventory import Inventory
from jobber.sensors.event import Endpoint, Event, Kind
from jobber.sensors.rules import MAX_GROUPS, RuleEngine, Verdict
from jobber.sensors.ruleset import default_rules, load_rules, parse_rules
from jobber.types import Severity, TenantId

ACME, GLOBEX = TenantId("acme"), TenantId("globex")


def event(kind: Kind = Kind.AUTH_FAILURE, time: float = 0.0, src: str | None = "198.51.100.7",
          severity: Severity = Severity.LOW, confidence: float = 1.0,
          dst_port: int | None = 22, **attributes: str | int | bool) -> Event:
    return Event(f"e{time}", time, time, ACME, kind, severity, confidence,
                 None if src is None else Endpoint(src, 40000), Endpoint("192.0.2.10", dst_port),
                 "tcp", attributes)


def run(engine: RuleEngine, events: list[Event]) -> list[Verdict]:
    return [verdict for item in events for verdict in engine.observe(item)]


BRUTE = """
rules:
  - name: brute
    match: {kind: auth.failure}
    threshold: {count: 3, within: 60}
    verdict: MED
    cooldown: 100
  - name: login
    match: {kind: auth.success}
    verdict: good
    cancels: [brute]
"""


def test_count_threshold_within_the_window_fires_once_then_cools_down() -> None:
    engine = RuleEngine(parse_rules(BRUTE))
    verdicts = run(engine, [event(time=t) for t in (0, 10, 20)])
    assert [(v.rule, v.severity, v.count, v.time) for v in verdicts] == [
        ("brute", Severity.MED, 3, 20)]
    assert run(engine, [event(time=t) for t in (30, 40, 50, 60, 70)]) == []  # cooling down
    assert len(run(engine, [event(time=t) for t in (121, 122, 123)])) == 1


def test_events_outside_the_window_do_not_count() -> None:
    engine = RuleEngine(parse_rules(BRUTE))
    assert run(engine, [event(time=t) for t in (0, 61, 122, 183)]) == []


def test_groups_are_per_source_address() -> None:
    engine = RuleEngine(parse_rules(BRUTE))
    mixed = [event(time=t, src=src) for t in (0, 1) for src in ("198.51.100.7", "203.0.113.9")]
    assert run(engine, mixed) == []
    verdicts = run(engine, [event(time=2, src="203.0.113.9")])
    assert [v.subject for v in verdicts] == ["203.0.113.9"]


def test_a_successful_login_cancels_earlier_failures() -> None:
    engine = RuleEngine(parse_rules(BRUTE))
    run(engine, [event(time=0), event(time=1)])
    login = run(engine, [event(Kind.AUTH_SUCCESS, time=2, severity=Severity.POS)])
    assert [(v.rule, v.severity) for v in login] == [("login", Severity.POS)]
    assert run(engine, [event(time=3), event(time=4)]) == []
    assert len(run(engine, [event(time=5)])) == 1


def test_distinct_values_threshold() -> None:
    rules = parse_rules("""
rules:
  - name: scan
    match: {kind: net.blocked}
    threshold: {count: 4, within: 60, distinct: dst_port}
    verdict: HIGH
""")
    engine = RuleEngine(rules)
    same_port = [event(Kind.NET_BLOCKED, time=t, dst_port=22) for t in range(10)]
    assert run(engine, same_port) == []
    ports = [event(Kind.NET_BLOCKED, time=20 + i, dst_port=port)
             for i, port in enumerate((22, 23, 25, 80))]
    verdicts = run(engine, ports)
    assert [(v.rule, v.severity, v.count) for v in verdicts] == [("scan", Severity.HIGH, 4)]


def test_distinct_values_expire_with_the_window() -> None:
    rules = parse_rules("""
rules:
  - name: spray
    match: {kind: auth.failure}
    threshold: {count: 3, within: 10, distinct: user}
    verdict: HIGH
""")
    engine = RuleEngine(rules)
    slow = [event(time=t * 20, user=f"u{t}") for t in range(5)]
    assert run(engine, slow) == []
    fast = [event(time=200 + t, user=f"v{t}") for t in range(3)]
    assert len(run(engine, fast)) == 1


def test_match_conditions() -> None:
    rules = parse_rules("""
rules:
  - name: picky
    match:
      kind: [ids.alert, ids.anomaly]
      severity: MED
      confidence: 0.5
      protocol: TCP
      dst_port: [22, 2222]
      attributes: {category: [scan, exploit], blocked: false}
    verdict: event
""")
    engine = RuleEngine(rules)

    def fires(**changes: object) -> bool:
        base: dict[str, object] = {"kind": Kind.IDS_ALERT, "severity": Severity.HIGH,
                                   "confidence": 0.9, "dst_port": 22, "category": "scan",
                                   "blocked": False}
        base.update(changes)
        return bool(RuleEngine(rules).observe(event(**base)))  # type: ignore[arg-type]

    assert fires()
    assert fires(kind=Kind.IDS_ANOMALY, dst_port=2222, category="exploit")
    assert not fires(kind=Kind.NET_FLOW)
    assert not fires(severity=Severity.LOW)
    assert not fires(confidence=0.4)
    assert not fires(dst_port=80)
    assert not fires(category="policy")
    assert not fires(blocked=True)
    verdict = engine.observe(event(Kind.IDS_ALERT, severity=Severity.HIGH, confidence=0.9,
                                   category="scan", blocked=False))[0]
    assert verdict.severity is Severity.HIGH  # "verdict: event" takes the event's severity


def test_ignore_lists_global_and_per_rule() -> None:
    rules = parse_rules("""
ignore: [192.0.2.0/24]
rules:
  - name: any
    match: {kind: auth.failure}
    verdict: LOW
    ignore: ["2001:db8::/32"]
""")
    engine = RuleEngine(rules)
    assert run(engine, [event(src="192.0.2.5"), event(src="2001:db8::7")]) == []
    assert len(run(engine, [event(src="198.51.100.7")])) == 1


def test_verdicts_name_the_tenant_from_the_inventory() -> None:
    inventory = Inventory([("198.51.100.0/24", GLOBEX)])
    engine = RuleEngine(parse_rules(BRUTE), inventory)
    verdicts = run(engine, [event(time=t) for t in range(3)])
    assert verdicts[0].tenant == GLOBEX
    stranger = run(engine, [event(time=t, src="203.0.113.1") for t in range(3)])
    assert stranger[0].tenant is None  # kept, but no tenant: it will give no feedback


def test_events_without_a_source_are_grouped_together() -> None:
    engine = RuleEngine(parse_rules(BRUTE))
    verdicts = run(engine, [event(time=t, src=None) for t in range(3)])
    assert [v.subject for v in verdicts] == [None]


def test_state_stays_bounded_under_a_flood_of_sources() -> None:
    engine = RuleEngine(parse_rules(BRUTE))
    count = MAX_GROUPS + 5000
    for index in range(count):
        engine.observe(event(time=float(index) * 0.001,
                             src=f"2001:db8::{index // 65536:x}:{index % 65536:x}"))
    state = engine._states["brute"]
    assert len(state.groups) <= MAX_GROUPS


def test_default_rules_load_and_catch_a_brute_force_but_not_one_typo() -> None:
    engine = RuleEngine(default_rules())
    assert run(engine, [event(time=0, user="root")]) == []
    verdicts = run(engine, [event(time=t, user="root") for t in range(1, 5)])
    assert [(v.rule, v.severity) for v in verdicts] == [("ssh-brute-force", Severity.MED)]


def test_default_rules_judge_ids_alerts_by_severity() -> None:
    engine = RuleEngine(default_rules())
    high = engine.observe(event(Kind.IDS_ALERT, severity=Severity.HIGH))
    assert [(v.rule, v.severity) for v in high] == [("ids-alert-serious", Severity.HIGH)]


@pytest.mark.parametrize(("text", "message"), [
    ("rules: [{name: a, verdict: MED, threshold: {cout: 3, within: 5}}]",
     "rule 'a' (#1): threshold.cout: unknown key"),
    ("rules: [{name: ok, verdict: LOW}, {name: b, verdict: BAD}]",
     "rule 'b' (#2): verdict: 'BAD' is not one of"),
    ("rules: [{name: a, verdict: MED, match: {kind: auth.fail}}]",
     "rule 'a' (#1): match.kind: unknown kind 'auth.fail'"),
    ("rules: [{name: a, verdict: MED, cooldown: '5'}]", "rule 'a' (#1): cooldown:"),
    ("rules: [{name: a, verdict: MED, cancels: [zzz]}]", "cancels: no rule named 'zzz'"),
    ("rules: [{name: a, verdict: MED}, {name: a, verdict: LOW}]", "another rule has the same"),
    ("rules: [{name: a, verdict: MED, match: {dst_port: 70000}}]", "port 70000 is not 0..65535"),
    ("rules: [{name: a, verdict: MED, match: {severity: awful}}]", "unknown severity 'awful'"),
    ("rules: [{name: a, verdict: MED, ignore: [not-a-prefix]}]", "ignore: 'not-a-prefix'"),
    ("rules: [{name: a, verdict: MED, threshold: {count: 0, within: 5}}]", "threshold.count"),
    ("rulez: []", "rulez: unknown key"),
    ("rules: [", "not YAML"),
    ("rules: [{name: a, verdict: MED, match: {expr: '__import__(\"os\")'}}]",
     "match.expr: unknown key"),
])
def test_rules_files_are_validated_with_messages_naming_rule_and_key(text: str,
                                                                      message: str) -> None:
    with pytest.raises(ConfigError, match=r"^rules: ") as caught:
        parse_rules(text)
    assert message in str(caught.value)


def test_load_rules_from_a_file(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "rules.yaml"  # type: ignore[operator]
    path.write_text(BRUTE)
    assert [rule.name for rule in load_rules(path).rules] == ["brute", "login"]
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules(path.with_name("missing.yaml"))
