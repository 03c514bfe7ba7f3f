"""Same seed, same result — for any number of worker processes — and the CLI around it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from jobber.cli.main import app
from jobber.cli.sim import register
from jobber.sim.experiment import run_scenario
from jobber.sim.report import markdown_table, write_report
from jobber.sim.runner import run_one
from jobber.sim.scenario import Behaviour, Kind, Sensors
from tests.sim.simkit import tiny

SCENARIO = tiny(
    Behaviour(Kind.CAMOUFLAGE, 2, f=0.5), Behaviour(Kind.WHITEWASHER, 1),
    Behaviour(Kind.SYBIL, 2, at=4),
    tenants=14, epochs=12, models=("jobber", "direct", "eigentrust"),
    sensors=Sensors(false_positive_rate=0.05, false_negative_rate=0.1),
)


def test_same_seed_same_metrics_other_seed_other_metrics() -> None:
    for model in SCENARIO.models:
        assert run_one(SCENARIO, 7, model) == run_one(SCENARIO, 7, model)
    assert run_one(SCENARIO, 7, "jobber") != run_one(SCENARIO, 8, "jobber")


def test_one_job_and_two_jobs_give_identical_results() -> None:
    ticks: list[str] = []
    one = run_scenario(SCENARIO, jobs=1, progress=lambda r: ticks.append(r.model))
    two = run_scenario(SCENARIO, jobs=2)
    assert one == two
    assert len(ticks) == len(SCENARIO.models) * SCENARIO.seeds
    assert [(r.model, r.seed) for r in one.runs] == [
        (m, s) for m in SCENARIO.models for s in SCENARIO.seed_list]


def test_every_model_sees_the_same_traffic() -> None:
    counts = {run_one(SCENARIO, 3, m).scalars["interactions"] for m in SCENARIO.models}
    attacks = {run_one(SCENARIO, 3, m).scalars["malicious_interactions"] for m in SCENARIO.models}
    assert len(counts) == 1 and len(attacks) == 1


def test_report_files_are_complete_and_reproducible(tmp_path: Path) -> None:
    results = run_scenario(SCENARIO, jobs=1)
    report = write_report(results, tmp_path / "a")
    write_report(results, tmp_path / "b")
    names = {"metrics.json", "metrics.csv", "series.csv", "isolation.csv", "report.html",
             "summary.md", "fast_path.png", "attacks.png", "isolation_cdf.png", "provider.png"}
    assert names <= {p.name for p in (tmp_path / "a").iterdir()}
    for name in ("metrics.json", "metrics.csv", "series.csv", "isolation.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    data = json.loads((tmp_path / "a" / "metrics.json").read_text())
    jobber = data["models"]["jobber"]["attack_share_direct"]
    assert set(jobber) == {"mean", "ci_low", "ci_high", "values"}
    assert len(jobber["values"]) == SCENARIO.seeds
    assert jobber["ci_low"] <= jobber["mean"] <= jobber["ci_high"]
    assert len(data["series"]["direct"]["honest_fast_path"]) == SCENARIO.epochs
    html = report.read_text()
    assert html.count("data:image/png;base64,") >= 3 and "<table>" in html
    assert "| jobber |" in markdown_table(results)


def test_cli_simulate_writes_the_report(tmp_path: Path) -> None:
    register(app)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "simulate", "camouflage", "--out", str(out), "--seeds", "2", "--epochs", "4",
        "--jobs", "1", "--models", "jobber,inspect-all"])
    assert result.exit_code == 0, result.output
    assert "report: " in result.output and "jobber" in result.output
    data = json.loads((out / "metrics.json").read_text())
    assert data["seeds"] == [0, 1] and set(data["models"]) == {"jobber", "inspect-all"}


def test_a_bad_scenario_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntenants: 10\nepochs: 3\nmodels: [jobber]\ncolour: blue\n")
    done = subprocess.run([sys.executable, "-m", "jobber.cli.main", "simulate", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"jobber: scenario {bad}: colour: unknown key"]
