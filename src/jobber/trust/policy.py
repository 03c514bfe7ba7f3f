"""A tenant's trust policy: the parameters of DESIGN.md §2.2 with their defaults.

Every tenant may override its own policy; ``Policy.with_overrides`` builds one from a mapping of
names to values and ``Policy.check`` refuses an incoherent one with a message naming the
parameter and the rule it breaks. A policy is a frozen value: ledgers share it, never change it.

Times are in epochs (one interaction slot; 60 s of wall time in a live deployment, one tick in the
simulator).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from jobber.errors import PolicyError
from jobber.types import Severity


@dataclass(frozen=True, slots=True)
class Policy:
    # Evidence: E = (r + W·a) / (r + s + W); a newcomer scores a.
    W: float = 2.0
    a: float = 0.5
    R_max: float = 50.0  # banked positive evidence is bounded
    H_r: float = 100.0  # half-life of positive evidence (long horizon)
    H_s: float = 400.0  # half-life of negative evidence: forgive slowly
    H_fast: float = 20.0  # half-life of both counts in the short horizon
    # Thresholds.
    theta_trust: float = 0.80
    n_min: float = 5.0
    m_clean: int = 5
    theta_accept: float = 0.60
    theta_intro: float = 0.70
    n_intro: float = 3.0
    theta_drop: float = 0.50
    theta_block: float = 0.30  # provider only
    # Evidence weight of one feedback value.
    w_pos: float = 1.0
    w_low: float = 1.0
    w_med: float = 10.0
    w_high: float = 50.0
    # Introducer accountability and propagation.
    rho: float = 0.5
    D_max: int = 2
    recall: bool = True  # recall an introducer's other connections for a misbehaving subject
    # Deviation test (slander resistance).
    dev_d: float = 0.5
    n_dev: float = 5.0
    dev_delta: float = 0.25
    # Paths and probations.
    H_max: int = 3
    k: int = 3
    P_max: int = 3
    # Blocks: T_block · 10^(offences − 1), capped.
    T_block: float = 50.0
    block_cap: float = 5000.0
    # How long a connection lives before it must be introduced again.
    connection_ttl: float = 1440.0

    def weight(self, severity: Severity) -> float:
        """Evidence weight of one feedback value of ``severity``."""
        if severity is Severity.POS:
            return self.w_pos
        if severity is Severity.LOW:
            return self.w_low
        if severity is Severity.MED:
            return self.w_med
        return self.w_high

    def block_duration(self, offences: int) -> float:
        """How long the ``offences``-th revocation blocks (1 for the first)."""
        return min(self.T_block * 10.0 ** max(offences - 1, 0), self.block_cap)

    def check(self) -> Policy:
        """Return ``self`` if coherent, else raise ``PolicyError`` naming what is wrong."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not isinstance(value, int | float) or math.isnan(value):
                raise PolicyError(f"policy: {f.name}={value!r} is not a number")
            if value < 0:
                raise PolicyError(f"policy: {f.name}={value} must not be negative")
        for name in ("theta_trust", "theta_accept", "theta_intro", "theta_drop", "theta_block",
                     "a", "rho", "dev_d", "dev_delta"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise PolicyError(f"policy: {name}={value} must lie in [0, 1]")
        for name in ("W", "H_r", "H_s", "H_fast", "R_max", "connection_ttl"):
            if getattr(self, name) <= 0:
                raise PolicyError(f"policy: {name}={getattr(self, name)} must be positive")
        rules = [
            (self.theta_drop <= self.theta_accept, "theta_drop",
             f"theta_drop={self.theta_drop} must not exceed theta_accept={self.theta_accept}"),
            (self.theta_accept <= self.theta_trust, "theta_accept",
             f"theta_accept={self.theta_accept} must not exceed theta_trust={self.theta_trust}"),
            (self.theta_drop <= self.theta_trust, "theta_drop",
             f"theta_drop={self.theta_drop} must not exceed theta_trust={self.theta_trust}"),
            (self.theta_block <= self.theta_drop, "theta_block",
             f"theta_block={self.theta_block} must not exceed theta_drop={self.theta_drop}"),
            (self.H_fast <= self.H_r, "H_fast",
             f"H_fast={self.H_fast} must not exceed H_r={self.H_r} (it is the short horizon)"),
            (self.H_s >= self.H_r, "H_s",
             f"H_s={self.H_s} must be at least H_r={self.H_r} (negatives are forgiven slowly)"),
            (self.w_low <= self.w_med <= self.w_high, "w_med",
             "severity weights must grow: w_low <= w_med <= w_high"),
            (self.T_block <= self.block_cap, "T_block",
             f"T_block={self.T_block} must not exceed block_cap={self.block_cap}"),
            (self.k >= 1, "k", f"k={self.k} must be at least 1"),
            (self.n_min <= self.R_max, "n_min",
             f"n_min={self.n_min} must not exceed R_max={self.R_max}, or nobody is ever trusted"),
        ]
        for ok, _name, message in rules:
            if not ok:
                raise PolicyError(f"policy: {message}")
        return self

    def with_overrides(self, overrides: Mapping[str, Any]) -> Policy:
        """A checked copy with ``overrides`` applied; unknown names are refused."""
        known = {f.name: f for f in fields(self)}
        for name, value in overrides.items():
            if name not in known:
                raise PolicyError(
                    f"policy: unknown parameter {name!r} (known: {', '.join(sorted(known))})"
                )
            expected = type(getattr(self, name))
            if expected is bool and not isinstance(value, bool):
                raise PolicyError(f"policy: {name} must be true or false, not {value!r}")
            if expected is not bool and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise PolicyError(f"policy: {name} must be a number, not {value!r}")
            if expected is int and not float(value).is_integer():
                raise PolicyError(f"policy: {name} must be a whole number, not {value!r}")
        coerced: dict[str, Any] = {
            name: (int(v) if type(getattr(self, name)) is int else v)
            for name, v in overrides.items()
        }
        return replace(self, **coerced).check()


DEFAULT_POLICY = Policy().check()
