"""A local cluster: a provider and N tenant Jobber servers on loopback, as real processes.

``Cluster`` writes everything a deployment needs into one folder (keys, tokens, config files,
SQLite stores), starts each server as its own ``jobber server run`` / ``jobber provider run``
process, waits until each answers, registers every tenant's key and URL with the provider, and
stops them all (SIGTERM, then SIGKILL after a grace period), also when starting fails. Tests,
benchmarks and demos use it; ``jobber cluster up`` is its command line.

Ports are picked free on 127.0.0.1 before the servers start. Nothing listens anywhere else.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from jobber.errors import JobberError
from jobber.server.keys import KeyPair
from jobber.types import PROVIDER, TenantId


class ClusterError(JobberError):
    """The local cluster could not be started."""


_handed_out: set[int] = set()


def free_port() -> int:
    """A free port on 127.0.0.1, never one this process already handed out."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


@dataclass(slots=True)
class Member:
    tenant: TenantId
    url: str
    config: Path
    admin_token: str
    client_token: str | None
    public_key: str
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None


@dataclass(slots=True)
class Cluster:
    """A provider and tenants on loopback; a context manager."""

    folder: Path
    tenants: list[str]
    epoch_seconds: float = 60.0
    timeout: float = 2.0
    policy: dict[str, Any] = field(default_factory=dict)
    store_urls: dict[str, str] = field(default_factory=dict)  # tenant → store URL (else SQLite)
    processes: int = 0  # tenant servers share this many processes (0: one process each)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # tenant → more config keys
    members: dict[TenantId, Member] = field(default_factory=dict)
    groups: list[list[TenantId]] = field(default_factory=list)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def provider(self) -> Member:
        return self.members[PROVIDER]

    def prepare(self) -> None:
        """Write keys, tokens and config files (kept across restarts: the folder is the state)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        provider_port = free_port()
        provider_url = f"http://127.0.0.1:{provider_port}"
        self.members[PROVIDER] = self._write(PROVIDER, provider_port, provider_url, None)
        for name in self.tenants:
            self.members[TenantId(name)] = self._write(TenantId(name), free_port(), None,
                                                       provider_url)

    def _write(self, tenant: TenantId, port: int, url: str | None,
               provider_url: str | None) -> Member:
        key_file = self.folder / f"{tenant}.key"
        key = KeyPair.load(key_file) if key_file.exists() else KeyPair.generate()
        if not key_file.exists():
            key.save(key_file)
        url = url or f"http://127.0.0.1:{port}"
        admin, client = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        config: dict[str, Any] = {
            "key": key_file.name,
            "listen": f"127.0.0.1:{port}",
            "url": url,
            "admin_token": admin,
            "epoch_seconds": self.epoch_seconds,
            "timeout": self.timeout,
            "policy": dict(self.policy),
        }
        if tenant in self.store_urls:
            config["store"] = self.store_urls[tenant]
        config.update(self.extra.get(str(tenant), {}))
        if tenant == PROVIDER:
            config["role"] = "provider"
        else:
            config.update(tenant=str(tenant), provider=provider_url, client_token=client)
        path = self.folder / f"{tenant}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        os.chmod(path, 0o600)  # it holds tokens
        return Member(tenant, url, path, admin, client if tenant != PROVIDER else None,
                      key.public_b64)

    def start(self) -> None:
        if not self.members:
            self.prepare()
        tenants = [t for t in self.members if t != PROVIDER]
        n = self.processes or len(tenants)
        self.groups = [[PROVIDER]] + [g for g in (tenants[i::n] for i in range(n)) if g]
        try:
            for group in self.groups:
                self.launch_group(group)
            for group in self.groups:
                self._await_group(group)
            self.register_all()
        except BaseException:
            self.stop()
            raise

    def _await_group(self, group: list[TenantId], attempts: int = 3) -> None:
        """Wait for a group's servers; a tenant group that died at start (most often a port
        another process took between our picking it and the server binding it) is given fresh
        ports and started again, a few times."""
        for attempt in range(attempts):
            try:
                for tenant in group:
                    self.wait_ready(self.members[tenant])
                return
            except ClusterError:
                process = self.members[group[0]].process
                if group == [PROVIDER] or attempt == attempts - 1 or process is None or \
                        process.poll() is None:
                    raise
                for tenant in group:
                    self._move(self.members[tenant], free_port())
                self.launch_group(group)

    def _move(self, member: Member, port: int) -> None:
        config = yaml.safe_load(member.config.read_text())
        config["listen"] = f"127.0.0.1:{port}"
        config["url"] = member.url = f"http://127.0.0.1:{port}"
        member.config.write_text(yaml.safe_dump(config, sort_keys=False))

    def launch_group(self, group: list[TenantId]) -> None:
        """Start the servers of ``group`` in one process."""
        members = [self.members[t] for t in group]
        verb = "provider" if group == [PROVIDER] else "server"
        argv = [sys.executable, "-m", "jobber.cli.main", verb, "run"]
        for member in members:
            argv += ["--config", str(member.config)]
        log_path = self.folder / f"{group[0]}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        for member in members:
            member.process, member.log = process, log_path

    def group_of(self, tenant: str) -> list[TenantId]:
        return next(g for g in self.groups if TenantId(tenant) in g)

    def wait_ready(self, member: Member, deadline: float = 30.0) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if member.process is not None and member.process.poll() is not None:
                raise ClusterError(f"{member.tenant} exited at start; see {member.log}")
            try:
                response = httpx.get(f"{member.url}/v1/health", timeout=0.5)
                if response.status_code == 200 and response.json().get("tenant") == member.tenant:
                    return  # this tenant's server, not another that holds the port
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.05)
        raise ClusterError(f"{member.tenant} did not answer within {deadline:g} s; see "
                           f"{member.log}")

    def register_all(self) -> None:
        provider = self.provider
        for member in self.members.values():
            if member.tenant == PROVIDER:
                continue
            response = httpx.post(
                f"{provider.url}/v1/admin/tenants",
                json={"tenant": member.tenant, "public_key": member.public_key,
                      "url": member.url},
                headers={"authorization": f"Bearer {provider.admin_token}"}, timeout=5.0)
            if response.status_code != 201:
                raise ClusterError(f"registering {member.tenant}: {response.status_code} "
                                   f"{response.text}")

    def kill(self, tenant: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process serving ``tenant`` (and whoever shares it) and wait for it."""
        group = self.group_of(tenant)
        process = self.members[group[0]].process
        if process is not None:
            process.send_signal(sig)
            process.wait(10)
        for t in group:
            self.members[t].process = None

    def restart(self, tenant: str) -> None:
        """Stop (SIGTERM) and start again the process serving ``tenant``."""
        group = self.group_of(tenant)
        if self.members[group[0]].process is not None:
            self.kill(tenant, signal.SIGTERM)
        self.launch_group(group)
        for t in group:
            self.wait_ready(self.members[t])

    def stop(self) -> None:
        processes = {id(m.process): m.process for m in self.members.values()
                     if m.process is not None}
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for member in self.members.values():
            member.process = None

    def describe(self) -> dict[str, Any]:
        """What a client needs: URLs and tokens (written to cluster.json, mode 0600)."""
        return {str(t): {"url": m.url, "admin_token": m.admin_token,
                         "client_token": m.client_token, "config": str(m.config)}
                for t, m in self.members.items()}

    def write_description(self) -> Path:
        path = self.folder / "cluster.json"
        path.write_text(json.dumps(self.describe(), indent=2))
        os.chmod(path, 0o600)
        return path
