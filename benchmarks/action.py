"""Benchmark: one ribbon action (Validate, Forecast; Reviews with --all) on a 10,000-row workbook,
through a real xlwings Book on xlwings' remote engine (the engine behind xlwings Lite / Server).

    python benchmarks/action.py [--rows 10000] [--repeat 3] [--all]

Prints, per action: the time spent in Python (the action alone: reading the tables out of the book,
the rules or the forecast, building and writing the blocks; the client's JSON payload is parsed
before the clock starts), the number of xlwings calls (each one a round trip to Excel on the classic
Windows/macOS engines) and of actions recorded for the client, for the big workbook and for a
100-row one. Target (SPEC §7): under 1 s in Python; calls that do not grow with the rows.

The remote engine is an xlwings PRO module (PolyForm Noncommercial): tests/xlwings_remote.py sets
its non-commercial licence for this process only. The shipped add-in needs open-source xlwings only.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from xlwings_remote import book_from_json, book_json_from_xlsx, count_calls, recorded_actions  # noqa: E402

from salesxl import actions  # noqa: E402
from salesxl.io.template import write_template  # noqa: E402
from test_actions import AS_OF, team_rows  # noqa: E402


def measure(payload: str, name: str, repeat: int) -> tuple[float, int, int]:
    times, calls, recorded = [], 0, 0
    for _ in range(repeat):
        book = book_from_json(json.loads(payload))
        try:
            with count_calls() as counter:
                t0 = time.perf_counter()
                actions.run(name, book)
                times.append(time.perf_counter() - t0)
            calls, recorded = counter.total, len(recorded_actions(book))
        finally:
            book.close()
    return min(times), calls, recorded


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000, help="Reporting rows of the big workbook")
    ap.add_argument("--repeat", type=int, default=3, help="runs per action (the best is kept)")
    ap.add_argument("--all", action="store_true", help="also Reviews and New period")
    args = ap.parse_args()
    names = ["validate", "forecast"] + (["reviews", "new_period"] if args.all else [])
    with tempfile.TemporaryDirectory(prefix="salesxl-bench-") as tmp:
        payloads = {}
        for n in (100, args.rows):
            rows = team_rows(n)
            t0 = time.perf_counter()
            path = write_template(Path(tmp) / f"team_{n}.xlsx", "en", rows=rows, settings={"as_of": AS_OF})
            payloads[n] = json.dumps(book_json_from_xlsx(path))
            print(f"workbook: {n:>6,} Reporting rows, {len(rows['pipeline']):,} proposals "
                  f"(built and turned into the client's payload in {time.perf_counter() - t0:.1f} s)")
        cells = args.rows * 10 + len(team_rows(args.rows)["pipeline"]) * 12
        print(f"\n{'action':12s} {'Python time':>12s} {'xlwings calls':>14s} {'recorded':>9s}"
              f"   {'calls at 100 rows':>17s}")
        worst = 0.0
        for name in names:
            t_big, calls_big, rec_big = measure(payloads[args.rows], name, args.repeat)
            _, calls_small, _ = measure(payloads[100], name, 1)
            worst = max(worst, t_big)
            print(f"{name:12s} {1000 * t_big:9.0f} ms {calls_big:14,d} {rec_big:9,d}   {calls_small:17,d}")
        print(f"\nA cell-by-cell reader would make about {cells:,} calls just to read these tables.")
        print(f"Slowest action: {worst:.2f} s in Python (target < 1 s): {'OK' if worst < 1 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
