"""The controller's config file (``controller.yaml``): pydantic at the edge, frozen settings out.

Example::

    listen: 127.0.0.1:6653            # never port 0: os-ken reads 0 as "6653 and 6633"
    cluster: /tmp/jb-cluster/cluster.json   # URLs and client tokens, as `jobber cluster up`
                                      # writes them; or give provider: and tenants: yourself
    provider: http://127.0.0.1:8700
    tenants:
      t1: {url: http://127.0.0.1:8701, client_token: "…"}
    inventory:                        # tenant → prefixes, addresses and MACs it owns
      t1: [10.97.1.0/24, "02:00:00:00:01:01"]
      t2: [10.97.2.0/24]
    middleboxes:                      # the security stack's two ports, per switch
      - {dpid: 1, in_port: 7, out_port: 8}          # for every tenant on switch 1
      - {dpid: "0x2", in_port: 5, out_port: 6, tenant: t1}
    timeouts: {negotiation: 2, decision_idle: 60, deny: 5, pending: 3, host_idle: 300}

Unknown keys are refused and every error names the file and the key. A config object holds no
runtime state: ``load_controller_config`` returns ``ControllerSettings`` that the launcher builds
the negotiator, the pipeline and the app from.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jobber.client.negotiator import Access
from jobber.config import explain
from jobber.enforce.openflow.hosts import Tenancy
from jobber.enforce.openflow.layout import Middlebox, Settings
from jobber.errors import ConfigError
from jobber.types import PROVIDER, TenantId


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Server(_Strict):
    url: str
    client_token: str


class _Middlebox(_Strict):
    dpid: int | str
    in_port: int = Field(ge=1, lt=0xFFFFFF00, description="traffic toward the tenant enters")
    out_port: int = Field(ge=1, lt=0xFFFFFF00, description="… and comes back here")
    tenant: str | None = Field(None, description="whose security stack (default: everyone's)")

    @field_validator("dpid")
    @classmethod
    def _dpid(cls, value: int | str) -> int:
        try:
            number = int(value, 0) if isinstance(value, str) else value
        except ValueError:
            raise ValueError("a datapath id: a number, decimal or 0x-hex") from None
        if not 0 <= number < 1 << 64:
            raise ValueError("a datapath id has 64 bits")
        return number


class _Timeouts(_Strict):
    negotiation: float = Field(2.0, gt=0, le=60)
    decision_idle: int = Field(60, ge=1, le=65535)
    deny: int = Field(5, ge=1, le=3600)
    pending: int = Field(3, ge=1, le=60)
    host_idle: int = Field(300, ge=1, le=65535)
    quarantine: int = Field(5, ge=1, le=3600)


class ControllerFile(_Strict):
    listen: str = "127.0.0.1:6653"
    cluster: str | None = None
    provider: str | None = None
    tenants: dict[str, _Server] = Field(default_factory=dict)
    inventory: dict[str, list[str]]
    middleboxes: list[_Middlebox] = Field(default_factory=list)
    timeouts: _Timeouts = Field(default_factory=lambda: _Timeouts.model_validate({}))
    packet_in_rate: int = Field(1000, ge=0, le=1_000_000, description="per switch; 0: no meter")
    parked_per_pair: int = Field(16, ge=1, le=1024)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("must be host:port with a port from 1 to 65535 (os-ken reads port "
                             "0 as 6653 and 6633)")
        return value

    @field_validator("inventory")
    @classmethod
    def _inventory(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for tenant, items in value.items():
            for item in items:
                if item.count(":") == 5:
                    continue
                try:
                    ipaddress.IPv4Network(item, strict=False)
                except ValueError:
                    raise ValueError(f"tenant {tenant!r}: {item!r} is neither an IPv4 prefix "
                                     "or address nor a MAC") from None
        return value


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    host: str
    port: int
    provider_url: str
    servers: dict[TenantId, Access]
    tenancy: Tenancy
    middleboxes: dict[int, dict[TenantId | None, Middlebox]]
    pipeline: Settings
    negotiation_timeout: float
    source: Path


def load_controller_config(path: str | Path) -> ControllerSettings:
    source = Path(path)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of keys to values")
    try:
        model = ControllerFile(**raw)
    except ValidationError as exc:
        raise ConfigError(explain(source, exc)) from None
    return _settings(source, model)


def _settings(source: Path, model: ControllerFile) -> ControllerSettings:
    servers = {TenantId(t): Access(s.url, s.client_token) for t, s in model.tenants.items()}
    provider = model.provider
    if model.cluster:
        described = _cluster(source, source.parent / model.cluster)
        for tenant, entry in described.items():
            if tenant == PROVIDER:
                provider = provider or entry["url"]
            elif entry.get("client_token") and TenantId(tenant) not in servers:
                servers[TenantId(tenant)] = Access(entry["url"], entry["client_token"])
    if not provider:
        raise ConfigError(f"{source}: provider: give the provider's URL (or a cluster: file)")
    unknown = sorted(set(model.inventory) - set(servers))
    if unknown:
        raise ConfigError(f"{source}: inventory: no Jobber server for tenant(s) "
                          f"{', '.join(unknown)} (add them under tenants:, or to the cluster)")
    boxes: dict[int, dict[TenantId | None, Middlebox]] = {}
    for i, box in enumerate(model.middleboxes):
        if box.tenant is not None and box.tenant not in model.inventory:
            raise ConfigError(f"{source}: middleboxes.{i}.tenant: {box.tenant!r} is not in "
                              "the inventory")
        if box.in_port == box.out_port:
            raise ConfigError(f"{source}: middleboxes.{i}: in_port and out_port must differ")
        owner = TenantId(box.tenant) if box.tenant else None
        assert isinstance(box.dpid, int)
        boxes.setdefault(box.dpid, {})[owner] = Middlebox(box.in_port, box.out_port)
    host, _, port = model.listen.rpartition(":")
    t = model.timeouts
    return ControllerSettings(
        host=host.strip("[]"), port=int(port), provider_url=provider, servers=servers,
        tenancy=Tenancy.from_lists(model.inventory), middleboxes=boxes,
        pipeline=Settings(decision_idle=t.decision_idle, deny_seconds=t.deny,
                          pending_seconds=t.pending, host_idle=t.host_idle,
                          quarantine_seconds=t.quarantine,
                          parked_per_pair=model.parked_per_pair,
                          packet_in_rate=model.packet_in_rate),
        negotiation_timeout=t.negotiation, source=source)


def _cluster(source: Path, path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: cluster: cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "url" in v
                                             for v in data.values()):
        raise ConfigError(f"{source}: cluster: {path} is not a cluster.json (jobber cluster up)")
    return data
