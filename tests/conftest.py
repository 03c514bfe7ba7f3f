"""Settings for the whole suite.

Hypothesis: no per-example deadline. The properties check what the code does, not how fast; on a
shared 2-core CI machine one example stalled by another process would otherwise fail the run as
"deadline exceeded" (or "flaky" when its replay is fast). Speed is measured in benchmarks/.
"""

from hypothesis import settings

settings.register_profile("jobber", deadline=None)
settings.load_profile("jobber")
