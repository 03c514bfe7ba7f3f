"""``jobber simulate`` and ``jobber demo``: run a scenario, write its results, print the table.

Thin by design: parse the options, load the scenario (``ConfigError`` on a bad file), run it
with a progress bar that ticks once per (seed, model) run, write the outputs, print the summary
table and the path of report.html. All the work is in ``jobber.sim``.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobber.errors import ConfigError
from jobber.sim.experiment import Results, default_jobs, run_scenario
from jobber.sim.metrics import RunMetrics
from jobber.sim.report import table_headings, table_rows, write_report
from jobber.sim.scenario import Scenario
from jobber.sim.scenario_file import load_scenario


def _run(scenario: Scenario, out: Path, jobs: int | None, command: str) -> Results:
    console = Console(stderr=True)
    total = len(scenario.models) * scenario.seeds
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[last]}"), console=console,
    ) as progress:
        task = progress.add_task(f"simulating {scenario.name}", total=total, last="")

        def tick(run: RunMetrics) -> None:
            progress.update(task, advance=1, last=f"{run.model} seed {run.seed}")

        results = run_scenario(scenario, jobs=jobs, progress=tick)
    report = write_report(results, out, command)
    elapsed = time.perf_counter() - started
    _print_table(results)
    interactions = sum(r.scalars["interactions"] or 0.0 for r in results.runs)
    print(f"{total} runs, {interactions:,.0f} interactions simulated in {elapsed:.1f} s "
          f"({jobs or default_jobs()} jobs)")
    print(f"report: {report.resolve()}")
    return results


def _print_table(results: Results) -> None:
    scenario = results.scenario
    table = Table(title=f"{scenario.name}: {scenario.tenants} tenants, {scenario.epochs} epochs, "
                        f"{scenario.seeds} seeds (mean ± 95% CI)")
    for i, heading in enumerate(table_headings()):
        table.add_column(heading, justify="left" if i == 0 else "right", overflow="fold")
    for row in table_rows(results):
        table.add_row(*row, style="bold" if row[0] == "jobber" else None)
    Console(width=max(Console().width, 200)).print(table)


def _check_positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ConfigError(f"--{name}={value}: must be at least 1")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``demo`` to the ``jobber`` command."""

    @app.command()
    def simulate(
        scenario: Annotated[str, typer.Argument(
            help="A scenario YAML file, or the name of a shipped one (default, camouflage, …).")],
        out: Annotated[Path | None, typer.Option(
            help="Output directory (default: out/<scenario name>).")] = None,
        seeds: Annotated[int | None, typer.Option(help="Number of seeds (overrides the file).")]
        = None,
        jobs: Annotated[int | None, typer.Option(
            help="Worker processes (default: one per CPU).")] = None,
        epochs: Annotated[int | None, typer.Option(help="Epochs (overrides the file).")] = None,
        models: Annotated[str | None, typer.Option(
            help="Comma-separated model names (overrides the file).")] = None,
    ) -> None:
        """Run a scenario against every model it lists; write JSON, CSV, figures, report.html."""
        for name, value in (("seeds", seeds), ("jobs", jobs), ("epochs", epochs)):
            _check_positive(name, value)
        loaded = load_scenario(scenario)
        chosen = None
        if models is not None:
            from jobber.trust.models import MODELS

            chosen = tuple(m.strip() for m in models.split(",") if m.strip())
            unknown = [m for m in chosen if m not in MODELS]
            if unknown or not chosen:
                raise ConfigError(f"--models: unknown model {unknown[0] if unknown else ''!r} "
                                  f"(known: {', '.join(MODELS)})")
        loaded = loaded.with_changes(epochs=epochs, seeds=seeds, models=chosen)
        command = "jobber " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        _run(loaded, out or Path("out") / loaded.name, jobs, command)

    @app.command()
    def demo(
        out: Annotated[Path, typer.Option(help="Output directory.")] = Path("out/demo"),
        jobs: Annotated[int | None, typer.Option(
            help="Worker processes (default: one per CPU).")] = None,
    ) -> None:
        """Run the embedded default scenario (every behaviour, every model) and write a report."""
        _check_positive("jobs", jobs)
        _run(load_scenario("default"), out, jobs, "jobber demo")
