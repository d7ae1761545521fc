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

from conftest import set_saved
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


def test_forecast_and_review_read_a_folder_through_the_workers_as_consolidate(world, tmp_path, monkeypatch):
    """Several files: `salesxl forecast` and `salesxl review` read them as `salesxl consolidate` does,
    through its reader processes (stage 1, read_files), and give its figures; a file that is no
    workbook among them gets its one issue and the run goes on. One file, or `workers=0`: read in this
    process, the same figures."""
    _, reps, _ = world
    folder = tmp_path / "inbox"
    folder.mkdir()
    for p in reps:
        shutil.copy(p, folder / p.name)
    (folder / "broken.xlsx").write_bytes(b"not a workbook")
    pooled = []
    read_files = stages.read_files

    def spy(paths, opts):
        reads = read_files(paths, opts)
        pooled.append(reads.pool is not None)
        return reads

    monkeypatch.setattr(stages, "read_files", spy)
    res = stages.consolidate([folder], tmp_path / "team.xlsx", as_of=AS_OF, history=False, seed=7,
                             simulations=2000)
    cons = json.loads(json.dumps(res.to_dict(), default=str))
    fc = run("forecast", folder, "--as-of", AS_OF, "--seed", 7, "--simulations", 2000, "--json")
    rv = run("review", folder, "-o", tmp_path / "reviews.xlsx", "--as-of", AS_OF, "--seed", 7,
             "--simulations", 2000, "--json")
    assert pooled == [True, True, True]
    broken = str(folder / "broken.xlsx")
    cons_files = {f["path"]: (f["status"], f["issues"]) for f in cons["files"]}
    assert cons_files[broken][0] == "unreadable" and len(cons_files[broken][1]) == 1
    for r in (fc, rv):
        assert r.exit_code == res.exit_code == 1, r.output
        data = json.loads(r.stdout)
        assert len(data["reps"]) == 2 and data["reps"] == cons["reps"] and data["team"] == cons["team"]
        assert {f["path"]: (f["status"], f["issues"]) for f in data["files"]} == cons_files
    # in this process: with workers=0, and for a single file whatever the workers
    pooled.clear()
    opts = stages.run_options(as_of=AS_OF, workers=0, seed=7, simulations=2000)
    with stages.prepare([folder], opts) as prep:
        inline = json.loads(json.dumps(prep.forecast().to_dict(), default=str))
    assert inline["reps"] == cons["reps"] and inline["team"] == cons["team"]
    one = run("forecast", reps[0], "--as-of", AS_OF, "--seed", 7, "--simulations", 2000, "--json")
    assert one.exit_code == 0 and len(json.loads(one.stdout)["reps"]) == 1
    assert pooled == [False, False]


def test_a_missing_history_is_an_error_not_an_empty_one(world, tmp_path):
    _, reps, _ = world
    r = run("forecast", *reps, "--history", tmp_path / "nope.sqlite", "--as-of", AS_OF)
    assert r.exit_code == 2 and "no history store at" in r.output
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


# ---------------------------------------------------------------------------------------------
# Each rep once (issue 11 item 2)
def _two_submissions(d: Path, older_saved: str, newer_saved: str) -> tuple[Path, Path]:
    """Claire's workbook twice: an older submission (one proposal at 99,999) and the newer one."""
    from salesxl.io.template import write_template
    lang, tables = rep_rows(0, 150, AS_OF, False)
    newer = write_template(d / "claire.xlsx", lang, rows=tables, settings={"as_of": AS_OF})
    tables["pipeline"][0]["amount"] = 99999.0
    older = write_template(d / "claire (1).xlsx", lang, rows=tables, settings={"as_of": AS_OF})
    return set_saved(older, older_saved), set_saved(newer, newer_saved)


def _pipeline_sources(team: Path) -> list[tuple]:
    wb = openpyxl.load_workbook(team, read_only=True)
    ws = wb["Pipeline"]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    head = rows[0]
    return [(r[head.index("Rep")], r[head.index("Amount")], r[head.index("Source file")]) for r in rows[1:]]


@pytest.mark.parametrize("order", ["older_first", "newer_first"])
def test_each_rep_once_the_newest_submission_wins(tmp_path, order):
    older, newer = _two_submissions(tmp_path, "2026-06-10T09:00:00Z", "2026-06-14T17:30:00Z")
    other = write_rep_workbook(tmp_path / "julien.xlsx", 1, rows=150, as_of=AS_OF)
    inputs = [older, newer, other] if order == "older_first" else [newer, older, other]
    res = stages.consolidate(inputs, tmp_path / "out" / "team.xlsx", as_of=AS_OF, workers=0, seed=3,
                             simulations=1000, history=tmp_path / "h.sqlite")
    status = {Path(f.path).name: f for f in res.files}
    assert status["claire (1).xlsx"].status == "superseded"
    assert status["claire.xlsx"].status != "superseded" and status["julien.xlsx"].status != "superseded"
    (issue,) = [i for i in status["claire (1).xlsx"].issues if i.code == "SUPERSEDED"]
    assert issue.severity == "warning" and str(newer) in issue.message and "2026-06-14 17:30" in issue.message
    assert res.counts["files"]["superseded"] == 1
    # the team workbook, read back: Claire's rows come from the newest file only, nothing counted twice
    rows = _pipeline_sources(Path(res.output))
    claire = [r for r in rows if r[0] == "Claire Martin"]
    assert claire and {r[2] for r in claire} == {str(newer)} and 99999 not in {r[1] for r in claire}
    # the same figures as the newest file alone (with the other rep)
    alone = stages.consolidate([newer, other], tmp_path / "alone.xlsx", as_of=AS_OF, workers=0, seed=3,
                               simulations=1000, history=tmp_path / "alone.sqlite")
    assert res.to_dict()["reps"] == alone.to_dict()["reps"]
    # the history holds the winner's snapshot only
    import sqlite3
    with sqlite3.connect(tmp_path / "h.sqlite") as conn:
        files = {r[0] for r in conn.execute("SELECT DISTINCT source_file FROM snapshots")}
    assert files == {str(newer), str(other)}


def test_without_a_saved_date_the_file_time_decides(tmp_path):
    import os
    import re
    import zipfile
    older, newer = _two_submissions(tmp_path, "2026-06-10T09:00:00Z", "2026-06-10T09:00:00Z")
    for p in (older, newer):           # no core.xml at all: the file's modification time
        with zipfile.ZipFile(p) as z:
            members = [(i, z.read(i)) for i in z.infolist() if i.filename != "docProps/core.xml"]
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in members:
                if info.filename == "[Content_Types].xml":
                    data = re.sub(rb'<Override PartName="/docProps/core.xml"[^>]*/>', b"", data)
                z.writestr(info, data)
    os.utime(older, (1_700_000_000, 1_700_000_000))
    os.utime(newer, (1_700_100_000, 1_700_100_000))
    res = stages.consolidate([newer, older], tmp_path / "team.xlsx", as_of=AS_OF, workers=0, history=False,
                             simulations=500)
    assert [f.status for f in res.files] != [] and {Path(f.path).name: f.status for f in res.files}["claire (1).xlsx"] == "superseded"


def test_a_team_workbook_is_not_reimported_unless_asked(world, tmp_path):
    _, reps, _ = world
    first = stages.consolidate(reps, tmp_path / "team.xlsx", as_of=AS_OF, workers=0, history=False, seed=5,
                               simulations=1000)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for p in reps:
        shutil.copy(p, inbox / p.name)
    shutil.copy(first.output, inbox / "last_month_team.xlsx")
    again = stages.consolidate([inbox], tmp_path / "team2.xlsx", as_of=AS_OF, workers=0, history=False, seed=5,
                               simulations=1000)
    status = {Path(f.path).name: f for f in again.files}
    assert status["last_month_team.xlsx"].status == "skipped"
    assert [i.code for i in status["last_month_team.xlsx"].issues] == ["TEAM_WORKBOOK_SKIPPED"]
    assert again.to_dict()["team"] == first.to_dict()["team"]            # nothing counted twice
    assert again.exit_code == first.exit_code
    asked = stages.consolidate([inbox], tmp_path / "team3.xlsx", as_of=AS_OF, workers=0, history=False, seed=5,
                               simulations=1000, team_workbooks=True)
    assert {Path(f.path).name: f.status for f in asked.files}["last_month_team.xlsx"] != "skipped"
    # the CLI option
    r = run("consolidate", inbox, "-o", tmp_path / "team4.xlsx", "--as-of", AS_OF, "--json", "--workers", 0,
            "--team-workbooks")
    assert {Path(f["path"]).name: f["status"] for f in json.loads(r.stdout)["files"]}["last_month_team.xlsx"] != "skipped"


def test_a_ref_in_two_files_is_an_error_naming_both_places(tmp_path):
    from salesxl.io.template import write_template
    lang0, t0 = rep_rows(0, 150, AS_OF, False)
    lang1, t1 = rep_rows(1, 150, AS_OF, False)
    t1["pipeline"][3]["ref"] = t0["pipeline"][5]["ref"]
    a = write_template(tmp_path / "claire.xlsx", lang0, rows=t0, settings={"as_of": AS_OF})
    b = write_template(tmp_path / "julien.xlsx", lang1, rows=t1, settings={"as_of": AS_OF})
    res = stages.consolidate([a, b], tmp_path / "team.xlsx", as_of=AS_OF, workers=0, history=False,
                             simulations=500)
    (issue,) = [i for f in res.files for i in f.issues if i.code == "REF_IN_TWO_PLACES"]
    assert issue.severity == "error" and issue.file == str(b) and issue.value == t0["pipeline"][5]["ref"]
    assert str(a) in issue.message and "Julien Durand" in issue.message and "Claire Martin" in issue.message
    wb = openpyxl.load_workbook(a, read_only=True)
    ws = wb["Pipeline"]
    first_row = next(i for i, r in enumerate(ws.iter_rows(values_only=True), start=1) if r[0] == issue.value)
    wb.close()
    assert f"{first_row}" in issue.message and issue.row is not None
    assert res.exit_code == 1
    assert {Path(f.path).name: f.status for f in res.files}["julien.xlsx"] == "invalid"
    # the Issues sheet of the team workbook names it
    wb = openpyxl.load_workbook(res.output, read_only=True)
    codes = [r[1] for r in wb["Issues"].iter_rows(values_only=True)]
    wb.close()
    assert "REF_IN_TWO_PLACES" in codes


# ---------------------------------------------------------------------------------------------
# Team figures per period-length group (issue 11 item 6)
def test_team_figures_per_period_length_group(tmp_path):
    from salesxl.forecast import forecast_rep
    from salesxl.simulate import outcome_from_draws
    # Claire and Thomas: a week each; Julien: a month; Sophie: a quarter
    reps = [write_rep_workbook(tmp_path / f"rep_{i}.xlsx", i, rows=150, as_of=AS_OF) for i in (0, 1, 2, 3)]
    res = stages.consolidate(reps, tmp_path / "team.xlsx", as_of=AS_OF, workers=0, history=False, seed=9,
                             simulations=4000)
    d = json.loads(json.dumps(res.to_dict(), default=str))
    by_rep = {r["rep"]: r for r in d["reps"]}
    assert {r: x["period_group"] for r, x in by_rep.items()} == {
        "Claire Martin": "weekly", "Thomas Walker": "weekly", "Julien Durand": "monthly", "Sophie Garcia": "quarterly"}
    team = d["team"]
    groups = {g["group"]: g for g in team["groups"]}
    assert [g["group"] for g in team["groups"]] == ["weekly", "monthly", "quarterly"]
    assert groups["weekly"]["reps"] == 2 and groups["monthly"]["reps"] == 1 and groups["quarterly"]["reps"] == 1
    weekly = [by_rep["Claire Martin"], by_rep["Thomas Walker"]]
    assert groups["weekly"]["objective"] == pytest.approx(sum(r["objective"] for r in weekly))
    assert groups["weekly"]["forecast"] == pytest.approx(sum(r["forecast"] for r in weekly))
    # the overall line is the sum of the current periods, with no distribution across groups
    assert team["scope"] == "sum_of_current_periods"
    assert team["objective"] == pytest.approx(sum(r["objective"] for r in d["reps"]))
    assert team["won"] == pytest.approx(sum(g["won"] for g in team["groups"]))
    assert team["p_reach"] is None and team["p10"] is None and team["risk"] is None
    # a group's P(reach) is that of the sum of its own reps' draws, nothing else
    opts = stages.run_options(as_of=AS_OF, workers=0, seed=9, simulations=4000)
    with stages.prepare(reps, opts) as prep:
        plan = prep.plan
        jobs = {job.name: job for job in (plan.job(i) for i in range(len(plan)))}
        draws = [forecast_rep(jobs[r]).draws for r in ("Claire Martin", "Thomas Walker")]
    total = draws[0] + draws[1]
    expected = outcome_from_draws(total, groups["weekly"]["objective"], won=groups["weekly"]["won"], seed=9)
    assert groups["weekly"]["p_reach"] == pytest.approx(expected.p_reach, abs=1e-6)
    assert groups["weekly"]["p50"] == pytest.approx(expected.p50, abs=1e-6)
    # the Forecast sheet, read back: one line per group, then the overall line
    wb = openpyxl.load_workbook(res.output, read_only=True)
    rows = [r for r in wb["Forecast"].iter_rows(values_only=True)]
    wb.close()
    labels = [r[0] for r in rows]
    at = labels.index("Team, weekly reps")
    assert labels[at:at + 4] == ["Team, weekly reps", "Team, monthly reps", "Team, quarterly reps",
                                 "All reps (sum of current periods)"]
    head = next(r for r in rows if "Revenue objective" in r)       # the dashboard's header row
    obj = head.index("Revenue objective")
    assert rows[at + 3][obj] == pytest.approx(team["objective"])
    assert rows[at][head.index("P(reach objective)")] == pytest.approx(groups["weekly"]["p_reach"])
    assert rows[at + 3][head.index("P(reach objective)")] is None


def test_one_group_keeps_one_team_line_with_its_distribution(tmp_path):
    reps = [write_rep_workbook(tmp_path / f"rep_{i}.xlsx", i, rows=150, as_of=AS_OF) for i in (1, 4)]
    res = stages.consolidate(reps, tmp_path / "équipe.xlsx", as_of=AS_OF, workers=0, history=False, seed=9,
                             simulations=2000, lang="fr")
    team = res.forecast.team
    assert [g["group"] for g in team["groups"]] == ["monthly"]
    assert team["p_reach"] is not None and team["p_reach"] == team["groups"][0]["p_reach"]
    wb = openpyxl.load_workbook(res.output, read_only=True)
    labels = [r[0] for r in wb["Prévisions"].iter_rows(values_only=True)]
    wb.close()
    assert "Équipe" in labels and not any(str(x).startswith("Tous") for x in labels)


def test_the_batch_keeps_each_reps_manager_for_the_dashboard(tmp_path):
    """The Reps table's Manager reaches the batch's forecast (the spool keeps it), so the team
    workbook's Forecast sheet has its subtotals by manager, as the add-in's has."""
    from salesxl.io.template import write_template
    paths = []
    for i, manager in ((0, "Nadia Roche"), (1, "Omar Diallo")):
        lang, tables = rep_rows(i, 60, AS_OF, None)
        for r in tables["reps"]:
            r["manager"] = manager
        paths.append(write_template(tmp_path / f"rep_{i}.xlsx", lang, rows=tables, settings={"as_of": AS_OF}))
    res = stages.consolidate(paths, tmp_path / "team.xlsx", as_of=AS_OF, history=False, workers=0,
                             simulations=500, lang="en")
    assert sorted(r.manager for r in res.forecast.reps) == ["Nadia Roche", "Omar Diallo"]
    labels = {c for row in _forecast_sheet(tmp_path / "team.xlsx") for c in row if isinstance(c, str)}
    assert {"Manager Nadia Roche", "Manager Omar Diallo"} <= labels
