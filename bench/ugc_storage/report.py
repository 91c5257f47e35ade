"""Markdown tables from the study's JSON reports (`--out`), for docs/research/ugc-storage.md:

    python -m bench.ugc_storage.report REPORT.json [MORE.json ...]

Reports are combined: loads of the same store and table over several files give the median
rows/s (and the range), latencies are the medians over every round of every file, sizes
come from the last file that has them. Combine reports of one scale only.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any, Final

from bench.ugc_storage.study import QUERIES, summarize

STORES: Final = ("postgresql", "cassandra")
LABELS: Final = {
    "rating_summary": "rating summary of a film",
    "bookmarks_page": "a user's bookmarks, first page",
    "reviews_page": "a film's reviews by helpfulness, first page",
    "summary_from_rows": "(summary from the film's rows, no summary table/counters)",
    "ping": "(floor: a trivial query through the same driver)",
}
LOAD_TABLES: Final = ("ratings", "reviews", "review_votes", "bookmarks")


def merge(paths: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {"load": {}, "loads": {}, "disk_bytes": {}, "rounds": []}
    for path in paths:
        r = json.loads(path.read_text())
        merged["disk_bytes"].update(r.get("disk_bytes") or {})
        merged["rounds"] += r.get("rounds", [])
        for store, tables in (r.get("load") or {}).items():
            for table, numbers in tables.items():
                merged["loads"].setdefault(store, {}).setdefault(table, []).append(numbers)
        for key in ("sizes", "scale", "seed", "write_rate", "machine", "mismatches"):
            if r.get(key):
                merged[key] = r[key]
    for store, tables in merged["loads"].items():
        merged["load"][store] = {
            table: {
                k: statistics.median(run[k] for run in runs)
                for k in runs[0]
                if all(k in run for run in runs)
            }
            for table, runs in tables.items()
        }
    merged["runs"] = {
        store: len(tables.get("ratings", [])) for store, tables in merged["loads"].items()
    }
    merged["summary"] = summarize(merged) if merged["rounds"] else {}
    return merged


def _spread(median: float, runs: list[dict[str, float]]) -> str:
    """The median, and the range when there were several runs."""
    if len(runs) < 2:
        return f"{median:,.0f}"
    values = [run["rows_per_s"] for run in runs]
    return f"{median:,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def ratio(a: float, b: float) -> str:
    return f"{b / a:.1f}×" if a > 0 else "-"


def tables(r: dict[str, Any]) -> str:
    out: list[str] = []
    stores = [s for s in STORES if s in r["load"]]
    if stores:
        runs = ", ".join(f"{s}: {r['runs'][s]}" for s in stores)
        out += [
            f"Median over load runs ({runs}):",
            "",
            "| table | " + " | ".join(f"{s} rows/s" for s in stores) + " | PG ÷ C* |",
            "|---|" + "---:|" * (len(stores) + 1),
        ]
        for t in LOAD_TABLES:
            cells = [r["load"][s].get(t, {}).get("rows_per_s", 0.0) for s in stores]
            rows = r["load"][stores[0]].get(t, {}).get("rows", 0)
            line = f"| {t} ({rows:,} rows) | " + " | ".join(
                _spread(c, r["loads"][s].get(t, [])) for c, s in zip(cells, stores, strict=True)
            )
            ratio_cell = ratio(cells[1], cells[0]) if len(cells) == 2 else ""
            out.append(line + f" | {ratio_cell} |")
        totals = [r["load"][s].get("total_with_settle", {}).get("seconds", 0.0) for s in stores]
        out.append(
            "| whole load incl. vacuum / flush + compaction, s | "
            + " | ".join(f"{t:,.0f}" for t in totals)
            + " | |"
        )
        out.append("")
    sized = [s for s in STORES if s in r["disk_bytes"]]
    if sized:
        out += ["| store | table: MiB | total MiB |", "|---|---|---:|"]
        for s in sized:
            d = r["disk_bytes"][s]
            parts = ", ".join(f"{t} {b / 2**20:,.0f}" for t, b in d.items())
            out.append(f"| {s} | {parts} | {sum(d.values()) / 2**20:,.0f} |")
        out.append("")
    measured = [s for s in STORES if s in r["summary"]]
    if measured:
        head = " | ".join(f"{s} p50 / p99 ms" for s in measured)
        out += [
            f"| read | mode | {head} | p50 C* ÷ PG |",
            "|---|---|" + "---:|" * (len(measured) + 1),
        ]
        for q in QUERIES:
            for mode in ("alone", "with_writes"):
                cells = [r["summary"][s][mode][q] for s in measured]
                text = " | ".join(f"{c['p50_ms']:.2f} / {c['p99_ms']:.1f}" for c in cells)
                rat = ratio(cells[0]["p50_ms"], cells[1]["p50_ms"]) if len(cells) == 2 else ""
                label = LABELS[q] if mode == "alone" else ""
                out.append(f"| {label} | {mode.replace('_', ' ')} | {text} | {rat} |")
        out.append("")
        out += [
            "| background writes | " + " | ".join(measured) + " |",
            "|---|" + "---:|" * len(measured),
        ]
        for k, unit in (("writes_per_s", "/s"), ("p50_ms", " ms p50"), ("p99_ms", " ms p99")):
            cells = [r["summary"][s]["writes"][k] for s in measured]
            out.append(f"| {k} | " + " | ".join(f"{c:,.1f}{unit}" for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def main() -> int:
    print(tables(merge([Path(p) for p in sys.argv[1:]])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
