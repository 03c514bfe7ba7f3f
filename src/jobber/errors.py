"""One exception tree for the whole project.

    JobberError
    ├── ConfigError          a config, scenario or policy file is wrong (says which key and why)
    │   └── PolicyError      a trust policy breaks one of its coherence rules
    ├── ProtocolError        a message that breaks the introduction protocol
    ├── TrustError           the trust core was asked something it cannot answer
    │   └── UnknownTenant    a tenant id nobody registered
    └── SimulationError      the simulator could not run a scenario

Third-party exceptions are translated where they enter (``raise ... from exc``); the CLI maps a
``JobberError`` to a one-line message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations


class JobberError(Exception):
    """The root of every error Jobber raises on purpose."""


class ConfigError(JobberError):
    """A configuration, scenario or rules file is invalid."""


class PolicyError(ConfigError):
    """A trust policy is incoherent; the message names the parameter and the rule it breaks."""


class ProtocolError(JobberError):
    """A message does not fit the introduction protocol in the state it arrived in."""


class TrustError(JobberError):
    """The trust core was asked something it cannot answer."""


class UnknownTenant(TrustError):
    """A tenant id that no ledger or registry knows."""


class SimulationError(JobberError):
    """A simulation could not be run."""
