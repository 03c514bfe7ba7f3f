"""``jobber <capability> <verb>``: parses, calls library code, maps errors to exit codes.

A ``JobberError`` becomes one line on stderr and exit code 2; nothing else is caught here, so a
bug still shows its traceback. Each capability lives in its own module and registers its commands
on ``app`` in ``_register``.
"""

from __future__ import annotations

import sys

import typer

from jobber.errors import JobberError

app = typer.Typer(
    name="jobber",
    help="Automatic, behaviour-based trust between the tenants of a cloud.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from jobber.cli import controller, sensor, server, sim
    from jobber.cli import emulate as emulate_cli

    sim.register(app)
    server.register(app)
    sensor.register(app)
    controller.register(app)
    emulate_cli.register(app)


def main() -> None:
    _register()
    try:
        app()
    except JobberError as exc:
        print(f"jobber: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
