"""salesxl.io.live against a real xlwings Book (xlwings' remote engine, see tests/xlwings_remote.py).

Workbooks are built with openpyxl, converted to the JSON an Office.js client sends, opened with
``xw.Book(json=...)``; what the code would make Excel do is read back from the recorded actions.
"""
from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.worksheet.table import Table, TableStyleInfo

try:
    from tests.xlwings_remote import (
        action_funcs,
        book_from_json,
        book_json_from_xlsx,
        count_calls,
        recorded_actions,
        reset_actions,
    )
except ImportError:  # tests/ not a package and the repo root not on sys.path
    from xlwings_remote import (  # type: ignore[no-redef]
        action_funcs,
        book_from_json,
        book_json_from_xlsx,
        count_calls,
        recorded_actions,
        reset_actions,
    )

from salesxl.io import live

REPORTING_HEADER = ["Date", "Rep", "Company", "Contact", "Job title", "Action", "Result",
                    "Proposal ref", "Reason", "Comment"]
HEADER_ROW = 3  # two title rows above the table
ACTIONS = ["Call", "Visit", "Negotiation", "Proposal", "Follow-up", "Demo"]
RESULTS = ["Proposal", "Order", "Meeting set", "Revise proposal", "No need"]


def reporting_row(i: int) -> list:
    return [
        dt.datetime(2024, 1, 1) + dt.timedelta(days=i % 90),
        f"Rep {i % 7}",
        None if i == 5 else f"Company {i}",          # one missing company
        f"Contact {i}",
        "Buyer" if i % 2 else "Directeur",
        ACTIONS[i % len(ACTIONS)],
        RESULTS[i % len(RESULTS)],
        f"P-{i:05d}" if i % 3 == 0 else None,
        None,
        "#N/A" if i == 7 else (1234.5 if i == 8 else None),  # a cell error, a number
    ]


def build_xlsx(path, n_rows: int) -> None:
    wb = Workbook()
    ins = wb.active
    ins.title = "Instructions"
    ins["A1"] = "How to fill this workbook"

    rep = wb.create_sheet("Reporting")
    rep["A1"] = "Reporting"
    rep["A2"] = "Rep: everyone"
    for j, label in enumerate(REPORTING_HEADER, start=1):
        rep.cell(row=HEADER_ROW, column=j, value=label)
    for i in range(n_rows):
        for j, value in enumerate(reporting_row(i), start=1):
            if value is not None:
                cell = rep.cell(row=HEADER_ROW + 1 + i, column=j, value=value)
                if j == 1:
                    cell.number_format = "yyyy-mm-dd"
    last = HEADER_ROW + n_rows
    table = Table(displayName="tblReporting", ref=f"A{HEADER_ROW}:J{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    rep.add_table(table)
    rep["D4"].comment = Comment("the rep's own note", "rep")  # a note that is not ours

    # a table with a totals row, on a sheet whose name is not the expected one
    obj = wb.create_sheet("Objectifs T1")
    obj.append(["Rep", "Period start", "Period end", "Revenue objective", "Deals objective"])
    obj.append(["Rep 0", dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 31), 100000, 5])
    obj.append(["Rep 1", dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 31), 80000.5, None])
    obj.append(["Total", None, None, 180000.5, 5])
    tot = Table(displayName="tblObjectives", ref="A1:E4", totalsRowCount=1)
    obj.add_table(tot)

    # plain pasted data, not a table, starting at B2
    pipe = wb.create_sheet("Pipeline")
    pipe["B2"], pipe["C2"], pipe["D2"] = "Ref", "Rep", "Amount"
    pipe["B3"], pipe["C3"], pipe["D3"] = "P-1", "Rep 0", 1000
    pipe["B4"], pipe["C4"], pipe["D4"] = "P-2", "Rep 1", 2500.75

    wb.defined_names["as_of"] = __import__(
        "openpyxl.workbook.defined_name", fromlist=["DefinedName"]
    ).DefinedName("as_of", attr_text="Instructions!$A$1")
    wb.save(path)


@pytest.fixture(scope="module")
def payloads(tmp_path_factory):
    out = {}
    for n in (100, 10_000):
        path = tmp_path_factory.mktemp("wb") / f"reporting_{n}.xlsx"
        build_xlsx(path, n)
        out[n] = json.dumps(book_json_from_xlsx(path))
    return out


@pytest.fixture
def open_book(payloads):
    books = []

    def _open(n: int = 10_000):
        book = book_from_json(json.loads(payloads[n]))
        books.append(book)
        return book

    yield _open
    for book in books:
        book.close()


# ------------------------------------------------------------------------------ the helper


def test_payload_has_the_client_schema(payloads):
    payload = json.loads(payloads[100])
    assert payload["client"] == "Office.js"
    assert set(payload["book"]) >= {"name", "active_sheet_index", "selection"}
    rep = next(s for s in payload["sheets"] if s["name"] == "Reporting")
    assert rep["used_range_address"] == f"A1:J{HEADER_ROW + 100}"
    assert rep["values"][HEADER_ROW][0] == "2024-01-01T00:00:00.000Z"  # dates as ISO strings
    assert rep["values"][HEADER_ROW + 5][2] == ""                      # empty cell
    (table,) = rep["tables"]
    assert table["name"] == "tblReporting"
    assert table["header_row_range_address"] == "A3:J3"
    assert table["data_body_range_address"] == f"A4:J{HEADER_ROW + 100}"
    assert table["total_row_range_address"] is None
    assert rep["notes"] == [{"address": "D4"}]
    assert payload["names"][0]["refers_to"] == "=Instructions!$A$1"
    assert payload["names"][0]["address"] == "A1"


def test_book_opens_on_the_remote_engine(open_book):
    book = open_book(100)
    assert book.app.engine.name == "remote"
    assert [s.name for s in book.sheets] == ["Instructions", "Reporting", "Objectifs T1", "Pipeline"]
    assert book.sheets["Reporting"].tables["tblReporting"].range.address == "$A$3:$J$103"
    assert recorded_actions(book) == []


# ------------------------------------------------------------------------------ reading


def test_read_tables_returns_rows_with_excel_row_numbers(open_book):
    book = open_book(10_000)
    block = live.read_tables(book, ["tblReporting"])["tblReporting"]
    assert (block.sheet, block.table) == ("Reporting", "tblReporting")
    assert block.header == REPORTING_HEADER
    assert block.first_row == HEADER_ROW + 1 and block.header_row == HEADER_ROW
    assert block.first_col == 1
    assert len(block.rows) == 10_000
    for i in (0, 5, 7, 8, 4999, 9999):
        assert block.rows[i] == reporting_row(i), i
    assert isinstance(block.rows[0][0], dt.datetime)
    assert block.rows[5][2] is None            # empty stays None, never ""
    assert block.rows[7][9] == "#N/A"          # cell error kept as its text
    assert isinstance(block.rows[8][9], float)


def test_read_tables_is_case_insensitive_and_finds_tables_on_any_sheet(open_book):
    book = open_book(100)
    block = live.read_tables(book, ["TBLOBJECTIVES"])["TBLOBJECTIVES"]
    assert (block.sheet, block.table) == ("Objectifs T1", "tblObjectives")     # a renamed sheet: still found
    assert block.header[:2] == ["Rep", "Period start"]
    assert len(block.rows) == 2                # totals row excluded
    assert block.rows[0] == ["Rep 0", dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 31), 100000, 5]
    assert isinstance(block.rows[0][3], int)   # integral numbers as int, like openpyxl
    assert block.rows[1][3] == 80000.5 and block.rows[1][4] is None
    assert (block.first_row, block.first_col) == (2, 1)


def test_read_tables_leaves_a_missing_table_out_then_sheet_values_for_header_scan(open_book):
    book = open_book(100)
    assert live.read_tables(book, ["tblPipeline", "tblReporting"]).keys() == {"tblReporting"}
    values, first_row, first_col = live.read_sheet_values(book, "pipeline")
    assert (first_row, first_col) == (2, 2)    # used range starts at B2
    assert values == [["Ref", "Rep", "Amount"], ["P-1", "Rep 0", 1000], ["P-2", "Rep 1", 2500.75]]
    with pytest.raises(KeyError):
        live.read_sheet_values(book, "Carnet commercial")
    assert recorded_actions(book) == []        # reading never writes


def test_find_sheet_ignores_case_accents_form_and_spaces(open_book):
    book = open_book(100)
    assert live.find_sheet(book, "Paramètres", " reporting ").name == "Reporting"
    assert live.find_sheet(book, "Settings") is None


# ------------------------------------------------------------------------------ writing


def test_write_sheet_block_is_one_action_with_the_whole_block(open_book):
    book = open_book(10_000)
    rows = [["Severity", "Code", "Company", "Date", "Value"]]
    rows += [["error", "MISSING_VALUE", f"Company {i}", dt.date(2024, 1, 2), i * 1.5]
             for i in range(10_000)]
    sheet = live.write_sheet_block(book, "Issues", "A1", rows, after="Reporting")
    assert sheet.name == "Issues" and sheet.index == 3
    add, write = recorded_actions(book)
    assert add["func"] == "addSheet" and add["args"] == [2, "Issues"]
    assert write["func"] == "setValues"
    assert (write["start_row"], write["start_column"]) == (0, 0)
    assert (write["row_count"], write["column_count"]) == (10_001, 5)
    assert len(write["values"]) == 10_001
    assert write["values"][0] == ["'Severity", "'Code", "'Company", "'Date", "'Value"]
    assert write["values"][1] == ["'error", "'MISSING_VALUE", "'Company 0", "2024-01-02", 0.0]
    json.dumps(book.json())                    # what xlwings Server sends back must be JSON

    reset_actions(book)
    live.write_sheet_block(book, "issues", (2, 3), [["x", None, 2]])  # existing sheet
    clear, write = recorded_actions(book)
    assert clear["func"] == "sheetClear" and clear["sheet_position"] == 2
    assert (write["start_row"], write["start_column"]) == (1, 2)
    assert write["values"] == [["'x", "", 2]]


def test_text_that_looks_like_a_formula_is_written_as_text(open_book):
    book = open_book(100)
    rows = [['=HYPERLINK("x")', "+33 6 12 34 56 78", "-", "04/05/2003", "70 %", "'quoted"],
            [live.Formula("=SUM(A1:B1)"), 0, None, True, float("nan"), ""]]
    live.write_sheet_block(book, "Out", "A1", rows)
    (write,) = [a for a in recorded_actions(book) if a["func"] == "setValues"]
    assert write["values"][0] == ["'=HYPERLINK(\"x\")", "'+33 6 12 34 56 78", "'-",
                                  "'04/05/2003", "'70 %", "''quoted"]
    assert write["values"][1] == ["=SUM(A1:B1)", 0, "", True, "", ""]


# ------------------------------------------------------------------------------ marks


CELLS = [(5, 3, "Company is missing"), (6, 3, "Company is missing"), (7, 3, "Company is missing"),
         (5, 4, "Contact unknown"), (10, 6, "Unknown action 'Lunch'"), (4, 4, "our note here?")]


def test_mark_cells_colours_rectangles_and_adds_notes(open_book):
    book = open_book(100)
    sheet = book.sheets["Reporting"]
    summary = live.mark_cells(sheet, CELLS, live.ERROR_FILL)
    actions = recorded_actions(book)
    fills = [a for a in actions if a["func"] == "setRangeColor"]
    # C5:C7 is one rectangle; D4 (rep's note) and D5 form D4:D5; F10 alone
    rects = {(a["start_row"] + 1, a["start_column"] + 1, a["row_count"], a["column_count"])
             for a in fills}
    assert rects == {(5, 3, 3, 1), (4, 4, 2, 1), (10, 6, 1, 1)}
    assert all(a["args"] == ["#FFC7CE"] for a in fills)
    notes = [a["args"] for a in actions if a["func"] == "addNote"]
    assert notes == [["$C$5", "Company is missing"], ["$D$5", "Contact unknown"],
                     ["$C$6", "Company is missing"], ["$C$7", "Company is missing"],
                     ["$F$10", "Unknown action 'Lunch'"]]
    assert summary == {"fills": 3, "notes": 5, "notes_skipped": 1, "notes_supported": True}
    # the record: a hidden sheet listing exactly what we marked
    assert action_funcs(book)[-4:] == ["addSheet", "setValues", "setSheetVisibility",
                                       "activateSheet"]
    record = recorded_actions(book)[-3]["values"]
    assert record[0] == ["'sheet", "'kind", "'address"]
    assert sorted(r[2] for r in record[1:]) == sorted(
        ["'C5:C7", "'D4:D5", "'F10", "'C5", "'C6", "'C7", "'D5", "'F10"])


def test_clear_marks_clears_exactly_our_marks(open_book):
    book = open_book(100)
    sheet = book.sheets["Reporting"]
    live.mark_cells(sheet, CELLS)
    reset_actions(book)
    summary = live.clear_marks(book)
    assert summary == {"fills": 3, "notes": 5}
    actions = recorded_actions(book)
    cleared = {(a["start_row"] + 1, a["start_column"] + 1, a["row_count"], a["column_count"])
               for a in actions if a["func"] == "setRangeColor"}
    assert cleared == {(5, 3, 3, 1), (4, 4, 2, 1), (10, 6, 1, 1)}
    assert all(a["args"] == [None] for a in actions if a["func"] == "setRangeColor")
    deleted = sorted(a["start_row"] * 100 + a["start_column"] for a in actions
                     if a["func"] == "deleteNote")
    assert deleted == sorted([4 * 100 + 2, 5 * 100 + 2, 6 * 100 + 2, 4 * 100 + 3, 9 * 100 + 5])
    assert sheet["D4"].note is not None        # the rep's note is untouched
    # the record is emptied (header only) and a second clear does nothing
    assert recorded_actions(book)[-1]["values"] == [["'sheet", "'kind", "'address"]]
    reset_actions(book)
    assert live.clear_marks(book) == {"fills": 0, "notes": 0}
    assert recorded_actions(book) == []


def test_marking_twice_updates_our_notes_and_keeps_one_record(open_book):
    book = open_book(100)
    sheet = book.sheets["Reporting"]
    live.mark_cells(sheet, CELLS)
    reset_actions(book)
    summary = live.mark_cells(sheet, [(5, 3, "Company is still missing")])
    assert summary["notes"] == 1
    assert ["$C$5", "Company is still missing"] in [
        a["args"] for a in recorded_actions(book) if a["func"] == "setNoteText"]
    assert "addNote" not in action_funcs(book)
    record = recorded_actions(book)[-1]["values"]
    entries = [tuple(r) for r in record[1:]]
    assert len(entries) == len(set(entries)) == 8 + 1   # the new fill C5, no duplicates


def test_clear_marks_reads_the_record_of_a_previous_run(tmp_path):
    path = tmp_path / "marked.xlsx"
    build_xlsx(path, 20)
    from openpyxl import load_workbook

    wb = load_workbook(path)
    rec = wb.create_sheet(live.MARKS_SHEET)
    rec.sheet_state = "hidden"
    for row in (["sheet", "kind", "address"], ["Reporting", "fill", "C5:C7"],
                ["Reporting", "note", "C5"], ["Pipeline", "fill", "D3"], ["Gone", "fill", "A1"]):
        rec.append(row)
    wb["Reporting"]["C5"].comment = Comment("Company is missing", "salesxl")
    wb.save(path)
    book = book_from_json(book_json_from_xlsx(path))
    try:
        assert live.clear_marks(book.sheets["Reporting"]) == {"fills": 1, "notes": 1}
        funcs = action_funcs(book)
        assert funcs[:2] == ["setRangeColor", "deleteNote"]
        # Pipeline's mark is kept, the Reporting ones are dropped from the record
        assert recorded_actions(book)[-1]["values"] == [
            ["'sheet", "'kind", "'address"], ["'Pipeline", "'fill", "'D3"],
            ["'Gone", "'fill", "'A1"]]
        reset_actions(book)
        assert live.clear_marks(book) == {"fills": 1, "notes": 0}  # Gone: sheet no longer exists
        assert recorded_actions(book)[-1]["values"] == [["'sheet", "'kind", "'address"]]
    finally:
        book.close()


def test_notes_unsupported_client_falls_back_to_fills(payloads):
    payload = json.loads(payloads[100])
    for sheet in payload["sheets"]:
        sheet["notes_supported"] = False       # Office.js without ExcelApi 1.18
    book = book_from_json(payload)
    try:
        summary = live.mark_cells(book.sheets["Reporting"], CELLS[:3])
        assert summary["fills"] == 1 and summary["notes"] == 0
        assert summary["notes_supported"] is False
        assert "addNote" not in action_funcs(book)
    finally:
        book.close()


# ------------------------------------------------------------------------------ call counts


def _validate_like_action(book):
    """Read a table, write an issues block of the same size, clear and set marks."""
    block = live.read_tables(book, ["tblReporting", "tblPipeline"])["tblReporting"]
    live.read_sheet_values(book, "Pipeline")
    issues = [["Row", "Company"]] + [[block.first_row + i, r[2]] for i, r in enumerate(block.rows)]
    live.write_sheet_block(book, "Issues", "A1", issues)
    live.clear_marks(book)
    live.mark_cells(book.sheets["Reporting"], CELLS)


def test_number_of_calls_does_not_depend_on_the_number_of_rows(open_book):
    counts, actions = {}, {}
    for n in (100, 10_000):
        book = open_book(n)
        with count_calls() as counter:
            _validate_like_action(book)
        counts[n] = dict(counter)
        actions[n] = action_funcs(book)
    assert counts[100] == counts[10_000]
    assert actions[100] == actions[10_000]
    assert counter.reads() == 2                # one read per table or sheet, whatever the size
    print(f"\nxlwings calls per validate-like action: {counter.total} "
          f"({counter.reads()} value reads), recorded actions: {len(actions[10_000])}")


def test_timing_read_and_write_10k_rows(open_book):
    book = open_book(10_000)
    t0 = time.perf_counter()
    block = live.read_tables(book, ["tblReporting"])["tblReporting"]
    t1 = time.perf_counter()
    live.write_sheet_block(book, "Copy", "A1", [block.header] + block.rows)
    t2 = time.perf_counter()
    assert len(recorded_actions(book)[-1]["values"]) == 10_001
    print(f"\nremote engine, 10,000 rows x 10 columns: read_tables {1000 * (t1 - t0):.0f} ms, "
          f"write_sheet_block {1000 * (t2 - t1):.0f} ms, total {1000 * (t2 - t0):.0f} ms")
