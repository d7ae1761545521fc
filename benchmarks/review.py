"""Benchmark: forecast + Monte Carlo + review blocks (+ rendering) for many reps.

    python benchmarks/review.py --reps 500 --proposals 200

Prints the time of each stage and, side by side, a naive baseline: a per-proposal Python loop of
Bernoulli draws (the spreadsheet-macro way) for the same Monte Carlo, and the ratio.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from salesxl import contract  # noqa: E402
from salesxl.consolidate import forecast_reps, forecast_team  # noqa: E402
from salesxl.forecast import plan_forecast  # noqa: E402
from salesxl.review import build_review  # noqa: E402
from salesxl.tables import TableData  # noqa: E402

AS_OF = dt.date(2026, 11, 20)


def make_tables(reps: int, proposals: int, seed: int = 1) -> dict[str, TableData]:
    rng = random.Random(seed)

    def df(rows, table):
        cols = [c.key for c in contract.TABLES[table].input_columns]
        return TableData(table, {c: [r.get(c) for r in rows] for c in cols}, list(range(2, len(rows) + 2)))

    pipe, obj, plan, rep_rows = [], [], [], []
    for r in range(reps):
        name = f"Rep {r:04d}"
        obj.append({"rep": name, "period_start": dt.date(2026, 11, 1), "period_end": dt.date(2026, 11, 30),
                    "revenue_objective": 200_000.0})
        for a in ("Call", "Visit", "Proposal"):
            plan.append({"rep": name, "period_start": dt.date(2026, 11, 1), "period_end": dt.date(2026, 11, 30),
                         "action": a, "planned": 20})
        for k in range(proposals):
            pipe.append({"ref": f"{r}-{k}", "rep": name, "company": f"C{k}", "amount": float(rng.randint(1, 50) * 500),
                         "probability": rng.choice((0.1, 0.25, 0.5, 0.7, 0.9)),
                         "decision_date": dt.date(2026, 11, rng.randint(1, 30)), "status": "Open"})
        for k in range(30):
            pipe.append({"ref": f"{r}-c{k}", "rep": name, "company": "Z", "amount": 1000.0, "probability": 0.5,
                         "decision_date": dt.date(2026, 10, 15), "status": rng.choice(("Won", "Lost")),
                         "loss_reason": "Price"})
        for k in range(40):
            rep_rows.append({"date": dt.date(2026, 11, 1 + k % 19), "rep": name, "company": "C",
                             "action": ("Call", "Visit", "Proposal")[k % 3],
                             "result": ("Proposal", "No need", "Follow up")[k % 3],
                             "reason": "Price" if k % 3 == 1 else None})
    return {"pipeline": df(pipe, "pipeline"), "objectives": df(obj, "objectives"),
            "planning": df(plan, "planning"), "reporting": df(rep_rows, "reporting"), "reps": df([], "reps")}


def naive_monte_carlo(tables, simulations: int, reps_limit: int) -> float:
    """The baseline: one Python-level Bernoulli draw per proposal per simulation (a few reps only)."""
    rng = random.Random(0)
    pipe = tables["pipeline"]
    t = time.perf_counter()
    by_rep: dict[str, list[tuple[float, float]]] = {}
    for rep, status, amount, p in zip(pipe["rep"], pipe["status"], pipe["amount"], pipe["probability"]):
        if status == "Open":
            by_rep.setdefault(rep, []).append((amount, p))
    for name, g in list(by_rep.items())[:reps_limit]:
        amounts, probs = [a for a, _ in g], [p for _, p in g]
        totals = []
        for _ in range(simulations):
            totals.append(sum(a for a, p in zip(amounts, probs) if rng.random() < p))
        np.percentile(totals, [10, 50, 90])
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--proposals", type=int, default=200)
    ap.add_argument("--simulations", type=int, default=10_000)
    ap.add_argument("--render", action="store_true", help="also render every review with XlsxWriter")
    a = ap.parse_args()
    tables = make_tables(a.reps, a.proposals)
    t0 = time.perf_counter()
    plan = plan_forecast(tables, None, AS_OF, simulations=a.simulations)      # the stages, in this process
    fc = forecast_team(plan, forecast_reps(plan))
    t1 = time.perf_counter()
    taken: set[str] = set()
    reviews = [build_review(r, fc.as_of, "en", taken=taken, simulations=fc.simulations) for r in fc.reps]
    t2 = time.perf_counter()
    print(f"reps={a.reps} (forecast: {len(fc.reps)}, reviews: {len(reviews)}) open proposals/rep={a.proposals} "
          f"draws={a.simulations}")
    print(f"forecast + Monte Carlo : {t1 - t0:7.2f} s  ({(t1 - t0) / a.reps * 1000:.1f} ms/rep)")
    print(f"review blocks          : {t2 - t1:7.2f} s")
    if a.render:
        import xlsxwriter

        from salesxl.io.review_xlsx import render_review
        with tempfile.TemporaryDirectory() as d:
            t3 = time.perf_counter()
            wb = xlsxwriter.Workbook(str(Path(d) / "reviews.xlsx"))
            for r in reviews:
                render_review(wb, r)
            wb.close()
            t4 = time.perf_counter()
        print(f"render (XlsxWriter)    : {t4 - t3:7.2f} s")
    k = 3
    base = naive_monte_carlo(tables, a.simulations, k) / k * a.reps
    print(f"naive per-draw loop    : {base:7.2f} s (extrapolated from {k} reps)")
    print(f"ratio naive / salesxl forecast: {base / (t1 - t0):.1f}x")


if __name__ == "__main__":
    main()
