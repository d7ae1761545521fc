"""Consolidation benchmark (SPEC §7): N rep workbooks, side by side in one run:

- naive:     pandas.read_excel(engine="openpyxl") for every data sheet of every file, concat, to_excel
             (pandas' default xlsx writer: XlsxWriter when installed);
- naive_all: the same with one read_excel(sheet_name=None) call per file (optional variant);
- openpyxl:  salesxl consolidate --engine openpyxl (guard, validation, provenance, history, forecast,
             reviews, Issues: the whole product);
- calamine:  salesxl consolidate (default engine);
- calamine_declared: the same without the history-based forecast (SPEC §4b) — its cost is
             calamine / calamine_declared with a history store of `--history-collections` monthly
             collections of the same reps (a seeded synthetic world, salesxl.synthetic, imported before
             the timed run; each variant starts from a copy of it).

    python benchmarks/consolidate.py --workbooks 200 [--variants naive,openpyxl,calamine] [--workers 2]
    python benchmarks/consolidate.py --workbooks 200 --history-collections 12 --variants calamine_declared,calamine

Each variant runs in a fresh Python process (so that peak memory is its own): wall time, CPU seconds
(parent + reader workers), peak resident memory of the parent and of the largest worker. Ratios are
naive wall time / variant wall time. Workbooks are generated once and cached
(benchmarks/make_workbooks.py). `--json` prints the figures as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_workbooks import AS_OF, DEFAULT_DIR, make_workbooks  # noqa: E402

DATA_SHEETS = {"Reps", "Commerciaux", "Planning", "Objectives", "Objectifs", "Reporting", "Pipeline",
               "Carnet commercial"}


def _sheet_names(path) -> list[str]:
    """The data sheets of a rep workbook, as a script would list them (one cheap look at the package)."""
    import zipfile
    import re
    with zipfile.ZipFile(path) as z:
        names = re.findall(r'<sheet [^>]*name="([^"]+)"', z.read("xl/workbook.xml").decode())
    return [n for n in names if n in DATA_SHEETS]


def _write_naive(frames: dict[str, list], out) -> dict:
    """The naive loop's end: each sheet's frames concatenated and written with pandas' to_excel."""
    import pandas as pd
    with pd.ExcelWriter(out) as w:
        for name, dfs in frames.items():
            pd.concat(dfs, ignore_index=True).to_excel(w, sheet_name=name[:31], index=False)
    return {"rows": sum(len(d) for dfs in frames.values() for d in dfs)}


def run_naive(paths, out) -> dict:
    """The naive loop: pandas.read_excel(engine="openpyxl") for every data sheet, concat, to_excel."""
    import pandas as pd
    frames: dict[str, list] = {}
    for p in paths:
        for name in _sheet_names(p):
            df = pd.read_excel(p, sheet_name=name, engine="openpyxl")
            df["source_file"] = str(p)
            frames.setdefault(name, []).append(df)
    return _write_naive(frames, out)


def run_naive_all(paths, out) -> dict:
    """The same with one read_excel(sheet_name=None) per file (every sheet in one pass)."""
    import pandas as pd
    frames: dict[str, list] = {}
    for p in paths:
        for name, df in pd.read_excel(p, sheet_name=None, engine="openpyxl").items():
            if name in DATA_SHEETS:
                df["source_file"] = str(p)
                frames.setdefault(name, []).append(df)
    return _write_naive(frames, out)


def history_store(folder: Path, n_reps: int, collections: int) -> Path | None:
    """A history store of `collections` monthly collections before AS_OF for the benchmark's reps (a
    seeded synthetic world with their names), made once and cached."""
    if not collections:
        return None
    path = folder / f"history_{n_reps}_{collections}.sqlite"
    if path.exists():
        return path
    import datetime as dt
    from make_workbooks import rep_name
    from salesxl import synthetic
    from salesxl.io import history as hist
    start = dt.date(AS_OF.year - (AS_OF.month <= collections), (AS_OF.month - collections - 1) % 12 + 1, 1)
    w = synthetic.world(synthetic.WorldSpec(reps=n_reps, months=collections + 1, start=start, seed=200))
    w.collections = [d for d in w.collections if d < AS_OF][-collections:]
    for i, rep in enumerate(w.reps):
        rep.name = rep_name(i)
        for x in rep.proposals:
            x.rep = rep.name
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    conn = hist.open_history(tmp)
    for sub in synthetic.submissions(w):
        hist.import_submission(conn, commit=False, **sub)
    conn.commit()
    conn.close()
    tmp.replace(path)
    return path


def run_salesxl(paths, out, engine, workers) -> dict:
    from salesxl.consolidate import consolidate
    store = Path(out).with_suffix(".history.sqlite")      # (a copy of the history store when one is given)
    if engine == "calamine_declared":          # the history-based forecast (SPEC §4b) left out, nothing else
        import dataclasses

        import salesxl.consolidate as sc
        facts = sc.history_facts
        sc.history_facts = lambda conn, as_of: dataclasses.replace(facts(conn, as_of), learner=None)
        engine = "calamine"
    r = consolidate(paths, out, engine=engine, as_of=AS_OF, workers=workers, history=store)
    c = r.counts
    return {"rows": sum(r.rows.values()), "files": c["files"], "errors": c["error"], "warnings": c["warning"],
            "reps": len(r.forecast.reps) if r.forecast else 0,
            "risk": r.forecast.team.get("risk_counts") if r.forecast else None,
            "timings": {k: round(v, 3) for k, v in r.timings.items()}, "exit": r.exit_code}


def child(variant: str, n: int, workers: int | None, folder: Path, history: Path | None = None) -> dict:
    paths = make_workbooks(folder, n)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "team.xlsx")
        if history is not None:
            import shutil
            shutil.copyfile(history, Path(out).with_suffix(".history.sqlite"))
            history = Path(out).with_suffix(".history.sqlite")
        t0, c0 = time.perf_counter(), time.process_time()
        if variant == "naive":
            info = run_naive(paths, out)
        elif variant == "naive_all":
            info = run_naive_all(paths, out)
        else:
            info = run_salesxl(paths, out, variant, workers)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        size = os.path.getsize(out)
    worker_cpu = info.get("timings", {}).get("worker_cpu", 0.0)
    return {"variant": variant, "workbooks": n, "wall": round(wall, 3), "cpu": round(cpu + worker_cpu, 3),
            "parent_cpu": round(cpu, 3),
            "parent_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "parent_peak_after_read_mib": round(info.get("timings", {}).get("parent_maxrss_after_read_kib", 0) / 1024, 1),
            "worker_peak_mib": round(info.get("timings", {}).get("worker_maxrss_kib", 0) / 1024, 1),
            "output_mb": round(size / 1e6, 2), **info}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workbooks", "-n", type=int, default=200)
    ap.add_argument("--variants", default="naive,openpyxl,calamine")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--rows", type=int, default=650)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--history-collections", type=int, default=0,
                    help="start each salesxl run from a history store of this many monthly collections")
    ap.add_argument("--repeat", type=int, default=1, help="run the variants this many times, interleaved")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    folder = DEFAULT_DIR / f"rows{a.rows}"
    if a.child:
        store = history_store(folder, a.workbooks, a.history_collections)
        print(json.dumps(child(a.child, a.workbooks, a.workers, folder, store)))
        return 0
    make_workbooks(folder, a.workbooks, a.rows)
    history_store(folder, a.workbooks, a.history_collections)
    results = []
    for v in a.variants.split(",") * a.repeat:
        cmd = [sys.executable, __file__, "--child", v, "-n", str(a.workbooks), "--rows", str(a.rows),
               "--history-collections", str(a.history_collections)]
        if a.workers is not None:
            cmd += ["--workers", str(a.workers)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(res)
        if not a.json:
            print(f"{v:9s} wall {res['wall']:7.2f} s  cpu {res['cpu']:7.2f} s  parent peak {res['parent_peak_mib']:6.0f} MiB"
                  f" (after reading {res['parent_peak_after_read_mib']:4.0f})"
                  f"  worker peak {res['worker_peak_mib']:5.0f} MiB  rows {res['rows']}  out {res['output_mb']} MB",
                  flush=True)
    base = next((r for r in results if r["variant"] == "naive"), None)
    if base:
        for r in results:
            r["speedup_wall"] = round(base["wall"] / r["wall"], 2)
            r["speedup_cpu"] = round(base["cpu"] / r["cpu"], 2)
    import statistics
    pair = ("calamine", "calamine_declared")
    walls = {v: [r["wall"] for r in results if r["variant"] == v] for v in pair}
    cpus = {v: [r["cpu"] for r in results if r["variant"] == v] for v in pair}
    cost = None
    if walls["calamine"] and walls["calamine_declared"]:
        med = {v: round(statistics.median(w), 3) for v, w in walls.items()}
        cpu = {v: round(statistics.median(c), 3) for v, c in cpus.items()}
        cost = {"median_wall": med, "median_cpu": cpu,
                "history_model_cost": round(med["calamine"] / med["calamine_declared"] - 1, 3),
                "history_model_cost_cpu": round(cpu["calamine"] / cpu["calamine_declared"] - 1, 3)}
    if a.json:
        print(json.dumps({"runs": results, "history_model": cost} if cost else results, indent=2))
    else:
        if base:
            for r in results:
                if r is not base:
                    print(f"{r['variant']:9s} {r['speedup_wall']:5.1f}× faster than naive (wall), "
                          f"{r['speedup_cpu']:5.1f}× (CPU)")
        if cost:
            print(f"history-based forecast: median wall {cost['median_wall']['calamine']:.2f} s against "
                  f"{cost['median_wall']['calamine_declared']:.2f} s without it ({cost['history_model_cost']:+.1%}); "
                  f"CPU {cost['median_cpu']['calamine']:.2f} s against {cost['median_cpu']['calamine_declared']:.2f} s "
                  f"({cost['history_model_cost_cpu']:+.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
