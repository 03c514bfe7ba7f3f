"""``jobber emulate`` without root: one line naming the fix, exit code 2 (no root needed)."""

from __future__ import annotations

import os
import sys

import pytest

from jobber.cli import main as cli
from jobber.emu import runner


def test_without_root_it_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sys, "argv", ["jobber", "emulate", "short"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "needs root" in lines[0] and "make emulate-deps" in lines[0]


def test_without_open_vswitch_it_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(runner, "missing_tools", lambda: ["ovs-vswitchd", "ovsdb-server"])
    reason = runner.unavailable()
    assert reason is not None and "ovs-vswitchd" in reason and "make emulate-deps" in reason


def test_a_bad_topology_is_refused_before_anything_runs(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["jobber", "emulate", "nonesuch"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    assert "no such topology" in capsys.readouterr().err
