"""``jobber controller``: the Jobber client as an OpenFlow controller app (os-ken)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    controller = typer.Typer(help="The Jobber client on the SDN controller (OpenFlow 1.3).",
                             no_args_is_help=True)
    app.add_typer(controller, name="controller")

    @controller.command("run")
    def controller_run(
        config: Annotated[Path, typer.Option("--config", help="controller.yaml")],
        log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
    ) -> None:
        """Run os-ken with the Jobber app until SIGTERM / Ctrl-C."""
        from jobber.enforce.openflow.config import load_controller_config
        from jobber.enforce.openflow.launcher import run

        settings = load_controller_config(config)
        logging.basicConfig(level=log_level.upper(),
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("os_ken").setLevel(logging.WARNING)
        run(settings)

    @controller.command("check")
    def controller_check(
        config: Annotated[Path, typer.Argument(help="controller.yaml")],
    ) -> None:
        """Validate a controller config and explain each error."""
        from jobber.enforce.openflow.config import load_controller_config

        s = load_controller_config(config)
        typer.echo(f"{config}: ok (listen {s.host}:{s.port}, {len(s.servers)} tenant servers, "
                   f"{len(s.tenancy.tenants)} tenants in the inventory, "
                   f"{sum(len(m) for m in s.middleboxes.values())} middlebox attachment(s))")
