"""The data-center simulator: the production trust core against the alternatives, in virtual time.

``scenario`` / ``scenario_file`` describe a run (YAML at the edge, frozen values inside);
``behaviour`` says who each tenant is and what it intends; ``traffic`` generates every session
from the seed alone; ``runner`` plays one seed against one model; ``metrics`` records what
happened; ``experiment`` runs every (seed, model) in parallel; ``stats``, ``report`` and
``figures`` summarise and write the results.

Invariants: the simulator never decides anything itself — every admission comes from a
``TrustModel`` (Jobber's is ``jobber.trust``, the production core); and a run is a pure function
of (scenario, seed, model), so results are bit-identical for any number of worker processes.
"""
