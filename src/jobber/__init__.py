"""Jobber: automatic, behaviour-based trust between the tenants of a cloud.

Tenants earn direct, uninspected connections to each other through introductions and feedback
(Introduction-Based Routing); misbehaving tenants are pushed back through the security stack or
blocked. The trust algorithm lives in :mod:`jobber.trust` (pure, no I/O); everything else drives it.
"""

__version__ = "0.1.0"
