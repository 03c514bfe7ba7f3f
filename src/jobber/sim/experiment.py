"""A whole experiment: every (seed, model) run of a scenario, in parallel, then summarised.

Runs are independent tasks. With ``jobs > 1`` they go to a ``ProcessPoolExecutor`` (the costly
Jobber variants first, so the pool stays busy to the end); with ``jobs == 1`` they run in this
process. ``progress`` is called once per finished run, in completion order.

Invariants: results are ordered by (the scenario's model order, seed) whatever order they
finished in, and each run is a pure function of (scenario, seed, model): the same scenario gives
bit-identical ``Results`` for any ``jobs``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from jobber.errors import SimulationError
from jobber.sim.metrics import SCALARS, SERIES, RunMetrics
from jobber.sim.runner import run_one
from jobber.sim.scenario import Scenario
from jobber.sim.stats import Summary, Value, summarize

Progress = Callable[[RunMetrics], None]


@dataclass(frozen=True, slots=True)
class Results:
    """Every run of one scenario, and their summaries per model."""

    scenario: Scenario
    runs: tuple[RunMetrics, ...]

    def runs_of(self, model: str) -> list[RunMetrics]:
        return [r for r in self.runs if r.model == model]

    def summary(self) -> dict[str, dict[str, Summary]]:
        """Per model, per scalar metric: mean, 95% interval and the per-seed values."""
        return {
            model: {
                name: summarize([r.scalars[name] for r in self.runs_of(model)])
                for name in SCALARS
            }
            for model in self.scenario.models
        }

    def mean_series(self, model: str, name: str) -> list[Value]:
        """The per-epoch mean over seeds of one time series (``None`` where no seed had data)."""
        runs = self.runs_of(model)
        out: list[Value] = []
        for epoch in range(self.scenario.epochs):
            values = [v for r in runs if (v := r.series[name][epoch]) is not None]
            out.append(sum(values) / len(values) if values else None)
        return out

    def series_names(self) -> tuple[str, ...]:
        return SERIES


def _cost_rank(model: str) -> int:
    return 0 if model.startswith("jobber") else 1


def default_jobs() -> int:
    return os.cpu_count() or 1


def run_scenario(
    scenario: Scenario, *, jobs: int | None = None, progress: Progress | None = None
) -> Results:
    """Run every (model, seed) of ``scenario``; ``jobs`` worker processes (default: all CPUs)."""
    tasks = [(model, seed) for model in scenario.models for seed in scenario.seed_list]
    order = {task: i for i, task in enumerate(tasks)}
    workers = default_jobs() if jobs is None else jobs
    if workers < 1:
        raise SimulationError(f"jobs={workers}: need at least one worker")
    done: list[RunMetrics] = []
    if workers == 1 or len(tasks) == 1:
        for model, seed in tasks:
            done.append(run_one(scenario, seed, model))
            if progress is not None:
                progress(done[-1])
    else:
        scheduled = sorted(tasks, key=lambda t: (_cost_rank(t[0]), order[t]))
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
            futures: list[Future[RunMetrics]] = [
                pool.submit(run_one, scenario, seed, model) for model, seed in scheduled
            ]
            for future in as_completed(futures):
                done.append(future.result())
                if progress is not None:
                    progress(done[-1])
    done.sort(key=lambda r: order[(r.model, r.seed)])
    return Results(scenario, tuple(done))
