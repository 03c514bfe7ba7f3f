"""Two-horizon Beta evidence, decayed on read, and subjective-logic opinions.

One ``Evidence`` record holds what a tenant has seen of one other tenant:

* a long horizon ``(r, s)`` whose positive counts halve every ``H_r`` epochs and negative counts
  every ``H_s`` epochs (``H_s > H_r``: misbehaviour is forgiven slowly);
* a short horizon ``(rf, sf)`` whose counts both halve every ``H_fast`` epochs.

Positive evidence is capped at ``R_max`` in both horizons (banked trust is bounded). With
``E = (r + W·a) / (r + s + W)`` per horizon, the score is ``min(E_long, E_fast)``: a recent drop
dominates at once and a recovery must show in both horizons.

Invariants: every count is finite and ≥ 0, positive counts never exceed ``R_max``, decay only ever
removes evidence, every score lies in [0, 1]. Time never runs backwards for a record: reading at
an earlier time than the last update reads the record as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobber.trust.policy import Policy


class Evidence:
    """What one tenant has seen of one other tenant (mutable, decayed lazily on read)."""

    __slots__ = ("r", "rf", "s", "sf", "t")

    def __init__(self, now: float = 0.0) -> None:
        self.r = 0.0
        self.s = 0.0
        self.rf = 0.0
        self.sf = 0.0
        self.t = now

    def decay(self, now: float, policy: Policy) -> None:
        """Bring the counts forward to ``now``."""
        dt = now - self.t
        if dt <= 0.0:
            return
        self.r *= 2.0 ** (-dt / policy.H_r)
        self.s *= 2.0 ** (-dt / policy.H_s)
        fast = 2.0 ** (-dt / policy.H_fast)
        self.rf *= fast
        self.sf *= fast
        self.t = now

    def add(self, positive: bool, weight: float, now: float, policy: Policy) -> None:
        """Record ``weight`` of positive or negative evidence at ``now``."""
        self.decay(now, policy)
        if positive:
            cap = policy.R_max
            self.r = min(self.r + weight, cap)
            self.rf = min(self.rf + weight, cap)
        else:
            self.s += weight
            self.sf += weight

    def score(self, now: float, policy: Policy) -> float:
        """``min(E_long, E_fast)`` at ``now``."""
        self.decay(now, policy)
        w = policy.W
        prior = w * policy.a
        long = (self.r + prior) / (self.r + self.s + w)
        fast = (self.rf + prior) / (self.rf + self.sf + w)
        return long if long < fast else fast

    def count(self, now: float, policy: Policy) -> float:
        """How much evidence there is (long horizon, decayed): what ``n_min`` is compared to."""
        self.decay(now, policy)
        return self.r + self.s

    def uncertainty(self, now: float, policy: Policy) -> float:
        """``W / (r + s + W)`` of the long horizon: 1 for a stranger, towards 0 with history."""
        self.decay(now, policy)
        return policy.W / (self.r + self.s + policy.W)

    def opinion(self, now: float, policy: Policy) -> Opinion:
        """The opinion of the horizon that scores lower (so its expectation is the score)."""
        self.decay(now, policy)
        w = policy.W
        prior = w * policy.a
        long = (self.r + prior) / (self.r + self.s + w)
        fast = (self.rf + prior) / (self.rf + self.sf + w)
        r, s = (self.r, self.s) if long <= fast else (self.rf, self.sf)
        total = r + s + w
        return Opinion(r / total, s / total, w / total)

    def plus(self, other: Evidence, now: float, policy: Policy) -> Evidence:
        """A new record holding both records' evidence at ``now`` (the cap applies)."""
        self.decay(now, policy)
        other.decay(now, policy)
        both = Evidence(now)
        both.r = min(self.r + other.r, policy.R_max)
        both.rf = min(self.rf + other.rf, policy.R_max)
        both.s = self.s + other.s
        both.sf = self.sf + other.sf
        return both

    def copy(self) -> Evidence:
        other = Evidence(self.t)
        other.r, other.s, other.rf, other.sf = self.r, self.s, self.rf, self.sf
        return other

    def __repr__(self) -> str:
        return (
            f"Evidence(r={self.r:.3g}, s={self.s:.3g}, rf={self.rf:.3g}, sf={self.sf:.3g}, "
            f"t={self.t:g})"
        )


@dataclass(frozen=True, slots=True)
class Opinion:
    """A subjective-logic opinion: belief, disbelief, uncertainty, summing to 1."""

    b: float
    d: float
    u: float

    def expectation(self, a: float) -> float:
        """Probability of good behaviour with base rate ``a``."""
        return self.b + a * self.u

    def evidence(self, w: float) -> float:
        """The amount of evidence this opinion stands for (``r + s`` with prior weight ``w``)."""
        if self.u <= 0.0:
            return float("inf")
        return w * (self.b + self.d) / self.u


VACUOUS = Opinion(0.0, 0.0, 1.0)
"""The opinion about a stranger: no belief, no disbelief."""


def discount(trust_in_advisor: Opinion, advice: Opinion) -> Opinion:
    """What ``advice`` is worth coming through an advisor held at ``trust_in_advisor``.

    Only the advisor's belief passes the advice on; its disbelief and uncertainty become
    uncertainty (Jøsang's uncertainty-favouring discount).
    """
    b = trust_in_advisor.b
    return Opinion(b * advice.b, b * advice.d, 1.0 - b * (advice.b + advice.d))


def discount_chain(chain: list[Opinion] | tuple[Opinion, ...]) -> Opinion:
    """Discount along a chain: the first is the evaluator's trust in the first advisor."""
    if not chain:
        return VACUOUS
    result = chain[-1]
    for trust in reversed(chain[:-1]):
        result = discount(trust, result)
    return result


def fuse(x: Opinion, y: Opinion) -> Opinion:
    """Cumulative fusion of two independent opinions about the same subject."""
    k = x.u + y.u - x.u * y.u
    if k <= 0.0:  # both dogmatic: average them
        return Opinion((x.b + y.b) / 2, (x.d + y.d) / 2, 0.0)
    return Opinion(
        (x.b * y.u + y.b * x.u) / k,
        (x.d * y.u + y.d * x.u) / k,
        (x.u * y.u) / k,
    )
