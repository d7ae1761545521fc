"""The template's native formulas, recalculated by LibreOffice headless (SPEC §2, §4).

A template is filled with known rows (real dates; the as-of date set in Settings so that TODAY() is not
used), recalculated by LibreOffice, read back with openpyxl data_only=True, and every computed cell is
compared with the same figure computed here with pandas from the same rows — and, for the rep's current
period, with `salesxl.forecast.compute` run on the validated source workbook (both are checked).
"""
from __future__ import annotations

import datetime as dt
import random

import openpyxl
import pandas as pd
import pytest

from conftest import make_workbook
from salesxl import contract
from salesxl.io.read_xlsx import col_letters, validate_file
from salesxl.io.template import AS_OF_NAME, list_name
from salesxl.values import CELL_ERRORS

pytestmark = pytest.mark.libreoffice

D = dt.date
AS_OF = D(2003, 4, 20)
REPS = ["Ann", "Bob"]
ACTIONS = [it.en for it in contract.ACTIONS.items]
RESULTS = [it.en for it in contract.RESULTS.items]


def known_rows() -> dict:
    rng = random.Random(20030404)
    objectives = [
        dict(rep="Ann", period_start=D(2003, 4, 1), period_end=D(2003, 4, 30), revenue_objective=20000,
             deals_objective=3),
        dict(rep="Ann", period_start=D(2003, 5, 1), period_end=D(2003, 5, 31), revenue_objective=15000),
        dict(rep="Bob", period_start=D(2003, 4, 1), period_end=D(2003, 6, 30), revenue_objective=50000),
    ]
    planning = [
        dict(rep="Ann", period_start=D(2003, 4, 1), period_end=D(2003, 4, 30), action="Visit", planned=8),
        dict(rep="Ann", period_start=D(2003, 4, 1), period_end=D(2003, 4, 30), action="Call", planned=20),
        dict(rep="Ann", period_start=D(2003, 4, 1), period_end=D(2003, 4, 30), action="Proposal", planned=4),
        dict(rep="Ann", period_start=D(2003, 5, 1), period_end=D(2003, 5, 31), action="Visit", planned=5),
        dict(rep="Bob", period_start=D(2003, 4, 1), period_end=D(2003, 6, 30), action="Visit", planned=10),
        dict(rep="Bob", period_start=D(2003, 4, 1), period_end=D(2003, 6, 30), action="Demo", planned=2),
    ]
    reporting = []
    for i in range(60):
        reporting.append(dict(
            date=D(2003, 3, 25) + dt.timedelta(days=rng.randrange(0, 50)),      # 25 Mar .. 13 May
            rep=rng.choice(REPS), company=f"Company {i:02d}", action=rng.choice(ACTIONS[:4] + ["Demo"]),
            result=rng.choice(RESULTS)))
    pipeline = []
    for i in range(30):
        status = rng.choice(["Open", "Open", "Won", "Lost"])
        pipeline.append(dict(
            ref=f"Q{i:03d}", rep=rng.choice(REPS), company=f"Client {i:02d}",
            amount=rng.choice([1500, 2500.5, 4000, 7250, 12000, 980.25]),
            probability=rng.choice([0.1, 0.25, 0.5, 0.7, 0.9]),
            status=status, decision_date=D(2003, 3, 20) + dt.timedelta(days=rng.randrange(0, 110)),
            loss_reason="Price" if status == "Lost" else None))
    pipeline.append(dict(ref="Q900", rep="Ann", company="No estimate", amount=3000, probability=None,
                         status="Won", decision_date=D(2003, 4, 10)))      # Won, no probability: Weighted blank
    pipeline.append(dict(ref="Q903", rep="Ann", company="This month", amount=6000, probability=0.5,
                         status="Open", decision_date=D(2003, 4, 25)))
    pipeline.append(dict(ref="Q904", rep="Ann", company="Overdue", amount=2000, probability=0.7,
                         status="Open", decision_date=D(2003, 4, 12)))     # overdue, still in the period
    pipeline.append(dict(ref="Q901", rep="Ann", company="Next month", amount=5000, probability=0.9,
                         status="Won", decision_date=D(2003, 5, 15)))
    pipeline.append(dict(ref="Q902", rep="Ann", company="Next month too", amount=8000, probability=0.4,
                         status="Open", decision_date=D(2003, 5, 20)))
    return {"reps": [{"rep": r} for r in REPS], "objectives": objectives, "planning": planning,
            "reporting": reporting, "pipeline": pipeline}


ROWS = known_rows()


def expected_frames():
    rep = pd.DataFrame(ROWS["reporting"])
    pipe = pd.DataFrame(ROWS["pipeline"])
    pipe["weighted"] = pipe["amount"] * pipe["probability"]
    plan = pd.DataFrame(ROWS["planning"])
    plan["done"] = [
        int(((rep.rep == r.rep) & (rep.action == r.action) & (rep.date >= r.period_start)
             & (rep.date <= min(r.period_end, AS_OF))).sum())
        for r in plan.itertuples()]
    plan["progress"] = plan["done"] / plan["planned"]
    obj = pd.DataFrame(ROWS["objectives"])
    won, wopen = [], []
    for o in obj.itertuples():
        in_period = (pipe.rep == o.rep) & (pipe.decision_date >= o.period_start) & (pipe.decision_date <= o.period_end)
        won.append(float(pipe.loc[in_period & (pipe.status == "Won"), "amount"].sum()))
        wopen.append(float(pipe.loc[in_period & (pipe.status == "Open"), "weighted"].sum()))
    obj["won"], obj["weighted_open"] = won, wopen
    obj["forecast"] = obj["won"] + obj["weighted_open"]
    obj["attainment"] = obj["forecast"] / obj["revenue_objective"]
    return plan, obj, pipe


def test_expected_values_are_not_trivial():
    """The known rows exercise every case: done > 0 and = 0, won and open in and out of periods."""
    plan, obj, pipe = expected_frames()
    assert (plan["done"] > 0).sum() >= 3 and (plan["done"] == 0).any()
    assert (obj["won"] > 0).all() and (obj["weighted_open"] > 0).all()
    rep = pd.DataFrame(ROWS["reporting"])
    assert (rep.date > AS_OF).any() and (rep.date < D(2003, 4, 1)).any()
    assert (pipe.decision_date > D(2003, 6, 30)).any() and (pipe.decision_date < D(2003, 4, 1)).any()


@pytest.fixture(scope="module", params=["en", "fr"])
def recalculated(request, recalc, tmp_path_factory):
    lang = request.param
    tmp = tmp_path_factory.mktemp(f"recalc_{lang}")
    src = make_workbook(tmp, lang, ROWS, name=f"filled_{lang}.xlsx", settings={"as_of": AS_OF})
    out = recalc(src, tmp / "lo")
    return lang, src, out


def _col(table, key):
    return col_letters([c.key for c in table.columns].index(key) + 1)


def _num(v):
    return None if v in (None, "") else float(v)


def test_as_of_from_settings_not_today(recalculated):
    lang, _, out = recalculated
    wb = openpyxl.load_workbook(out, data_only=True)
    v = wb[contract.SETTINGS.sheet(lang)]["F2"].value
    assert v is not None and v.date() == AS_OF


def test_weighted_column(recalculated):
    lang, _, out = recalculated
    ws = openpyxl.load_workbook(out, data_only=True)[contract.PIPELINE.sheet(lang)]
    t = contract.PIPELINE
    for i, row in enumerate(ROWS["pipeline"], start=2):
        got = _num(ws[f"{_col(t, 'weighted')}{i}"].value)
        if row["probability"] is None or row["status"] != "Open":      # a figure only while open
            assert got is None, i
        else:
            assert got == pytest.approx(row["amount"] * row["probability"]), i
    assert any(r["probability"] is not None and r["status"] != "Open" for r in ROWS["pipeline"])
    # blank rows of the table stay blank (no 0, no error)
    last = len(ROWS["pipeline"]) + 2
    assert ws[f"{_col(t, 'weighted')}{last}"].value in (None, "")


def test_planning_done_and_progress(recalculated):
    lang, _, out = recalculated
    plan, _, _ = expected_frames()
    ws = openpyxl.load_workbook(out, data_only=True)[contract.PLANNING.sheet(lang)]
    t = contract.PLANNING
    got_done = [_num(ws[f"{_col(t, 'done')}{i}"].value) for i in range(2, len(plan) + 2)]
    got_prog = [_num(ws[f"{_col(t, 'progress')}{i}"].value) for i in range(2, len(plan) + 2)]
    assert got_done == plan["done"].astype(float).tolist()
    assert got_prog == pytest.approx(plan["progress"].tolist())


def test_objectives_won_open_forecast_attainment(recalculated):
    lang, _, out = recalculated
    _, obj, _ = expected_frames()
    ws = openpyxl.load_workbook(out, data_only=True)[contract.OBJECTIVES.sheet(lang)]
    t = contract.OBJECTIVES
    for key in ("won", "weighted_open", "forecast", "attainment"):
        got = [_num(ws[f"{_col(t, key)}{i}"].value) for i in range(2, len(obj) + 2)]
        assert got == pytest.approx(obj[key].tolist()), key
        assert ws[f"{_col(t, key)}{len(obj) + 2}"].value in (None, ""), key     # empty row stays blank


def test_native_figures_agree_with_forecast_module(recalculated):
    """salesxl.forecast on the validated source == the native cells of the rep's current period."""
    from conftest import compute
    lang, src, out = recalculated
    v = validate_file(src)
    assert v.as_of == AS_OF
    fc = {r.rep: r for r in compute(v.tables, v.lists, v.as_of, v.settings, simulations=200).reps}
    assert set(fc) == set(REPS)
    wb = openpyxl.load_workbook(out, data_only=True)
    ws_o, ws_p = wb[contract.OBJECTIVES.sheet(lang)], wb[contract.PLANNING.sheet(lang)]
    to, tp = contract.OBJECTIVES, contract.PLANNING
    for i, o in enumerate(ROWS["objectives"], start=2):
        if not (o["period_start"] <= AS_OF <= o["period_end"]):
            continue
        r = fc[o["rep"]]
        assert (r.period_start, r.period_end) == (o["period_start"], o["period_end"])
        assert r.won == pytest.approx(_num(ws_o[f"{_col(to, 'won')}{i}"].value))
        assert r.weighted_open == pytest.approx(_num(ws_o[f"{_col(to, 'weighted_open')}{i}"].value))
        assert r.forecast == pytest.approx(_num(ws_o[f"{_col(to, 'forecast')}{i}"].value))
        assert r.attainment == pytest.approx(_num(ws_o[f"{_col(to, 'attainment')}{i}"].value))
    for i, p in enumerate(ROWS["planning"], start=2):
        if not (p["period_start"] <= AS_OF <= p["period_end"]):
            continue
        line = next(x for x in fc[p["rep"]].plan if x.action == p["action"])
        assert line.planned == p["planned"]
        assert line.done == _num(ws_p[f"{_col(tp, 'done')}{i}"].value)


def test_no_error_values_anywhere(recalculated):
    _, _, out = recalculated
    wb = openpyxl.load_workbook(out, data_only=True)
    bad = []
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "e" or (isinstance(c.value, str) and c.value.strip().upper() in CELL_ERRORS):
                    bad.append((ws.title, c.coordinate, c.value))
    assert bad == []


def test_tables_validations_and_names_survive_libreoffice(recalculated):
    lang, _, out = recalculated
    wb = openpyxl.load_workbook(out)
    for t in (contract.SETTINGS, contract.REPS, contract.PLANNING, contract.OBJECTIVES, contract.REPORTING,
              contract.PIPELINE):
        ws = wb[t.sheet(lang)]
        assert t.name in ws.tables, (t.name, list(ws.tables))
        assert [c.name for c in ws.tables[t.name].tableColumns] == [c.label(lang) for c in t.columns]
    lists = wb[contract.SHEETS["lists"][lang]]
    assert {lt.name for lt in contract.LIST_TABLES.values()} <= set(lists.tables)
    names = set(wb.defined_names)
    assert {AS_OF_NAME} | {list_name(k) for k in contract.LISTS} <= names
    for t in (contract.REPS, contract.PLANNING, contract.OBJECTIVES, contract.REPORTING, contract.PIPELINE):
        ws = wb[t.sheet(lang)]
        dvs = ws.data_validations.dataValidation
        for j, c in enumerate(t.columns, start=1):
            cell = f"{col_letters(j)}2"
            found = [dv for dv in dvs if cell in dv.sqref]
            if c.kind == contract.CODE:
                assert [(dv.type, dv.formula1.lstrip("=")) for dv in found] == [("list", list_name(c.codes))], cell
            elif c.kind == contract.DATE:
                assert [dv.type for dv in found] == ["date"], (t.key, cell)
            elif c.kind == contract.PERCENT:
                assert [(dv.type, float(dv.formula1), float(dv.formula2)) for dv in found] == [("decimal", 0, 1)]
    pipe = wb[contract.PIPELINE.sheet(lang)]
    assert len(list(pipe.conditional_formatting)) >= 1


def test_validation_unchanged_by_the_round_trip(recalculated):
    """The LibreOffice-saved copy reads to the same typed rows and the same issues (no MISSING_CACHED_VALUE)."""
    _, src, out = recalculated
    a, b = validate_file(src), validate_file(out)
    assert [(i.code, i.sheet, i.row, i.column) for i in b.issues] == [(i.code, i.sheet, i.row, i.column)
                                                                       for i in a.issues]
    for key in ("planning", "objectives", "reporting", "pipeline"):
        fa, fb = a.tables[key], b.tables[key]
        assert fa.rows == fb.rows
        for col in fa.columns:
            assert fa[col] == fb[col], (key, col)


def test_recalc_helper_recomputes_stale_cached_values(recalc, tmp_path):
    """The private profile forces 'recalculate always': a stale cached result is not kept."""
    import xlsxwriter
    src = tmp_path / "stale.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet()
    ws.write_number(0, 0, 2)
    ws.write_formula(0, 1, "=A1*3", None, 999)          # cached value deliberately wrong
    wb.close()
    assert openpyxl.load_workbook(src, data_only=True).active["B1"].value == 999
    out = recalc(src, tmp_path / "lo")
    assert openpyxl.load_workbook(out, data_only=True).active["B1"].value == 6
