"""Nothing typed is lost (issue 11 item 1): rows typed right below an Excel table (LibreOffice and
pasting do not grow a table) and contract columns whose header sits right of it are read as data of
the table, with a ROWS_OUTSIDE_TABLE warning naming the range: by both file engines, by the team
consolidation (with their real Excel rows) and by the add-in's live reader (xlwings' remote engine).
The rows below run down to the first row that is empty across the table's columns."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from salesxl import contract
from salesxl.consolidate import consolidate
from conftest import compute
from salesxl.io.read_xlsx import read_workbook, validate_file
from salesxl.io.template import build_template

AS_OF = dt.date(2026, 11, 20)
START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
REP = "Claire Martin"
INSIDE, BELOW = 150, 19                       # rows in the template's Pipeline table, rows typed below it


def proposal(k: int, amount: float, prob: float) -> dict:
    return {"ref": f"P{k:04d}", "rep": REP, "company": f"Client {k}", "amount": amount, "probability": prob,
            "decision_date": dt.datetime(2026, 11, 25), "status": "Open"}


def workbook(tmp_path, lang: str = "en", *, gap: bool = False, right: bool = False):
    """A rep workbook whose 150-row Pipeline table is full, and 19 more proposals typed below it (after
    an empty row with `gap`); with `right`, a Loss reason column typed right of a table without it."""
    rows = {"pipeline": [proposal(k, 500.0, 1.0) for k in range(INSIDE)],
            "objectives": [{"rep": REP, "period_start": START, "period_end": END, "revenue_objective": 100000}]}
    wb = build_template(lang, rep=REP, period_start=START, period_end=END, rows=rows,
                        settings={"as_of": AS_OF})
    ws = wb[contract.PIPELINE.sheet(lang)]
    table = ws.tables[contract.PIPELINE.name]
    assert table.ref == f"A1:M{INSIDE + 1}"
    col = {c.key: i + 1 for i, c in enumerate(contract.PIPELINE.columns)}
    first = INSIDE + 2 + (1 if gap else 0)
    for n, k in enumerate(range(INSIDE, INSIDE + BELOW)):
        for key, v in proposal(k, 1000.0, 0.25).items():
            ws.cell(first + n, col[key]).value = v
    if right:
        reason = col["loss_reason"]
        # a table that stops before Loss reason: the header and a value typed in the next columns
        table.ref = f"A1:{openpyxl.utils.get_column_letter(reason - 1)}{INSIDE + 1}"
        table.tableColumns = table.tableColumns[:reason - 1]
        ws.cell(5, reason).value = "Price"
    path = tmp_path / f"claire_{lang}{'_gap' if gap else ''}{'_right' if right else ''}.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_rows_below_the_table_are_read_with_a_warning(tmp_path, engine, lang):
    path = workbook(tmp_path, lang)
    v = validate_file(path, engine=engine, as_of=AS_OF)
    pipe = v.tables["pipeline"]
    assert len(pipe) == INSIDE + BELOW
    assert pipe.rows == list(range(2, INSIDE + BELOW + 2))
    assert pipe["ref"][-1] == f"P{INSIDE + BELOW - 1:04d}"
    outside = [i for i in v.issues if i.code == "ROWS_OUTSIDE_TABLE"]
    assert len(outside) == 1, [i.message for i in v.issues]
    o = outside[0]
    assert (o.severity, o.sheet, o.row, o.value) == ("warning", contract.PIPELINE.sheet(lang), INSIDE + 2,
                                                     f"A{INSIDE + 2}:M{INSIDE + BELOW + 1}")
    assert f"{INSIDE + 2}" in o.message and f"{INSIDE + BELOW + 1}" in o.message
    assert f"tblPipeline (A1:M{INSIDE + 1})" in o.message
    assert ("below" in o.message) if lang == "en" else ("sous le tableau" in o.message)
    # every proposal counts: 150 × 500 × 100 % + 19 × 1,000 × 25 %
    fc = compute(v.tables, None, AS_OF, {}, simulations=200, seed=1)
    (rep,) = fc.reps
    assert rep.weighted_open == pytest.approx(INSIDE * 500.0 + BELOW * 250.0)


@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
def test_reading_stops_at_the_first_empty_row(tmp_path, engine):
    """An empty row ends the rows below: what follows it is not part of the table (a note, a total)."""
    v = validate_file(workbook(tmp_path, gap=True), engine=engine, as_of=AS_OF)
    assert len(v.tables["pipeline"]) == INSIDE
    assert not [i for i in v.issues if i.code == "ROWS_OUTSIDE_TABLE"]
    # … and they are named, not silently dropped
    (after,) = [i for i in v.issues if i.code == "ROWS_AFTER_EMPTY_ROW"]
    assert (after.severity, after.row, after.value) == ("warning", INSIDE + 3, f"A{INSIDE + 3}:M{INSIDE + BELOW + 2}")
    assert f"Rows {INSIDE + 3}–{INSIDE + BELOW + 2} below table tblPipeline (A1:M{INSIDE + 1})" in after.message


@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
def test_a_column_right_of_the_table_is_read(tmp_path, engine):
    v = validate_file(workbook(tmp_path, right=True), engine=engine, as_of=AS_OF)
    pipe = v.tables["pipeline"]
    assert [r for row, r in zip(pipe.rows, pipe["loss_reason"]) if row == 5] == ["Price"]
    outside = sorted((i.row, i.value) for i in v.issues if i.code == "ROWS_OUTSIDE_TABLE")
    assert outside == [(5, "L5:L5"), (INSIDE + 2, f"A{INSIDE + 2}:L{INSIDE + BELOW + 1}")]


@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_data_right_of_the_table_under_no_header_is_named(tmp_path, engine, lang):
    """Notes typed in the columns next to a table, with no header or a header the table does not have,
    are not read: COLUMNS_NOT_READ names the cells (nothing typed is silently dropped). A column after
    an empty one is not next to the table; a column whose header is the table's is read instead."""
    rows = {"pipeline": [proposal(k, 500.0, 0.5) for k in range(3)]}
    wb = build_template(lang, rep=REP, period_start=START, period_end=END, rows=rows, settings={"as_of": AS_OF})
    ws = wb[contract.PIPELINE.sheet(lang)]
    last = openpyxl.utils.cell.range_boundaries(ws.tables[contract.PIPELINE.name].ref)[2]
    n, o, far = (openpyxl.utils.get_column_letter(last + k) for k in (1, 2, 4))
    ws[f"{n}3"] = "call back Monday"                 # no header above it
    ws[f"{o}1"], ws[f"{o}4"] = "My notes", "big one"  # a header the table does not have
    ws[f"{far}2"] = "not next to the table"          # after an empty column
    path = tmp_path / f"notes_{lang}.xlsx"
    wb.save(path)
    v = validate_file(path, engine=engine, as_of=AS_OF)
    (issue,) = [i for i in v.issues if i.code == "COLUMNS_NOT_READ"]
    assert (issue.severity, issue.row, issue.value) == ("warning", 3, f"{n}3:{o}4")
    assert f"tblPipeline" in issue.message and (("not read" in issue.message) if lang == "en"
                                                 else ("ne sont pas lues" in issue.message))
    assert len(v.tables["pipeline"]) == 3 and not [i for i in v.issues if i.code == "ROWS_OUTSIDE_TABLE"]


def test_a_clean_template_has_no_outside_rows(tmp_path):
    path = tmp_path / "t.xlsx"
    build_template("en", rep=REP, period_start=START, period_end=END).save(path)
    for engine in ("openpyxl", "calamine"):
        assert not [i for i in validate_file(path, engine=engine).issues
                    if i.code in ("ROWS_OUTSIDE_TABLE", "ROWS_AFTER_EMPTY_ROW")]


def test_consolidation_keeps_the_rows_below_with_their_excel_rows(tmp_path):
    path = workbook(tmp_path)
    out = tmp_path / "team.xlsx"
    r = consolidate([path], out, as_of=AS_OF, workers=0, history=False, simulations=200, seed=1)
    (f,) = r.files
    assert [i.code for i in f.issues if i.code == "ROWS_OUTSIDE_TABLE"] == ["ROWS_OUTSIDE_TABLE"]
    assert r.rows["pipeline"] == INSIDE + BELOW
    assert r.forecast.reps[0].weighted_open == pytest.approx(INSIDE * 500.0 + BELOW * 250.0)
    ws = openpyxl.load_workbook(out, read_only=True)[contract.PIPELINE.sheet("en")]
    rows = list(ws.iter_rows(values_only=True))
    head = [str(h) for h in rows[0]]
    ref_at = head.index(contract.PIPELINE.column("ref").label("en"))
    row_at = next(i for i, h in enumerate(head) if h in ("Source row", "Ligne source"))
    by_ref = {r[ref_at]: r[row_at] for r in rows[1:]}
    assert by_ref[f"P{INSIDE:04d}"] == INSIDE + 2 and by_ref[f"P{INSIDE + BELOW - 1:04d}"] == INSIDE + BELOW + 1


@pytest.mark.parametrize("right, gap", [(False, False), (True, False), (False, True)])
def test_the_add_in_reads_the_rows_below_as_the_file_reader_does(tmp_path, right, gap):
    """The live reader (xlwings' remote engine, fed what Office.js sends) finds the same rows and the
    same warning as the file reader."""
    try:
        from tests.xlwings_remote import book_from_json, book_json_from_xlsx
    except ImportError:  # tests/ not a package
        from xlwings_remote import book_from_json, book_json_from_xlsx  # type: ignore[no-redef]
    from salesxl import actions

    path = workbook(tmp_path, right=right, gap=gap)
    expected = validate_file(path, as_of=AS_OF)
    book = book_from_json(book_json_from_xlsx(path))
    try:
        live_book = actions.load(book)
        got = live_book.validate(as_of=AS_OF)
    finally:
        book.close()
    key = lambda i: (i.code, i.sheet, i.row, i.column, i.value, i.message)  # noqa: E731
    assert sorted(map(key, got.issues)) == sorted(map(key, expected.issues))
    assert ("ROWS_AFTER_EMPTY_ROW" if gap else "ROWS_OUTSIDE_TABLE") in {i.code for i in got.issues}
    assert got.tables["pipeline"].rows == expected.tables["pipeline"].rows
    assert len(got.tables["pipeline"]) == INSIDE + (0 if gap else BELOW)
    assert live_book.tables["pipeline"].last_row == INSIDE + 1          # the ListObject itself, for resizing


@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
def test_rows_below_the_settings_table_are_read_and_said(tmp_path, engine):
    """Settings is optional and its other issues are not reported, but a setting typed below its table
    is read and named, in the workbook's language."""
    wb = build_template("fr", rep=REP, period_start=START, period_end=END)
    ws = wb[contract.SETTINGS.sheet("fr")]
    last = int(ws.tables[contract.SETTINGS.name].ref.split(":")[1][1:])
    ws.cell(last + 1, 1).value = "Devise"
    ws.cell(last + 1, 2).value = "CHF"
    path = tmp_path / "settings_below.xlsx"
    wb.save(path)
    v = validate_file(path, engine=engine)
    (o,) = [i for i in v.issues if i.code == "ROWS_OUTSIDE_TABLE"]
    assert o.row == last + 1 and "sous le tableau tblSettings" in o.message
    wbd = read_workbook(path, engine=engine)
    assert wbd.settings["currency"] == "CHF"


def _plain_pipeline(tmp_path, lang: str):
    """The template's Pipeline table turned into a plain sheet (no Excel table), three proposals, a note
    typed under no header (column N, row 3; column P, row 4), and a column the rep headed themselves."""
    rows = {"pipeline": [proposal(k, 500.0, 0.5) for k in range(3)]}
    wb = build_template(lang, rep=REP, period_start=START, period_end=END, rows=rows, settings={"as_of": AS_OF})
    ws = wb[contract.PIPELINE.sheet(lang)]
    del ws.tables[contract.PIPELINE.name]
    width = len(contract.PIPELINE.columns)
    n, o, p = (openpyxl.utils.get_column_letter(width + k) for k in (1, 2, 3))
    ws[f"{n}3"] = "call back Monday"                 # no header above it
    ws[f"{o}1"], ws[f"{o}2"] = "My notes", "big one"  # the rep's own column: not flagged
    ws[f"{p}4"] = 42                                   # no header, further right
    path = tmp_path / f"plain_{lang}.xlsx"
    wb.save(path)
    return path, n, p


@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_plain_sheet_data_under_no_header_is_named(tmp_path, engine, lang):
    """A table found by its header row on a plain sheet: data typed below the header row in a column with
    no header is not read, and COLUMNS_NOT_READ names the cells, as for an Excel table."""
    path, n, p = _plain_pipeline(tmp_path, lang)
    v = validate_file(path, engine=engine, as_of=AS_OF)
    (issue,) = [i for i in v.issues if i.code == "COLUMNS_NOT_READ"]
    sheet = contract.PIPELINE.sheet(lang)
    assert (issue.severity, issue.sheet, issue.row, issue.value) == ("warning", sheet, 3, f"{n}3:{p}4")
    expected = {"en": f"Cells of columns {n}–{p} in table {sheet} (headers on row 1) hold data under no column "
                      "header of the table: they are not read.",
                "fr": f"Les cellules des colonnes {n} à {p} dans le tableau {sheet} (en-têtes en ligne 1) "
                      "contiennent des données sous aucun en-tête de colonne du tableau : elles ne sont pas lues."}
    assert issue.message.startswith(expected[lang])
    assert len(v.tables["pipeline"]) == 3


def test_plain_sheet_without_stray_data_has_no_columns_issue(tmp_path):
    rows = {"pipeline": [proposal(k, 500.0, 0.5) for k in range(3)]}
    wb = build_template("en", rep=REP, period_start=START, period_end=END, rows=rows, settings={"as_of": AS_OF})
    for ws in wb.worksheets:
        for name in list(ws.tables):
            del ws.tables[name]
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    for engine in ("openpyxl", "calamine"):
        v = validate_file(path, engine=engine, as_of=AS_OF)
        assert not [i for i in v.issues if i.code == "COLUMNS_NOT_READ"], engine
        assert len(v.tables["pipeline"]) == 3


def test_the_add_in_names_data_under_no_header_on_a_plain_sheet(tmp_path):
    try:
        from tests.xlwings_remote import book_from_json, book_json_from_xlsx
    except ImportError:  # tests/ not a package
        from xlwings_remote import book_from_json, book_json_from_xlsx  # type: ignore[no-redef]
    from salesxl import actions

    path, n, p = _plain_pipeline(tmp_path, "fr")
    expected = validate_file(path, as_of=AS_OF)
    book = book_from_json(book_json_from_xlsx(path))
    try:
        got = actions.load(book).validate(as_of=AS_OF)
    finally:
        book.close()
    key = lambda i: (i.code, i.sheet, i.row, i.value, i.message)  # noqa: E731
    assert [key(i) for i in got.issues if i.code == "COLUMNS_NOT_READ"] == \
        [key(i) for i in expected.issues if i.code == "COLUMNS_NOT_READ"] != []
