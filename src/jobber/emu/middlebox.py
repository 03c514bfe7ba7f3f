"""The security stack: a transparent, stateful nftables firewall whose log feeds the sensors.

The middlebox namespace (``network.Network.add_middlebox``) joins its two veths with a Linux
bridge; bridged IPv4 goes through this namespace's ``inet`` hooks (``bridge-nf-call-iptables``,
per namespace), because this kernel has no bridge-family conntrack (``nf_conntrack_bridge``) and
a firewall without connection state is no firewall. ``ruleset`` writes table ``jbstack``:

* established and related packets pass; invalid ones drop; ICMP passes;
* a source that opens more than ``scan_rate`` new connections a second toward a tenant is
  logged with prefix ``jb-scan`` and dropped (a per-tenant dynamic set with a rate limit);
* new TCP connections to the allowed services pass; any other new connection is logged with
  prefix ``jb-drop`` and dropped; IPv6 (switched off in every namespace) drops silently.

Logging: the kernel's packet log (``log`` without a group) is off in namespaces other than the
first (``net.netfilter.nf_log_all_netns=0`` here), and turning it on would mix every namespace
on the machine into one ring. So each log rule sends to an NFLOG group, one per target tenant,
and ``ulogd`` (Debian ``ulogd2``) inside the namespace writes each group to its own file in the
LOG format the ``netfilter`` parser reads: each tenant's sensor sees only what its security
stack did for it. Everything here but ``start`` is pure text.
"""

from __future__ import annotations

import glob
from pathlib import Path

from jobber.emu.network import Network
from jobber.emu.ovs import EmulationError
from jobber.emu.topology import SERVICE_PORTS, Topology

TABLE = "jbstack"


def groups(topo: Topology) -> dict[str, int]:
    """Tenant → its NFLOG group (1, 2, …)."""
    return {t.name: i for i, t in enumerate(topo.tenants, start=1)}


def ruleset(topo: Topology) -> str:
    """The nftables ruleset (``nft -f`` input) of the security stack for ``topo``."""
    allowed = ", ".join(str(SERVICE_PORTS[s]) for s in sorted(topo.stack.allow))
    rate = topo.stack.scan_rate
    sets, scans, drops = [], [], []
    for tenant, group in groups(topo).items():
        prefix = topo.tenant(tenant).prefix
        sets.append(f"  set scan_{tenant} {{ type ipv4_addr; flags dynamic,timeout; "
                    f"timeout 60s; }}")
        scans.append(f"    ip daddr {prefix} ct state new add @scan_{tenant} {{ ip saddr limit "
                     f"rate over {rate}/second burst {rate} packets }} "
                     f'log prefix "jb-scan " group {group} drop')
        drops.append(f'    ip daddr {prefix} log prefix "jb-drop " group {group}')
    lines = [f"table inet {TABLE} {{", *sets,
             "  chain forward {",
             "    type filter hook forward priority filter; policy accept;",
             "    meta nfproto ipv6 drop",
             "    ct state established,related accept",
             "    ct state invalid drop",
             "    ip protocol icmp accept",
             *scans,
             *([f"    tcp dport {{ {allowed} }} ct state new accept"] if allowed else []),
             *drops,
             "    drop",
             "  }",
             "}"]
    return "\n".join(lines) + "\n"


def plugin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/*/ulogd/ulogd_inppkt_NFLOG.so"))
    if not found:
        raise EmulationError("ulogd's NFLOG plugin is missing: make emulate-deps installs ulogd2")
    return Path(found[0]).parent


def ulogd_config(topo: Topology, folder: Path, plugins: Path) -> str:
    """One stack per tenant: NFLOG group → LOG-format lines in ``folder/<tenant>.log``."""
    names = ["inppkt_NFLOG", "raw2packet_BASE", "filter_IFINDEX", "filter_IP2STR",
             "filter_PRINTPKT", "output_LOGEMU"]
    lines = ["[global]", f'logfile="{folder / "ulogd.log"}"', "loglevel=3"]
    lines += [f'plugin="{plugins / f"ulogd_{n}.so"}"' for n in names]
    sections = []
    for tenant, group in groups(topo).items():
        lines.append(f"stack=log{group}:NFLOG,base{group}:BASE,ifi{group}:IFINDEX,"
                     f"ip{group}:IP2STR,print{group}:PRINTPKT,emu{group}:LOGEMU")
        sections += ["", f"[log{group}]", f"group={group}", "", f"[emu{group}]",
                     f'file="{log_file(folder, tenant)}"', "sync=1"]
    return "\n".join(lines + sections) + "\n"


def log_file(folder: Path, tenant: str) -> Path:
    return folder / f"{tenant}.log"


def start(net: Network, topo: Topology, folder: Path) -> None:
    """Load the ruleset into the middlebox namespace and start ulogd there."""
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder / "jbstack.nft"
    rules.write_text(ruleset(topo))
    for tenant in groups(topo):
        log_file(folder, tenant).touch()
    ns = net.ns("mb")
    net.run("nft", "-f", str(rules), ns=ns)
    config = folder / "ulogd.conf"
    config.write_text(ulogd_config(topo, folder, plugin_dir()))
    process = net.spawn(["ulogd", "-c", str(config)], folder / "ulogd.out", ns=ns)
    if process.poll() is not None:
        raise EmulationError(f"ulogd exited at start; see {folder / 'ulogd.log'}")

