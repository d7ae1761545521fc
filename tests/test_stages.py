"""The consolidation's named stages shared by every command (issue 12 item 2, issue 10 item 5):
`salesxl forecast` and `salesxl review` give the same figures as `salesxl consolidate` for the same
inputs and day, with or without a history store, and never write the store."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
import shutil
import sys
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from salesxl import consolidate as stages
from salesxl.cli import app
from salesxl.forecast import ForecastJob, forecast_rep

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_workbooks import rep_rows, write_rep_workbook  # noqa: E402

AS_OF = dt.date(2026, 6, 15)
EARLIER = AS_OF - dt.timedelta(days=30)
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two rep workbooks (EN and FR) and a history store holding an earlier collection of the first,
    where every proposal now closed was still open at 50 %: the history then tells another story of
    the rep's declared probabilities than their closed rows do."""
    from salesxl.io.template import write_template
    d = tmp_path_factory.mktemp("stages")
    reps = [write_rep_workbook(d / f"rep_{i}.xlsx", i, rows=150, as_of=AS_OF) for i in (0, 1)]
    lang, tables = rep_rows(0, 150, AS_OF, None)
    for r in tables["pipeline"]:
        if r["status"] in ("Won", "Lost"):
            r.update(status="Open", probability=0.5, loss_reason=None)
    (d / "early").mkdir()
    early = write_template(d / "early" / "rep_0.xlsx", lang, rows=tables, settings={"as_of": EARLIER})
    h0 = d / "h0.sqlite"
    first = stages.consolidate([early], d / "t0.xlsx", as_of=EARLIER, history=h0, workers=0)
    assert first.output is not None
    return d, reps, h0


def _consolidated(world, name: str):
    d, reps, h0 = world
    h = d / f"{name}.sqlite"
    shutil.copy(h0, h)
    out = d / f"{name}.xlsx"
    res = stages.consolidate(reps, out, as_of=AS_OF, history=h, workers=0, seed=7, simulations=2000)
    return res, out


def _forecast_sheet(path: Path) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = next(ws for ws in wb.worksheets if ws.title in ("Forecast", "Prévisions"))
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    return rows


def test_forecast_with_history_equals_consolidate_and_leaves_the_store_alone(world):
    d, reps, h0 = world
    res, _ = _consolidated(world, "cons")
    cons = json.loads(json.dumps(res.to_dict(), default=str))
    h = d / "read_only.sqlite"
    shutil.copy(h0, h)
    before = _sha(h)
    r = run("forecast", *reps, "--history", h, "--as-of", AS_OF, "--seed", 7, "--simulations", 2000, "--json")
    assert r.exit_code == res.exit_code, r.output
    fc = json.loads(r.stdout)
    assert fc["reps"] == cons["reps"] and fc["team"] == cons["team"]
    assert _sha(h) == before                      # read as consolidate reads it, never written
    # the history matters: without it, the calibration comes from the closed rows only (other figures)
    claire = next(x for x in fc["reps"] if x["rep"] == "Claire Martin")
    assert claire["calibration"]["n"] >= 10
    assert {b["mean_declared"] for b in claire["calibration"]["bins"] if b["n"]} == {0.5}
    bare = json.loads(run("forecast", *reps, "--as-of", AS_OF, "--seed", 7, "--simulations", 2000, "--json").stdout)
    bare_claire = next(x for x in bare["reps"] if x["rep"] == "Claire Martin")
    assert bare_claire["calibration"]["brier"] != claire["calibration"]["brier"]
    assert bare_claire["forecast"] == claire["forecast"]            # the declared figures do not move


def test_review_with_history_writes_the_same_forecast_sheet_as_consolidate(world, tmp_path):
    d, reps, h0 = world
    res, team = _consolidated(world, "cons_review")
    h = tmp_path / "h.sqlite"
    shutil.copy(h0, h)
    before = _sha(h)
    out = tmp_path / "reviews.xlsx"
    r = run("review", *reps, "-o", out, "--history", h, "--as-of", AS_OF, "--seed", 7, "--simulations", 2000,
            "--json")
    assert r.exit_code == res.exit_code, r.output
    data = json.loads(r.stdout)
    assert data["reps"] == json.loads(json.dumps(res.to_dict(), default=str))["reps"]
    assert _sha(h) == before
    # the written workbooks, read back: the same Forecast sheet, the same review sheets
    assert _forecast_sheet(out) == _forecast_sheet(team)
    names = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert data["reviews"] and all(n in names for n in data["reviews"])
    assert set(data["reviews"]) <= set(openpyxl.load_workbook(team, read_only=True).sheetnames)


def test_a_missing_history_is_an_error_not_an_empty_one(world, tmp_path):
    _, reps, _ = world
    r = run("forecast", *reps, "--history", tmp_path / "nope.sqlite", "--as-of", AS_OF)
    assert r.exit_code == 2 and "not found" in r.output
    assert not (tmp_path / "nope.sqlite").exists()


def test_forecast_job_is_a_dataclass_that_travels(world):
    """Stage 3's job (what a worker process gets) is a named, picklable record, not a 14-field tuple."""
    _, reps, _ = world
    opts = stages.run_options(as_of=AS_OF, workers=0, seed=7, simulations=500)
    with stages.prepare(reps, opts) as prep:
        job = prep.plan.job(0)
        assert isinstance(job, ForecastJob) and job.as_of == AS_OF and job.simulations == 500
        again = pickle.loads(pickle.dumps(job))
        a, b = forecast_rep(job), forecast_rep(again)
        assert (a.rep, a.won, a.forecast, a.p_reach) == (b.rep, b.won, b.forecast, b.p_reach)
        fc = prep.forecast()
    assert [r.rep for r in fc.reps] == [p.name for p in prep.plan.reps]
