"""``jobber sensor …``: replay a log through a parser and the rules; list the formats.

Thin by design: it opens the file, builds a ``Sensor`` from the library's parts, and prints what
comes out. ``replay`` prints each event and the verdicts it completed, then a count of the
lines read, ignored and unparsed (with the most common reasons). With ``--json`` every line of
output is one JSON object: an event (the fields of ``jobber.sensors.event.Event``), a verdict
(``{"verdict": …, "rule": …}``), and last ``{"summary": …}``.

``run`` follows the sources of an agent config and pushes their events to the tenant's Jobber
server (``jobber.sensors.agent``); ``--once`` reads the files to their end, pushes, and exits.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from jobber.sensors.event import Event, SensorError, dumps
from jobber.sensors.parsers import known_formats, make_parser
from jobber.sensors.rules import RuleEngine, Verdict
from jobber.sensors.sensor import Sensor, Tally
from jobber.types import TenantId

_MAX_LINE = 1 << 20


def register(app: typer.Typer) -> None:
    """Add the ``sensor`` sub-command to ``jobber``."""
    sensor = typer.Typer(help="Sensors: logs in, events and verdicts out.", no_args_is_help=True)
    app.add_typer(sensor, name="sensor")

    @sensor.command("replay")
    def replay(
        file: Annotated[Path, typer.Argument(help="A log file in one of the formats.")],
        format: Annotated[str, typer.Option("--format", "-f", help="The log's format "
                                            "(see `jobber sensor formats`).")],
        rules: Annotated[Path | None, typer.Option(
            help="A rules YAML file (default: the packaged default rules).")] = None,
        inventory: Annotated[Path | None, typer.Option(
            help="An inventory YAML file: which tenant owns which addresses.")] = None,
        json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
        reporter: Annotated[str, typer.Option(help="The tenant reporting (in each event).")]
        = "local",
        observed: Annotated[float | None, typer.Option(
            help="POSIX time the file is taken to be read at (default: now); it decides the "
                 "year of classic syslog dates.")] = None,
    ) -> None:
        """Read FILE through a parser and the rules; print events, verdicts, and a tally."""
        from jobber.inventory import Inventory
        from jobber.sensors.ruleset import default_rules, load_rules

        parser = make_parser(format)
        ruleset = default_rules() if rules is None else load_rules(rules)
        owners = None if inventory is None else Inventory.load(inventory)
        engine = RuleEngine(ruleset, owners)
        driver = Sensor(parser, engine, TenantId(reporter), origin=str(file))
        try:
            handle = open(file, "rb")  # noqa: SIM115 (closed below; errors translated first)
        except OSError as exc:
            raise SensorError(f"cannot read {file}: {exc.strerror}") from exc
        with handle:
            for number, line in enumerate(handle, start=1):
                when = time.time() if observed is None else observed
                event, verdicts = driver.feed(line[:_MAX_LINE], when, offset=number)
                if event is not None:
                    _print_event(event, verdicts, json)
        _print_summary(driver.tally, json)

    @sensor.command("run")
    def run(
        config: Annotated[Path, typer.Option("--config", help="The sensor agent's YAML file.")],
        once: Annotated[bool, typer.Option(help="Read files to the end, push, exit.")] = False,
    ) -> None:
        """Follow the configured sources and feed the tenant's Jobber server."""
        import asyncio
        import signal

        from jobber.sensors.agent import Agent, load_agent_config

        agent = Agent(load_agent_config(config))

        async def main() -> int:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            return await agent.run(once=once, stop=stop)

        pushed = asyncio.run(main())
        print(f"pushed {pushed} events")

    @sensor.command("formats")
    def formats() -> None:
        """List the formats a sensor can read."""
        for name in known_formats():
            print(name)


def _print_event(event: Event, verdicts: list[Verdict], as_json: bool) -> None:
    if as_json:
        print(event.to_json())
        for verdict in verdicts:
            print(dumps(verdict.to_dict()))
        return
    src = "-" if event.src is None else _endpoint(event.src.address, event.src.port)
    dst = "-" if event.dst is None else _endpoint(event.dst.address, event.dst.port)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event.time))
    details = " ".join(f"{key}={value}" for key, value in event.attributes.items())
    print(f"{stamp} {event.kind.value:<12} {event.severity.name:<4} {src} -> {dst} {details}")
    for verdict in verdicts:
        name = "good" if verdict.severity.name == "POS" else verdict.severity.name
        tenant = verdict.tenant or "no known tenant"
        print(f"  verdict {name} by rule {verdict.rule}: {verdict.subject or '-'} ({tenant}), "
              f"{verdict.count} event(s)")


def _print_summary(tally: Tally, as_json: bool) -> None:
    if as_json:
        print(dumps({"summary": tally.to_dict()}))
        return
    print(f"{tally.lines} lines: {tally.events} events, {tally.ignored} ignored, "
          f"{tally.unparsed} unparsed, {tally.verdicts} verdicts")
    for reason, count in tally.reasons.most_common(5):
        print(f"  unparsed x{count}: {reason}  e.g. {tally.examples.get(reason, '')!r}")


def _endpoint(address: str, port: int | None) -> str:
    text = f"[{address}]" if ":" in address else address
    return text if port is None else f"{text}:{port}"
