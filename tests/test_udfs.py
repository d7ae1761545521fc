"""The SXL_ user functions (salesxl.udfs), called directly as Excel would call them: with the cell
values of ranges of a real template workbook (lists of lists, None for an empty cell). Each must
give the core's number."""
from __future__ import annotations

import datetime as dt
import importlib.util
import math
import sys
import types
from pathlib import Path

import pytest
from openpyxl import load_workbook

from salesxl import contract, demo_data, simulate, udfs
from salesxl.forecast import coverage, weighted_amount
from salesxl.io.read_xlsx import validate_file
from salesxl.io.template import write_template

from conftest import compute


ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("SXL_WEIGHTED_SUM", "SXL_PERIOD_FORECAST", "SXL_P_REACH", "SXL_FORECAST_QUANTILE", "SXL_COVERAGE",
             "SXL_PACE", "SXL_ROW_CHECK")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo team in the English template (with its honest mistakes), read back."""
    team = demo_data.build_timeline()
    day = demo_data.DEMO_AS_OF
    rows: dict[str, list] = {}
    for rep in team:
        for k, v in demo_data.with_mistakes(demo_data.snapshot(team, rep, day), rep, day).items():
            rows.setdefault(k, []).extend(v)
    path = write_template(tmp_path_factory.mktemp("udfs") / "team.xlsx", "en", rows=rows, settings={"as_of": day})
    v = validate_file(path)
    fc = compute(v.tables, v.lists, v.as_of, v.settings)
    wb = load_workbook(path, data_only=True)
    return path, v, fc, wb


def column(wb, sheet: str, header: str, rows=None) -> list[list]:
    """A column of a template table as Excel hands a range to a UDF: [[v], [v], …] (None = empty),
    the table's blank rows included; `rows` restricts to some Excel rows."""
    ws = wb[sheet]
    headers = [c.value for c in ws[1]]
    j = headers.index(header) + 1
    last = ws.max_row
    wanted = range(2, last + 1) if rows is None else rows
    return [[ws.cell(row=r, column=j).value] for r in wanted]


def rep_rows(v, rep: str) -> list[int]:
    df = v.tables["pipeline"]
    return [int(r) for r, name in zip(df.rows, df["rep"]) if name == rep]


# ------------------------------------------------------------------------------------ weighted sum


def test_weighted_sum_is_the_sum_of_amount_times_probability(demo):
    _, v, _, wb = demo
    blank = [[None]] * 5                               # a range running past the last row
    amounts, probs = column(wb, "Pipeline", "Amount") + blank, column(wb, "Pipeline", "Probability") + blank
    df = v.tables["pipeline"]
    expected = math.fsum(weighted_amount(a, p) for a, p in zip(df["amount"], df["probability"])
                         if a is not None and p is not None)
    assert udfs.SXL_WEIGHTED_SUM(amounts, probs) == pytest.approx(expected)


def test_blank_cells_are_never_zero():
    assert udfs.SXL_WEIGHTED_SUM([[1000], [None], [500]], [[0.5], [0.9], [None]]) == 500
    assert udfs.SXL_WEIGHTED_SUM([1000, 2000], ["70 %", 0]) == pytest.approx(700)   # a real 0 % counts
    assert udfs.SXL_WEIGHTED_SUM(None, None) == 0
    assert udfs.SXL_COVERAGE([[None], [None]], 1000, None) == 0
    assert udfs.SXL_PACE([[None]], [[None]], dt.date(2026, 11, 1), dt.date(2026, 11, 30)) is None
    with pytest.raises(ValueError):
        udfs.SXL_WEIGHTED_SUM([1000, 2000], [0.5])     # ranges of different sizes
    with pytest.raises(ValueError):
        udfs.SXL_WEIGHTED_SUM(["lots"], [0.5])         # text that is not a number: #VALUE!
    with pytest.raises(ValueError):
        udfs.SXL_WEIGHTED_SUM([100], [1.7 * 100])      # 170 %


# ------------------------------------------------------------------------------------ period forecast


def test_period_forecast_is_won_plus_weighted_open_of_each_rep(demo):
    _, v, fc, wb = demo
    for rf in fc.reps:
        rows = rep_rows(v, rf.rep)
        args = [column(wb, "Pipeline", h, rows) for h in ("Amount", "Probability", "Status", "Decision date")]
        got = udfs.SXL_PERIOD_FORECAST(*args, rf.period_start, rf.period_end)
        assert got == pytest.approx(rf.won + rf.weighted_open), rf.rep
        assert got == pytest.approx(rf.forecast)


def test_period_forecast_reads_french_statuses_and_extra_won_labels():
    args = ([1000, 2000, 400, 800], [0.5, None, 0.5, 0.25], ["En cours", "Gagné", "Signed", "Perdu"],
            [dt.date(2026, 11, 3), "05/11/2026", 46333, dt.date(2026, 11, 9)])
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    assert udfs.SXL_PERIOD_FORECAST(*args, start, end) == 2500
    assert udfs.SXL_PERIOD_FORECAST(*args, start, end, [["Signed"]]) == 2900   # serial 46333 = 2026-11-07


def test_period_forecast_agrees_with_salesxl_forecast_on_open_proposals_without_a_probability(tmp_path):
    """An open proposal with an empty probability: `salesxl forecast` gives it its stage's default (and
    leaves it out without a stage); the function, given the Stage column, gives the same figure."""
    import json
    from typer.testing import CliRunner
    from salesxl.cli import app
    s, e, day = dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 11, 25)
    ann = {"rep": "Ann Lee", "company": "Alpha"}
    rows = {"reps": [{"rep": "Ann Lee", "seniority": "confirmed"}],
            "objectives": [{"rep": "Ann Lee", "period_start": s, "period_end": e, "revenue_objective": 50000.0}],
            "pipeline": [
                {**ann, "ref": "P1", "amount": 10000.0, "probability": 0.4, "status": "Open", "decision_date": day,
                 "stage": "Proposal sent"},
                {**ann, "ref": "P2", "amount": 8000.0, "status": "Open", "decision_date": day,
                 "stage": "Negotiation"},                                   # no probability: the stage's 70 %
                {**ann, "ref": "P3", "amount": 5000.0, "status": "Open", "decision_date": day},   # none: left out
                {**ann, "ref": "P4", "amount": 3000.0, "probability": 1.0, "status": "Won",
                 "decision_date": dt.date(2026, 11, 5)}]}
    path = write_template(tmp_path / "ann.xlsx", "en", rows=rows, settings={"as_of": dt.date(2026, 11, 20)})
    r = CliRunner().invoke(app, ["forecast", str(path), "--json"])
    assert r.exit_code == 1, r.output                    # P3's missing probability is an error
    (rep,) = json.loads(r.stdout)["reps"]
    assert rep["forecast"] == pytest.approx(3000 + 4000 + 5600)
    wb = load_workbook(path, data_only=True)
    args = [column(wb, "Pipeline", h) for h in ("Amount", "Probability", "Status", "Decision date")]
    stages = column(wb, "Pipeline", "Stage")
    assert udfs.SXL_PERIOD_FORECAST(*args, s, e, None, stages) == pytest.approx(rep["forecast"])
    assert udfs.SXL_PERIOD_FORECAST(*args, s, e) == pytest.approx(3000 + 4000)    # without the stages: left out


# ------------------------------------------------------------------------------------ distribution


def _open_in_period(v, rf):
    df = v.tables["pipeline"]
    pairs = [(a, p) for name, a, p, s, d in zip(df["rep"], df["amount"], df["probability"], df["status"],
                                                 df["decision_date"])
             if name == rf.rep and s == contract.OPEN and a is not None and p is not None and d is not None
             and rf.period_start <= d <= rf.period_end]
    return [a for a, _ in pairs], [p for _, p in pairs]


def test_p_reach_and_quantiles_equal_the_outcome_distribution(demo):
    _, v, fc, _ = demo
    for rf in fc.reps:
        amounts, probs = _open_in_period(v, rf)
        out = simulate.outcome_distribution(rf.won, amounts, probs, rf.objective)
        col_a, col_p = [[a] for a in amounts] + [[None]], [[p] for p in probs] + [[None]]
        assert udfs.SXL_P_REACH(rf.objective, rf.won, col_a, col_p) == out.p_reach, rf.rep
        if out.method == "exact":                      # the rep's own seed matters for Monte Carlo only
            assert udfs.SXL_P_REACH(rf.objective, rf.won, col_a, col_p) == pytest.approx(rf.p_reach)
        for q, attr in ((0.1, "p10"), (50, "p50"), ("P90", "p90")):
            assert udfs.SXL_FORECAST_QUANTILE(q, rf.won, col_a, col_p) == getattr(out, attr), (rf.rep, q)


def test_monte_carlo_is_seeded_and_settable():
    amounts, probs = [1000.0 + 10 * i for i in range(40)], [0.3 + (i % 5) / 10 for i in range(40)]
    out = simulate.outcome_distribution(5000, amounts, probs, 20000, simulations=2000, seed=7)
    assert out.method == "monte_carlo"
    assert udfs.SXL_P_REACH(20000, 5000, amounts, probs, 2000, 7) == out.p_reach
    assert udfs.SXL_P_REACH(20000, 5000, amounts, probs) == simulate.outcome_distribution(
        5000, amounts, probs, 20000).p_reach
    assert udfs.SXL_FORECAST_QUANTILE(0.9, 5000, amounts, probs, 2000, 7) == out.p90
    q25 = udfs.SXL_FORECAST_QUANTILE(0.25, 5000, amounts, probs, 2000, 7)
    assert out.p10 <= q25 <= out.p50
    assert udfs.SXL_P_REACH(None, 5000, amounts, probs) is None     # no objective: no probability
    with pytest.raises(ValueError):
        udfs.SXL_FORECAST_QUANTILE(150, 0, amounts, probs)


# ------------------------------------------------------------------------------------ coverage, pace


def test_coverage_and_pace_equal_the_core(demo):
    _, v, fc, wb = demo
    for rf in fc.reps:
        assert udfs.SXL_COVERAGE(rf.open_amount, rf.objective, rf.won) == pytest.approx(rf.coverage) \
            if rf.coverage is not None else udfs.SXL_COVERAGE(rf.open_amount, rf.objective, rf.won) is None
        for p in rf.plan:
            got = udfs.SXL_PACE(p.done, p.planned, rf.period_start, rf.period_end, fc.as_of)
            assert got == pytest.approx(p.pace), (rf.rep, p.action)
    assert udfs.SXL_COVERAGE(5000, 10000, 2000) == coverage(5000, 10000, 2000) == 0.625
    assert udfs.SXL_COVERAGE([[3000], [2000]], 10000, [[1000], [1000]]) == 0.625
    assert udfs.SXL_COVERAGE(5000, 10000, 12000) is None          # objective reached


# ------------------------------------------------------------------------------------ row check


def test_row_check_gives_the_rules_messages(demo):
    path, v, _, wb = demo
    ws = wb["Reporting"]
    header = [[c.value for c in ws[1]]]
    by_row: dict[int, list[str]] = {}
    for i in v.issues:
        if i.sheet == "Reporting" and i.code in ("BAD_DATE", "UNKNOWN_VALUE", "MISSING_VALUE"):
            by_row.setdefault(i.row, []).append(i.message)
    assert by_row
    for r, messages in by_row.items():
        got = udfs.SXL_ROW_CHECK(header, [[c.value for c in ws[r]]], "tblReporting")
        assert set(got.split("; ")) >= set(messages), r
    clean = next(r for r in range(2, 50) if r not in by_row)
    assert udfs.SXL_ROW_CHECK(header, [[c.value for c in ws[clean]]]) == ""     # table guessed
    assert udfs.SXL_ROW_CHECK(header, [[None] * len(header[0])]) == ""          # a blank row
    fr = udfs.SXL_ROW_CHECK(["Réf.", "Commercial", "Société", "Montant", "Statut"],
                            ["P1", "Ann", "Alpha", -5, "En cours"], "Carnet commercial")
    assert "Le montant -5 est négatif." in fr.split("; ")


# ------------------------------------------------------------------------------------ decorators


def test_decorated_functions_stay_plain_callables(monkeypatch):
    """`@xw.func` returns the function itself: with classic xlwings on Windows (xlwings.udfs.xlfunc,
    imported here with stand-ins for pywin32) as on this platform."""
    for name in FUNCTIONS:
        assert callable(getattr(udfs, name)) and getattr(udfs, name).__name__ == name
    win32 = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.Dispatch = lambda *a, **k: None
    win32.client = client
    monkeypatch.setitem(sys.modules, "pythoncom", types.SimpleNamespace(CoInitialize=lambda: None))
    monkeypatch.setitem(sys.modules, "pywintypes", types.ModuleType("pywintypes"))
    monkeypatch.setitem(sys.modules, "win32com", win32)
    monkeypatch.setitem(sys.modules, "win32com.client", client)
    monkeypatch.delitem(sys.modules, "xlwings.udfs", raising=False)
    from xlwings.udfs import xlfunc

    for name in FUNCTIONS:
        f = getattr(udfs, name)
        decorated = xlfunc(f)
        assert decorated is f
        meta = f.__xlfunc__
        assert meta["name"] == name and not meta["sub"]
        assert all(a["options"] == {} for a in meta["args"])       # no converter: ranges come as lists
    optional = {a["name"] for a in udfs.SXL_P_REACH.__xlfunc__["args"] if "optional" in a}
    assert optional == {"simulations", "seed"}
    assert udfs.SXL_WEIGHTED_SUM([[100], [200]], [[0.5], [0.5]]) == 150       # still callable


# ------------------------------------------------------------------------------------ xlwings Lite


def load_lite():
    spec = importlib.util.spec_from_file_location("salesxl_lite_main", ROOT / "addin" / "lite" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lite_script_wraps_the_same_functions_and_actions(demo, capsys):
    lite = load_lite()
    for name in FUNCTIONS:
        assert callable(getattr(lite, name))
    assert lite.SXL_WEIGHTED_SUM([[1000], [None]], [[0.5], [0.2]]) == 500
    assert lite.SXL_P_REACH(3000, 1000, [1000, 2000], [0.5, 0.5]) == udfs.SXL_P_REACH(3000, 1000, [1000, 2000],
                                                                                          [0.5, 0.5])
    assert lite.SXL_ROW_CHECK(["Ref", "Rep"], ["P1", None], "Pipeline") == udfs.SXL_ROW_CHECK(
        ["Ref", "Rep"], ["P1", None], "Pipeline")
    scripts = ("salesxl_validate", "salesxl_forecast", "salesxl_reviews", "salesxl_consolidate",
               "salesxl_new_period")
    import inspect

    import xlwings as xw
    for name in scripts:
        (param,) = inspect.signature(getattr(lite, name)).parameters.values()
        assert param.annotation in (xw.Book, "xw.Book")
    try:
        from tests.xlwings_remote import book_from_xlsx, recorded_actions
    except ImportError:
        from xlwings_remote import book_from_xlsx, recorded_actions  # type: ignore[no-redef]
    path = demo[0]
    book = book_from_xlsx(path)
    try:
        lite.salesxl_validate(book)
        lite.salesxl_forecast(book)
        added = [a["args"][1] for a in recorded_actions(book) if a["func"] == "addSheet"]
        assert "Issues" in added and "Forecast" in added
    finally:
        book.close()
    assert "'action': 'validate'" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ messages

@pytest.mark.parametrize("call, message", [
    (lambda: udfs.SXL_FORECAST_QUANTILE(150, 0, [100], [0.5]),
     "q must be between 0 and 1, got 150 / q doit être compris entre 0 et 1, pas « 150 »"),
    (lambda: udfs.SXL_WEIGHTED_SUM(["lots"], [0.5]),
     "amount: not a number: 'lots' / montant : pas un nombre : « lots »"),
    (lambda: udfs.SXL_WEIGHTED_SUM([100], [170]),
     "probability: not between 0% and 100%: 170 / probabilité : pas entre 0\u00a0% et 100\u00a0% : « 170 »"),
    (lambda: udfs.SXL_WEIGHTED_SUM([1000, 2000], [0.5]),
     "the ranges must have the same number of cells / les plages doivent avoir le même nombre de cellules"),
    (lambda: udfs.SXL_PACE(1, 2, "31/02/2026", dt.date(2026, 3, 31)),
     "period start: not a date: '31/02/2026' / début de période : pas une date : « 31/02/2026 »"),
    (lambda: udfs.SXL_ROW_CHECK(["Ref"], ["P1"], "tblNothing"),
     "unknown table 'tblNothing' / tableau inconnu : « tblNothing »"),
])
def test_a_function_error_says_it_in_english_then_french(call, message):
    """A UDF does not know its workbook's language: its error says it in both, English first (docs/addin.md)."""
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_every_function_error_is_declared_in_both_languages():
    import re
    import string

    from salesxl.i18n import UDF_ARGS, UDF_ERRORS

    def fields(template):
        return sorted(f for _, f, _, _ in string.Formatter().parse(template) if f is not None)

    for key, texts in UDF_ERRORS.items():
        assert set(texts) == {"en", "fr"} and fields(texts["en"]) == fields(texts["fr"]), key
    source = (ROOT / "salesxl" / "udfs.py").read_text(encoding="utf-8")
    assert "raise ValueError" not in source and source.count("ValueError(") == 1   # every error through _error
    assert set(re.findall(r'_error\("(\w+)"', source)) == set(UDF_ERRORS)
    said = set(re.findall(r'(?:_number|_date|_int)\([^()]*(?:\([^()]*\)[^()]*)*, "([\w -]+)"\)', source))
    assert said and said <= set(UDF_ARGS)
