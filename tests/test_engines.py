"""Both readers give the same frames and the same issues (openpyxl is the reference, calamine the fast
engine): realistic rep workbooks in English and French, messy ones, the demo's rep workbooks with their
mistakes, a hand-made workbook full of traps, and the good files of the hostile corpus."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from salesxl import contract
from salesxl.consolidate import ReadTask, read_one
from salesxl.io.read_xlsx import validate_file
from salesxl.io.template import build_template

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))

from make_workbooks import rep_rows, write_rep_workbook  # noqa: E402

AS_OF = dt.date(2026, 6, 15)


def trap_workbook(path: Path, lang: str) -> Path:
    """A rep workbook with every kind of cell a reader can trip on."""
    _, rows = rep_rows(7, rows=240, as_of=AS_OF, messy=True)
    wb = build_template(lang, rows=rows, settings={"as_of": AS_OF},
                        blank_rows={"reps": 1, "planning": 1, "objectives": 1, "reporting": 3, "pipeline": 1})
    pipe = wb[contract.PIPELINE.sheet(lang)]
    col = {c.key: i + 1 for i, c in enumerate(contract.PIPELINE.columns)}
    pipe.cell(2, col["amount"]).value = "#N/A"                     # an error value
    pipe.cell(3, col["probability"]).value = "70 %"
    pipe.cell(4, col["probability"]).value = 70
    pipe.cell(5, col["decision_date"]).value = "4 avril 2026"
    pipe.cell(6, col["amount"]).value = -1200
    pipe.cell(7, col["stage"]).value = "Signature imminente"
    pipe.cell(8, col["amount"]).value = "1 234,56"
    pipe.cell(9, col["company"]).value = True
    pipe.cell(10, col["amount"]).value = "=1+1"                    # a formula without a saved result
    pipe.cell(11, col["company"]).value = "  \u00a0 "
    pipe.cell(12, col["probability"]).value = 150
    pipe.cell(13, col["amount"]).value = 12345678901234567.0
    pipe.cell(14, col["sent_on"]).value = dt.datetime(2026, 5, 3, 14, 30)
    pipe.cell(15, col["decision_date"]).value = dt.time(10, 30)
    rep = wb[contract.REPORTING.sheet(lang)]
    rcol = {c.key: i + 1 for i, c in enumerate(contract.REPORTING.columns)}
    rep.cell(3, rcol["date"]).value = dt.datetime(2026, 6, 1, 9, 15)
    rep.cell(4, rcol["date"]).value = 46000                         # an Excel serial
    rep.cell(5, rcol["date"]).value = "04/05/2026"
    rep.cell(6, rcol["date"]).value = "13/13/2026"
    rep.cell(7, rcol["result"]).value = "revoir la PROPOSITION"
    rep.merge_cells(start_row=8, start_column=rcol["comment"], end_row=9, end_column=rcol["comment"])
    rep.cell(10, rcol["company"]).value = 3.0
    rep.cell(11, rcol["company"]).value = "#DIV/0!"
    rep.cell(12, rcol["proposal_ref"]).value = 1024
    rep.cell(14, rcol["company"]).value = '=HYPERLINK("http://x.example","y")'
    rep.cell(14, rcol["company"]).data_type = "s"                  # typed as text by the rep
    for c in range(1, len(contract.REPORTING.columns) + 1):
        rep.cell(13, c).value = None                               # a blank row inside the table
    obj = wb[contract.OBJECTIVES.sheet(lang)]
    del obj.tables[contract.OBJECTIVES.name]                       # a plain sheet: found by its header row
    obj.insert_rows(1, 2)
    obj.cell(1, 1).value = "Objectifs du trimestre"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("engines")
    paths = [write_rep_workbook(d / f"rep_{i}.xlsx", i, rows=120, as_of=AS_OF) for i in range(5)]   # EN, FR, messy
    paths += [trap_workbook(d / "trap_fr.xlsx", "fr"), trap_workbook(d / "trap_en.xlsx", "en")]
    from salesxl.demo import DEMO_AS_OF, write_rep_workbooks
    paths += write_rep_workbooks(d / "demo", DEMO_AS_OF, mistakes=True)[:3]
    from make_corpus import openpyxl_workbook, xlsm_from, zip_bytes
    base = openpyxl_workbook()
    (d / "corpus_good.xlsx").write_bytes(zip_bytes(base))
    (d / "corpus_macro.xlsm").write_bytes(zip_bytes(xlsm_from(base)))
    paths += [d / "corpus_good.xlsx", d / "corpus_macro.xlsm"]
    return paths


def _cells(table):
    return {c: [(type(v).__name__, v) for v in table[c]] for c in table.columns} | {"rows": table.rows}


def test_corpus_of_engines_is_varied(workbooks):
    """The set really holds both languages, messy values and the traps (else the comparison is weak)."""
    codes = set()
    langs = set()
    for p in workbooks:
        v = validate_file(p, engine="openpyxl", as_of=AS_OF)
        codes.update(i.code for i in v.issues)
        langs.add(v.lang)
    assert langs == {"en", "fr"}
    assert {"CELL_ERROR", "MISSING_CACHED_VALUE", "MERGED_CELL", "BAD_DATE", "NEGATIVE_AMOUNT",
            "PROBABILITY_NORMALISED", "PROBABILITY_RANGE", "UNKNOWN_VALUE", "NUMBER_NORMALISED",
            "MISSING_VALUE"} <= codes


@pytest.mark.parametrize("i", range(12))
def test_same_frames_and_issues(workbooks, i):
    if i >= len(workbooks):
        pytest.skip("fewer workbooks")
    p = workbooks[i]
    a = validate_file(p, engine="openpyxl", as_of=AS_OF)
    b = validate_file(p, engine="calamine", as_of=AS_OF)
    assert a.lang == b.lang
    assert {k: (t.sheet, t.headers) for k, t in a.tables.items()} == {k: (t.sheet, t.headers) for k, t in b.tables.items()}
    assert sorted(a.tables) == sorted(b.tables)
    for key in a.tables:
        assert a.tables[key].columns == b.tables[key].columns, key
        assert _cells(a.tables[key]) == _cells(b.tables[key]), key
    assert a.issues == b.issues


def test_same_consolidation_input(workbooks):
    """What a consolidation worker sends back is the same whatever the engine, fingerprint included."""
    for p in workbooks:
        a = read_one(ReadTask(str(p), "openpyxl", None, AS_OF))
        b = read_one(ReadTask(str(p), "calamine", None, AS_OF))
        assert a.fingerprint == b.fingerprint and a.fingerprint is not None, p
        assert a.issues == b.issues, p
        assert a.tables.keys() == b.tables.keys()
        for k in a.tables:
            assert a.tables[k] == b.tables[k]              # rows, values, what was typed, sheet, headers
            assert a.tables[k].columns_at == b.tables[k].columns_at


def test_error_cells_are_read_as_errors_by_both(workbooks):
    trap = next(p for p in workbooks if p.name == "trap_en.xlsx")
    for engine in ("openpyxl", "calamine"):
        v = validate_file(trap, engine=engine, as_of=AS_OF)
        errs = {(i.sheet, i.row, i.value) for i in v.issues if i.code == "CELL_ERROR"}
        assert ("Pipeline", 2, "#N/A") in errs and ("Reporting", 11, "#DIV/0!") in errs, engine
