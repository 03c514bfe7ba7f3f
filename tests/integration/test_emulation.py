"""``jobber emulate`` end to end on this machine: the short topology on real namespaces, Open
vSwitch (userspace), an nftables security stack, real Jobber servers, sensors and controller.

Asserts the outcomes the scenario is built to show — honest pairs DIRECT, the newcomer INSPECT,
the attacker DENY after its attack on charlie and its other connection (with alpha) recalled by
the introducer — and that nothing is left behind: no namespace, link,
process or folder of the run, also when it is stopped half-way by SIGTERM. Without root or the
tools (``make emulate-deps``) it skips, naming the reason; as root in CI it runs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobber.emu.runner import run, unavailable
from jobber.emu.topology_file import load_topology

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


def leftovers(tag: str) -> list[str]:
    """Anything on the machine that carries the run's tag."""
    found = [f"namespace {n}" for n in (os.listdir("/run/netns") if Path("/run/netns").exists()
                                        else []) if n.startswith(f"jb-{tag}-")]
    found += [f"link {n}" for n in os.listdir("/sys/class/net") if tag in n]
    found += [f"folder {p}" for p in Path("/tmp").glob(f"jbemu-{tag}")]
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    found += [f"process {line.strip()}" for line in ps.splitlines()
              if f"jb-{tag}-" in line or f"jbemu-{tag}" in line]
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    found += [f"nft {t}" for t in tables.splitlines() if "jbstack" in t]
    return found


@pytest.mark.timeout(300)
def test_the_short_scenario_shows_trust_probation_and_isolation(tmp_path: Path) -> None:
    said: list[str] = []
    started = time.monotonic()
    results = run(load_topology("short"), say=said.append, keep=tmp_path / "run")
    took = time.monotonic() - started
    print("\n".join(said), f"\n{took:.0f} s")
    tag = re.search(r"\(tag ([0-9a-f]{4})\)", "\n".join(said))
    assert tag, said
    outcomes = results.outcomes
    assert outcomes["bravo→alpha"]["decision"] == "DIRECT", outcomes
    assert outcomes["alpha→charlie"]["decision"] == "DIRECT", outcomes
    assert outcomes["delta→alpha"]["decision"] == "INSPECT", outcomes
    assert outcomes["mallory→charlie"]["decision"] == "DENY", outcomes
    assert outcomes["mallory→charlie"]["status"] == "REVOKED"
    # the introducer (the provider) recalls mallory's other connection on the HIGH report
    assert outcomes["mallory→alpha"]["decision"] == "INSPECT", outcomes
    assert outcomes["mallory→alpha"]["status"] == "DEMOTED", outcomes
    recalled = [e["text"] for e in results.timeline if e.get("requester") == "mallory"
                and e.get("target") == "alpha" and e.get("status") == "DEMOTED"]
    assert any("recalled by" in t for t in recalled), recalled
    assert isinstance(results.figures["recall_mallory_alpha_s"], float)
    f = results.figures
    assert f["enforced_direct"] == "DIRECT" and f["enforced_inspect"] == "INSPECT", f
    assert f["first_bad_to_drop_s"] is not None and f["attacker_reaches_target_after"] is False
    for key in ("throughput_baseline_mbps", "throughput_direct_mbps", "throughput_inspect_mbps",
                "rtt_direct_ms", "setup_granted_ms", "setup_fresh_ms"):
        value = f[key]
        assert isinstance(value, float) and value > 0, (key, f)
    statuses = [e["status"] for e in results.timeline if e.get("requester") == "mallory"
                and e.get("target") == "charlie"]
    assert "TRUSTED" in statuses and statuses[-1] == "REVOKED", statuses
    assert results.ok and results.leftovers == []
    assert leftovers(tag[1]) == []
    assert took < 180


@pytest.mark.timeout(120)
def test_sigterm_half_way_removes_everything(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "jobber.cli.main", "emulate", "short"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    assert process.stderr is not None
    tag, said = None, []
    end = time.monotonic() + 60
    for line in process.stderr:  # bounded by the deadline below and the process's own end
        said.append(line)
        found = re.search(r"\(tag ([0-9a-f]{4})\)", line)
        if found:
            tag = found[1]
        if "round 1:" in line or time.monotonic() > end:
            break
    assert tag is not None, said
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    err = "".join(said) + err
    assert process.returncode == 2, err
    assert "interrupted by SIGTERM" in err, err
    assert leftovers(tag) == []
