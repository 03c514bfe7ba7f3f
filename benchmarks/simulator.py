"""How fast the simulator runs, and how it scales with the number of tenants.

Measures, in one run on one core:

* interactions simulated per second for every model on the default scenario (one seed), and the
  cost of one Jobber interaction against one inspect-all interaction (the simulator's own
  overhead: traffic, ground truth, metrics);
* time and peak traced memory (tracemalloc) per epoch for Jobber and for inspect-all at 100,
  1,000 and 10,000 tenants (fewer epochs for the large ones), and the ratio of the time per
  interaction at each size to the time at 100 tenants (1.0 means cost linear in interactions).

``--quick`` (under a minute) uses fewer epochs and stops at 1,000 tenants with one epoch at
10,000; ``--json`` prints one JSON object of the figures as the last line.

    python benchmarks/simulator.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from typing import Any

import yaml

from jobber.sim.runner import run_one
from jobber.sim.scenario import Scenario, builtin_dir
from jobber.sim.scenario_file import parse_scenario

MODELS = ("jobber", "inspect-all", "trust-all", "direct", "central", "eigentrust")


def scenario(tenants: int, epochs: int) -> Scenario:
    """The default scenario's mix at another size (shares scale, the sybil burst stays)."""
    data = yaml.safe_load((builtin_dir() / "default.yaml").read_text(encoding="utf-8"))
    data.update(tenants=tenants, epochs=epochs, seeds=1)
    return parse_scenario(data, f"default@{tenants}")


def throughput(epochs: int) -> dict[str, float]:
    """Interactions per second of every model on the default scenario."""
    s = scenario(100, epochs)
    out: dict[str, float] = {}
    for model in MODELS:
        started = time.perf_counter()
        metrics = run_one(s, 0, model)
        elapsed = time.perf_counter() - started
        out[model] = (metrics.scalars["interactions"] or 0.0) / elapsed
    return out


def scaling(model: str, tenants: int, epochs: int) -> dict[str, float]:
    """Seconds and peak MiB per epoch, and microseconds per interaction, at one size."""
    s = scenario(tenants, epochs)
    tracemalloc.start()
    started = time.perf_counter()
    metrics = run_one(s, 0, model)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    interactions = metrics.scalars["interactions"] or 1.0
    return {
        "tenants": tenants,
        "epochs": epochs,
        "interactions": interactions,
        "s_per_epoch": elapsed / epochs,
        "peak_mib": peak / 2**20,
        "us_per_interaction": 1e6 * elapsed / interactions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under a minute")
    parser.add_argument("--json", action="store_true", help="print a JSON object last")
    args = parser.parse_args()
    sizes = ((100, 20), (1000, 4), (10000, 1)) if args.quick else (
        (100, 100), (1000, 20), (10000, 3))
    figures: dict[str, Any] = {"quick": args.quick}

    rates = throughput(30 if args.quick else 100)
    figures["interactions_per_s"] = rates
    print("interactions simulated per second (default scenario, 100 tenants, one core):")
    for model, rate in rates.items():
        print(f"  {model:12s} {rate:10,.0f}/s")
    ratio = rates["inspect-all"] / rates["jobber"]
    figures["jobber_vs_inspect_all_cost_per_interaction"] = ratio
    print(f"  one Jobber interaction costs {ratio:.1f}× one inspect-all interaction "
          f"(inspect-all is the simulator's own overhead)")

    print("\nper epoch, by number of tenants (tracemalloc on: times include its overhead):")
    print(f"  {'model':12s} {'tenants':>7s} {'epochs':>6s} {'s/epoch':>9s} {'peak MiB':>9s} "
          f"{'µs/interaction':>15s} {'vs 100':>7s}")
    table: dict[str, list[dict[str, float]]] = {}
    for model in ("jobber", "inspect-all"):
        rows = table[model] = []
        for tenants, epochs in sizes:
            row = scaling(model, tenants, epochs)
            row["vs_100"] = row["us_per_interaction"] / (rows[0] if rows else row)[
                "us_per_interaction"]
            rows.append(row)
            print(f"  {model:12s} {tenants:7,d} {epochs:6d} {row['s_per_epoch']:9.3f} "
                  f"{row['peak_mib']:9.1f} {row['us_per_interaction']:15.1f} "
                  f"{row['vs_100']:7.2f}")
    figures["scaling"] = table
    for (j, i) in zip(table["jobber"], table["inspect-all"], strict=True):
        print(f"  at {int(j['tenants']):,} tenants Jobber costs "
              f"{j['us_per_interaction'] / i['us_per_interaction']:.1f}× inspect-all per "
              f"interaction and {j['peak_mib'] / i['peak_mib']:.1f}× its peak memory")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
