"""The review as data, rendered to a real workbook, read back with openpyxl and recalculated by
LibreOffice: blocks present, numbers equal to the core's, both languages."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from salesxl.demo_data import DEMO_AS_OF
from salesxl.io.review_xlsx import render_review
from salesxl.review import Chart, Fields, Grid, Points, sheet_name
from conftest import build_reviews, demo_team_forecast


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
    # one rule for every sheet name: line breaks are spaces, unique whatever the case and accents
    taken2: set[str] = set()
    assert sheet_name("Zoé\nB", "en", taken2) == "Review – Zoé B" and sheet_name("ZOE B", "en", taken2) == "Review – ZOE B (2)"


def test_the_one_sheet_name_rule():
    from salesxl.layout import sheet_name as valid_sheet_name
    taken = {"Reporting"}
    assert valid_sheet_name("Review – A/B: [x]" + "y" * 30, taken) == ("Review – A B x " + "y" * 30)[:31]
    assert valid_sheet_name("reporting", taken) == "reporting (2)"             # unique whatever the case
    assert {"Reporting", "reporting (2)"} < taken                               # each name taken in turn
    assert valid_sheet_name("'quoted'", set()) == "quoted"                      # no apostrophe at either end


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
        labels = _fields_read_back(ws)
        assert labels["Rep"] == rf.rep
        assert labels["Won"] == pytest.approx(rf.won)
        assert labels["Forecast (won + weighted open)"] == pytest.approx(rf.forecast)
        assert labels["P90 (optimistic)"] == pytest.approx(rf.p90) and labels["P10 (pessimistic)"] == pytest.approx(rf.p10)
        assert labels["P(reach objective)"] == pytest.approx(rf.p_reach)
        status = next(v for k, v in labels.items() if k == "Status")
        assert status in ("On track", "At risk", "Off track")
        assert len(ws._charts) >= 1
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize in (9, "9")


def _fields_read_back(ws) -> dict:
    """Label -> value of the review's two field columns (A -> B, D:F -> G)."""
    out = {}
    for r in range(1, ws.max_row + 1):
        for label_col, value_col in ((1, 2), (4, 7)):
            label = ws.cell(row=r, column=label_col).value
            if isinstance(label, str) and label not in out:
                out[label] = ws.cell(row=r, column=value_col).value
    return out


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


# ------------------------------------------------------------------------------------ talking points
def _rf(team_forecast, **changes):
    import dataclasses
    return dataclasses.replace(team_forecast.reps[0], **changes)


def test_on_track_with_a_slow_pace_hears_about_it(team_forecast):
    from salesxl.forecast import ON_TRACK, PlanLine
    from salesxl.review import talking_points
    plan = [PlanLine("Call", 30, 15.0, 5, 5 / 15)]
    rf = _rf(team_forecast, risk=ON_TRACK, lever=None, pace=5 / 15, plan=plan, p_reach=0.95)
    for lang, words in (("en", "activity is at 33.3% of the pro-rated plan"),
                        ("fr", "l'activité est à 33,3\u00a0% du plan au prorata")):
        pts = talking_points(rf, DEMO_AS_OF, lang)
        assert any(words in p for p in pts), pts
    fast = _rf(team_forecast, risk=ON_TRACK, lever=None, pace=1.2, plan=plan, p_reach=0.95)
    assert not any("pro-rated plan" in p for p in talking_points(fast, DEMO_AS_OF, "en"))


def test_extra_actions_account_for_the_days_left(team_forecast):
    from salesxl.forecast import AT_RISK, PlanLine
    from salesxl.review import talking_points
    start = DEMO_AS_OF - dt.timedelta(days=9)
    base = dict(risk=AT_RISK, objective=100_000.0, forecast=60_000.0, won=20_000.0, win_rate=0.5, avg_deal=2_000.0,
                conversion={"Call": 0.5}, period_start=start, plan=[PlanLine("Call", 40, 20.0, 20, 1.0)],
                lever=None, coverage=None, required_coverage=None)
    # 40,000 to find at 500 per call: 80 calls; 2 calls a day so far
    roomy = _rf(team_forecast, period_end=DEMO_AS_OF + dt.timedelta(days=40), **base)
    pts = [p for p in talking_points(roomy, DEMO_AS_OF, "en") if "more Call actions" in p]
    assert pts and "about 80 more Call actions" in pts[0] and "2.0 a day in the 40 days left" in pts[0]
    assert "2.0 a day so far" in pts[0] and "cannot" not in pts[0]
    tight = _rf(team_forecast, period_end=DEMO_AS_OF + dt.timedelta(days=3), **base)
    pts = [p for p in talking_points(tight, DEMO_AS_OF, "en") if "Call actions" in p]
    assert pts and pts[0].startswith("Activity alone cannot close the gap of 40,000 this period")
    assert "in the 3 days left (26.7 a day" in pts[0]
    last = _rf(team_forecast, period_end=DEMO_AS_OF + dt.timedelta(days=1), **base)
    fr = [p for p in talking_points(last, DEMO_AS_OF, "fr") if "Appel" in p]
    assert fr and "dans le dernier jour" in fr[0] and "L'activité seule ne peut pas" in fr[0]


def test_slipping_lists_only_proposals_pushed_at_least_once(team_forecast):
    from salesxl.review import build_review
    slip = [{"ref": "P1", "pushes": 0, "days_pushed": 0, "days_in_stage": 90},
            {"ref": "P2", "pushes": 2, "days_pushed": 30, "days_in_stage": 10},
            {"ref": "P3", "pushes": 1, "days_pushed": 5, "days_in_stage": 40}]
    rv = build_review(_rf(team_forecast, slippage=slip), DEMO_AS_OF, "en")
    assert [r[0].value for r in rv.grid("slippage").rows] == ["P2", "P3"]
    none = build_review(_rf(team_forecast, slippage=slip[:1]), DEMO_AS_OF, "en")
    assert not [b for b in none.blocks if getattr(b, "id", "") == "slippage"]


def test_a_probability_reads_the_same_in_cells_and_text(team_forecast, tmp_path):
    from salesxl.forecast import ON_TRACK
    from salesxl.layout import number_format
    from salesxl.review import build_review
    rf = _rf(team_forecast, risk=ON_TRACK, p_reach=0.997, lever=None)
    rv = build_review(rf, DEMO_AS_OF, "en")
    points = next(b for b in rv.blocks if isinstance(b, Points)).items
    assert "P(reach) 99.7%" in points[0] and "100%" not in points[0]
    path = write_reviews(tmp_path / "p.xlsx", [rv])
    ws = openpyxl.load_workbook(path)[rv.sheet_name]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == pytest.approx(0.997))
    assert cell.number_format == number_format("percent", "en") == "0.0%"      # shows 99.7%
    # amounts in the points are the cells' (rounded to the unit as "#,##0" shows them)
    fcell = next(c for row in ws.iter_rows() for c in row if c.value == pytest.approx(rf.forecast))
    assert fcell.number_format == "#,##0" and f"{rf.forecast:,.0f}" in points[0]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_review_language_vous_long_dates_and_plurals(team_forecast, lang):
    texts = []
    for rv in build_reviews(team_forecast, lang):
        for b in rv.blocks:
            if isinstance(b, Points):
                texts += list(b.items)
            elif isinstance(b, Fields):
                texts += [lbl for lbl, _ in b.rows] + [c.value for _, c in b.rows if isinstance(c.value, str)]
            elif isinstance(b, Grid):
                texts += [b.title, b.footer, *b.headers]
    blob = "\n".join(texts)
    assert "(s)" not in blob and not re.search(r"\b1 (days|jours|proposals|propositions)\b", blob)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", blob)                   # no ISO date in what is read
    if lang == "fr":
        assert not re.search(r"\b(tu|ton|ta|tes|toi)\b", blob, re.I)
        assert "nov. 2026" in blob or "novembre 2026" in blob
    else:
        assert "Nov 2026" in blob


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_range_chart_marks_what_the_history_expects(team_forecast, tmp_path, lang):
    """With the history basis, the range chart has a marker for the history's expected value (its number
    beside the page, outside the print area); with the declared basis it has none."""
    from salesxl.forecast import DECLARED, HISTORY
    from salesxl.layout import review_layout
    from salesxl.review import build_review
    label = {"en": "Expected (history)", "fr": "Attendu (historique)"}[lang]
    rf = _rf(team_forecast, basis=HISTORY, expected=12_345.0)
    lay = review_layout(build_review(rf, DEMO_AS_OF, lang))
    (bullet,) = [c for c in lay.charts if c.kind == "bullet"]
    (marker,) = [s for s in bullet.series if s.name == label]
    cells = lay.grid()
    r, c = marker.values[:2]
    assert marker.role == "marker" and cells[(r, c)].value == 12_345.0
    assert lay.print.area is not None and c > lay.print.area[3]          # beside the page: not printed
    fallback_labels = [cells[(row, bullet.fallback.series[0].categories[1])].value
                       for row in range(bullet.fallback.series[0].categories[0], bullet.fallback.series[0].categories[2] + 1)]
    assert fallback_labels[-1] == label                                  # the add-in's bar chart shows it too
    declared = review_layout(build_review(_rf(team_forecast, basis=DECLARED, expected=None), DEMO_AS_OF, lang))
    assert not [s for c in declared.charts for s in c.series if s.name == label]
    # the file renderer draws it: a triangle marker whose value is the expected value's cell
    import zipfile
    from xlsxwriter.utility import xl_rowcol_to_cell
    wb = xlsxwriter.Workbook(str(tmp_path / "r.xlsx"))
    render_review(wb, build_review(rf, DEMO_AS_OF, lang))
    wb.close()
    with zipfile.ZipFile(tmp_path / "r.xlsx") as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    cell = xl_rowcol_to_cell(r, c, row_abs=True, col_abs=True)
    assert any('<c:symbol val="triangle"/>' in x and f"!{cell}</c:f>" in x for x in charts)


@pytest.mark.parametrize("lang, bins", [("en", ["40%–60%", "80%–100%"]),
                                        ("fr", ["40\u00a0%–60\u00a0%", "80\u00a0%–100\u00a0%"])])
def test_calibration_bins_are_spelt_as_every_percentage(team_forecast, lang, bins):
    """The calibration grid's bins are percentages written as text in the review's language (values.format_percent)."""
    from salesxl.calibrate import calibration
    from salesxl.review import build_review
    cal = calibration([0.5] * 6 + [0.9] * 6, [1, 0] * 6)
    rv = build_review(_rf(team_forecast, calibration=cal), DEMO_AS_OF, lang)
    assert [r[0].value for r in rv.grid("calibration").rows] == bins
    brier = {"en": "Brier score (0 = perfect): 0.330", "fr": "Score de Brier (0 = parfait) : 0,330"}[lang]
    assert rv.grid("calibration").footer == brier            # French: a space before the colon, a decimal comma
