"""Writing an experiment's results: JSON, CSV, figures and one self-contained report.html.

Files written to the output directory:

* ``metrics.json`` — the scenario, the seeds, and per model per metric: ``mean``, ``ci_low``,
  ``ci_high`` (95% Student t over seeds) and ``values`` (one per seed), plus the per-epoch mean of
  every time series;
* ``metrics.csv`` — the same summaries, one row per (model, metric), one column per seed;
* ``series.csv`` — every time series per (model, seed, epoch);
* ``isolation.csv`` — every victim link's time to isolation per (model, seed);
* ``summary.md`` — the summary table in Markdown;
* ``*.png`` (``jobber.sim.figures``) and ``report.html`` with the figures embedded as data URIs.

In JSON and CSV a metric that does not apply is ``null`` / empty and one that never happened
(an attacker never isolated) is ``"inf"``. Invariants: the files depend only on the ``Results``
(no timestamps, no host names), so equal results give byte-identical files.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from jobber.sim.experiment import Results
from jobber.sim.stats import Summary, Value

TABLE = (
    ("attack_share_direct", "attacks DIRECT", "%"),
    ("attack_share_delivered", "attacks delivered", "%"),
    ("free_attacks_per_flip", "free attacks/flip", ""),
    ("isolation_link_median", "isolation (link, median)", "ep"),
    ("isolation_attacker_p95", "isolation (attacker, p95)", "ep"),
    ("honest_false_positives", "honest FP", "%"),
    ("honest_fast_path_steady", "honest fast path", "%"),
    ("honest_time_to_trust_median", "time to trust", "ep"),
    ("provider_share", "provider intros", "%"),
    ("messages_per_introduction", "msgs/intro", ""),
    ("cost_saved", "cost saved", "%"),
)
"""The summary table: (metric, column heading, unit)."""


def _json_value(v: Value) -> float | str | None:
    if v is None:
        return None
    return "inf" if math.isinf(v) else v


def _csv_value(v: Value) -> str:
    if v is None:
        return ""
    return "inf" if math.isinf(v) else repr(v)


def format_value(v: Value, unit: str) -> str:
    if v is None:
        return "–"
    if math.isinf(v):
        return "never"
    if unit == "%":
        return f"{100 * v:.1f}%"
    if unit == "ep":
        return f"{v:.1f}"
    return f"{v:.2f}"


def format_summary(s: Summary, unit: str) -> str:
    """``mean ± half-width`` of the 95% interval (just the mean when the width is zero)."""
    text = format_value(s.mean, unit)
    if s.mean is None or math.isinf(s.mean) or s.ci_high is None or s.ci_high == s.mean:
        return text
    half = s.ci_high - s.mean
    width = f"{100 * half:.1f}" if unit == "%" else f"{half:.2f}"
    return f"{text} ± {width}"


def table_rows(results: Results) -> list[list[str]]:
    """One row per model: the model's name, then the ``TABLE`` columns."""
    summary = results.summary()
    return [
        [model] + [format_summary(summary[model][metric], unit) for metric, _, unit in TABLE]
        for model in results.scenario.models
    ]


def table_headings() -> list[str]:
    return ["model"] + [heading for _, heading, _ in TABLE]


def markdown_table(results: Results) -> str:
    """The summary table in Markdown (for docs/evaluation.md)."""
    head = table_headings()
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    return "\n".join(lines)


def to_json(results: Results) -> dict[str, Any]:
    summary = results.summary()
    scenario = results.scenario
    return {
        "scenario": asdict(scenario),
        "seeds": list(scenario.seed_list),
        "models": {
            model: {
                name: {
                    "mean": _json_value(s.mean),
                    "ci_low": _json_value(s.ci_low),
                    "ci_high": _json_value(s.ci_high),
                    "values": [_json_value(v) for v in s.values],
                }
                for name, s in metrics.items()
            }
            for model, metrics in summary.items()
        },
        "series": {
            model: {
                name: [_json_value(v) for v in results.mean_series(model, name)]
                for name in results.series_names()
            }
            for model in scenario.models
        },
    }


def write_csv(results: Results, out: Path) -> None:
    seeds = results.scenario.seed_list
    with (out / "metrics.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["model", "metric", "mean", "ci_low", "ci_high"] + [f"seed_{s}" for s in seeds])
        for model, metrics in results.summary().items():
            for name, s in metrics.items():
                w.writerow([model, name, _csv_value(s.mean), _csv_value(s.ci_low),
                            _csv_value(s.ci_high)] + [_csv_value(v) for v in s.values])
    names = results.series_names()
    with (out / "series.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["model", "seed", "epoch", *names])
        for run in results.runs:
            for epoch in range(results.scenario.epochs):
                w.writerow([run.model, run.seed, epoch]
                           + [_csv_value(run.series[n][epoch]) for n in names])
    with (out / "isolation.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["model", "seed", "epochs_to_isolation"])
        for run in results.runs:
            for t in run.link_isolation:
                w.writerow([run.model, run.seed, _csv_value(t)])


def _html(results: Results, figures: dict[str, Path], command: str) -> str:
    scenario = results.scenario
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table_headings())
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in table_rows(results)
    )
    images = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode("ascii")}"><figcaption>'
        f"{html.escape(title)}</figcaption></figure>"
        for title, path in figures.items()
    )
    spec = html.escape(json.dumps(asdict(scenario), indent=2, default=str))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Jobber simulation: {html.escape(scenario.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
figure {{ display: inline-block; margin: 0.5em; }} img {{ max-width: 560px; }}
pre {{ background: #f6f6f6; padding: 1em; overflow: auto; font-size: 0.85em; }}
</style></head><body>
<h1>Jobber simulation: {html.escape(scenario.name)}</h1>
<p>{html.escape(scenario.description)}</p>
<p>{scenario.tenants} tenants, {scenario.epochs} epochs, seeds {list(scenario.seed_list)};
values are the mean over seeds ± the half-width of the 95% Student-t interval.</p>
<p>Command: <code>{html.escape(command)}</code></p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
{images}
<h2>Scenario</h2><pre>{spec}</pre>
</body></html>
"""


def write_report(results: Results, out: Path, command: str = "") -> Path:
    """Write every output file into ``out``; returns the path of report.html."""
    from jobber.sim.figures import draw_all

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(
        json.dumps(to_json(results), indent=2, default=str) + "\n", encoding="utf-8"
    )
    write_csv(results, out)
    (out / "summary.md").write_text(markdown_table(results) + "\n", encoding="utf-8")
    figures = draw_all(results, out)
    report = out / "report.html"
    report.write_text(_html(results, figures, command), encoding="utf-8")
    return report
