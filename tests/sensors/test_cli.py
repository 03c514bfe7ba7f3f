"""``jobber sensor replay`` and ``jobber sensor formats``, through the real command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from jobber.cli.main import _register, app
from jobber.sensors.event import Event, Kind

OBSERVED = "1795824000"
_register()
runner = CliRunner()


def write_log(tmp_path: Path) -> Path:
    log = tmp_path / "auth.log"
    lines = [f"Nov 27 08:14:0{i} bastion sshd[41{i}]: Failed password for root from "
             f"198.51.100.7 port 5202{i} ssh2" for i in range(5)]
    lines += ["Nov 27 08:15:00 bastion sshd[420]: Accepted publickey for deploy from 192.0.2.10 "
              "port 50100 ssh2: ED25519 SHA256:x",
              "Nov 27 08:15:01 bastion sshd[420]: pam_unix(sshd:session): session opened",
              "garbage", ""]
    log.write_text("\n".join(lines))
    return log


def test_replay_json_prints_events_verdicts_and_a_summary(tmp_path: Path) -> None:
    log = write_log(tmp_path)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("tenants:\n  globex: [198.51.100.0/24]\n")
    result = runner.invoke(app, ["sensor", "replay", str(log), "--format", "sshd", "--json",
                                 "--inventory", str(inventory), "--observed", OBSERVED])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    events = [Event.from_dict(r) for r in records if "kind" in r]
    verdicts = [r for r in records if "verdict" in r]
    assert [e.kind for e in events] == [Kind.AUTH_FAILURE] * 5 + [Kind.AUTH_SUCCESS]
    assert [(v["rule"], v["verdict"], v["tenant"]) for v in verdicts] == [
        ("ssh-brute-force", "MED", "globex"), ("ssh-login", "good", None)]
    assert records[-1]["summary"]["unparsed"] == 1
    assert records[-1]["summary"]["lines"] == 8


def test_replay_text_with_custom_rules(tmp_path: Path) -> None:
    log = write_log(tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: any-failure\n    match: {kind: auth.failure}\n"
                     "    verdict: HIGH\n    cooldown: 3600\n")
    result = runner.invoke(app, ["sensor", "replay", str(log), "-f", "sshd", "--rules",
                                 str(rules), "--observed", OBSERVED])
    assert result.exit_code == 0, result.output
    assert result.output.count("verdict HIGH by rule any-failure") == 1
    assert "8 lines: 6 events, 1 ignored, 1 unparsed, 1 verdicts" in result.output


def test_errors_are_one_line_and_exit_code_two(tmp_path: Path) -> None:
    from jobber.cli.main import main

    for argv, message in [
        (["sensor", "replay", str(tmp_path / "absent.log"), "-f", "sshd"], "cannot read"),
        (["sensor", "replay", str(write_log(tmp_path)), "-f", "sshdd"], "unknown sensor format"),
    ]:
        result = runner.invoke(app, argv)
        assert result.exit_code != 0
        assert message in str(result.exception)
    assert callable(main)


def test_formats_lists_every_registered_parser() -> None:
    result = runner.invoke(app, ["sensor", "formats"])
    assert result.exit_code == 0
    assert result.output.split() == ["sshd", "netfilter", "suricata", "zeek-conn",
                                     "zeek-notice", "vpc-flow", "app-report"]
