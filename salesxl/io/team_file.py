"""The team workbook as a file, for `salesxl new-period`: the new period's rows appended to its
tables (openpyxl, saved atomically), and each rep's workbook for the period written into the outbox
(shared with the New period button). A rep's workbook already in the outbox is never written over."""
from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from salesxl import contract
from salesxl.io.cells import DATE_FORMAT, atomic_write, put
from salesxl.rollover import Rollover, rep_workbook_name
from salesxl.tables import TableData
from salesxl.values import is_blank

__all__ = ["REP_SETTINGS", "append_rows", "parts_openpyxl_drops", "write_rep_workbooks"]

#: The team's Settings a rep's workbook inherits.
REP_SETTINGS = ("currency", "on_track", "at_risk", "simulations", "seed")
#: Package parts openpyxl does not carry through a load and save.
#: (Cell notes — xl/comments and their VML drawings — openpyxl reads and writes back.)
_DROPPED = {"xl/charts/": "charts", "xl/drawings/drawing": "drawings or pictures", "xl/media/": "drawings or pictures",
            "xl/pivotTables/": "pivot tables", "xl/vbaProject.bin": "macros", "xl/slicers/": "slicers"}


def write_rep_workbooks(plan: Rollover, outbox: Path, lang: str, settings: Mapping[str, Any]
                        ) -> tuple[list[Path], list[Path]]:
    """One workbook per rep of `plan` in `outbox` ("<rep> <start>.xlsx": the rep, the new period's
    objective and plan, the rep's open proposals), each written atomically: (written, already there
    and left as they were)."""
    from salesxl.io.template import write_template

    keep = {k: settings.get(k) for k in REP_SETTINGS if not is_blank(settings.get(k))}
    written, existing = [], []
    for rep in plan.reps:
        target = Path(outbox) / rep_workbook_name(rep.rep, rep.period_start)
        if target.exists():
            existing.append(target)
            continue
        rows = {"reps": [rep.rep_row], "objectives": rep.objectives, "planning": rep.planning}
        if rep.open_proposals:
            rows["pipeline"] = rep.open_proposals
        written.append(write_template(target, lang, rows=rows, settings=keep))
    return written, existing


def parts_openpyxl_drops(path: Path) -> list[str]:
    """What a load and save with openpyxl would lose from the workbook at `path` (its charts, pictures,
    pivot tables, macros): [] when nothing."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    return sorted({label for prefix, label in _DROPPED.items() if any(n.startswith(prefix) for n in names)})


def append_rows(path: Path, output: Path, tables: Mapping[str, TableData], rows: Mapping[str, Sequence[Mapping]],
                lang: str) -> dict[str, int]:
    """Append `rows` (table key -> [{column key: value}]) after the last filled row of each table of
    the workbook at `path` (`tables`: the reader's TableData, giving sheet, header row and columns),
    and save it to `output` atomically. Rows past a table's end stretch the table; its formulas and
    number formats follow from the row above, and the data validations (drop-downs, input messages) and
    conditional formats that reached the table's last row reach its new last row. Returns the rows
    written per table."""
    from openpyxl import load_workbook
    from openpyxl.formula.translate import Translator

    wb = load_workbook(path)
    done: dict[str, int] = {}
    for key, recs in rows.items():
        if not recs:
            continue
        td = tables[key]
        ws = wb[td.sheet]
        filled = [r for r in td.rows if r is not None]
        start = (max(filled) if filled else td.header_row) + 1
        end = start + len(recs) - 1
        inputs = {c.key for c in contract.TABLES[key].input_columns}
        first_col = min(td.columns_at.values())
        for r, rec in enumerate(recs, start=start):
            for ck, col in td.columns_at.items():
                cell, above = ws.cell(r, col), ws.cell(r - 1, col) if r - 1 > td.header_row else None
                fmt = above.number_format if above is not None and cell.number_format == "General" else None
                if ck in inputs:
                    value = rec.get(ck)
                    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                        value = dt.datetime.combine(value, dt.time())
                        fmt = fmt if fmt and fmt != "General" else DATE_FORMAT[lang]
                    if value is not None:
                        put(cell, value, fmt)
                elif cell.value is None and above is not None and isinstance(above.value, str) \
                        and above.value.startswith("="):
                    cell.value = Translator(above.value, origin=above.coordinate).translate_formula(cell.coordinate)
                    if fmt:
                        cell.number_format = fmt
        for xt in ws.tables.values():
            (c1, r1), (c2, r2) = _bounds(xt.ref)
            if r1 == td.header_row and c1 <= first_col <= c2 and end > r2:
                xt.ref = f"{_col(c1)}{r1}:{_col(c2)}{end}"
                if xt.autoFilter is not None:
                    xt.autoFilter.ref = xt.ref
                _grow_formats(ws, c1, c2, r1, r2, end)
        done[key] = len(recs)
    atomic_write(output, lambda tmp: wb.save(tmp))
    return done


def grow_sqref(sqref: str, c1: int, c2: int, header_row: int, last: int, end: int) -> str:
    """`sqref` (space-separated ranges) with each range inside columns c1..c2 that covers the data row
    `last` (a table's last row, below its header) stretched down to row `end`; other ranges unchanged."""
    out = []
    for ref in str(sqref).split():
        (rc1, rr1), (rc2, rr2) = _bounds(ref)
        if c1 <= rc1 and rc2 <= c2 and header_row < rr1 <= last <= rr2 < end:
            ref = f"{_col(rc1)}{rr1}:{_col(rc2)}{end}"
        out.append(ref)
    return " ".join(out)


def _grow_formats(ws, c1: int, c2: int, header_row: int, last: int, end: int) -> None:
    """The sheet's data validations and conditional formats over the table's rows reach row `end`."""
    from openpyxl.formatting.formatting import ConditionalFormattingList
    from openpyxl.worksheet.cell_range import MultiCellRange

    for dv in ws.data_validations.dataValidation:
        dv.sqref = MultiCellRange(grow_sqref(str(dv.sqref), c1, c2, header_row, last, end))
    grown = ConditionalFormattingList()
    grown.max_priority = ws.conditional_formatting.max_priority
    for cf, rules in ws.conditional_formatting._cf_rules.items():
        cf.sqref = MultiCellRange(grow_sqref(str(cf.sqref), c1, c2, header_row, last, end))
        grown._cf_rules.setdefault(cf, []).extend(rules)
    ws.conditional_formatting = grown


def _bounds(ref: str) -> tuple[tuple[int, int], tuple[int, int]]:
    from openpyxl.utils.cell import range_boundaries
    c1, r1, c2, r2 = range_boundaries(ref)
    return (c1, r1), (c2, r2)


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(n)
