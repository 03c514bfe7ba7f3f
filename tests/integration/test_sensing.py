"""End to end: an SSH brute force in a log file, replayed into a running tenant server by the
sensor agent, makes that server send MED feedback about the attacking tenant on their live
connection."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from jobber.server.cluster import Cluster
from jobber.types import TenantId

from .conftest import admin, connect, connection

T = TenantId
TOKEN = "ssh-sensor-token-for-tests-only"


def brute_force(path: Path, now: float) -> None:
    """Six failed root logins from 203.0.113.7 (tenant t1's address) in the last minute."""
    lines = []
    for i in range(6):
        stamp = datetime.fromtimestamp(now - 60 + 10 * i, UTC).isoformat()
        lines.append(f"{stamp} web-1 sshd[{4100 + i}]: Failed password for root from "
                     f"203.0.113.7 port {50000 + i} ssh2")
    path.write_text("\n".join(lines) + "\n")


def test_brute_force_in_a_log_becomes_med_feedback(tmp_path: Path, cluster_factory: Any) -> None:
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(
        {"tenants": {"t1": ["203.0.113.0/24"], "t2": ["198.51.100.0/24"]}}))
    cluster: Cluster = cluster_factory(
        ["t1", "t2"], processes=1,
        extra={"t2": {"sensors": {"inventory": str(tmp_path / "inventory.yaml"),
                                  "tokens": {"ssh": TOKEN}}}})
    t2 = cluster.members[T("t2")]
    conn = connect(cluster, "t1", "t2")
    now = time.time()
    brute_force(tmp_path / "auth.log", now)
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump({
        "server": t2.url, "token": TOKEN, "reporter": "t2",
        "state_dir": str(tmp_path / "state"),
        "sources": [{"file": str(tmp_path / "auth.log"), "format": "sshd"}]}))
    done = subprocess.run([sys.executable, "-m", "jobber.cli.main", "sensor", "run",
                           "--config", str(tmp_path / "agent.yaml"), "--once"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pushed 6 events" in done.stdout

    # The flow on the connection ends; t2's server turns what its sensors saw into feedback.
    response = httpx.post(f"{t2.url}/v1/local/interactions",
                          headers={"authorization": f"Bearer {t2.client_token}"},
                          json={"connection": conn, "interaction": "flow-1",
                                "started": now - 120, "ended": now + 1, "packets": 40,
                                "bytes": 6000}, timeout=10)
    assert response.json() == {"feedback": "MED"}
    assert connection(t2, conn)["status"] in ("DEMOTED", "REVOKED")  # a newcomer: revoked
    deadline = time.monotonic() + 5
    sent: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not sent:
        sent = [f for f in admin(cluster.provider, "/v1/admin/feedback")
                if f["reporter"] == "t2" and f.get("subject") == "t1"]
        time.sleep(0.05)
    assert sent and sent[0]["severity"] == "MED" and sent[0]["connection"] == conn
    # A sensor without its token is turned away.
    refused = httpx.post(f"{t2.url}/v1/sensors/events", content=b"{}", timeout=5)
    assert refused.status_code == 401
