"""Tables-only writer comparison: the consolidated tables of N rep workbooks written by several writers.

    python benchmarks/writers.py --workbooks 200 [--only salesxl,xlsxwriter]

Rows come from the generated rep workbooks (benchmarks/make_workbooks.py), read once with salesxl's
calamine engine. Each writer writes the same five tables (values as typed, with provenance columns);
times are wall and CPU seconds of the write alone.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_workbooks import DEFAULT_DIR, make_workbooks  # noqa: E402


def load_tables(paths):
    """Each file's typed tables, read once: [(path, {table key: TableData})]."""
    from salesxl.io.read_xlsx import validate_file
    return [(str(p), validate_file(p, engine="calamine").tables) for p in paths]


def rows_of(files, lang="en"):
    """Each table's headers and columns (every file's rows one after the other, provenance included)."""
    from salesxl.io.write_xlsx import TABLE_ORDER, output_columns
    for key in TABLE_ORDER:
        parts = [(path, tables[key]) for path, tables in files if key in tables]
        n = sum(len(t) for _, t in parts)
        cols = output_columns(key, lang)
        data = []
        for c, _, _, _ in cols:
            if c == "_file":
                data.append([path for path, t in parts for _ in range(len(t))])
            elif c == "_sheet":
                data.append([t.sheet for _, t in parts for _ in range(len(t))])
            elif c == "_row":
                data.append([r for _, t in parts for r in t.rows])
            else:
                data.append([v for _, t in parts for v in t.output(c)] if all(c in t for _, t in parts)
                            else [None] * n)
        yield key, [h for _, h, _, _ in cols], data, n


def w_salesxl(files, path):
    from salesxl.io.write_xlsx import write_team_workbook
    write_team_workbook(path, files=files, lang="en")


def w_xlsxwriter(tables, path, constant_memory=False):
    import xlsxwriter
    wb = xlsxwriter.Workbook(path, {"constant_memory": constant_memory, "strings_to_formulas": False})
    datef = wb.add_format({"num_format": "yyyy-mm-dd"})
    for key, headers, data, n in rows_of(tables):
        ws = wb.add_worksheet(key)
        for j, h in enumerate(headers):
            ws.write_string(0, j, h)
        for i in range(n):
            for j, col in enumerate(data):
                v = col[i]
                if v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(i + 1, j, v)
                elif isinstance(v, dt.date):
                    ws.write_datetime(i + 1, j, dt.datetime(v.year, v.month, v.day), datef)
                else:
                    ws.write_number(i + 1, j, v)
        if not constant_memory:
            ws.add_table(0, 0, max(n, 1), len(headers) - 1, {"columns": [{"header": h} for h in headers],
                                                            "name": "tbl" + key})
    wb.close()


def w_pyexcelerate(tables, path):
    from pyexcelerate import Workbook
    wb = Workbook()
    for key, headers, data, n in rows_of(tables):
        rows = [headers] + [list(r) for r in zip(*data)]
        wb.new_sheet(key, data=rows)
    wb.save(path)


def w_rustpy(tables, path):
    from rustpy_xlsxwriter import write_worksheets
    sheets = []
    for key, headers, data, n in rows_of(tables):
        recs = [dict(zip(headers, r)) for r in zip(*data)]
        sheets.append((key, recs))
    write_worksheets(sheets, path)


def w_pandas_xlsxwriter(files, path):
    import pandas as pd
    with pd.ExcelWriter(path, engine="xlsxwriter") as w:
        for key, headers, data, n in rows_of(files):
            pd.DataFrame(dict(zip(headers, data)), dtype=object).to_excel(w, sheet_name=key, index=False)


WRITERS = {"salesxl": w_salesxl, "xlsxwriter": w_xlsxwriter,
           "xlsxwriter_constant_memory": lambda t, p: w_xlsxwriter(t, p, True),
           "pyexcelerate": w_pyexcelerate, "rustpy_xlsxwriter": w_rustpy, "pandas_to_excel": w_pandas_xlsxwriter}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workbooks", "-n", type=int, default=200)
    ap.add_argument("--only", default=",".join(WRITERS))
    a = ap.parse_args(argv)
    paths = make_workbooks(DEFAULT_DIR / "rows650", a.workbooks)
    tables = load_tables(paths)
    print(f"{sum(len(t) for _, f in tables for t in f.values())} rows")
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.only.split(","):
            out = os.path.join(tmp, name + ".xlsx")
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                WRITERS[name](tables, out)
            except Exception as exc:  # a missing optional package
                print(f"{name:28s} failed: {type(exc).__name__}: {exc}")
                continue
            print(f"{name:28s} wall {time.perf_counter() - t0:6.2f} s  cpu {time.process_time() - c0:6.2f} s  "
                  f"{os.path.getsize(out) / 1e6:5.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
