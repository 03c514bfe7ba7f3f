"""The ledger's rules: proof of transaction, recall, blocks, status notices, expiry, isolation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jobber.trust.messages import Feedback, Observe, Recall, StatusNotice, Tick
from jobber.types import ConnectionId, InteractionId, Severity, Status, TenantId

from .helpers import interact, network, snapshot, trusted_pair

T = TenantId


def _world():  # type: ignore[no-untyped-def]
    """x introduced by i to t1 and to t2; i trusted by both."""
    net = network("x", "i", "t1", "t2", "o")
    trusted_pair(net, "i", "t1", 0.0, clean=20)
    trusted_pair(net, "i", "t2", 0.0, clean=20)
    trusted_pair(net, "x", "i", 0.0, clean=10)
    c1 = net.introduce(T("x"), T("t1"), 0.0).introduced.connection
    c2 = net.introduce(T("x"), T("t2"), 0.0).introduced.connection
    return net, c1, c2


def test_feedback_on_an_unknown_connection_changes_nothing() -> None:
    net, _c1, _c2 = _world()
    before = {t: snapshot(led) for t, led in net.ledgers.items()}
    effects = net.submit(T("t1"), Observe(ConnectionId("nope#1"), InteractionId("q"),
                                          Severity.HIGH), 1.0)
    assert effects == []
    assert before == {t: snapshot(led) for t, led in net.ledgers.items()}


def test_repeated_interaction_counts_once() -> None:
    net, c1, _c2 = _world()
    net.submit(T("t1"), Observe(c1, InteractionId("once"), Severity.LOW), 1.0)
    before = {t: snapshot(led) for t, led in net.ledgers.items()}
    assert net.submit(T("t1"), Observe(c1, InteractionId("once"), Severity.LOW), 1.0) == []
    assert before == {t: snapshot(led) for t, led in net.ledgers.items()}


reporters = st.sampled_from(["x", "i", "t1", "t2", "o", "provider"])
severities = st.sampled_from(list(Severity))


@settings(max_examples=60)
@given(reporters, reporters, reporters, severities, st.integers(1, 3), st.booleans())
def test_forged_feedback_changes_nothing(sender: str, reporter: str, subject: str,
                                         severity: Severity, hop: int, other_conn: bool) -> None:
    net, c1, c2 = _world()
    conn = c2 if other_conn else c1
    legit = {("t1", "t1", "x", 1), ("x", "x", "t1", 1)} if conn == c1 else {
        ("t2", "t2", "x", 1), ("x", "x", "t2", 1)}
    if (sender, reporter, subject, hop) in legit:
        return
    before = snapshot(net.ledgers[T("i")])
    message = Feedback(T(sender), T("i"), conn, InteractionId("f"), T(reporter), T(subject),
                       severity, hop)
    assert net.ledgers[T("i")].handle(message, 1.0) == []
    assert net.ledgers[T("i")].refusal  # and it says why
    assert snapshot(net.ledgers[T("i")]) == before


def test_feedback_from_a_non_endpoint_is_ignored_by_its_own_ledger() -> None:
    net, c1, _c2 = _world()
    before = snapshot(net.ledgers[T("o")])
    assert net.submit(T("o"), Observe(c1, InteractionId("z"), Severity.HIGH), 1.0) == []
    assert snapshot(net.ledgers[T("o")]) == before


def test_a_med_negative_demotes_and_recalls_the_introducers_other_connections() -> None:
    net, c1, c2 = _world()
    interact(net, "t1", c1, Severity.POS, 0.0, 5)
    interact(net, "t2", c2, Severity.POS, 0.0, 5)
    i = net.ledgers[T("i")]
    i.views[T("x")].r = i.views[T("x")].rf = 2.0  # i's view of x is not firm (< n_dev)
    assert net.ledgers[T("t2")].connections[c2].status is Status.TRUSTED
    interact(net, "t1", c1, Severity.MED, 1.0)
    assert net.ledgers[T("t1")].connections[c1].status in (Status.DEMOTED, Status.REVOKED)
    assert net.ledgers[T("t2")].connections[c2].status is Status.DEMOTED  # recalled
    assert net.ledgers[T("x")].connections[c2].status is Status.DEMOTED  # told by t2
    assert "recalled by i" in net.ledgers[T("t2")].connections[c2].reason


def test_a_med_report_against_a_firm_good_view_is_taken_for_slander() -> None:
    net, c1, c2 = _world()  # i holds 10 clean interactions' worth of x: a firm, good view
    interact(net, "t2", c2, Severity.POS, 0.0, 5)
    interact(net, "t1", c1, Severity.MED, 1.0)
    assert net.ledgers[T("t1")].connections[c1].status >= Status.DEMOTED  # its own link
    assert net.ledgers[T("t2")].connections[c2].status is Status.TRUSTED  # no recall
    net, c1, c2 = _world()
    interact(net, "t2", c2, Severity.POS, 0.0, 5)
    interact(net, "t1", c1, Severity.HIGH, 1.0)  # HIGH is never taken for slander
    assert net.ledgers[T("t2")].connections[c2].status is Status.DEMOTED


def test_a_low_negative_recalls_nothing() -> None:
    net, c1, c2 = _world()
    interact(net, "t2", c2, Severity.POS, 0.0, 5)
    interact(net, "t1", c1, Severity.LOW, 1.0)
    assert net.ledgers[T("t2")].connections[c2].status is Status.TRUSTED


def test_no_recall_policy_leaves_other_connections_alone() -> None:
    net, c1, c2 = _world()
    net.ledgers[T("i")].policy = net.policy.with_overrides({"recall": False})
    interact(net, "t2", c2, Severity.POS, 0.0, 5)
    interact(net, "t1", c1, Severity.MED, 1.0)
    assert net.ledgers[T("t2")].connections[c2].status is Status.TRUSTED


def test_no_promotion_while_a_block_is_in_force() -> None:
    net = network("a", "b")
    conn = trusted_pair(net, "a", "b", 0.0, clean=5)
    interact(net, "b", conn, Severity.HIGH, 1.0)
    b = net.ledgers[T("b")]
    assert b.is_blocked(T("a"), 1.0)
    # Even overwhelming evidence cannot promote while the block lasts.
    b.views[T("a")].r = b.views[T("a")].rf = 50.0
    b.views[T("a")].s = b.views[T("a")].sf = 0.0
    b.connections[conn].status = Status.DEMOTED
    interact(net, "b", conn, Severity.POS, 2.0, 10)
    assert b.connections[conn].status is Status.DEMOTED
    assert net.introduce(T("a"), T("b"), 2.0).introduced.status is None


def test_only_the_target_promotes_and_anyone_restricts() -> None:
    net = network("a", "b")
    conn = net.introduce(T("a"), T("b"), 0.0).introduced.connection
    a, b = net.ledgers[T("a")], net.ledgers[T("b")]
    interact(net, "a", conn, Severity.POS, 0.0, 10)  # the requester cannot promote
    assert a.connections[conn].status is Status.PROBATION
    forged = StatusNotice(T("a"), T("b"), conn, Status.TRUSTED, "trust me")
    assert b.handle(forged, 0.0) == [] and b.connections[conn].status is Status.PROBATION
    interact(net, "a", conn, Severity.MED, 0.0)  # but it can restrict, and b follows
    assert b.connections[conn].status >= Status.DEMOTED
    assert b.connections[conn].status is a.connections[conn].status
    assert b.connections[conn].clean == 0


def test_recall_from_outside_the_path_is_ignored() -> None:
    net, c1, _c2 = _world()
    before = snapshot(net.ledgers[T("t1")])
    assert net.ledgers[T("t1")].handle(Recall(T("o"), T("t1"), c1, T("x"), "?"), 1.0) == []
    assert snapshot(net.ledgers[T("t1")]) == before


def test_expiry_closes_connections_and_forgets_introductions() -> None:
    net, c1, _c2 = _world()
    ttl = net.policy.connection_ttl
    effects = net.submit(T("t1"), Tick(), ttl + 1)
    assert any(getattr(e, "connection", None) == c1 for _t, e in effects)
    assert c1 not in net.ledgers[T("t1")].connections
    net.submit(T("i"), Tick(), ttl + 1)
    assert net.ledgers[T("i")].introductions == {}
    assert net.submit(T("t1"), Observe(c1, InteractionId("late"), Severity.HIGH), ttl + 1) == []


def test_a_ledger_handles_events_without_touching_another() -> None:
    net, c1, _c2 = _world()
    before = {t: snapshot(led) for t, led in net.ledgers.items() if t != T("t1")}
    net.ledgers[T("t1")].handle(Observe(c1, InteractionId("solo"), Severity.HIGH), 1.0)
    assert before == {t: snapshot(led) for t, led in net.ledgers.items() if t != T("t1")}
