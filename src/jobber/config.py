"""Config files at the edge: pydantic models of what an operator writes, converted to core values.

Two kinds of file, told apart by ``role``:

* ``role: tenant`` (the default) — one tenant's Jobber server: its id, key file, the provider's
  URL, where to listen, its store, its tokens, and its own policy overrides.
* ``role: provider`` — the provider's Jobber server.

Unknown keys are refused, paths are resolved against the file's folder, and every error names
the file, the key and what to do (``jobber config check FILE`` prints them all). A config object
never holds runtime state: ``load_config`` returns frozen settings that the server builds from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jobber.errors import ConfigError, PolicyError
from jobber.trust.policy import DEFAULT_POLICY, Policy
from jobber.types import PROVIDER, TenantId

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Server(_Strict):
    key: str = Field(description="Ed25519 private key file (jobber keys generate)")
    listen: str = Field("127.0.0.1:0", description="host:port to listen on")
    url: str | None = Field(None, description="URL peers reach this server at")
    store: str | None = Field(None, description="store URL; default: SQLite beside the config")
    admin_token: str | None = None
    admin_token_file: str | None = None
    epoch_seconds: float = Field(60.0, gt=0, le=86400)
    timeout: float = Field(2.0, gt=0, le=60, description="seconds to wait for a peer")
    policy: dict[str, Any] = Field(default_factory=dict)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be host:port, e.g. 127.0.0.1:8701")
        return value


class SensorsSection(_Strict):
    """What the server does with the events its sensors push (``/v1/sensors/events``)."""

    rules: str | None = Field(None, description="rules YAML (default: the packaged rules)")
    inventory: str | None = Field(None, description="address → tenant YAML")
    tokens: dict[str, str] = Field(default_factory=dict, description="sensor name → token")
    tokens_file: str | None = Field(None, description="YAML mapping of sensor name → token")


class TenantFile(_Server):
    role: Literal["tenant"] = "tenant"
    tenant: str
    provider: str = Field(description="the provider's Jobber server URL")
    client_token: str | None = None
    client_token_file: str | None = None
    sensors: SensorsSection | None = None

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        if not _ID.match(value) or value == PROVIDER:
            raise ValueError("must be lower-case letters, digits, '.', '_' or '-' (not "
                             "'provider'), at most 63 characters")
        return value


class ProviderFile(_Server):
    role: Literal["provider"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """What a Jobber server is built from (tenant or provider)."""

    me: TenantId
    key_file: Path
    host: str
    port: int
    url: str | None
    store_url: str
    admin_token: str | None
    client_token: str | None
    provider_url: str | None
    epoch_seconds: float
    timeout: float
    policy: Policy
    source: Path
    sensor_rules: Path | None = None
    sensor_inventory: Path | None = None
    sensor_tokens: tuple[tuple[str, str], ...] = ()  # (sensor name, token)

    @property
    def is_provider(self) -> bool:
        return self.me == PROVIDER


def load_config(path: str | Path) -> ServerSettings:
    """Read and check a server config file; raise ``ConfigError`` naming every problem."""
    source = Path(path)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of keys to values")
    model: TenantFile | ProviderFile
    try:
        model = ProviderFile(**raw) if raw.get("role") == "provider" else TenantFile(**raw)
    except ValidationError as exc:
        raise ConfigError(explain(source, exc)) from None
    return _settings(source, model)


def explain(source: str | Path, exc: ValidationError) -> str:
    """One line per problem in a config-like file: ``FILE: key.path: what is wrong``."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{source}: {where}: {msg}")
    return "\n".join(lines)


def _settings(source: Path, model: TenantFile | ProviderFile) -> ServerSettings:
    base = source.parent
    me = TenantId(model.tenant) if isinstance(model, TenantFile) else PROVIDER
    try:
        policy = DEFAULT_POLICY.with_overrides(model.policy)
    except PolicyError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    host, _, port = model.listen.rpartition(":")
    store = model.store or f"sqlite:///{(base / f'{me}.db').resolve()}"
    client_token = None
    rules = inventory = None
    tokens: dict[str, str] = {}
    if isinstance(model, TenantFile):
        client_token = _secret(source, base, "client_token", model.client_token,
                               model.client_token_file)
        if model.sensors is not None:
            section = model.sensors
            rules = (base / section.rules).resolve() if section.rules else None
            inventory = (base / section.inventory).resolve() if section.inventory else None
            tokens = dict(section.tokens)
            if section.tokens_file:
                tokens.update(_token_map(source, base / section.tokens_file))
    return ServerSettings(
        me=me,
        key_file=(base / model.key).resolve(),
        host=host,
        port=int(port),
        url=model.url,
        store_url=store,
        admin_token=_secret(source, base, "admin_token", model.admin_token,
                            model.admin_token_file),
        client_token=client_token,
        provider_url=model.provider if isinstance(model, TenantFile) else None,
        epoch_seconds=model.epoch_seconds,
        timeout=model.timeout,
        policy=policy,
        source=source,
        sensor_rules=rules,
        sensor_inventory=inventory,
        sensor_tokens=tuple(sorted(tokens.items())),
    )


def _token_map(source: Path, path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: sensors.tokens_file: cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()):
        raise ConfigError(f"{source}: sensors.tokens_file: {path} must map sensor names to "
                          "non-empty tokens")
    return data


def _secret(source: Path, base: Path, name: str, inline: str | None,
            file: str | None) -> str | None:
    if inline and file:
        raise ConfigError(f"{source}: give {name} or {name}_file, not both")
    if file:
        try:
            value = (base / file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{source}: {name}_file: cannot read {file}: {exc.strerror}"
            ) from None
        if not value:
            raise ConfigError(f"{source}: {name}_file: {file} is empty")
        return value
    return inline
