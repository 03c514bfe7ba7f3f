"""``jobber emulate``: run a topology on a real network on this machine (root), print the
timeline of decisions and the results table; ``--json`` adds one JSON object last.

Thin by design: load the topology (``ConfigError`` on a bad file), check the machine (one line
and exit code 2 without root or Open vSwitch, naming ``make emulate-deps``), run it with
``jobber.emu.runner.run``, print. Exit code 1 when an outcome is not what its role expects or
something was left behind.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``emulate`` to the ``jobber`` command."""

    @app.command()
    def emulate(
        scenario: Annotated[str, typer.Argument(
            help="A topology YAML file, or a shipped one's name (default, short).")] = "default",
        json: Annotated[bool, typer.Option("--json", help="Print one JSON object of every "
                                                          "figure last.")] = False,
        figure: Annotated[Path | None, typer.Option(
            help="Write the timeline figure (PNG) here.")] = None,
        keep: Annotated[Path | None, typer.Option(
            help="Keep configs and logs in this folder (default: a temporary one, removed).")]
        = None,
    ) -> None:
        """Build the emulated data center (namespaces, Open vSwitch, security stack, Jobber
        servers, controller, sensors), run its traffic and attacks, measure, remove it all."""
        from jobber.emu import report
        from jobber.emu.ovs import EmulationError
        from jobber.emu.runner import run, unavailable
        from jobber.emu.topology_file import load_topology

        topo = load_topology(scenario)
        reason = unavailable()
        if reason is not None:
            raise EmulationError(reason)

        def say(text: str) -> None:
            print(f"· {text}", file=sys.stderr, flush=True)

        results = run(topo, say=say, keep=keep)
        print("\nTimeline (runner marks and each target server's decisions):")
        print(report.timeline(results))
        print()
        print(report.table(results))
        if figure is not None:
            print(f"figure: {report.figure(results, figure)}")
        if json:
            print(report.to_json(results))
        if not results.ok:
            raise typer.Exit(1)
