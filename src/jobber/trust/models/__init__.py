"""Trust models by user-facing name: Jobber, its ablations and the baselines.

``MODELS`` maps a name to a factory that builds a fresh model from an explicit ``Rng`` (a
seeded ``random.Random``; the core itself never imports ``random``); the simulator builds one
model per run, so no state is shared between runs.
The Jobber variants import ``JobberModel`` only when built, so this registry (and everything that
lists model names) works without the IBR adapter loaded.

Invariants: names are stable (they appear in scenario files and reports); every factory returns
an object that satisfies ``TrustModel`` and whose ``name`` is its registry key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jobber.trust.models.base import Admission, TrustModel
from jobber.trust.models.baselines import (
    CentralBeta,
    DirectExperience,
    EigenTrust,
    InspectAll,
    TrustAll,
)
from jobber.trust.policy import DEFAULT_POLICY
from jobber.types import Rng

ModelFactory = Callable[[Rng], TrustModel]


def _jobber(name: str, **overrides: Any) -> ModelFactory:
    policy = DEFAULT_POLICY.with_overrides(overrides)

    def make(rng: Rng) -> TrustModel:
        from jobber.trust.models.ibr import JobberModel

        return JobberModel(policy, name=name, rng=rng)

    return make


def _fixed(make: Callable[[], TrustModel]) -> ModelFactory:
    return lambda rng: make()


MODELS: dict[str, ModelFactory] = {
    "jobber": _jobber("jobber"),
    "jobber-no-accountability": _jobber("jobber-no-accountability", rho=0.0),
    "jobber-no-recall": _jobber("jobber-no-recall", recall=False),
    "jobber-symmetric-decay": _jobber("jobber-symmetric-decay", H_s=100.0, H_r=100.0),
    "jobber-no-cap": _jobber("jobber-no-cap", R_max=float("inf")),
    "inspect-all": _fixed(InspectAll),
    "trust-all": _fixed(TrustAll),
    "direct": _fixed(DirectExperience),
    "central": _fixed(CentralBeta),
    "eigentrust": _fixed(EigenTrust),
}

BASELINES = ("inspect-all", "trust-all", "direct", "central", "eigentrust")
ABLATIONS = (
    "jobber-no-accountability", "jobber-no-recall", "jobber-symmetric-decay", "jobber-no-cap",
)


def build(name: str, rng: Rng) -> TrustModel:
    """A fresh model registered as ``name``."""
    from jobber.errors import ConfigError

    try:
        factory = MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown trust model {name!r} (known: {', '.join(MODELS)})") from None
    return factory(rng)


__all__ = ["ABLATIONS", "BASELINES", "MODELS", "Admission", "ModelFactory", "TrustModel", "build"]
