"""``jobber keys``, ``config``, ``server``, ``provider`` and ``cluster``: the Jobber server CLI."""

from __future__ import annotations

import signal
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from jobber.errors import ConfigError


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="Ed25519 keys for Jobber servers.", no_args_is_help=True)
    config = typer.Typer(help="Config files.", no_args_is_help=True)
    server = typer.Typer(help="A tenant's Jobber server.", no_args_is_help=True)
    provider = typer.Typer(help="The provider's Jobber server.", no_args_is_help=True)
    cluster = typer.Typer(help="A provider and tenant servers on loopback.",
                          no_args_is_help=True)
    app.add_typer(keys, name="keys")
    app.add_typer(config, name="config")
    app.add_typer(server, name="server")
    app.add_typer(provider, name="provider")
    app.add_typer(cluster, name="cluster")

    @keys.command("generate")
    def keys_generate(
        path: Annotated[Path, typer.Argument(help="private key file (public key: PATH.pub)")],
        force: Annotated[bool, typer.Option(help="overwrite an existing key")] = False,
    ) -> None:
        """Make an Ed25519 key pair."""
        from jobber.server.keys import KeyPair

        if path.exists() and not force:
            raise ConfigError(f"{path} exists; pass --force to overwrite it")
        key = KeyPair.generate()
        key.save(path)
        typer.echo(f"wrote {path} (private, mode 0600) and {path}.pub; public key "
                   f"{key.public_b64}")

    @config.command("check")
    def config_check(path: Annotated[Path, typer.Argument(help="the config file")]) -> None:
        """Validate a config file and explain each error."""
        from jobber.config import load_config

        settings = load_config(path)
        role = "provider" if settings.is_provider else f"tenant {settings.me!r}"
        typer.echo(f"{path}: ok ({role}, listen {settings.host}:{settings.port}, "
                   f"store {settings.store_url.split('://')[0]})")

    def run(paths: list[Path], want_provider: bool) -> None:
        from jobber.config import load_config
        from jobber.server.serve import serve

        everything = []
        for path in paths:
            settings = load_config(path)
            if settings.is_provider and not want_provider and len(paths) == 1:
                raise ConfigError(f"{path}: a provider config; run it with: jobber provider run")
            if want_provider and not settings.is_provider:
                raise ConfigError(f"{path}: not a provider config (role: provider)")
            if not settings.key_file.exists():
                raise ConfigError(f"{path}: key file {settings.key_file} does not exist; make "
                                  f"one with: jobber keys generate {settings.key_file}")
            everything.append(settings)
        serve(everything)

    @server.command("run")
    def server_run(
        config_files: Annotated[list[Path], typer.Option(
            "--config", help="tenant.yaml (repeat to run several servers in one process)")],
    ) -> None:
        """Run a tenant's Jobber server (or several, one per --config)."""
        run(config_files, want_provider=False)

    @provider.command("run")
    def provider_run(
        config_file: Annotated[Path, typer.Option("--config", help="provider.yaml")],
    ) -> None:
        """Run the provider's Jobber server."""
        run([config_file], want_provider=True)

    @cluster.command("up")
    def cluster_up(
        tenants: Annotated[int, typer.Option(min=1, max=200, help="tenant servers")] = 3,
        folder: Annotated[Path | None, typer.Option(
            "--dir", help="keys, configs and stores (default: a new temporary folder)")] = None,
        epoch_seconds: Annotated[float, typer.Option(help="seconds per epoch")] = 60.0,
    ) -> None:
        """Start a provider and N tenant servers on loopback; Ctrl-C stops them all."""
        from jobber.server.cluster import Cluster

        where = folder or Path(tempfile.mkdtemp(prefix="jb-cluster-"))
        names = [f"t{i}" for i in range(1, tenants + 1)]
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        with Cluster(where, names, epoch_seconds=epoch_seconds) as running:
            description = running.write_description()
            for tenant, member in running.members.items():
                typer.echo(f"{tenant:>10}  {member.url}")
            typer.echo(f"tokens and configs: {description}  (Ctrl-C stops every server)")
            stop.wait()
        typer.echo("stopped")
