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
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from salesxl import contract  # noqa: E402
from salesxl.forecast import compute  # noqa: E402
from salesxl.review import build_reviews  # noqa: E402

AS_OF = dt.date(2026, 11, 20)


def make_frames(reps: int, proposals: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    rng = random.Random(seed)

    def df(rows, table):
        cols = [c.key for c in contract.TABLES[table].input_columns]
        return pd.DataFrame([[i + 2] + [r.get(c) for c in cols] for i, r in enumerate(rows)],
                            columns=["_row"] + cols, dtype=object)

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


def naive_monte_carlo(frames, simulations: int, reps_limit: int) -> float:
    """The baseline: one Python-level Bernoulli draw per proposal per simulation (a few reps only)."""
    rng = random.Random(0)
    pipe = frames["pipeline"]
    t = time.perf_counter()
    for name, g in list(pipe[pipe["status"] == "Open"].groupby("rep"))[:reps_limit]:
        amounts, probs = g["amount"].tolist(), g["probability"].tolist()
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
    frames = make_frames(a.reps, a.proposals)
    t0 = time.perf_counter()
    fc = compute(frames, None, AS_OF, simulations=a.simulations)
    t1 = time.perf_counter()
    reviews = build_reviews(fc, "en")
    t2 = time.perf_counter()
    print(f"reps={a.reps} open proposals/rep={a.proposals} draws={a.simulations}")
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
    base = naive_monte_carlo(frames, a.simulations, k) / k * a.reps
    print(f"naive per-draw loop    : {base:7.2f} s (extrapolated from {k} reps)")
    print(f"ratio naive / salesxl forecast: {base / (t1 - t0):.1f}x")


if __name__ == "__main__":
    main()
