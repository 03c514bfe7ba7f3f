"""Address → tenant, from prefixes each tenant owns; longest prefix wins; changeable at run time.

The file form (YAML)::

    tenants:
      acme:   [192.0.2.0/25, "2001:db8:a::/48"]
      globex: [192.0.2.128/25, 198.51.100.0/24]

Invariants:

* one prefix belongs to at most one tenant (a second claim is a ``ConfigError``); nested
  prefixes may belong to different tenants, and the longest prefix that contains an address
  names its tenant;
* IPv4 and IPv6 are separate tables; an IPv4-mapped IPv6 address is looked up as IPv4;
* an address no prefix contains has no tenant (``None``): events about it are kept, but give no
  feedback;
* ``add`` and ``remove`` take effect for the next look-up (the look-up cache is dropped).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from jobber.errors import ConfigError
from jobber.types import TenantId

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_CACHE_MAX = 65536


class _InventoryFile(BaseModel):
    """The edge model of an inventory file; converted at once by ``Inventory.from_mapping``."""

    model_config = ConfigDict(extra="forbid")
    tenants: dict[str, list[str]]


class Inventory:
    """Which tenant owns an address. Not thread-safe: one owner updates and reads it."""

    def __init__(self, assignments: Iterable[tuple[str | Network, TenantId]] = ()) -> None:
        # version → prefix length → (network address >> host bits) → tenant
        self._tables: dict[int, dict[int, dict[int, TenantId]]] = {4: {}, 6: {}}
        self._lengths: dict[int, list[int]] = {4: [], 6: []}
        self._cache: dict[str, TenantId | None] = {}
        for prefix, tenant in assignments:
            self.add(prefix, tenant)

    @classmethod
    def from_mapping(cls, data: Any, where: str = "inventory") -> Inventory:
        """Build from the parsed YAML document; errors name the tenant and the prefix."""
        try:
            model = _InventoryFile.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
            key = ".".join(str(part) for part in first["loc"]) or "(top)"
            message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
            raise ConfigError(f"{where}: {key}: {message} (expected 'tenants:' mapping each "
                              "tenant to a list of prefixes)") from None
        inventory = cls()
        for tenant, prefixes in model.tenants.items():
            for prefix in prefixes:
                try:
                    inventory.add(prefix, TenantId(tenant))
                except ConfigError as exc:
                    raise ConfigError(f"{where}: tenant {tenant!r}: {exc}") from None
        return inventory

    @classmethod
    def load(cls, path: str | Path) -> Inventory:
        """Read an inventory YAML file."""
        try:
            text = Path(path).read_text(encoding="utf-8")
            data = yaml.safe_load(text)
        except OSError as exc:
            raise ConfigError(f"inventory {path}: cannot read: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"inventory {path}: not YAML: {exc}") from exc
        return cls.from_mapping(data, where=f"inventory {path}")

    def add(self, prefix: str | Network, tenant: TenantId) -> None:
        """Give ``prefix`` to ``tenant``; re-adding the same pair is a no-op."""
        network = _network(prefix)
        table = self._tables[network.version].setdefault(network.prefixlen, {})
        key = int(network.network_address) >> (network.max_prefixlen - network.prefixlen)
        owner = table.get(key)
        if owner is not None and owner != tenant:
            raise ConfigError(f"prefix {network} already belongs to tenant {owner!r}; remove it "
                              "first")
        table[key] = tenant
        lengths = self._lengths[network.version]
        if network.prefixlen not in lengths:
            lengths.append(network.prefixlen)
            lengths.sort(reverse=True)
        self._cache.clear()

    def remove(self, prefix: str | Network) -> TenantId | None:
        """Take ``prefix`` away from its tenant; returns that tenant (``None`` if it had none)."""
        network = _network(prefix)
        table = self._tables[network.version].get(network.prefixlen, {})
        key = int(network.network_address) >> (network.max_prefixlen - network.prefixlen)
        owner = table.pop(key, None)
        if not table and network.prefixlen in self._lengths[network.version]:
            self._lengths[network.version].remove(network.prefixlen)
            self._tables[network.version].pop(network.prefixlen, None)
        self._cache.clear()
        return owner

    def tenant_of(self, address: str) -> TenantId | None:
        """The tenant whose longest prefix contains ``address``; ``None`` for none or garbage."""
        if address in self._cache:
            return self._cache[address]
        tenant = self._lookup(address)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[address] = tenant
        return tenant

    def _lookup(self, address: str) -> TenantId | None:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return None
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        number, bits = int(parsed), parsed.max_prefixlen
        tables = self._tables[parsed.version]
        for length in self._lengths[parsed.version]:
            tenant = tables[length].get(number >> (bits - length))
            if tenant is not None:
                return tenant
        return None

    def assignments(self) -> dict[str, TenantId]:
        """Every prefix and its tenant, as text (for display and for tests)."""
        result: dict[str, TenantId] = {}
        for version, tables in self._tables.items():
            bits = 32 if version == 4 else 128
            for length, table in tables.items():
                for key, tenant in table.items():
                    network = ipaddress.ip_network((key << (bits - length), length))
                    result[str(network)] = tenant
        return result

    def to_mapping(self) -> Mapping[str, dict[str, list[str]]]:
        """The YAML-ready form that ``from_mapping`` reads back."""
        tenants: dict[str, list[str]] = {}
        for prefix, tenant in sorted(self.assignments().items()):
            tenants.setdefault(tenant, []).append(prefix)
        return {"tenants": tenants}


def _network(prefix: str | Network) -> Network:
    if isinstance(prefix, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return prefix
    try:
        return ipaddress.ip_network(str(prefix).strip())
    except ValueError as exc:
        raise ConfigError(f"{prefix!r} is not an IPv4 or IPv6 prefix ({exc})") from None
