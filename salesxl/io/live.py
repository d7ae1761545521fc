"""I/O on the live, open workbook through xlwings (ribbon add-in, xlwings Lite, xlwings Server).

Generic primitives only: this module knows Excel objects (sheets, tables, ranges, fills, notes),
not the sales model. Callers match headers, validate rows and decide what to write.

Rules every function here follows:

* **Whole blocks.** A table or a sheet is read with one ``.value`` call and written with one
  ``.value`` assignment. The number of xlwings calls depends on the number of sheets, tables,
  columns or marked cells, never on the number of rows read or written. On the classic (COM)
  engine every xlwings call is a round trip to Excel; on the remote engine (xlwings Lite / Server)
  reads come from the payload the client sent and writes are queued as JSON actions.
* **Only public xlwings API** (xlwings 0.37.8), the subset that both the classic engines
  (Windows/macOS) and the remote engine implement synchronously: ``range.value``, ``range.color``,
  ``range.note`` / ``range.add_note``, ``range.number_format``, ``range.font``, ``range.borders``,
  ``sheet.tables``, ``sheet.used_range``, ``sheets.add``, ``sheet.clear``, ``sheet.visible``; and, for
  the generated sheets, what only some engines have, skipped where missing: alignment (Office.js
  client), ``sheet.freeze_panes`` (remote engine), chart series colours (classic engines), the native
  PageSetup (Windows). ``LIVE_RENDERED`` / ``LIVE_LEFT_OUT`` say what of a layout is drawn.
* **Text is written as text.** Excel parses every string written through ``Range.Value`` (COM) or
  ``Range.values`` (Office.js) as if typed: ``=HYPERLINK(..)`` becomes a formula, ``+33 6..`` and
  ``-x`` become formulas, ``04/05/2003`` or ``70 %`` become a date or a number depending on the
  locale. :func:`write_sheet_block` therefore prefixes every string with Excel's quote prefix
  (an apostrophe), which stores the text verbatim and is not part of the cell's value. Wrap a
  string in :class:`Formula` to write a real formula.
* **Read values are normalised** to what the openpyxl path gives: empty -> ``None``, integral
  floats -> ``int``, dates -> naive ``datetime`` (the remote clients send date-formatted cells as
  ISO strings, which xlwings converts; a date in a cell not formatted as a date arrives as its
  serial number, exactly as with openpyxl), cell errors -> their text (``"#N/A"``, ``"#DIV/0!"``…,
  read with ``err_to_str=True`` so that a caller can report ``CELL_ERROR``).

Remote engine caveat: a read returns the snapshot the client sent with the request. Writes made in
the same run are queued actions and are *not* visible to later reads of the same run (the marks
record below is therefore cached per book for the duration of the run).

Validation marks (:func:`mark_cells`, :func:`clear_marks`) colour invalid cells and attach a note.
What was marked is recorded on a hidden sheet ``_salesxl_marks`` (columns sheet, kind, address), so
that the next run clears only its own marks: a fill or a note that the rep put there is never
touched. Limits: clearing is by address, so if the rep re-sorts a table between two runs, the old
fill is removed from the cells now at the recorded addresses (the next validation marks the right
cells again); a cell that already carries the rep's own note keeps it (our note is skipped, the
fill and the Issues sheet still flag it). Notes need the classic engine or the Office.js client
with ExcelApi 1.18 (xlwings Lite); elsewhere marks are fills only (reported in the summary).

Review sheets (:func:`render_review`) are the one place that knows a sales object: it renders the
blocks of ``salesxl.review`` at the positions ``salesxl.io.review_xlsx`` uses for files (whole sheet
in one block write, formats by run, native charts, print area). A4 landscape needs the native
PageSetup object, reached through ``sheet.api`` on Windows only; elsewhere it is skipped.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import weakref
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import xlwings as xw

from salesxl.layout import (ERROR_FILL, STYLES, TEXT, TOTAL_LINE, WARNING_FILL, ChartSpec, PrintSetup, SheetLayout, Style,
                            name_key, number_format, quote_sheet, review_layout)

if TYPE_CHECKING:
    from salesxl.review import Review

__all__ = [
    "ERROR_FILL",
    "WARNING_FILL",
    "LIVE_RENDERED",
    "LIVE_LEFT_OUT",
    "MARKS_SHEET",
    "Formula",
    "TableBlock",
    "address",
    "clear_marks",
    "find_sheet",
    "hide_sheet",
    "mark_cells",
    "rectangles",
    "normalise_value",
    "read_sheet_values",
    "read_tables",
    "render_review",
    "render_sheet",
    "resize_table",
    "set_column_widths",
    "list_sheets",
    "to_excel_values",
    "used_extent",
    "write_sheet_block",
]

#: Fill of an invalid cell (Excel's "Bad" style) and of a doubtful one (Excel's "Neutral" style):
#: salesxl.layout's ERROR_FILL and WARNING_FILL, re-exported for the add-in.
#: Hidden sheet recording what :func:`mark_cells` coloured / annotated.
MARKS_SHEET = "_salesxl_marks"
_MARKS_HEADER = ["sheet", "kind", "address"]
_NOTE_MAX_CHARS = 1000
_CELL_MAX_CHARS = 32766  # Excel's 32,767 characters per cell, less the quote prefix


class Formula(str):
    """A string that :func:`write_sheet_block` writes as a formula (all other strings are text)."""

    __slots__ = ()


@dataclass
class TableBlock:
    """A data block read from the workbook.

    ``rows`` are the data rows (header and totals row excluded, trailing all-empty rows dropped);
    ``rows[i]`` is Excel row ``first_row + i``; ``rows[i][j]`` is Excel column ``first_col + j``.
    """

    sheet: str
    header: list[str]
    rows: list[list[Any]]
    first_row: int
    first_col: int
    table: str | None = None  # the ListObject's name when read from a table
    #: Excel row of the table's last body row, trailing empty rows included (ListObjects only)
    last_row: int | None = None
    totals: int = 0           # rows of the ListObject's totals row (0 or 1), below ``last_row``

    @property
    def header_row(self) -> int:
        """Excel row number of the header row."""
        return self.first_row - 1


# --------------------------------------------------------------------------------------------
# values


def normalise_value(value: Any) -> Any:
    """One cell value as read through xlwings -> the Python value the openpyxl path gives."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
        return value
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is not None else value
    return value


def _normalise_fast(value: Any) -> Any:
    t = type(value)
    if value is None or t is int or t is bool:
        return value
    if t is dt.datetime:
        return value if value.tzinfo is None else value.replace(tzinfo=None)
    if t is str:
        return value if value else None
    return normalise_value(value)


def _normalise_rows(rows: Any) -> list[list[Any]]:
    if rows is None:
        return []
    norm = _normalise_fast
    return [[norm(v) for v in row] for row in rows]


def _is_empty_row(row: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _header_text(value: Any) -> str:
    value = normalise_value(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    return str(value)


def _to_excel(value: Any) -> Any:
    """One Python value -> what to hand to ``Range.value`` so that Excel stores it verbatim."""
    if value is None:
        return None
    if isinstance(value, Formula):
        return str(value)
    if isinstance(value, str):
        # Quote prefix: Excel stores the rest as text, never as a formula, number or date.
        return _to_excel_fast(str(value))
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        return value
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return seconds / 86400  # a time of day is a fraction of a day in Excel
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    try:  # numpy / pandas scalars
        import pandas as pd

        if pd.isna(value):
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
    except (ImportError, TypeError, ValueError):
        pass
    item = getattr(value, "item", None)  # numpy scalar -> Python scalar
    if callable(item):
        try:
            return _to_excel(item())
        except (TypeError, ValueError):
            pass
    return "'" + str(value)


def _to_excel_fast(value: Any) -> Any:
    t = type(value)
    if t is str:
        if len(value) > _CELL_MAX_CHARS:  # Excel rejects the whole write otherwise
            value = value[: _CELL_MAX_CHARS - 1] + "…"
        return "'" + value if value else None
    if value is None or t is int or t is bool or t is dt.datetime or t is dt.date:
        return value
    return _to_excel(value)


def to_excel_values(values: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """A 2-D block of Python values -> a rectangular list of lists ready for one ``.value`` write.

    Strings get Excel's quote prefix (written as text), :class:`Formula` strings are left as
    formulas, ``None``/NaN/empty strings become empty cells, Decimals become floats, text longer
    than a cell holds is cut, rows are padded to the widest row.
    """
    block = [[_to_excel_fast(v) for v in row] for row in values]
    width = max((len(row) for row in block), default=0)
    for row in block:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    return block


# --------------------------------------------------------------------------------------------
# addresses and sheets

def address(row: int, col: int, row2: int | None = None, col2: int | None = None) -> str:
    """A1-style address of a cell or a rectangle (1-based row/column numbers)."""
    a = f"{xw.utils.col_name(col)}{row}"
    if row2 is not None and col2 is not None and (row2, col2) != (row, col):
        a += f":{xw.utils.col_name(col2)}{row2}"
    return a


def _key(name: str) -> str:
    return name_key(name)          # the one name-matching rule (salesxl.layout)


def list_sheets(book: xw.Book) -> list[str]:
    """Names of all sheets, in workbook order (one call per sheet on the classic engine)."""
    return [sheet.name for sheet in book.sheets]


def find_sheet(book: xw.Book, *names: str) -> xw.Sheet | None:
    """The first sheet whose name matches one of ``names`` (case, Unicode form and surrounding
    spaces ignored), trying the names in order; ``None`` when none exists."""
    by_key = {}
    for sheet in book.sheets:
        by_key.setdefault(_key(sheet.name), sheet)
    for name in names:
        sheet = by_key.get(_key(name))
        if sheet is not None:
            return sheet
    return None


def _resolve_sheet(book: xw.Book, sheet: xw.Sheet | str | None) -> xw.Sheet | None:
    if sheet is None or isinstance(sheet, xw.Sheet):
        return sheet
    return find_sheet(book, sheet)


# --------------------------------------------------------------------------------------------
# reading


def _read_list_object(sheet_name: str, table: Any, table_name: str) -> TableBlock:
    rng = table.range
    show_headers = bool(table.show_headers)
    show_totals = bool(table.show_totals)
    values = rng.options(ndim=2, err_to_str=True).value  # header + body (+ totals): one call
    rows = _normalise_rows(values)
    top, left = rng.row, rng.column
    header: list[str] = []
    if show_headers and rows:
        header = [_header_text(v) for v in rows[0]]
        rows = rows[1:]
        top += 1
    if show_totals and rows:
        rows = rows[:-1]
    last = top + len(rows) - 1
    while rows and _is_empty_row(rows[-1]):
        rows.pop()
    return TableBlock(sheet=sheet_name, header=header, rows=rows, first_row=top,
                      first_col=left, table=table_name, last_row=last, totals=int(show_totals))


def used_extent(book: xw.Book, sheet_name: str) -> tuple[int, int]:
    """The Excel row and column of the last cell of a sheet's used range (one call, nothing read):
    whether anything was typed below or right of a table."""
    sheet = find_sheet(book, sheet_name)
    if sheet is None:
        raise KeyError(sheet_name)
    last = sheet.used_range.last_cell
    return last.row, last.column


def read_sheet_values(book: xw.Book, sheet_name: str) -> tuple[list[list[Any]], int, int]:
    """The used range of a sheet in one call: ``(values, first_row, first_col)``.

    ``values[i][j]`` is the cell at Excel row ``first_row + i``, column ``first_col + j``;
    an empty sheet gives ``([], 1, 1)``. Raises ``KeyError`` when the sheet does not exist
    (sheet names matched as in :func:`find_sheet`).
    """
    sheet = find_sheet(book, sheet_name)
    if sheet is None:
        raise KeyError(sheet_name)
    rng = sheet.used_range
    values = _normalise_rows(rng.options(ndim=2, err_to_str=True).value)
    if len(values) == 1 and len(values[0]) == 1 and values[0][0] is None:
        values = []
    return values, rng.row, rng.column


# --------------------------------------------------------------------------------------------
# writing


def write_sheet_block(
    book: xw.Book,
    sheet_name: str,
    top_left: str | tuple[int, int],
    values: Iterable[Sequence[Any]],
    *,
    clear: bool | str = True,
    create: bool = True,
    after: xw.Sheet | str | None = None,
    chunksize: int | None = None,
) -> xw.Sheet:
    """Write a 2-D block to a sheet in one call and return the sheet.

    The sheet is created when missing (``create``; placed after ``after`` — a sheet or a sheet
    name — else after the last sheet; ``KeyError`` when missing and ``create`` is false). An
    existing sheet is cleared first: ``clear=True``/``"all"`` clears contents and formats,
    ``"contents"`` only the contents, ``False`` nothing. Values go through
    :func:`to_excel_values` (text stays text, :class:`Formula` stays a formula).

    ``chunksize`` (rows per write) defaults to ``None``: the whole block in one call. Since 0.37
    xlwings otherwise splits writes above 100,000 cells into chunks on its own, which would make
    the number of calls grow with the rows. Pass a chunk size only for very large blocks sent to
    Excel on the web, whose Office.js requests are capped at 5 MB.

    xlwings calls: find the sheet (one per sheet), create or clear (1–2), write (1).
    """
    sheet = find_sheet(book, sheet_name)
    if sheet is None:
        if not create:
            raise KeyError(sheet_name)
        anchor = _resolve_sheet(book, after)
        if anchor is None:
            anchor = book.sheets[len(book.sheets) - 1]
        sheet = book.sheets.add(name=sheet_name, after=anchor)
    elif clear in (True, "all"):
        sheet.clear()
    elif clear == "contents":
        sheet.clear_contents()
    elif clear:
        raise ValueError(f"clear must be True, False, 'all' or 'contents', not {clear!r}")
    block = to_excel_values(values)
    if block and block[0]:
        sheet.range(top_left).options(chunksize=chunksize).value = block
    return sheet


def hide_sheet(sheet: xw.Sheet) -> None:
    """Hide a sheet (Excel's "Hidden": the rep can unhide it)."""
    sheet.visible = False


# --------------------------------------------------------------------------------------------
# validation marks


@dataclass
class _MarkRecord:
    sheet: str
    kind: str  # "fill" (a rectangle we coloured) or "note" (a cell we annotated)
    address: str


@dataclass
class _Marks:
    records: list[_MarkRecord] = field(default_factory=list)
    notes_supported: bool = True


# The remote engine's reads come from the request snapshot, so what this run wrote to the marks
# sheet cannot be read back: keep the record per book implementation for the life of the book.
_MARKS_CACHE: "weakref.WeakKeyDictionary[Any, _Marks]" = weakref.WeakKeyDictionary()


def _marks_key(book: xw.Book) -> Any:
    """Cache key, or ``None`` on the desktop engines, whose reads see the writes already."""
    try:
        if book.app.engine.type == "desktop":
            return None
    except Exception:  # pragma: no cover - engine without a type
        pass
    return book.impl


def _load_marks(book: xw.Book) -> _Marks:
    key = _marks_key(book)
    cached = None
    if key is not None:
        try:
            cached = _MARKS_CACHE.get(key)
        except TypeError:  # impl not weak-referenceable
            cached = None
    if cached is not None:
        return cached
    marks = _Marks()
    if find_sheet(book, MARKS_SHEET) is not None:
        values, _, _ = read_sheet_values(book, MARKS_SHEET)
        for row in values[1:]:
            row = list(row) + [None] * (3 - len(row))
            sheet, kind, addr = (str(v) if v is not None else "" for v in row[:3])
            if sheet and kind in ("fill", "note") and addr:
                marks.records.append(_MarkRecord(sheet, kind, addr))
    if key is not None:
        try:
            _MARKS_CACHE[key] = marks
        except TypeError:
            pass
    return marks


def _save_marks(book: xw.Book, marks: _Marks) -> None:
    existing = find_sheet(book, MARKS_SHEET)
    if existing is None and not marks.records:
        return
    rows = [_MARKS_HEADER] + [[r.sheet, r.kind, r.address] for r in marks.records]
    if existing is not None:
        write_sheet_block(book, MARKS_SHEET, "A1", rows, clear="contents")
        return
    active = book.sheets.active
    sheet = write_sheet_block(book, MARKS_SHEET, "A1", rows)
    hide_sheet(sheet)
    if active is not None and active.name != sheet.name:
        active.activate()


def rectangles(cells: Iterable[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Group cells into rectangles ``(row1, col1, row2, col2)``: vertical runs per column, then
    runs with the same rows in adjacent columns merged. Never more rectangles than cells."""
    by_col: dict[int, list[int]] = {}
    for r, c in set(cells):
        by_col.setdefault(c, []).append(r)
    runs: dict[tuple[int, int], list[int]] = {}  # (row1, row2) -> columns
    for c, rows in by_col.items():
        rows.sort()
        start = prev = rows[0]
        for r in rows[1:]:
            if r != prev + 1:
                runs.setdefault((start, prev), []).append(c)
                start = r
            prev = r
        runs.setdefault((start, prev), []).append(c)
    rects = []
    for (r1, r2), cols in runs.items():
        cols.sort()
        start = prev = cols[0]
        for c in cols[1:]:
            if c != prev + 1:
                rects.append((r1, start, r2, prev))
                start = c
            prev = c
        rects.append((r1, start, r2, prev))
    rects.sort()
    return rects


_CELL_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([1-9][0-9]*)$")


def _parse_cell(ref: str) -> tuple[int, int]:
    match = _CELL_RE.match(ref.strip())
    if match is None:
        raise ValueError(f"not a cell address: {ref!r}")
    col = 0
    for ch in match.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(match.group(2)), col


def _parse_rect(addr: str) -> tuple[int, int, int, int]:
    """``"B5"`` or ``"B5:C7"`` -> ``(row1, col1, row2, col2)``."""
    first, _, last = addr.partition(":")
    r1, c1 = _parse_cell(first)
    r2, c2 = _parse_cell(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def mark_cells(
    sheet: xw.Sheet,
    cells: Iterable[tuple[int, int, str | None]],
    color: Any = ERROR_FILL,
    *,
    notes: bool = True,
    max_notes: int | None = 200,
) -> dict[str, int | bool]:
    """Highlight cells with a fill and explain them with a note.

    ``cells`` holds ``(row, col, note_text)`` with Excel row/column numbers (1-based); texts for
    the same cell are joined. Adjacent cells are grouped into rectangles, one fill call each; each
    note is one or two calls (check, add or update), at most ``max_notes`` notes per call
    (``None``: no limit) — the Issues sheet carries the full list. A cell that already has a note
    that is not ours keeps it. Everything marked is recorded on the hidden ``_salesxl_marks``
    sheet so that :func:`clear_marks` removes exactly these marks.

    Returns ``{"fills", "notes", "notes_skipped", "notes_supported"}``.
    """
    book = sheet.book
    texts: dict[tuple[int, int], list[str]] = {}
    for row, col, text in cells:
        bucket = texts.setdefault((int(row), int(col)), [])
        if text and text not in bucket:
            bucket.append(str(text))
    summary: dict[str, int | bool] = {"fills": 0, "notes": 0, "notes_skipped": 0,
                                      "notes_supported": True}
    if not texts:
        return summary
    marks = _load_marks(book)
    sheet_name = sheet.name
    ours = {r.address for r in marks.records
            if _key(r.sheet) == _key(sheet_name) and r.kind == "note"}
    new_records: list[_MarkRecord] = []

    for r1, c1, r2, c2 in rectangles(texts):
        sheet.range((r1, c1), (r2, c2)).color = color
        summary["fills"] += 1
        new_records.append(_MarkRecord(sheet_name, "fill", address(r1, c1, r2, c2)))

    if notes and marks.notes_supported:
        for (row, col), parts in sorted(texts.items()):
            if not parts:
                continue
            if max_notes is not None and summary["notes"] >= max_notes:
                summary["notes_skipped"] += 1
                continue
            text = "\n".join(parts)
            if len(text) > _NOTE_MAX_CHARS:
                text = text[: _NOTE_MAX_CHARS - 1] + "…"
            cell = sheet.range((row, col))
            addr = address(row, col)
            try:
                existing = cell.note
                if existing is not None:
                    if addr not in ours:  # the rep's own note: never overwrite it
                        summary["notes_skipped"] += 1
                        continue
                    existing.text = text
                else:
                    cell.add_note(text)
            except NotImplementedError:
                # Remote clients other than Office.js, or Excel without ExcelApi 1.18.
                marks.notes_supported = False
                summary["notes_supported"] = False
                break
            summary["notes"] += 1
            if addr not in ours:
                new_records.append(_MarkRecord(sheet_name, "note", addr))
                ours.add(addr)
    elif notes:
        summary["notes_supported"] = False

    known = {(r.sheet, r.kind, r.address) for r in marks.records}
    for rec in new_records:
        if (rec.sheet, rec.kind, rec.address) not in known:
            known.add((rec.sheet, rec.kind, rec.address))
            marks.records.append(rec)
    _save_marks(book, marks)
    return summary


def clear_marks(target: xw.Book | xw.Sheet) -> dict[str, int]:
    """Remove the fills and notes that :func:`mark_cells` recorded — on one sheet, or on every
    sheet when given the book — and nothing else. Records of sheets that no longer exist are
    dropped. One call per recorded rectangle, one or two per recorded note, plus reading and
    rewriting the record. Returns ``{"fills", "notes"}`` (how many were cleared)."""
    if isinstance(target, xw.Sheet):
        book, only = target.book, _key(target.name)
    else:
        book, only = target, None
    marks = _load_marks(book)
    summary = {"fills": 0, "notes": 0}
    if not marks.records:
        return summary
    sheets = {_key(s.name): s for s in book.sheets}
    keep: list[_MarkRecord] = []
    for rec in marks.records:
        key = _key(rec.sheet)
        if only is not None and key != only:
            keep.append(rec)
            continue
        sheet = sheets.get(key)
        if sheet is None:
            continue  # sheet deleted or renamed: nothing left to clear
        try:
            r1, c1, r2, c2 = _parse_rect(rec.address)
        except ValueError:
            continue  # a damaged record entry: drop it, touch nothing
        if rec.kind == "fill":
            sheet.range((r1, c1), (r2, c2)).color = None
            summary["fills"] += 1
        else:
            try:
                note = sheet.range((r1, c1)).note
            except NotImplementedError:
                note = None
            if note is not None:
                note.delete()
                summary["notes"] += 1
    changed = len(keep) != len(marks.records)
    marks.records = keep
    if changed:
        _save_marks(book, marks)
    return summary


# --------------------------------------------------------------------------------------------
# several tables at once, column widths, table resize


def read_tables(book: xw.Book, names: Iterable[str]) -> dict[str, TableBlock]:
    """Every Excel Table whose name is in ``names`` (case-insensitive), each read in one call.

    Table names are matched case-insensitively (as Excel does), on whatever sheet they are (a table
    keeps its name when the rep renames or moves its sheet); the sheets and their tables are listed
    once for all the names. Returns ``{requested name: TableBlock}``; a name without a table is left out.
    xlwings calls: one per sheet and per table listed, plus a handful per table read.
    """
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(_key(name), name)
    out: dict[str, TableBlock] = {}
    for sheet in book.sheets:
        sheet_name = None
        for table in sheet.tables:
            table_name = table.name
            requested = wanted.get(_key(table_name))
            if requested is None or requested in out:
                continue
            if sheet_name is None:
                sheet_name = sheet.name
            out[requested] = _read_list_object(sheet_name, table, table_name)
    return out


def is_remote(book: xw.Book) -> bool:
    """True on the remote engine (xlwings Lite / Server), whose writes are queued actions."""
    try:
        return book.app.engine.type != "desktop"
    except Exception:  # pragma: no cover - engine without a type
        return False


def _width_points(chars: float) -> float:
    """Excel's column width in characters (default font) -> points (what Office.js takes)."""
    return round((7 * chars + 5) * 0.75, 2)


def set_column_widths(sheet: xw.Sheet, widths: Sequence[float | None], first_col: int = 1,
                      *, remote: bool | None = None) -> int:
    """Column widths in characters (``widths[j]`` for column ``first_col + j``; ``None`` leaves it).

    Adjacent columns of the same width are set in one call. The desktop engines take characters,
    the remote engine points: converted here. Returns the number of calls."""
    if remote is None:
        remote = is_remote(sheet.book)
    calls, j = 0, 0
    while j < len(widths):
        w = widths[j]
        k = j
        while k + 1 < len(widths) and widths[k + 1] == w:
            k += 1
        if w is not None:
            rng = sheet.range((1, first_col + j), (1, first_col + k))
            rng.column_width = _width_points(w) if remote else w
            calls += 1
        j = k + 1
    return calls


def resize_table(sheet: xw.Sheet, table_name: str, row1: int, col1: int, row2: int, col2: int) -> None:
    """Resize the Excel Table ``table_name`` of ``sheet`` to the rectangle (header row included)."""
    table = sheet.tables[table_name]
    table.resize(sheet.range((row1, col1), (row2, col2)))


# --------------------------------------------------------------------------------------------
# generated sheets: a salesxl.layout.SheetLayout rendered into the open workbook

_CHART_TYPES = {"bar": "bar_clustered", "column": "column_clustered", "stacked_column": "column_stacked"}

#: What `render_sheet` draws of a layout (salesxl.layout's types, attribute by attribute), on every engine
#: that has the xlwings API for it (xlwings 0.37.8: the remote engine of xlwings Lite / Server, Office.js
#: client; the classic engines of Windows and macOS). An engine without one skips it.
LIVE_RENDERED = frozenset({
    "Cell.value", "Cell.fmt", "Cell.style",
    "Style.bold", "Style.italic", "Style.size", "Style.colour", "Style.fill", "Style.wrap", "Style.valign",
    "Style.align", "Style.border", "Style.top", "Style.bottom_line",
    "SheetLayout.name", "SheetLayout.lang", "SheetLayout.widths", "SheetLayout.runs", "SheetLayout.merges",
    "SheetLayout.heights", "SheetLayout.links", "SheetLayout.data_bars", "SheetLayout.text_rules",
    "SheetLayout.charts", "SheetLayout.freeze", "SheetLayout.gridlines", "SheetLayout.print",
    "Link.row", "Link.col", "Link.sheet", "Link.text",
    "DataBar.first_row", "DataBar.col", "DataBar.last_row", "DataBar.colour", "DataBar.minimum", "DataBar.maximum",
    "TextRule.first_row", "TextRule.col", "TextRule.last_row", "TextRule.text", "TextRule.style",
    "ChartSpec.kind", "ChartSpec.title", "ChartSpec.series", "ChartSpec.row", "ChartSpec.col", "ChartSpec.width",
    "ChartSpec.height", "ChartSpec.legend", "ChartSpec.y_min", "ChartSpec.y_max", "ChartSpec.number_format",
    "ChartSpec.fallback",
    "Series.name", "Series.categories", "Series.values",
    "PrintSetup.area",
})
#: What it leaves out, and why (docs/architecture.md, "What the live renderer leaves out and why", lists
#: the same; tests/test_live_render.py checks that every attribute is in one of the two).
LIVE_LEFT_OUT = {
    "Style.underline": "xlwings' Font has bold, italic, size, colour and name, no underline: links are "
                       "blue, not underlined",
    "Series.colour": "the remote engine reaches a chart's series only by awaiting get_series(), which a "
                     "synchronous action cannot: Excel's colours there (the classic engines colour them)",
    "Series.role": "xlwings cannot combine a column and a line chart in one chart: the range chart is "
                   "drawn as its fallback, bars",
    "Series.marker": "the same: no markers without the combined range chart",
    "SheetLayout.blocks": "where the blocks went, for the layout's own use: nothing to draw",
    "PrintSetup.landscape": "xlwings' PageSetup has the print area only: orientation, paper, scale, fit, "
                            "margins, footer, page breaks and print titles go through the COM PageSetup on "
                            "Windows; macOS and the remote engine keep the print area only",
    "PrintSetup.paper": "as PrintSetup.landscape",
    "PrintSetup.scale": "as PrintSetup.landscape",
    "PrintSetup.fit_width": "as PrintSetup.landscape",
    "PrintSetup.fit_height": "as PrintSetup.landscape",
    "PrintSetup.repeat_rows": "as PrintSetup.landscape",
    "PrintSetup.breaks": "as PrintSetup.landscape",
    "PrintSetup.footer": "as PrintSetup.landscape",
    "PrintSetup.margins": "as PrintSetup.landscape",
    "PrintSetup.estimated_scale": "an estimate of the printed size for the layout's checks, not a setting",
}


def _runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted rows -> runs of consecutive rows (first, last)."""
    out: list[tuple[int, int]] = []
    for r in sorted(set(rows)):
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _review_sheet(book: xw.Book, name: str, after: xw.Sheet | str | None) -> xw.Sheet:
    """A fresh sheet called ``name``: an existing one is deleted first (its charts, merged cells,
    row heights go with it) and the new one takes its place."""
    existing = find_sheet(book, name)
    anchor: Any = None
    if existing is not None:
        sheets = list(book.sheets)
        pos = next(i for i, s in enumerate(sheets) if s.name == existing.name)
        anchor = sheets[pos - 1] if pos > 0 else None
        before = sheets[pos + 1] if anchor is None and pos + 1 < len(sheets) else None
        existing.delete()
        if anchor is None and before is not None:
            return book.sheets.add(name=name, before=before)
    if anchor is None:
        anchor = _resolve_sheet(book, after)
    if anchor is None:
        anchor = book.sheets[len(book.sheets) - 1]
    return book.sheets.add(name=name, after=anchor)


def render_review(book: xw.Book, review: Review, *, after: xw.Sheet | str | None = None) -> xw.Sheet:
    """Write one review sheet into the open workbook: the layout the file writer renders
    (salesxl.layout.review_layout). Returns the sheet (an existing sheet of that name is replaced)."""
    return render_sheet(book, review_layout(review), after=after)


def render_sheet(book: xw.Book, lay: SheetLayout, *, after: xw.Sheet | str | None = None) -> xw.Sheet:
    """Render a SheetLayout into the open workbook (the sheet is replaced).

    The whole sheet's values go in one block write; then styles by rectangle of cells of the same
    style, number formats by run, merges, row heights, hyperlinks, data bars, cell-value rules, one
    native chart per chart (an engine without combined charts draws the chart's `fallback`), column
    widths, print area. A4 landscape / fit-to-width / page breaks / footer go through the native
    page-setup object on Windows (COM); the remote engine and macOS expose only the print area. The
    number of calls depends on the layout's styled rectangles and charts, never on the rows of the
    source tables."""
    remote = is_remote(book)
    sheet = _review_sheet(book, lay.name, after)
    block = to_excel_values(lay.values())
    if block:
        sheet.range((1, 1)).options(chunksize=None).value = block

    def rng(r1: int, c1: int, r2: int | None = None, c2: int | None = None):
        return sheet.range((r1 + 1, c1 + 1), ((r2 if r2 is not None else r1) + 1,
                                              (c2 if c2 is not None else c1) + 1))

    set_column_widths(sheet, [w or None for w in lay.widths], remote=remote)
    if not lay.gridlines:
        try:
            sheet.show_gridlines = False
        except (NotImplementedError, AttributeError):
            pass
    by_style: dict[str | None, list[tuple[int, int]]] = {}
    by_lines: dict[tuple, list[tuple[int, int]]] = {}      # borders apart: most styles share the grid's
    by_fmt: dict[tuple[int, str], list[int]] = {}
    for (r, c), cell in sorted(lay.grid().items()):
        st = STYLES.get(cell.style, STYLES[None])
        lines = (st.border, st.top, st.bottom_line)
        if replace(st, border=None, top=False, bottom_line=None) != _PLAIN:
            by_style.setdefault(cell.style, []).append((r, c))
        if any(lines):
            by_lines.setdefault(lines, []).append((r, c))
        fmt = number_format(cell.fmt, lay.lang)
        if fmt and cell.fmt != TEXT:
            by_fmt.setdefault((c, fmt), []).append(r)
    for style, cells in sorted(by_style.items(), key=lambda kv: str(kv[0])):
        st = STYLES.get(style, STYLES[None])
        for r1, c1, r2, c2 in rectangles(cells):
            _apply_style(rng(r1, c1, r2, c2), st)
    # the subtotals' lines last: a line they share with the cells above is theirs (medium)
    for (border, top, bottom_line), cells in sorted(by_lines.items(), key=lambda kv: (kv[0][1], str(kv[0]))):
        for r1, c1, r2, c2 in rectangles(cells):
            _apply_lines(rng(r1, c1, r2, c2), border, top, bottom_line, r2 - r1 + 1, c2 - c1 + 1)
    for (c, fmt), rows in sorted(by_fmt.items()):
        for r1, r2 in _runs(rows):
            rng(r1, c, r2, c).number_format = fmt
    for r1, c1, r2, c2 in lay.merges:
        rng(r1, c1, r2, c2).merge(False)
    for r, h in sorted(lay.heights.items()):
        rng(r, 0).row_height = h
    for link in lay.links:
        rng(link.row, link.col).add_hyperlink(f"#{quote_sheet(link.sheet)}!A1", link.text)
    for bar in lay.data_bars:
        try:
            rng(bar.first_row, bar.col, bar.last_row, bar.col).conditional_formats.add_data_bar(
                bar.colour, minimum=bar.minimum, maximum=bar.maximum, gradient=False)   # solid, as in the file
        except (NotImplementedError, AttributeError, ValueError):   # engine without the API
            pass
    for rule in lay.text_rules:
        st = STYLES.get(rule.style, STYLES[None])
        try:
            rng(rule.first_row, rule.col, rule.last_row, rule.col).conditional_formats.add_cell_value(
                "equal_to", '"' + rule.text.replace('"', '""') + '"', fill_color=st.fill, font_color=st.colour)
        except (NotImplementedError, AttributeError, ValueError, TypeError):
            pass
    for spec in lay.charts:
        _chart(sheet, spec.fallback or spec)
    if lay.freeze:
        _freeze(sheet, *lay.freeze)
    page = lay.print
    if page.area:
        r1, c1, r2, c2 = page.area
        sheet.page_setup.print_area = (f"${xw.utils.col_name(c1 + 1)}${r1 + 1}:"
                                       f"${xw.utils.col_name(c2 + 1)}${r2 + 1}")
    _page_setup_a4_landscape(sheet, page.footer or lay.name, remote, page=page)
    return sheet


_PLAIN = Style()
_EDGES = ["edge_top", "edge_bottom", "edge_left", "edge_right"]


def _apply_style(target: Any, st: Style) -> None:
    """A layout style but its lines (`_apply_lines`) on a range, as the file writer gives it to each
    cell: fill, font, wrap, alignment. What an engine lacks is skipped (LIVE_LEFT_OUT lists what no
    engine draws)."""
    if st.fill:
        target.color = st.fill
    if st.bold:
        target.font.bold = True
    if st.italic:
        target.font.italic = True
    if st.size:
        target.font.size = st.size
    if st.colour:
        target.font.color = st.colour
    if st.wrap:
        target.wrap_text = True
    try:                        # the remote engine aligns with the Office.js client only
        if st.align:
            target.horizontal_alignment = st.align
        if st.valign:
            target.vertical_alignment = "center" if st.valign == "vcenter" else st.valign
    except (NotImplementedError, AttributeError, KeyError):
        pass


def _apply_lines(target: Any, border: str | None, top: bool, bottom_line: str | None, rows: int, cols: int) -> None:
    """A style's lines on a rectangle of `rows` × `cols` cells, as the file writer gives them to each cell:
    a thin border around each cell, a medium line above each (subtotals), a line under each (section
    titles). A continuous line is thin unless told (Excel's default weight)."""
    inside_h = ["inside_horizontal"] if rows > 1 else []
    inside_v = ["inside_vertical"] if cols > 1 else []
    try:
        if border:
            target.borders.set(_EDGES + inside_h + inside_v, line_style="continuous", color=border)
        if top:                 # each cell's top: the rectangle's top edge and the lines between its rows
            target.borders.set(["edge_top"] + inside_h, line_style="continuous", weight="medium", color=TOTAL_LINE)
        if bottom_line:
            target.borders.set(["edge_bottom"] + inside_h, line_style="continuous", color=bottom_line)
    except (NotImplementedError, AttributeError):     # an engine (or an older xlwings) without borders
        pass


def _freeze(sheet: xw.Sheet, rows: int, cols: int) -> None:
    """Freeze the first `rows` rows and `cols` columns (the layout's `freeze`, XlsxWriter's freeze_panes)."""
    if rows and cols:
        frozen = f"A1:{xw.utils.col_name(cols)}{rows}"
    elif rows:
        frozen = f"1:{rows}"
    elif cols:
        frozen = f"A:{xw.utils.col_name(cols)}"
    else:
        return
    try:
        sheet.freeze_panes.freeze_at(frozen)
    except (NotImplementedError, AttributeError):     # the classic engines have no freeze panes in xlwings
        pass


def _chart(sheet: xw.Sheet, spec: ChartSpec) -> Any:
    """A native chart over the layout's cells: the series' values side by side (their header row
    above gives their names), categories set apart."""
    first = spec.series[0]
    r1 = min(s.values[0] for s in spec.series)
    r2 = max(s.values[2] for s in spec.series)
    c1 = min(s.values[1] for s in spec.series)
    c2 = max(s.values[3] for s in spec.series)
    source = sheet.range((r1, c1 + 1), (r2 + 1, c2 + 1))       # one row above: the series' names
    categories = sheet.range((first.categories[0] + 1, first.categories[1] + 1),
                             (first.categories[2] + 1, first.categories[3] + 1))
    chart = sheet.charts.add(
        width=spec.width * 0.75, height=spec.height * 0.75,
        chart_type=_CHART_TYPES.get(spec.kind, "column_clustered"),
        source=source, plot_by="columns", anchor=sheet.range((spec.row + 1, spec.col + 1)))
    chart.set_x_axis_values(categories)
    chart.title = spec.title
    if spec.legend and len(spec.series) > 1:
        chart.legend.position = "bottom"
    else:
        chart.legend.visible = False
    axis: dict[str, Any] = {}
    if spec.y_min is not None:
        axis["minimum_scale"] = spec.y_min
    if spec.y_max is not None:
        axis["maximum_scale"] = spec.y_max
    if spec.number_format:
        axis["number_format"] = spec.number_format
    if axis:
        try:
            chart.value_axis.set(**axis)
        except (NotImplementedError, AttributeError):
            pass
    try:                        # the remote engine cannot reach the series synchronously (LIVE_LEFT_OUT)
        for k, s in enumerate(spec.series):
            if s.colour:
                chart.series[k].set(fill_color=s.colour)
    except (NotImplementedError, AttributeError, KeyError, IndexError):
        pass
    return chart


def _page_setup_a4_landscape(sheet: xw.Sheet, footer: str, remote: bool, *, page: PrintSetup) -> bool:
    """The layout's PrintSetup (A4 landscape, one page wide, margins, manual page breaks, print titles,
    footer) through the COM PageSetup object (Windows only: xlwings' public PageSetup has the print area
    only). Returns whether it was applied."""
    if remote:
        return False
    try:
        ps = sheet.api.PageSetup          # pywin32 (Windows); AttributeError on macOS (appscript)
        ps.Orientation = 2 if page.landscape else 1      # xlLandscape, xlPortrait
        ps.PaperSize = page.paper         # 9: xlPaperA4
        if page.scale:
            ps.Zoom = page.scale
        else:
            ps.Zoom = False
            ps.FitToPagesWide = page.fit_width
            ps.FitToPagesTall = page.fit_height or False
        left, right, top, bottom = page.margins
        ps.LeftMargin, ps.RightMargin, ps.TopMargin, ps.BottomMargin = left * 72, right * 72, top * 72, bottom * 72
        ps.LeftFooter = footer.replace("&", "&&")
        ps.RightFooter = "&P / &N"
        if page.repeat_rows:
            ps.PrintTitleRows = f"${page.repeat_rows[0] + 1}:${page.repeat_rows[1] + 1}"
        for r in page.breaks:
            sheet.api.HPageBreaks.Add(sheet.api.Rows(r + 1))
        return True
    except Exception:  # macOS, or Excel refusing (no printer installed): keep the print area only
        return False
