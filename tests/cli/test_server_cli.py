"""The server's command line: keys, config check, and a local cluster that Ctrl-C stops."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

JOBBER = [sys.executable, "-m", "jobber.cli.main"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*JOBBER, *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd)


def test_keys_generate_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    key = tmp_path / "acme.key"
    done = run("keys", "generate", str(key))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "acme.key.pub").read_text().strip() in done.stdout
    again = run("keys", "generate", str(key))
    assert again.returncode == 2 and "--force" in again.stderr
    assert "Traceback" not in again.stderr


def test_config_check_accepts_a_good_file(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(
        "tenant: acme\nkey: acme.key\nprovider: http://127.0.0.1:8700\n"
        "listen: 127.0.0.1:8701\npolicy: {theta_trust: 0.85}\n")
    done = run("config", "check", str(tmp_path / "acme.yaml"))
    assert done.returncode == 0, done.stderr
    assert "tenant 'acme'" in done.stdout and "store sqlite" in done.stdout


def test_config_check_explains_each_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenant: Acme!\nkey: k\nprovider: http://p\nlisten: nowhere\n"
                   "colour: blue\n")
    done = run("config", "check", str(bad))
    assert done.returncode == 2
    for expected in ("tenant: Value error", "listen: Value error", "colour: unknown key"):
        assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    policy = tmp_path / "policy.yaml"
    policy.write_text("tenant: acme\nkey: k\nprovider: http://p\npolicy: {theta_drop: 0.9}\n")
    done = run("config", "check", str(policy))
    assert done.returncode == 2 and "theta_drop=0.9 must not exceed" in done.stderr
    assert run("config", "check", str(tmp_path / "missing.yaml")).returncode == 2


def test_server_run_without_a_key_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text("tenant: acme\nkey: acme.key\nprovider: http://p\n")
    done = run("server", "run", "--config", str(tmp_path / "acme.yaml"))
    assert done.returncode == 2 and "jobber keys generate" in done.stderr


def test_cluster_up_serves_until_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen([*JOBBER, "cluster", "up", "--tenants", "2", "--dir",
                                str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline and not any("Ctrl-C" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        urls = [line.split()[1] for line in lines if line.strip().startswith(("t1", "t2",
                                                                              "provider"))]
        assert len(urls) == 3, lines
        for url in urls:
            assert httpx.get(f"{url}/v1/health", timeout=5).status_code == 200
        assert (tmp_path / "cluster.json").exists()
        process.send_signal(signal.SIGINT)
        out, _err = process.communicate(timeout=30)
        assert process.returncode == 0 and "stopped" in out
        for url in urls:
            try:
                httpx.get(f"{url}/v1/health", timeout=1)
            except httpx.HTTPError:
                continue
            raise AssertionError(f"{url} still answers after Ctrl-C")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
