"""The alternatives a cloud operator would otherwise pick, behind the ``TrustModel`` interface.

* ``InspectAll`` — today's cloud: every inter-tenant interaction crosses the security stack.
* ``TrustAll`` — no security stack at all: everything goes over the fast path.
* ``DirectExperience`` — each target judges a requester by its own feedback only (one
  ``Evidence`` per ordered pair), no introductions.
* ``CentralBeta`` — the provider keeps one ``Evidence`` per tenant fed by every feedback about it.
* ``EigenTrust`` — the provider runs EigenTrust (Kamvar, Schlosser, Garcia-Molina 2003) once per
  epoch over everyone's local trust.

The Beta models share Jobber's thresholds (``Policy``): DIRECT at score ≥ ``theta_trust`` with
evidence ≥ ``n_min``; DENY at score ≤ ``theta_drop`` once negatives were seen; else INSPECT.
EigenTrust's rule is in its class docstring.

Invariants: pure like the rest of ``jobber.trust`` (no I/O, clocks, logging, numpy or global
randomness); a model's answer depends only on the calls it was given; baselines make no
introductions, so ``new_connection`` is always false. Status is reported so the simulator can
count demotions the same way for every model: TRUSTED while DIRECT, REVOKED on DENY, DEMOTED when
INSPECT after having been DIRECT with negative feedback on record (a fall from trust because
evidence merely aged is not a demotion), else PROBATION.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobber.trust.evidence import Evidence
from jobber.trust.models.base import Admission
from jobber.trust.policy import DEFAULT_POLICY, Policy
from jobber.types import Decision, InteractionId, Severity, Status, TenantId

_INSPECT = Admission(Decision.INSPECT, reason="inspect everything")
_DIRECT = Admission(Decision.DIRECT, reason="trust everyone")


class InspectAll:
    """Every interaction goes through the security stack (today's multi-tenant cloud)."""

    def __init__(self, *, name: str = "inspect-all") -> None:
        self.name = name

    def join(
        self, tenant: TenantId, now: float, overrides: Mapping[str, Any] | None = None
    ) -> None:
        pass

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        return _INSPECT

    def feedback(
        self, reporter: TenantId, subject: TenantId, admission: Admission,
        interaction: InteractionId, severity: Severity, now: float,
    ) -> None:
        pass

    def tick(self, now: float) -> None:
        pass


class TrustAll(InspectAll):
    """Every interaction goes over the fast path."""

    def __init__(self, *, name: str = "trust-all") -> None:
        super().__init__(name=name)

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        return _DIRECT


class _BetaModel:
    """Shared by the Beta baselines: judge one ``Evidence`` with the policy's thresholds."""

    def __init__(self, policy: Policy, name: str) -> None:
        self.name = name
        self.policy = policy
        self._ever_direct: set[object] = set()

    def join(
        self, tenant: TenantId, now: float, overrides: Mapping[str, Any] | None = None
    ) -> None:
        pass

    def tick(self, now: float) -> None:
        pass

    def _judge(self, key: object, evidence: Evidence | None, now: float, why: str) -> Admission:
        policy = self.policy
        if evidence is None:
            return Admission(Decision.INSPECT, status=Status.PROBATION, reason=f"{why}: stranger")
        score = evidence.score(now, policy)
        if score >= policy.theta_trust and evidence.count(now, policy) >= policy.n_min:
            self._ever_direct.add(key)
            return Admission(Decision.DIRECT, status=Status.TRUSTED, reason=f"{why}: {score:.2f}")
        if score <= policy.theta_drop and evidence.s > 0.0:
            return Admission(Decision.DENY, status=Status.REVOKED, reason=f"{why}: {score:.2f}")
        demoted = key in self._ever_direct and evidence.s > 0.0
        status = Status.DEMOTED if demoted else Status.PROBATION
        return Admission(Decision.INSPECT, status=status, reason=f"{why}: {score:.2f}")

    def _record(self, evidence: Evidence, severity: Severity, now: float) -> None:
        evidence.add(not severity.is_negative, self.policy.weight(severity), now, self.policy)


class DirectExperience(_BetaModel):
    """The target judges the requester by what it has seen itself; nobody vouches for anyone."""

    def __init__(self, policy: Policy = DEFAULT_POLICY, *, name: str = "direct") -> None:
        super().__init__(policy, name)
        self._views: dict[tuple[TenantId, TenantId], Evidence] = {}

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        key = (dst, src)
        return self._judge(key, self._views.get(key), now, "own view")

    def feedback(
        self, reporter: TenantId, subject: TenantId, admission: Admission,
        interaction: InteractionId, severity: Severity, now: float,
    ) -> None:
        key = (reporter, subject)
        evidence = self._views.get(key)
        if evidence is None:
            evidence = self._views[key] = Evidence(now)
        self._record(evidence, severity, now)


class CentralBeta(_BetaModel):
    """The provider keeps one global Beta reputation per tenant, fed by every feedback."""

    def __init__(self, policy: Policy = DEFAULT_POLICY, *, name: str = "central") -> None:
        super().__init__(policy, name)
        self._global: dict[TenantId, Evidence] = {}

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        return self._judge(src, self._global.get(src), now, "provider view")

    def feedback(
        self, reporter: TenantId, subject: TenantId, admission: Admission,
        interaction: InteractionId, severity: Severity, now: float,
    ) -> None:
        evidence = self._global.get(subject)
        if evidence is None:
            evidence = self._global[subject] = Evidence(now)
        self._record(evidence, severity, now)


class EigenTrust:
    """Provider-run EigenTrust, recomputed at every epoch boundary.

    Local trust: ``s_ij`` = the weight of i's positive feedback about j minus the weight of its
    negative feedback (severity weights from the policy), ``c_ij = max(s_ij, 0) / Σ_k max(s_ik,
    0)``; a tenant with no positive local trust trusts the pre-trusted distribution ``p``, which
    is uniform over all tenants. Global trust is the fixed point of ``t = (1 − α) Cᵀ t + α p``
    (α = ``alpha``), found by power iteration from ``t = p`` until the L1 change is below
    ``tolerance``. With N tenants, ``N·t_j`` is j's trust relative to the uniform ``1/N``:

    * DIRECT iff ``N·t_j ≥ trust_ratio`` and j has at least ``n_min`` feedback about it;
    * DENY iff ``N·t_j ≤ drop_ratio`` and some feedback about j was negative;
    * INSPECT otherwise (newcomers start at ``α`` times uniform, so they are inspected).

    Feedback given during an epoch only counts from the next ``tick``: that lag is the price of a
    global computation and shows as free attacks.
    """

    def __init__(
        self,
        policy: Policy = DEFAULT_POLICY,
        *,
        name: str = "eigentrust",
        alpha: float = 0.1,
        trust_ratio: float = 0.5,
        drop_ratio: float = 0.2,
        tolerance: float = 1e-9,
        max_iterations: int = 100,
    ) -> None:
        self.name = name
        self.policy = policy
        self.alpha = alpha
        self.trust_ratio = trust_ratio
        self.drop_ratio = drop_ratio
        self.tolerance = tolerance
        self.max_iterations = max_iterations
        self._index: dict[TenantId, int] = {}
        self._local: list[dict[int, float]] = []
        self._rated: list[float] = []  # feedback so far; counts in decisions from the next tick
        self._negative: list[bool] = []
        self._rated_seen: list[float] = []
        self._negative_seen: list[bool] = []
        self._ratio: list[float] = []
        self._ever_direct: set[int] = set()

    def join(
        self, tenant: TenantId, now: float, overrides: Mapping[str, Any] | None = None
    ) -> None:
        if tenant in self._index:
            return
        self._index[tenant] = len(self._local)
        self._local.append({})
        self._rated.append(0.0)
        self._negative.append(False)
        self._rated_seen.append(0.0)
        self._negative_seen.append(False)
        self._ratio.append(self.alpha)

    def admit(self, src: TenantId, dst: TenantId, now: float) -> Admission:
        j = self._index.get(src)
        if j is None:
            return Admission(Decision.INSPECT, status=Status.PROBATION, reason="unknown tenant")
        ratio = self._ratio[j]
        why = f"global trust {ratio:.2f}× uniform"
        if ratio >= self.trust_ratio and self._rated_seen[j] >= self.policy.n_min:
            self._ever_direct.add(j)
            return Admission(Decision.DIRECT, status=Status.TRUSTED, reason=why)
        if ratio <= self.drop_ratio and self._negative_seen[j]:
            return Admission(Decision.DENY, status=Status.REVOKED, reason=why)
        demoted = j in self._ever_direct and self._negative_seen[j]
        status = Status.DEMOTED if demoted else Status.PROBATION
        return Admission(Decision.INSPECT, status=status, reason=why)

    def feedback(
        self, reporter: TenantId, subject: TenantId, admission: Admission,
        interaction: InteractionId, severity: Severity, now: float,
    ) -> None:
        i = self._index.get(reporter)
        j = self._index.get(subject)
        if i is None or j is None or i == j:
            return
        weight = self.policy.weight(severity)
        row = self._local[i]
        row[j] = row.get(j, 0.0) + (-weight if severity.is_negative else weight)
        self._rated[j] += 1.0
        if severity.is_negative:
            self._negative[j] = True

    def tick(self, now: float) -> None:
        n = len(self._local)
        if n == 0:
            return
        uniform = 1.0 / n
        rows: list[tuple[int, list[tuple[int, float]]]] = []
        dangling: list[int] = []
        for i, local in enumerate(self._local):
            positive = [(j, v) for j, v in local.items() if v > 0.0]
            total = sum(v for _, v in positive)
            if total > 0.0:
                rows.append((i, [(j, v / total) for j, v in positive]))
            else:
                dangling.append(i)
        keep = 1.0 - self.alpha
        trust = [uniform] * n
        for _ in range(self.max_iterations):
            spread = self.alpha * uniform + keep * uniform * sum(trust[i] for i in dangling)
            nxt = [spread] * n
            for i, row in rows:
                share = keep * trust[i]
                for j, c in row:
                    nxt[j] += share * c
            change = sum(abs(a - b) for a, b in zip(nxt, trust, strict=True))
            trust = nxt
            if change < self.tolerance:
                break
        self._ratio = [t * n for t in trust]
        self._rated_seen = list(self._rated)
        self._negative_seen = list(self._negative)
