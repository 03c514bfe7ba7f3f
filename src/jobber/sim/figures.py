"""The experiment's figures as PNG files (matplotlib, Agg backend: no display needed).

* ``fast_path.png`` — share of honest inter-tenant traffic on the fast path, per epoch;
* ``attacks.png`` — attacks delivered (any path) per epoch;
* ``isolation_cdf.png`` — CDF of the time to isolate a victim link, pooled over seeds; a curve
  that stays below 1 is the share of links never isolated;
* ``provider.png`` — share of new connections the provider introduced, per epoch (models
  that make introductions only).

Every curve is the mean over seeds. Invariants: the backend is chosen before pyplot is
imported; every figure is closed after saving, so drawing many experiments does not leak.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after use(): the backend must be chosen first

from jobber.sim.experiment import Results
from jobber.sim.stats import Value


def _xy(series: list[Value]) -> tuple[list[int], list[float]]:
    points = [(i, v) for i, v in enumerate(series) if v is not None]
    return [i for i, _ in points], [v for _, v in points]


def _style(model: str) -> dict[str, Any]:
    if model == "jobber":
        return {"linewidth": 2.4, "color": "black"}
    if model.startswith("jobber-"):
        return {"linewidth": 1.2, "linestyle": "--"}
    return {"linewidth": 1.2}


def _series_figure(results: Results, name: str, title: str, ylabel: str, path: Path,
                   *, share: bool, only_introducing: bool = False) -> bool:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    drawn = False
    for model in results.scenario.models:
        xs, ys = _xy(results.mean_series(model, name))
        if not ys or (only_introducing and not any(ys)):
            continue
        ax.plot(xs, [100 * y for y in ys] if share else ys, label=model, **_style(model))
        drawn = True
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if share:
        ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return drawn


def _isolation_cdf(results: Results, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    horizon = results.scenario.epochs
    for model in results.scenario.models:
        times = [t for r in results.runs_of(model) for t in r.link_isolation]
        if not times:
            continue
        finite = sorted(t for t in times if not math.isinf(t))
        xs = [0.0, *finite, float(horizon)]
        ys = [0.0] + [100 * (i + 1) / len(times) for i in range(len(finite))]
        ys.append(ys[-1])
        ax.step(xs, ys, where="post", label=model, **_style(model))
    ax.set_title("Time to isolate a victim link (CDF over links and seeds)")
    ax.set_xlabel("epochs from the link's first attack to its first non-DIRECT admission")
    ax.set_ylabel("% of victim links isolated")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def draw_all(results: Results, out: Path) -> dict[str, Path]:
    """Draw every figure into ``out``; returns {title: path} of the figures drawn."""
    figures: dict[str, Path] = {}
    path = out / "fast_path.png"
    _series_figure(results, "honest_fast_path", "Honest inter-tenant traffic on the fast path",
                   "% DIRECT", path, share=True)
    figures["Honest traffic on the fast path"] = path
    path = out / "attacks.png"
    _series_figure(results, "attacks_delivered", "Attacks delivered (any path) per epoch",
                   "attacks per epoch", path, share=False)
    figures["Attacks delivered over time"] = path
    path = out / "isolation_cdf.png"
    _isolation_cdf(results, path)
    figures["Isolation-time CDF"] = path
    path = out / "provider.png"
    if _series_figure(results, "provider_share", "New connections introduced by the provider",
                      "% of new connections", path, share=True, only_introducing=True):
        figures["Reliance on the provider"] = path
    return figures
