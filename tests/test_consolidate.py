"""Headless consolidation end to end (SPEC §6, issue #4): generated rep workbooks plus the hostile corpus
in one run; JSON shape and exit codes; duplicates; atomic output; text stays text; sources untouched;
the history store; the guarded worker pool (time limit, memory limit, crashes)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from salesxl import consolidate as cons
from salesxl.consolidate import consolidate
from salesxl.io import history as hist
from salesxl.io.pool import GuardedPool, TaskFailure
from conftest import history_counts, merged_tables

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))

import make_corpus  # noqa: E402
from make_workbooks import write_rep_workbook  # noqa: E402

AS_OF = dt.date(2026, 6, 15)
HYPERLINK = '=HYPERLINK("http://x.example","y")'


def _fingerprint_file(p: Path) -> tuple:
    st = os.stat(p)
    return hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


@pytest.fixture(scope="module")
def reps(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("reps")
    # 0 EN, 1 FR, 2 EN messy (a company typed as =HYPERLINK(…), bad date, missing result…), 3 FR
    return [write_rep_workbook(d / f"rep_{i}.xlsx", i, rows=150, as_of=AS_OF) for i in range(4)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    return d, make_corpus.build_corpus(d)


@pytest.fixture(scope="module")
def run_all(reps, corpus, tmp_path_factory):
    """One consolidation of the rep workbooks and every hostile file, with sources fingerprinted."""
    cdir, expected = corpus
    inputs = [str(p) for p in reps] + [str(cdir / name) for name in expected]
    before = {p: _fingerprint_file(Path(p)) for p in inputs if Path(p).is_file()}
    out = tmp_path_factory.mktemp("out") / "team.xlsx"
    result = consolidate(inputs, out, as_of=AS_OF, workers=2, seed=7, simulations=2000)
    return result, before, out, expected, cdir


# ---------------------------------------------------------------------------------------------
def test_every_hostile_file_gets_its_file_level_issue(run_all):
    result, _, _, expected, cdir = run_all
    by_path = {f.path: f for f in result.files}
    checked = 0
    for name, code in expected.items():
        path = str(cdir / name)
        if path not in by_path:
            # a folder named .xlsx is expanded as a folder; a symlink to a file already given counts once
            assert (cdir / name).is_dir() or (cdir / name).is_symlink(), name
            continue
        f = by_path[path]
        if code is None:
            assert f.status != "unreadable", (name, [i.code for i in f.issues])
        else:
            assert f.status == "unreadable", name
            assert [i.code for i in f.issues] == [code], name
            checked += 1
    assert checked >= 45


def test_good_files_are_consolidated_and_the_run_goes_on(run_all, reps):
    result, _, out, _, _ = run_all
    assert result.output == str(out) and out.is_file()
    assert result.exit_code == 1                      # some unreadable, others consolidated
    rep_files = [f for f in result.files if f.path in {str(p) for p in reps}]
    assert [f.status for f in rep_files] == ["ok", "ok", "invalid", "ok"]
    assert sum(f.rows for f in rep_files) > 500
    assert {r.rep for r in result.forecast.reps} >= {"Claire Martin"}
    wb = openpyxl.load_workbook(out, read_only=True)
    names = wb.sheetnames
    for sheet in ("Settings", "Reps", "Planning", "Objectives", "Reporting", "Pipeline", "Issues", "Forecast"):
        assert sheet in names
    assert sum(n.startswith("Review – ") for n in names) == len(result.forecast.reps) >= 4
    wb.close()


def test_json_shape(run_all):
    result, *_ = run_all
    d = json.loads(json.dumps(result.to_dict(), default=str))
    assert set(d) >= {"output", "files", "counts", "reps"}
    assert set(d["counts"]) >= {"error", "warning"}
    for f in d["files"]:
        assert set(f) >= {"path", "sha256", "status", "issues"}
        assert f["status"] in ("ok", "invalid", "unreadable", "duplicate", "superseded", "skipped")
        for i in f["issues"]:
            assert set(i) == {"severity", "code", "file", "sheet", "row", "column", "value", "message"}
    assert d["counts"]["error"] == sum(i["severity"] == "error" for f in d["files"] for i in f["issues"]) + \
        sum(i["severity"] == "error" for i in d["notes"])
    rep = d["reps"][0]
    assert set(rep) >= {"rep", "period_start", "period_end", "objective", "won", "weighted_open", "forecast",
                        "attainment", "coverage", "p10", "p50", "p90", "p_reach", "risk", "plan"}
    assert rep["risk"] in ("on_track", "at_risk", "off_track")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rep["period_start"])
    sha = next(f["sha256"] for f in d["files"] if f["status"] == "ok")
    assert re.fullmatch(r"[0-9a-f]{64}", sha)


def test_sources_never_opened_for_writing(run_all):
    result, before, *_ = run_all
    assert before
    for p, fp in before.items():
        assert _fingerprint_file(Path(p)) == fp, p


def test_rows_with_provenance_and_nothing_lost(run_all, reps):
    result, _, out, *_ = run_all
    wb = openpyxl.load_workbook(out, read_only=True)
    ws = wb["Reporting"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    i_file, i_row, i_company, i_date = (header.index(h) for h in ("Source file", "Source row", "Company", "Date"))
    assert "Source sheet" in header
    mine = [r for r in rows[1:] if r[i_file] == str(reps[2])]
    src = openpyxl.load_workbook(reps[2], read_only=True)["Reporting"]
    src_rows = {i: r for i, r in enumerate(src.iter_rows(values_only=True), start=1)}
    assert len(mine) == sum(1 for i, r in src_rows.items() if i > 1 and any(v is not None for v in r))
    for r in mine:
        assert r[i_company] == src_rows[r[i_row]][2]          # same company as the source row
    # the bad date is kept as typed (text), not dropped
    assert any(r[i_date] == "31/02/2026" for r in mine)
    wb.close()


def test_text_stays_text(run_all):
    result, _, out, *_ = run_all
    with zipfile.ZipFile(out) as z:
        found = 0
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode()
                for m in re.finditer(r"<c [^>]*>(?:(?!</c>).)*HYPERLINK(?:(?!</c>).)*</c>", xml):
                    found += 1
                    assert 't="inlineStr"' in m.group(0) and "<f>" not in m.group(0), m.group(0)
                assert not re.search(r"<f>[^<]*HYPERLINK", xml), name
                if name in _table_parts(z):
                    assert "<f>" not in xml, name             # no formula at all in the data tables
        assert found >= 1
    wb = openpyxl.load_workbook(out)
    cells = [c for row in wb["Reporting"].iter_rows() for c in row if c.value == HYPERLINK]
    assert cells and all(c.data_type == "s" for c in cells)


def _table_parts(z: zipfile.ZipFile) -> set[str]:
    wbxml = z.read("xl/workbook.xml").decode()
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels)) | \
        {a: b for b, a in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)}
    out = set()
    for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"', wbxml):
        if name in ("Reps", "Planning", "Objectives", "Reporting", "Pipeline", "Issues"):
            out.add("xl/" + targets[rid].lstrip("/").removeprefix("xl/"))
    return out


def test_team_workbook_reads_back_as_a_salesxl_workbook(run_all):
    """The team workbook holds the same contract tables: it can be read (and consolidated) again."""
    from salesxl.io.read_xlsx import read_workbook
    result, _, out, *_ = run_all
    wb = read_workbook(out, engine="calamine")
    assert {k: len(td) for k, td in wb.tables.items() if k in result.rows} == result.rows
    assert not [i for i in wb.issues if i.code in ("HEADER_MISMATCH", "SHEET_NOT_FOUND")]
    assert wb.settings.get("as_of") is not None


def test_output_never_one_of_the_inputs(reps, tmp_path):
    src = tmp_path / "rep.xlsx"
    shutil.copy(reps[0], src)
    before = _fingerprint_file(src)
    with pytest.raises(ValueError):
        consolidate([src], src, workers=0)
    assert _fingerprint_file(src) == before
    # nor inside an input folder (tests/test_safety.py has every other case)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(reps[0], inbox / "claire.xlsx")
    with pytest.raises(ValueError, match="inside the input folder"):
        consolidate([inbox], inbox / "team.xlsx", as_of=AS_OF, workers=0, simulations=500)
    assert [p.name for p in inbox.iterdir()] == ["claire.xlsx"]


def test_issues_sheet_lists_every_issue(run_all):
    result, _, out, *_ = run_all
    wb = openpyxl.load_workbook(out, read_only=True)
    rows = list(wb["Issues"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:8] == ("Severity", "Code", "File", "Sheet", "Row", "Column", "Value", "Message")
    assert header[8] == "Effect"
    c = result.counts
    assert len(rows) - 1 == c["error"] + c["warning"]
    effects = {r[1]: r[8] for r in rows[1:]}
    assert effects["BAD_DATE"].startswith("value left out of the computations")
    assert effects["TOO_LARGE"] == "file not read"
    wb.close()


# ---------------------------------------------------------------------------------------------
def test_duplicate_even_resaved(reps, tmp_path):
    copy = tmp_path / "resaved.xlsx"
    wb = openpyxl.load_workbook(reps[0])
    wb.properties.modified = dt.datetime(2030, 1, 1)
    wb.save(copy)
    assert copy.read_bytes() != reps[0].read_bytes()
    r = consolidate([reps[0], copy], tmp_path / "team.xlsx", as_of=AS_OF, workers=0, history=False,
                    simulations=500)
    assert [f.status for f in r.files] == ["ok", "duplicate"]
    assert r.files[0].sha256 != r.files[1].sha256
    assert [i.code for i in r.files[1].issues] == ["DUPLICATE_FILE"]
    single = consolidate([reps[0]], tmp_path / "one.xlsx", as_of=AS_OF, workers=0, history=False,
                         simulations=500)
    assert r.rows == single.rows
    assert r.exit_code == 0


def test_failed_write_leaves_the_previous_workbook_intact(reps, tmp_path, monkeypatch):
    out = tmp_path / "team.xlsx"
    consolidate(reps[:2], out, as_of=AS_OF, workers=0, simulations=500)
    old = out.read_bytes()
    calls = {"n": 0}
    real_write = zipfile.ZipFile.write

    def failing_write(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real_write(self, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "write", failing_write)
    with pytest.raises(OSError):
        consolidate(reps, out, as_of=AS_OF, workers=0, simulations=500)
    assert calls["n"] == 5                                    # it did fail midway through the zip
    assert out.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["team.history.sqlite", "team.xlsx"]


def test_history_store_idempotent(reps, tmp_path):
    h = tmp_path / "h.sqlite"
    consolidate(reps, tmp_path / "a.xlsx", as_of=AS_OF, workers=0, history=h, simulations=500)
    conn = sqlite3.connect(h)
    first = history_counts(conn)
    conn.close()
    consolidate(reps, tmp_path / "b.xlsx", as_of=AS_OF, workers=0, history=h, simulations=500)
    conn = sqlite3.connect(h)
    assert history_counts(conn) == first
    assert first["submissions"] == 4 and first["snapshots"] > 100
    conn.close()


def test_default_history_beside_the_output(reps, tmp_path):
    r = consolidate(reps[:1], tmp_path / "équipe.xlsx", as_of=AS_OF, workers=0, simulations=500)
    assert r.history == str(tmp_path / "équipe.history.sqlite") and Path(r.history).is_file()


def _snap(ref, prob, status, decision, stage="Negotiation", rep="Ann"):
    from salesxl.tables import TableData
    return TableData("pipeline", {"ref": [ref], "rep": [rep], "amount": [1000.0], "probability": [prob],
                                  "stage": [stage], "status": [status], "decision_date": [decision]}, [2])


def test_history_calibration_and_slippage(tmp_path):
    conn = hist.open_history(tmp_path / "h.sqlite")
    d1, d2, d3 = dt.date(2026, 1, 5), dt.date(2026, 2, 5), dt.date(2026, 3, 5)
    # P-1: open at 60 %, pushed twice (by 10 then 20 days), then won with its probability cleared to 0 %
    hist.import_submission(conn, sha256="a", fingerprint="f1", as_of=d1, path="x.xlsx",
                           pipeline=_snap("P-1", 0.6, "Open", dt.date(2026, 1, 20)))
    hist.import_submission(conn, sha256="b", fingerprint="f2", as_of=d2, path="x.xlsx",
                           pipeline=_snap("P-1", 0.7, "Open", dt.date(2026, 1, 30), stage="Verbal agreement"))
    n = history_counts(conn)
    # the same submission again changes nothing
    assert not hist.import_submission(conn, sha256="b", fingerprint="f2", as_of=d2, path="x.xlsx",
                                      pipeline=_snap("P-1", 0.7, "Open", dt.date(2026, 1, 30),
                                                     stage="Verbal agreement"))
    assert history_counts(conn) == n
    slip = hist.slippage(conn, d2)
    assert slip.to_frame(None).to_dict("records") == [{"rep": "Ann", "ref": "P-1", "pushes": 1, "days_pushed": 10,
                                        "days_in_stage": 0}]
    hist.import_submission(conn, sha256="c", fingerprint="f3", as_of=d3, path="x.xlsx",
                           pipeline=_snap("P-1", 0.0, "Won", dt.date(2026, 2, 19), stage="Verbal agreement"))
    closed = hist.closed_proposals(conn)
    assert closed.to_frame(None)[["rep", "ref", "probability", "won"]].to_dict("records") == [
        {"rep": "Ann", "ref": "P-1", "probability": 0.7, "won": True}]       # the last estimate while open
    assert not len(hist.slippage(conn, d3))                                     # closed: no longer slipping
    # a proposal only ever seen closed keeps its own probability
    hist.import_submission(conn, sha256="d", fingerprint="f4", as_of=d3, path="y.xlsx",
                           pipeline=_snap("P-9", 0.3, "Lost", d1, rep="Bob"))
    assert hist.closed_proposals(conn, rep="bob").to_frame(None)[["ref", "probability", "won"]].to_dict("records") == [
        {"ref": "P-9", "probability": 0.3, "won": False}]
    conn.close()


# ---------------------------------------------------------------------------------------------
def test_exit_codes(reps, tmp_path, corpus):
    cdir, _ = corpus
    clean = consolidate([reps[0], reps[1]], tmp_path / "a.xlsx", as_of=AS_OF, workers=0, simulations=500)
    assert clean.exit_code == 0
    bad = consolidate([cdir / "empty.xlsx", cdir / "legacy_biff8.xls"], tmp_path / "b.xlsx", as_of=AS_OF,
                      workers=0)
    assert bad.exit_code == 2 and bad.output is None and not (tmp_path / "b.xlsx").exists()
    nothing = consolidate([tmp_path / "nowhere"], tmp_path / "c.xlsx", workers=0)
    assert nothing.exit_code == 2 and nothing.output is None


def test_lock_files_skipped_with_a_note(reps, tmp_path):
    d = tmp_path / "inbox"
    d.mkdir()
    shutil.copy(reps[0], d / "claire.xlsx")
    (d / "~$claire.xlsx").write_bytes(b"\x00" * 165)
    r = consolidate([d], tmp_path / "team.xlsx", as_of=AS_OF, workers=0, simulations=500)
    assert [Path(f.path).name for f in r.files] == ["claire.xlsx"]
    assert [i.code for i in r.notes] == ["LOCK_FILE_SKIPPED"]


def test_engines_give_the_same_consolidation(reps, tmp_path):
    a = consolidate(reps, tmp_path / "a.xlsx", as_of=AS_OF, engine="openpyxl", workers=1, history=False,
                    seed=3, simulations=500)
    b = consolidate(reps, tmp_path / "b.xlsx", as_of=AS_OF, engine="calamine", workers=1, history=False,
                    seed=3, simulations=500)
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        d.pop("output")
    assert da == db


def test_read_timeout_through_consolidate(reps, tmp_path):
    r = consolidate(reps[:2], tmp_path / "team.xlsx", as_of=AS_OF, workers=1, timeout=0.0005)
    assert [i.code for f in r.files for i in f.issues] == ["READ_TIMEOUT", "READ_TIMEOUT"]
    assert r.exit_code == 2 and not (tmp_path / "team.xlsx").exists()


def test_cli_json(reps, tmp_path):
    from typer.testing import CliRunner

    from salesxl.cli import app
    out = tmp_path / "team.xlsx"
    res = CliRunner().invoke(app, ["consolidate", str(reps[0]), str(reps[2]), "-o", str(out), "--json",
                                   "--as-of", "2026-06-15", "--workers", "1", "--simulations", "500"])
    assert res.exit_code == 1, res.output
    d = json.loads(res.stdout)
    assert d["output"] == str(out) and [f["status"] for f in d["files"]] == ["ok", "invalid"]
    bad = CliRunner().invoke(app, ["consolidate", str(reps[0]), "-o", str(out), "--engine", "xlrd"])
    assert bad.exit_code == 2


# ---------------------------------------------------------------------------------------------
# The guarded pool itself. Task functions live at module level so that worker processes can import them.
def task_ok(x):
    return x * 2


def task_sleep(x):
    time.sleep(x)
    return x


def task_exit(x):
    os._exit(3)


def task_segfault(x):
    os.kill(os.getpid(), signal.SIGSEGV)


def task_memory(x):
    return len(bytearray(x))


def task_stuck(x):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})   # deaf to the soft limit
    time.sleep(x)
    return x


def task_dispatch(item):
    kind, arg = item
    return {"ok": task_ok, "sleep": task_sleep, "exit": task_exit, "segv": task_segfault,
            "mem": task_memory, "stuck": task_stuck}[kind](arg)


def test_pool_isolates_crashes_timeouts_and_memory(monkeypatch):
    import salesxl.io.pool as pool_mod
    monkeypatch.setattr(pool_mod, "HARD_GRACE", 0.5)
    items = [("ok", 1), ("sleep", 30), ("ok", 2), ("exit", 0), ("segv", 0), ("mem", 8 * 1024 ** 3),
             ("stuck", 30), ("ok", 3)]
    # an 8 s limit: on a loaded machine (load 16 on 2 cores) a fresh worker took over 3 s to answer;
    # the sleeping and stuck tasks ask for 30 s, so they are still stopped by the limit
    pool = GuardedPool(task_dispatch, 2, timeout=8.0, memory=512 * 1024 ** 2, max_tasks=2)
    t0 = time.monotonic()
    out = list(pool.imap(items))
    assert time.monotonic() - t0 < 60
    assert [i for i, _, _ in out] == list(range(len(items)))          # in input order
    res = [r for _, _, r in out]
    assert res[0] == 2 and res[2] == 4 and res[7] == 6
    assert isinstance(res[1], TaskFailure) and res[1].kind == "timeout"
    assert isinstance(res[3], TaskFailure) and res[3].kind == "crash" and "code 3" in res[3].detail
    assert isinstance(res[4], TaskFailure) and res[4].kind == "crash" and "SIGSEGV" in res[4].detail
    assert isinstance(res[5], TaskFailure) and res[5].kind in ("memory", "crash")
    assert isinstance(res[6], TaskFailure) and res[6].kind == "timeout"
    assert not pool._pool                                              # every worker stopped


def test_worker_failure_becomes_a_file_issue(tmp_path):
    from salesxl.io.pool import TaskFailure as TF
    crash = cons.failure_result(str(tmp_path / "x.xlsx"), TF("crash", "the reader process was stopped by "
                                                                       "signal SIGSEGV", 0.1), "en")
    assert [i.code for i in crash.issues] == ["READ_FAILED"] and not crash.readable
    slow = cons.failure_result(str(tmp_path / "x.xlsx"), TF("timeout", "stopped", 121.3), "fr", 120)
    assert [i.code for i in slow.issues] == ["READ_TIMEOUT"] and "120 s" in slow.issues[0].message


def test_consolidated_forecast_equals_the_forecast_of_the_merged_files(tmp_path):
    """The consolidation keeps the forecast's rows on disk rep by rep (not in memory) and reads each rep
    back when it comes to them: its forecast must be `forecast.compute` over the merged files (won/lost
    proposals from the workbooks: no history). A rep in two files counts once, from the newer (issue 11):
    a.xlsx, an older submission of the first rep, is superseded by b.xlsx."""
    from make_workbooks import rep_rows
    from conftest import compute
    from salesxl.io.read_xlsx import validate_file
    from salesxl.io.template import write_template

    lang, t0 = rep_rows(0, rows=200, as_of=AS_OF, messy=False)
    _, t1 = rep_rows(1, rows=200, as_of=AS_OF, messy=False)
    half = {k: len(v) // 2 for k, v in t0.items()}
    first = {k: (v if k in ("reps", "objectives", "planning") else v[:half[k]]) for k, v in t0.items()}
    second = {k: ([] if k in ("reps", "objectives", "planning") else v[half[k]:]) for k, v in t0.items()}
    second = {k: second.get(k, []) + t1.get(k, []) for k in set(second) | set(t1)}
    paths = [write_template(tmp_path / "a.xlsx", lang, rows=first, settings={"as_of": AS_OF}),
             write_template(tmp_path / "b.xlsx", lang, rows=second, settings={"as_of": AS_OF}),
             write_rep_workbook(tmp_path / "c.xlsx", 2, rows=200, as_of=AS_OF)]
    result = consolidate(paths, tmp_path / "out" / "team.xlsx", as_of=AS_OF, workers=0, history=False,
                         seed=11, simulations=3000)
    assert [f.status for f in result.files][0] == "superseded"
    superseded = [i for i in result.files[0].issues if i.code == "SUPERSEDED"]
    assert len(superseded) == 1 and str(paths[1]) in superseded[0].message
    files = [validate_file(p, engine="calamine", as_of=AS_OF) for p in paths[1:]]
    expected = compute(merged_tables(files), files[0].lists, AS_OF, files[0].settings, seed=11, simulations=3000)
    got = result.forecast.to_dict()
    assert [r["rep"] for r in got["reps"]] == [r["rep"] for r in expected.to_dict()["reps"]]
    # the first rep's newest submission (b.xlsx) has no Objectives nor Planning rows: no current period
    assert len(got["reps"]) == 2 and [s["rep"] for s in got["skipped"]] == [t0["reps"][0]["rep"]]
    assert got == expected.to_dict()
    assert any(r["win_rate"] is not None for r in got["reps"])      # closed proposals were found


def test_without_python_calamine_the_default_engine_is_openpyxl(reps, tmp_path, monkeypatch):
    """In Pyodide (xlwings Lite) python-calamine is not installed: the default engine is openpyxl there,
    and asking for calamine says what is missing."""
    engines = []
    read_one = cons.read_one
    monkeypatch.setattr(cons, "read_one", lambda task: engines.append(task[1]) or read_one(task))
    assert cons.default_engine() == "calamine"
    monkeypatch.setattr(cons, "_calamine_installed", lambda: False)
    assert cons.default_engine() == "openpyxl"
    r = consolidate(reps[:2], tmp_path / "team.xlsx", as_of=AS_OF, workers=0, history=False, simulations=500)
    assert engines == ["openpyxl", "openpyxl"] and r.output and [f.status for f in r.files] == ["ok", "ok"]
    with pytest.raises(ValueError, match="python-calamine"):
        consolidate(reps[:1], tmp_path / "other.xlsx", engine="calamine", workers=0, history=False)
    assert not (tmp_path / "other.xlsx").exists()


def test_reps_forecast_in_the_workers_as_in_this_process(tmp_path):
    """From FORECAST_JOBS_MIN reps on, the reps' forecasts are computed by the worker processes (one rep
    per task): the team forecast is the one computed in this process."""
    n = cons.FORECAST_JOBS_MIN + 1
    paths = [write_rep_workbook(tmp_path / f"r{i}.xlsx", i, rows=30, as_of=AS_OF) for i in range(n)]
    a = consolidate(paths, tmp_path / "a.xlsx", as_of=AS_OF, workers=2, history=False, simulations=500)
    b = consolidate(paths, tmp_path / "b.xlsx", as_of=AS_OF, workers=0, history=False, simulations=500)
    assert len(a.forecast.reps) == n
    assert a.forecast.to_dict() == b.forecast.to_dict()


def test_team_workbook_from_tables(tmp_path):
    """write_team_workbook with whole typed tables of several files: codes shown in the workbook's
    language, Weighted = Amount × Probability where both are numbers, text kept as text, what was typed
    kept where a value could not be read, each row with its file and Excel row."""
    from salesxl.io.write_xlsx import write_team_workbook
    from salesxl.tables import TableData
    a = TableData("pipeline", {"ref": ["P1", "P2"], "rep": ["Ann", "Ann"], "company": [HYPERLINK, "Beta"],
                               "amount": [1000.0, 250.5], "probability": [0.5, 0.2], "status": ["Open", "Won"]},
                  [2, 3], sheet="Pipeline")
    b = TableData("pipeline", {"ref": ["P3"], "rep": ["Bob"], "company": ["Gamma"], "amount": [None],
                               "probability": [0.9], "status": ["Lost"]}, [7], sheet="Carnet commercial",
                  kept={"amount": {0: "douze"}})
    write_team_workbook(tmp_path / "t.xlsx", files=[("a.xlsx", {"pipeline": a}), ("b.xlsx", {"pipeline": b})],
                        lang="fr")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    ws = wb["Carnet commercial"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]
    assert [r["Pondéré"] for r in rows] == [500, pytest.approx(50.1), None]
    assert [r["Statut"] for r in rows] == ["En cours", "Gagné", "Perdu"]
    assert rows[0]["Société"] == HYPERLINK and ws.cell(2, head.index("Société") + 1).data_type == "s"
    assert [r["Montant"] for r in rows] == [1000, 250.5, "douze"]          # what was typed, kept
    from salesxl import contract
    file_h, sheet_h, row_h = (fr for _, fr in contract.PROVENANCE_LABELS.values())
    assert [(r[file_h], r[sheet_h], r[row_h]) for r in rows] == [
        ("a.xlsx", "Pipeline", 2), ("a.xlsx", "Pipeline", 3), ("b.xlsx", "Carnet commercial", 7)]
