"""`salesxl demo` end to end in a temporary folder: the files it promises, the reviews, the handbook
rows, history-driven calibration and slippage, and a team workbook LibreOffice opens without errors."""
from __future__ import annotations

import itertools
import re
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from salesxl.cli import app
from salesxl.demo_data import HANDBOOK_ROWS, REPS
from salesxl.io.read_xlsx import validate_file

runner = CliRunner()
ERRORS = re.compile(r"^#(N/A|VALUE!|REF!|DIV/0!|NUM!|NAME\?|NULL!)$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo_out"
    res = runner.invoke(app, ["demo", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out, res.output


def test_files_promised_are_there(demo):
    out, text = demo
    reps = sorted((out / "reps").glob("*.xlsx"))
    assert len(reps) == len(REPS) >= 6
    for p in [out / "team.xlsx", out / "team.history.sqlite", out / "salesxl.xlam", *reps]:
        assert p.exists() and p.stat().st_size > 0, p
        assert str(p.name) in text or str(p) in text or p.parent.name == "reps"
    assert "Open first" in text
    with zipfile.ZipFile(out / "salesxl.xlam") as z:
        assert "xl/vbaProject.bin" in z.namelist()


def test_handbook_rows_in_a_junior_reporting(demo):
    out, _ = demo
    v = validate_file(out / "reps" / "claire_martin.xlsx")
    rep = v.tables["reporting"]
    found = {(c, ct, jt) for c, ct, jt in zip(rep["company"], rep["contact"], rep["job_title"])}
    for company, contact, title, _, _ in HANDBOOK_ROWS:
        assert (company, contact, title) in found
    assert v.lang == "fr"
    # the handbook rows raise no issue of their own
    rows = {r for r, company, contact in zip(rep.rows, rep["company"], rep["contact"])
            if company in [h[0] for h in HANDBOOK_ROWS] and contact in [h[1] for h in HANDBOOK_ROWS]}
    assert not [i for i in v.issues if i.sheet == "Reporting" and i.row in rows and i.severity == "error"]


def test_team_workbook_reviews_forecast_issues(demo):
    out, _ = demo
    wb = openpyxl.load_workbook(out / "team.xlsx")
    reviews = [n for n in wb.sheetnames if n.startswith("Review – ")]
    assert sorted(reviews) == sorted(f"Review – {r[0]}" for r in REPS)
    for name in ("Forecast", "Issues", "Reporting", "Pipeline", "Planning", "Objectives"):
        assert name in wb.sheetnames
    fc = wb["Forecast"]
    head_row = next(r for r in range(1, 10) if "Risk" in [c.value for c in fc[r]])
    header = [c.value for c in fc[head_row]]
    risk_col = header.index("Risk")
    names = {r[0] for r in REPS}
    rows = list(itertools.takewhile(lambda row: row[0] in names,
                                    fc.iter_rows(min_row=head_row + 1, values_only=True)))
    assert len(rows) == len(names)
    risks = [row[risk_col] for row in rows]
    assert len(set(risks)) >= 2                  # a mix: some reps on track, some at risk or off track
    order = {"Off track": 0, "At risk": 1, "On track": 2}
    assert [order[r] for r in risks] == sorted(order[r] for r in risks)     # sorted by risk
    # each rep's name links to their review, each review links back
    links = {c.value: c.hyperlink.location for row in fc.iter_rows() for c in row if c.hyperlink is not None}
    assert set(links) == names and all(links[n] == f"'Review – {n}'!A1" for n in names)
    for n in reviews:
        back = [c.hyperlink.location for row in wb[n].iter_rows(max_row=2) for c in row if c.hyperlink is not None]
        assert back == ["'Forecast'!A1"]
    # the demo's history has an earlier collection: a change per rep, and the pipeline's movement below
    texts = [c.value for row in fc.iter_rows(max_row=head_row) for c in row if isinstance(c.value, str)]
    assert any(t.startswith("Change since ") for t in texts)
    assert all(isinstance(row[header.index("Δ Won")], (int, float)) for row in rows)
    mv_row = next(r for r in range(1, fc.max_row + 1)
                  if str(fc.cell(r, 1).value or "").startswith("Pipeline movement since"))
    assert [fc.cell(mv_row + 1, c).value for c in (2, 4, 6, 8, 10)] == ["New", "Won", "Lost", "Pushed", "Amount changed"]
    moved = [row for row in fc.iter_rows(min_row=mv_row + 3, values_only=True) if row[0] in names]
    assert len(moved) == len(names) and all(isinstance(row[1], int) for row in moved)
    assert sum(row[1] for row in moved) > 0                 # new proposals since the previous collection
    codes = {row[1] for row in wb["Issues"].iter_rows(min_row=2, values_only=True)}
    assert {"BAD_DATE", "UNKNOWN_VALUE", "MISSING_VALUE", "PROBABILITY_NORMALISED", "NUMBER_NORMALISED",
            "OVERDUE_PROPOSAL"} <= codes
    # history: calibration and slippage show in the reviews
    texts = [c for n in reviews for row in wb[n].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(t.startswith("Calibration of declared probabilities") for t in texts)
    assert any(t == "Slipping proposals" for t in texts)
    # the company typed as a formula stays text
    rep = wb["Reporting"]
    assert any(c.value == '=HYPERLINK("http://example.com","Click")' and c.data_type == "s"
               for row in rep.iter_rows(min_col=3, max_col=3) for c in row)


def test_history_store_holds_a_year_of_collections(demo):
    out, _ = demo
    with sqlite3.connect(out / "team.history.sqlite") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        snap = next(t for t in tables if "snapshot" in t)
        as_ofs = {r[0] for r in conn.execute(f"select distinct as_of from {snap}")}
        periods = conn.execute("select count(distinct as_of) from periods").fetchone()[0]
    assert len(as_ofs) == 13 and periods == 13       # twelve monthly collections and today's


def test_demo_shows_expected_against_declared(demo):
    """With a year of history the Forecast sheet shows the history's expected beside the declared
    forecast, the basis, the declared P(reach) kept; a review says why they differ (SPEC §4b)."""
    out, _ = demo
    wb = openpyxl.load_workbook(out / "team.xlsx")
    fc = wb["Forecast"]
    head_row = next(r for r in range(1, 10) if "Risk" in [c.value for c in fc[r]])
    header = [c.value for c in fc[head_row]]
    for h in ("Forecast", "Expected (history)", "Basis", "P(reach) declared"):
        assert h in header
    rows = [dict(zip(header, r)) for r in itertools.takewhile(lambda r: r[0] in {x[0] for x in REPS},
                                                               fc.iter_rows(min_row=head_row + 1, values_only=True))]
    assert {r["Basis"] for r in rows} == {"History"}
    assert sum(r["Expected (history)"] for r in rows) < sum(r["Forecast"] for r in rows)   # the reps are optimistic
    texts = [c for n in wb.sheetnames if n.startswith("Review – ")
             for row in wb[n].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(t.lstrip("• ").startswith("History expects") for t in texts)


@pytest.mark.libreoffice
def test_libreoffice_opens_the_team_workbook_without_errors(demo, recalc, tmp_path):
    out, _ = demo
    converted = recalc(out / "team.xlsx", tmp_path / "lo")
    wb = openpyxl.load_workbook(converted, read_only=True, data_only=True)
    assert any(n.startswith("Review") for n in wb.sheetnames)
    bad = [(ws.title, v) for ws in wb.worksheets
           for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str) and ERRORS.match(v)]
    assert not bad, bad[:5]


def test_french_demo(tmp_path):
    res = runner.invoke(app, ["demo", "-o", str(tmp_path / "fr"), "--lang", "fr", "--no-addin"])
    assert res.exit_code == 0, res.output
    assert "Ouvrez d'abord" in res.output
    wb = openpyxl.load_workbook(tmp_path / "fr" / "equipe.xlsx", read_only=True)
    assert "Prévisions" in wb.sheetnames and "Anomalies" in wb.sheetnames
    assert sum(n.startswith("Entretien – ") for n in wb.sheetnames) == len(REPS)
