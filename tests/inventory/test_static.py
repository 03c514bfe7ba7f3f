"""The inventory: longest prefix wins, IPv4 and IPv6, run-time changes, and its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobber.errors import ConfigError
from jobber.inventory import Inventory
from jobber.types import TenantId

ACME, GLOBEX, INITECH = TenantId("acme"), TenantId("globex"), TenantId("initech")


def test_longest_prefix_wins() -> None:
    inventory = Inventory([("192.0.2.0/24", ACME), ("192.0.2.128/25", GLOBEX),
                           ("192.0.2.200/32", INITECH)])
    assert inventory.tenant_of("192.0.2.1") == ACME
    assert inventory.tenant_of("192.0.2.129") == GLOBEX
    assert inventory.tenant_of("192.0.2.200") == INITECH
    assert inventory.tenant_of("198.51.100.1") is None


def test_ipv6_and_ipv4_mapped_addresses() -> None:
    inventory = Inventory([("2001:db8::/32", ACME), ("2001:db8:a::/48", GLOBEX),
                           ("198.51.100.0/24", INITECH)])
    assert inventory.tenant_of("2001:db8:1::1") == ACME
    assert inventory.tenant_of("2001:DB8:A:0::10") == GLOBEX
    assert inventory.tenant_of("::ffff:198.51.100.7") == INITECH
    assert inventory.tenant_of("2001:db9::1") is None
    assert inventory.tenant_of("not an address") is None


def test_run_time_add_and_remove() -> None:
    inventory = Inventory([("192.0.2.0/24", ACME)])
    assert inventory.tenant_of("192.0.2.77") == ACME
    inventory.add("192.0.2.64/26", GLOBEX)
    assert inventory.tenant_of("192.0.2.77") == GLOBEX
    assert inventory.remove("192.0.2.64/26") == GLOBEX
    assert inventory.tenant_of("192.0.2.77") == ACME
    assert inventory.remove("192.0.2.0/24") == ACME
    assert inventory.tenant_of("192.0.2.77") is None
    assert inventory.remove("192.0.2.0/24") is None


def test_a_prefix_has_one_owner() -> None:
    inventory = Inventory([("192.0.2.0/24", ACME)])
    inventory.add("192.0.2.0/24", ACME)  # the same claim again is fine
    with pytest.raises(ConfigError, match="already belongs to tenant 'acme'"):
        inventory.add("192.0.2.0/24", GLOBEX)
    with pytest.raises(ConfigError, match="not an IPv4 or IPv6 prefix"):
        inventory.add("192.0.2.1/24", GLOBEX)  # host bits set


def test_load_from_yaml_and_back(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text("tenants:\n  acme: [192.0.2.0/25, '2001:db8:a::/48']\n"
                    "  globex: [192.0.2.128/25]\n")
    inventory = Inventory.load(path)
    assert inventory.tenant_of("192.0.2.130") == GLOBEX
    assert inventory.tenant_of("2001:db8:a::1") == ACME
    again = Inventory.from_mapping(inventory.to_mapping())
    assert again.assignments() == inventory.assignments()


@pytest.mark.parametrize(("text", "message"), [
    ("tenant: {}", "tenant: "),
    ("tenants: {acme: 192.0.2.0/24}", "tenants.acme"),
    ("tenants: {acme: [192.0.2.0/33]}", "tenant 'acme': '192.0.2.0/33' is not"),
    ("tenants: {acme: [192.0.2.0/24], globex: [192.0.2.0/24]}", "tenant 'globex'"),
    ("tenants: [", "not YAML"),
])
def test_bad_files_say_what_and_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"^inventory {path}") as caught:
        Inventory.load(path)
    assert message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Inventory.load(tmp_path / "absent.yaml")
