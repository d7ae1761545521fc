"""The review as data, rendered to a real workbook, read back with openpyxl and recalculated by
LibreOffice: blocks present, numbers equal to the core's, both languages."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from salesxl.io.review_xlsx import render_review
from salesxl.review import Chart, Fields, Grid, Points, build_reviews, sheet_name
from conftest import demo_team_forecast


@pytest.fixture(scope="module")
def team_forecast(tmp_path_factory):
    return demo_team_forecast(tmp_path_factory.mktemp("team"), 4)


def write_reviews(path: Path, reviews) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    for r in reviews:
        render_review(wb, r)
    wb.close()
    return path


def test_sheet_names_are_unique_and_short():
    taken: set[str] = set()
    long = "Marie-Christine de La Tour d'Auvergne"
    a, b = sheet_name(long, "fr", taken), sheet_name(long, "fr", taken)
    assert a != b and len(a) <= 31 and len(b) <= 31 and a.startswith("Entretien – ")
    assert sheet_name("A/B [x]", "en", set()) == "Review – A B x"      # spaces collapsed


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_review_blocks_and_talking_points(team_forecast, lang):
    reviews = build_reviews(team_forecast, lang)
    assert [r.rep for r in reviews] == [r.rep for r in team_forecast.reps]
    for rv, rf in zip(reviews, team_forecast.reps):
        kinds = [type(b).__name__ for b in rv.blocks]
        assert kinds[:3] == ["Title", "Fields", "Fields"]
        assert {"Grid", "Chart", "Points"} <= set(kinds)
        points = next(b for b in rv.blocks if isinstance(b, Points)).items
        assert 3 <= len(points) <= 6
        plan = rv.grid("plan")
        assert [c[3].value for c in plan.rows] == [p.done for p in rf.plan]
        props = rv.grid("proposals")
        weights = [c[4].value for c in props.rows]
        assert weights == sorted(weights, reverse=True)


def test_review_workbook_read_back_equals_core(team_forecast, tmp_path):
    reviews = build_reviews(team_forecast, "en")
    path = write_reviews(tmp_path / "reviews.xlsx", reviews)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [r.sheet_name for r in reviews]
    for rv, rf in zip(reviews, team_forecast.reps):
        ws = wb[rv.sheet_name]
        labels = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(1, ws.max_row + 1)}
        assert labels["Rep"] == rf.rep
        assert labels["Won"] == pytest.approx(rf.won)
        assert labels["Forecast (won + weighted open)"] == pytest.approx(rf.forecast)
        assert labels["P90"] == pytest.approx(rf.p90) and labels["P10"] == pytest.approx(rf.p10)
        status = next(v for k, v in labels.items() if k == "Status")
        assert status in ("On track", "At risk", "Off track")
        assert len(ws._charts) >= 1
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize in (9, "9")


def test_french_review_and_risk_colour(team_forecast, tmp_path):
    reviews = build_reviews(team_forecast, "fr")
    path = write_reviews(tmp_path / "entretiens.xlsx", reviews)
    wb = openpyxl.load_workbook(path)
    ws = wb[reviews[0].sheet_name]
    assert ws.title.startswith("Entretien – ")
    cells = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2) for r in range(1, ws.max_row + 1)}
    statut = cells["Statut"]
    assert statut.value in ("En bonne voie", "À risque", "Hors trajectoire")
    assert statut.fill.fgColor.rgb.endswith(("C6EFCE", "FFEB9C", "FFC7CE"))


@pytest.mark.libreoffice
def test_review_workbook_recalculates_in_libreoffice(team_forecast, tmp_path, recalc):
    reviews = build_reviews(team_forecast, "fr")
    src = write_reviews(tmp_path / "src" / "entretiens.xlsx", reviews) if (tmp_path / "src").mkdir() is None else None
    out = recalc(src, tmp_path / "lo")
    wb = openpyxl.load_workbook(out, data_only=True)
    assert wb.sheetnames == [r.sheet_name for r in reviews]
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                assert not (isinstance(v, str) and v.startswith("#") and v.endswith(("!", "?", "A"))), v
