"""A rep workbook that guides (issue 14 item 4): Rep drop-down of the Reps table, required columns marked,
an input message on every typed column (EN/FR), seniority inferred from the period, untouched pre-filled
Planning rows not errors, Weighted only for open proposals, overdue proposals red, Planning progress
coloured — the colours checked as LibreOffice renders them (HTML export of the recalculated workbook)."""
from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import openpyxl
import pytest

from conftest import make_workbook
from salesxl import contract, i18n
from salesxl.io.read_xlsx import col_letters, validate_file
from salesxl.io.template import (COMPUTED_FILL, HEADER_FILL, OPTIONAL_FILL, REPS_NAME, infer_seniority,
                                 period_length_label, write_template)

D = dt.date
DATA = (contract.PLANNING, contract.OBJECTIVES, contract.REPORTING, contract.PIPELINE)


def _dvs(ws, cell):
    return [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]


@pytest.fixture(scope="module", params=["en", "fr"])
def rep_book(request, tmp_path_factory):
    lang = request.param
    path = write_template(tmp_path_factory.mktemp("rep") / f"claire_{lang}.xlsx", lang, rep="Claire Martin",
                          period_start=D(2026, 12, 1), period_end=D(2026, 12, 31))
    return lang, path, openpyxl.load_workbook(path)


def test_rep_columns_offer_the_reps_table(rep_book):
    lang, _, wb = rep_book
    for t in DATA:
        ws = wb[t.sheet(lang)]
        letter = col_letters([c.key for c in t.columns].index("rep") + 1)
        dvs = _dvs(ws, f"{letter}2")
        assert [(d.type, d.formula1, d.errorStyle) for d in dvs] == [("list", REPS_NAME, "stop")], t.key
        assert dvs[0].prompt == i18n.input_help(t.key, "rep_list", lang)
    # the list is the Reps table's Rep column: the rep's own name
    assert wb.defined_names[REPS_NAME].attr_text.startswith(f"OFFSET({contract.REPS.sheet(lang)}!$A$2")
    assert wb[contract.REPS.sheet(lang)]["A2"].value == "Claire Martin"


def test_plain_template_has_no_rep_list(tmp_path):
    """Without a Reps table filled in, a name is typed (an empty list would refuse every name)."""
    wb = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx", "en"))
    dvs = _dvs(wb["Pipeline"], "B2")
    assert [(d.type, d.prompt) for d in dvs] == [(None, i18n.input_help("pipeline", "rep", "en"))]


def test_every_typed_column_has_an_input_message_and_required_ones_are_marked(rep_book):
    lang, _, wb = rep_book
    titles = {k: i18n.pick(v, lang) for k, v in i18n.INPUT_TITLES.items()}
    for t in (contract.REPS,) + DATA:
        ws = wb[t.sheet(lang)]
        for j, c in enumerate(t.columns, start=1):
            head = ws.cell(row=1, column=j)
            dvs = _dvs(ws, f"{col_letters(j)}2")
            if c.computed:
                assert dvs == [] and head.fill.fgColor.rgb[-6:] == COMPUTED_FILL.fgColor.rgb[-6:]
                assert head.comment.text == i18n.pick(i18n.HEADER_NOTES["computed"], lang)
                continue
            assert len(dvs) == 1 and dvs[0].showInputMessage, (t.key, c.key)
            assert dvs[0].prompt and len(dvs[0].prompt) <= 255 and len(dvs[0].promptTitle) <= 32
            open_only = t.key == "pipeline" and c.key in ("probability", "decision_date")
            if c.required:
                assert dvs[0].promptTitle == titles["required"]
                assert head.fill.fgColor.rgb[-6:] == HEADER_FILL.fgColor.rgb[-6:]
                assert head.comment.text == i18n.pick(i18n.HEADER_NOTES["required"], lang)
            elif open_only:
                assert dvs[0].promptTitle == titles["required_open"]
                assert head.comment.text == i18n.pick(i18n.HEADER_NOTES["required_open"], lang)
            else:
                assert dvs[0].promptTitle == titles["optional"]
                assert head.fill.fgColor.rgb[-6:] == OPTIONAL_FILL.fgColor.rgb[-6:] and head.comment is None
    # the two languages say different things (the French is not the English copied)
    assert i18n.input_help("pipeline", "probability", "fr") != i18n.input_help("pipeline", "probability", "en")


@pytest.mark.parametrize("start,end,seniority,length", [
    (D(2026, 10, 1), D(2026, 12, 31), "senior", "3m"),
    (D(2026, 12, 1), D(2026, 12, 31), "confirmed", "1m"),
    (D(2026, 12, 7), D(2026, 12, 13), "junior", "1w"),
    (D(2026, 12, 1), D(2026, 12, 14), "junior", "2w"),
    (D(2026, 12, 1), D(2027, 1, 15), "confirmed", "46d"),
])
def test_seniority_inferred_from_the_period(start, end, seniority, length):
    assert (infer_seniority(start, end), period_length_label(start, end)) == (seniority, length)


def test_cli_quarter_without_seniority_is_senior(tmp_path):
    from typer.testing import CliRunner

    from salesxl.cli import app
    out = tmp_path / "q.xlsx"
    r = CliRunner().invoke(app, ["template", "--rep", "Ann", "--period-start", "2026-10-01",
                                 "--period-end", "2026-12-31", "-o", str(out)])
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(out)["Reps"]
    assert [c.value for c in ws[2][:3]] == ["Ann", "senior", "3m"]
    out2 = tmp_path / "given.xlsx"
    r = CliRunner().invoke(app, ["template", "--rep", "Ann", "--seniority", "junior", "--period-start",
                                 "2026-10-01", "--period-end", "2026-12-31", "-o", str(out2)])
    assert r.exit_code == 0, r.output
    assert [c.value for c in openpyxl.load_workbook(out2)["Reps"][2][:3]] == ["Ann", "junior", "3m"]


# ---------------------------------------------------------------------------------------------
# Untouched pre-filled Planning rows
def _planning_issues(path, as_of=D(2026, 12, 15)):
    v = validate_file(path, as_of=as_of)
    return v, sorted((i.code, i.row, i.column) for i in v.issues if i.sheet == "Planning")


def _rep_book(tmp_path, edit=None, **rows):
    return make_workbook(tmp_path, "en", rows or None, rep="Ann", period_start=D(2026, 12, 1),
                         period_end=D(2026, 12, 31), edit=edit)


def test_untouched_prefilled_rows_are_not_errors_and_typed_figures_count(tmp_path):
    def edit(wb):
        ws = wb["Planning"]
        ws["E3"] = 4          # Visit: 4 planned
        ws["E4"] = 0          # Negotiation: 0 typed on purpose
    path = _rep_book(tmp_path, edit)
    v, issues = _planning_issues(path)
    assert issues == []
    plan = v.tables["planning"]
    assert dict(zip(plan["action"], plan["planned"])) == {
        "Call": None, "Visit": 4, "Negotiation": 0, "Proposal": None, "Follow-up": None, "Demo": None}
    from conftest import compute
    rep = compute(v.tables, v.lists, v.as_of, v.settings, simulations=200).reps[0]
    assert [(p.action, p.planned) for p in rep.plan] == [("Visit", 4), ("Negotiation", 0)]


def test_what_a_rep_typed_without_planned_is_still_an_error(tmp_path):
    def edit(wb):
        ws = wb["Planning"]
        for col, v in zip("ABCD", ("Ann", dt.datetime(2026, 12, 1), dt.datetime(2026, 12, 31), "Visit")):
            ws[f"{col}8"] = v        # a second Visit row for the period, Planned forgotten
        for col, v in zip("ABCD", ("Ann", dt.datetime(2027, 1, 1), dt.datetime(2027, 1, 31), "Call")):
            ws[f"{col}9"] = v        # a new period with one action, Planned forgotten
        ws["E5"] = "x"               # a Planned that is not a number
    _, issues = _planning_issues(_rep_book(tmp_path, edit))
    assert ("BAD_NUMBER", 5, "Planned") in issues
    missing = [r for code, r, col in issues if code == "MISSING_VALUE" and col == "Planned"]
    assert missing == [3, 8, 9]      # the pre-filled Visit row is no longer alone in its period


def test_a_changed_prefilled_row_is_checked(tmp_path):
    def edit(wb):
        wb["Planning"]["D7"] = "Visit"       # Demo changed to Visit: the period no longer lists every action
    _, issues = _planning_issues(_rep_book(tmp_path, edit))
    assert [(c, r) for c, r, col in issues if col == "Planned"] == [("MISSING_VALUE", r) for r in range(2, 8)]


# ---------------------------------------------------------------------------------------------
# What LibreOffice shows: conditional formats rendered (HTML export colours each cell as displayed)
class _Cells(HTMLParser):
    """Sheet title -> rows of (text, bgcolor, font colour) as LibreOffice's HTML export renders them."""

    def __init__(self):
        super().__init__()
        self.sheets: dict[str, list[list[tuple[str, str | None, str | None]]]] = {}
        self._sheet = self._cell = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "em" and self._sheet is None:
            self._in_title = True
        elif tag == "tr" and self._sheet is not None:
            self.sheets[self._sheet].append([])
        elif tag == "td" and self._sheet is not None:
            self._cell = ["", (a.get("bgcolor") or "").upper() or None, None]
        elif tag == "font" and self._cell is not None and a.get("color"):
            self._cell[2] = a["color"].upper()

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.sheets[self._sheet][-1].append(tuple(self._cell))
            self._cell = None
        elif tag == "table":
            self._sheet = None

    def handle_data(self, data):
        if self._in_title:
            self._sheet = data
            self.sheets[data] = []
            self._in_title = False
        elif self._cell is not None:
            self._cell[0] += data


def rendered(lo_export, path, out_dir) -> dict:
    html = lo_export(path, out_dir, "html")
    p = _Cells()
    p.feed(html.read_text(encoding="utf-8", errors="replace"))
    return p.sheets


RED, RED_FONT, GREEN, BLUE = "#FFC7CE", "#9C0006", "#C6EFCE", "#BDD7EE"
AS_OF = D(2003, 4, 16)                      # 16 of April's 30 days elapsed: 53 %


def _colour_rows():
    april = dict(rep="Ann", period_start=D(2003, 4, 1), period_end=D(2003, 4, 30))
    planning = [dict(april, action="Visit", planned=10),      # 2 done: 20 % < 0.9 x 53 %: behind
                dict(april, action="Call", planned=10),       # 5 done: 50 %: on pace
                dict(april, action="Demo", planned=2),        # 2 done: 100 %: ahead
                dict(april, action="Proposal", planned=None),  # not planned: no colour
                dict(rep="Ann", period_start=D(2003, 5, 1), period_end=D(2003, 5, 31), action="Visit",
                     planned=5)]                               # not started: no colour
    done = {"Visit": 2, "Call": 5, "Demo": 2}
    reporting = [dict(date=D(2003, 4, 2 + i), rep="Ann", company=f"C{a}{i}", action=a, result="Meeting set")
                 for a, n in done.items() for i in range(n)]
    pipeline = [
        dict(ref="P1", rep="Ann", company="Late", amount=1000, probability=0.5, status="Open",
             decision_date=D(2003, 4, 10)),                    # overdue
        dict(ref="P2", rep="Ann", company="Soon", amount=1000, probability=0.5, status="Open",
             decision_date=D(2003, 4, 25)),                    # not yet due
        dict(ref="P3", rep="Ann", company="Done", amount=1000, probability=0.5, status="Won",
             decision_date=D(2003, 4, 10)),                    # closed: never overdue
    ]
    return {"reps": [{"rep": "Ann"}], "planning": planning, "reporting": reporting, "pipeline": pipeline}


@pytest.mark.libreoffice
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_libreoffice_shows_overdue_red_and_planning_pace(lo_export, tmp_path, lang):
    src = make_workbook(tmp_path, lang, _colour_rows(), settings={"as_of": AS_OF})
    sheets = rendered(lo_export, src, tmp_path / "html")
    pipe = sheets[contract.PIPELINE.sheet(lang)]
    assert {(bg, font) for _, bg, font in pipe[1]} == {(RED, RED_FONT)}           # the whole overdue row
    for row in pipe[2:4]:
        assert all(bg is None for _, bg, _ in row), row
    weighted = [c.key for c in contract.PIPELINE.columns].index("weighted")
    assert [pipe[r][weighted][0].strip() for r in (1, 2, 3)] == ["500.00", "500.00", ""]   # none once Won
    plan = sheets[contract.PLANNING.sheet(lang)]
    prog = [c.key for c in contract.PLANNING.columns].index("progress")
    done = [c.key for c in contract.PLANNING.columns].index("done")
    assert [plan[r][done][0] for r in range(1, 6)] == ["2", "5", "2", "0", "0"]
    assert [plan[r][prog][1] for r in range(1, 6)] == [RED, GREEN, BLUE, None, None]
    # the other Planning cells keep their plain look
    assert all(bg is None for c, (_, bg, _) in enumerate(plan[1]) if c != prog)
