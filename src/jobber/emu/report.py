"""What one emulation measured, as a table, a timeline, one JSON object and a figure.

``Results`` is filled by the runner: ``figures`` (flat name → number, text or ``None``),
``rounds``, ``outcomes`` (per traffic pair: expected and final decision), ``timeline`` (runner
marks and the servers' decisions, wall time) and ``leftovers`` (what ``close`` could not remove).
The functions here only format it; ``figure`` draws the timeline with matplotlib's Agg backend
(imported lazily: the ``sim`` extra).

Invariants: ``ok`` is true only when every outcome is what its role expects and nothing was left
behind; ``to_json`` is plain JSON (no NaN), timeline times relative to the start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Figure = float | int | str | bool | None


@dataclass
class Results:
    topology: str
    started: float
    ended: float = 0.0
    figures: dict[str, Figure] = field(default_factory=dict)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and not self.leftovers and all(
            o["decision"] == o["expected"] for o in self.outcomes.values())

    def events(self) -> list[dict[str, Any]]:
        return sorted(self.timeline, key=lambda e: float(e["at"]))


def _num(value: Figure, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.{digits}f}"


def table(results: Results) -> str:
    f = results.figures
    rows = [
        ("path", "throughput Mbit/s", "RTT median ms", "vs no-Jobber"),
        ("no Jobber (plain flows)", _num(f.get("throughput_baseline_mbps")),
         _num(f.get("rtt_baseline_ms"), 3), "1.00"),
        (f"DIRECT ({f.get('enforced_direct')})", _num(f.get("throughput_direct_mbps")),
         _num(f.get("rtt_direct_ms"), 3), _num(f.get("direct_vs_baseline"), 2)),
        (f"INSPECT ({f.get('enforced_inspect')})", _num(f.get("throughput_inspect_mbps")),
         _num(f.get("rtt_inspect_ms"), 3), _ratio(f, "throughput_inspect_mbps",
                                                  "throughput_baseline_mbps")),
    ]
    lines = _grid(rows)
    lines += ["", f"INSPECT / DIRECT throughput: {_num(f.get('inspect_vs_direct'), 2)}   "
              f"(target DIRECT ≥ 0.95 × no-Jobber: {_verdict(f.get('direct_vs_baseline'))}; "
              f"per repeat {f.get('direct_vs_baseline_runs')}; Jobber processes ≤ "
              f"{_num(f.get('background_during_runs_cores'), 2)} cores during the runs)",
              f"first packet, granted decision: {_num(f.get('setup_granted_ms'), 2)} ms;  "
              f"fresh introduction: {_num(f.get('setup_fresh_ms'), 2)} ms",
              "attack: first bad packet → attacker's traffic dropped at the switch: "
              f"{_num(f.get('first_bad_to_drop_s'), 2)} s",
              "        ssh brute force → demoted: "
              f"{_num(f.get('ssh_brute_force_to_demoted_s'), 2)} s;  port scan → revoked: "
              f"{_num(f.get('port_scan_to_revoked_s'), 2)} s;  scan ports open/refused/"
              f"silently dropped: {f.get('scan_open')}/{f.get('scan_refused')}/"
              f"{f.get('scan_silent')}",
              "        recalled by the introducer: " + (", ".join(
                  f"{k[7:-2].replace('_', '→')} after {_num(v, 2)} s" for k, v in f.items()
                  if k.startswith("recall_")) or "none"),
              f"        honest DIRECT pair during the attack: "
              f"{_num(f.get('honest_during_attack_mbps'))} Mbit/s (capped at "
              f"{_num(f.get('honest_cap_mbps'), 0)})", ""]
    out = [("pair", "role", "expected", "final", "status")]
    out += [(p, o["role"], o["expected"], str(o["decision"]), str(o["status"]))
            for p, o in results.outcomes.items()]
    lines += _grid(out)
    lines.append("")
    lines.append("left behind: " + (", ".join(results.leftovers) or "nothing"))
    return "\n".join(lines)


def _ratio(f: dict[str, Figure], a: str, b: str) -> str:
    x, y = f.get(a), f.get(b)
    return _num(x / y, 2) if isinstance(x, float) and isinstance(y, float) and y else "-"


def _verdict(ratio: Figure) -> str:
    if not isinstance(ratio, float):
        return "not measured"
    return "met" if ratio >= 0.95 else "NOT met"


def _grid(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*rows[0]), "  ".join("-" * w for w in widths)]
    return lines + [fmt.format(*r) for r in rows[1:]]


def timeline(results: Results) -> str:
    lines = []
    for e in results.events():
        lines.append(f"{float(e['at']) - results.started:7.2f} s  {e['source']:<16} {e['text']}")
    return "\n".join(lines)


def to_json(results: Results) -> str:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean({
        "topology": results.topology, "ok": results.ok,
        "seconds": round(results.ended - results.started, 2),
        "figures": results.figures, "outcomes": results.outcomes, "rounds": results.rounds,
        "timeline": [{**e, "at": round(float(e["at"]) - results.started, 3)}
                     for e in results.events()],
        "leftovers": results.leftovers}), sort_keys=False)


def figure(results: Results, path: Path) -> Path:
    """The decisions about each pair over time, with the attack's moments marked (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    level = {"DIRECT": 0, "INSPECT": 1, "DENY": 2}
    pairs: dict[str, list[tuple[float, int]]] = {}
    for e in results.events():
        if e["source"].startswith("server") and e.get("decision") in level:
            key = f"{e['requester']}→{e['target']}"
            pairs.setdefault(key, []).append((float(e["at"]) - results.started,
                                              level[e["decision"]]))
    end = results.ended - results.started
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for i, (pair, points) in enumerate(sorted(pairs.items())):
        xs = [t for t, _ in points] + [end]
        ys = [v for _, v in points] + [points[-1][1]]
        ax.step(xs, [y + 0.04 * (i - len(pairs) / 2) for y in ys], where="post", label=pair,
                linewidth=2)
    for e in results.events():
        if e["source"] == "runner" and e.get("kind") in ("attack", "deny", "recall"):
            t = float(e["at"]) - results.started
            color = {"attack": "red", "deny": "black", "recall": "purple"}[e["kind"]]
            ax.axvline(t, color=color, linestyle=":", linewidth=1)
            ax.text(t, 0.3 if e["kind"] == "recall" else 2.25,  # apart from "DENY flows"
                    "DENY flows" if e["kind"] == "deny" else str(e.get("label", "")),
                    rotation=90, fontsize=7, va="bottom")
    ax.set_yticks([0, 1, 2], ["DIRECT", "INSPECT", "DENY"])
    ax.set_ylim(-0.4, 3.2)
    ax.set_xlabel("seconds since the emulation started")
    ax.set_title(f"jobber emulate {results.topology}: decisions per tenant pair")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
