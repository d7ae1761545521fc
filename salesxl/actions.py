"""The ribbon actions, run on the open workbook through xlwings: Validate, Forecast, Reviews,
Consolidate, New period.

The VBA dispatcher of ``salesxl.xlam`` runs ``salesxl.actions.run('<tag>')`` (the button's tag); the
xlwings Lite script (``addin/lite/main.py``) calls the same functions with the book it is given.
Each action is a few lines over the core: read the contract tables of the open book
(:func:`load`, one block read per table), run the same rules, forecast and review builder as the
command line, and write whole blocks back through :mod:`salesxl.io.live`.

What each action writes:

* ``validate`` — the Issues / Anomalies sheet (one block), and a fill (errors red, warnings amber)
  plus a note on each invalid cell. Nothing a rep typed is changed. The previous run's marks are
  cleared first (only ours: see :func:`salesxl.io.live.clear_marks`).
* ``forecast`` — the Forecast / Prévisions sheet: one row per rep, the team row, the as-of date.
* ``reviews`` — one Review – <rep> / Entretien – <rep> sheet per rep, rendered from the same
  ``salesxl.review`` blocks as the file writer.
* ``consolidate`` — the rep workbooks of the inbox folder (Settings) into the team tables of the
  open book, and the Issues sheet; the source files are only read.
* ``new_period`` — next period's Planning and Objectives rows for each rep, appended to the tables,
  and one personalised rep workbook per rep in the outbox folder (Settings).

The number of xlwings calls of an action depends on the number of sheets, tables and reps (and on
the number of cells marked, capped), never on the number of rows.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import pandas as pd
import xlwings as xw

from salesxl import contract, i18n
from salesxl.contract import CODE, Table
from salesxl.forecast import TeamForecast, plan_forecast, select_period, team_rows
from salesxl.io import live
from salesxl.io.annotate import NO_ISSUES as _NO_ISSUES
from salesxl.io.annotate import issue_cells
from salesxl.io.read_xlsx import (SheetPart, TableData, cell_error_issues, detect_lang, locate_table,
                                  outside_issues, settings_from_table)
from salesxl.io.cells import DATE_FORMAT
from salesxl.io.write_xlsx import (FORECAST_FIELDS, HEADER_COLOR, ISSUE_FIELDS, RISK_COLORS,
                                   RISK_LABELS, SEVERITY_LABELS, issue_value, team_label)
from salesxl.issues import ERROR, WARNING, Issue, make_issue
from salesxl.issues import count as count_issues
from salesxl.review import basis_label
from salesxl.review_text import T
from salesxl.rules import ROW, RawTable, Validated, validate_tables
from salesxl.values import add_period, clean_text, is_blank, label_key, parse_period_length, rep_key

__all__ = ["ACTIONS", "ActionError", "LiveBook", "consolidate", "forecast", "load", "new_period", "reviews",
           "run", "validate"]

#: At most this many cells are coloured per sheet (errors first); the Issues sheet lists everything.
MAX_MARKED_CELLS = 500
#: At most this many notes per sheet and severity (a note is one or two calls each).
MAX_NOTES = 200
_FORMAT = {"amount": "#,##0", "percent": "0%", "ratio": "0.00"}
_NO_PERIOD = {"en": "no current period", "fr": "pas de période en cours"}
_MESSAGES = {
    "no_inbox": {"en": "Set the inbox folder (Settings: 'Inbox folder') to the folder where the reps' "
                       "workbooks arrive.",
                 "fr": "Indiquez le dossier de réception (Paramètres : « Dossier de réception ») où "
                       "arrivent les classeurs des commerciaux."},
    "inbox_missing": {"en": "Inbox folder not found: {path}", "fr": "Dossier de réception introuvable : {path}"},
    "no_table": {"en": "The workbook has no {table} table to write into.",
                 "fr": "Le classeur n'a pas de tableau {table} où écrire."},
}


class ActionError(Exception):
    """The action cannot run (a setting is missing, a folder does not exist…): the message says why,
    in the workbook's language. xlwings shows it to the user."""


def _t(labels: Mapping[str, str], lang: str, **kw) -> str:
    text = i18n.pick(dict(labels), lang)
    return text.format(**kw) if kw else text


# ---------------------------------------------------------------------------------------------
# Reading the open book: the same table location and header matching as the file reader


@dataclass
class LiveTable:
    """A contract table found in the open book."""

    data: TableData                 # raw values by column key, Excel rows in `_row` (as read_xlsx gives)
    header_row: int                 # Excel row of the header
    first_col: int                  # Excel columns spanned by the table (ListObject) or its header
    last_col: int
    last_row: int                   # last Excel row of the table (a ListObject's blank rows included)
    list_object: str | None = None  # the ListObject's name, when the table is one

    @property
    def last_data_row(self) -> int:
        rows = self.data.frame[ROW]
        return int(rows.max()) if len(rows) else self.header_row


@dataclass
class LiveBook:
    """The contract tables of an open workbook, read once per action."""

    book: xw.Book
    path: str
    sheets: list[str]
    lang: str
    settings: dict[str, Any]
    tables: dict[str, LiveTable]
    lists: dict[str, TableData]
    issues: list[Issue]                      # reader issues: missing sheets, headers, cell errors
    flagged: set = field(default_factory=set)

    def validate(self, as_of: dt.date | None = None) -> Validated:
        """Every rule on the tables read (the same `validate_tables` as the command line)."""
        raw = {k: RawTable(k, t.data.sheet, t.data.headers, t.data.frame) for k, t in self.tables.items()
               if k != "settings"}
        return validate_tables(self.path, raw, lang=self.lang, as_of=as_of, settings=self.settings,
                               raw_lists={k: td.frame for k, td in self.lists.items()},
                               flagged=self.flagged, reader_issues=self.issues)


def _pad(values: Sequence[Sequence[Any]], first_row: int, first_col: int) -> list[tuple]:
    """A block read at (first_row, first_col) as sheet rows from A1: rows[r-1][c-1] is cell (r, c)."""
    out: list[tuple] = [()] * (first_row - 1)
    if first_col == 1:
        out.extend(tuple(r) for r in values)
    else:
        pad = (None,) * (first_col - 1)
        out.extend(pad + tuple(r) for r in values)
    return out


def load(book: xw.Book) -> LiveBook:
    """Read every contract table of the open book: a table by its ListObject name (one block read),
    else by its header row on the sheet named in the contract (the sheet's used range, one read).

    Matching, frames and header issues come from :func:`salesxl.io.read_xlsx.locate_table`, so the
    ribbon and the command line read a workbook the same way; rows carry their Excel row numbers.
    """
    path = book.name
    names = live.list_sheets(book)
    wanted = [t.name for t in contract.TABLES.values()] + [t.name for t in contract.LIST_TABLES.values()]
    blocks = live.read_tables(book, wanted)
    cache: dict[str, list[tuple]] = {}

    def sheet_rows(name: str) -> list[tuple]:
        if name not in cache:
            values, r0, c0 = live.read_sheet_values(book, name)
            cache[name] = _pad(values, r0, c0)
        return cache[name]

    extents: dict[str, tuple[int, int]] = {}

    def outside(block: live.TableBlock, last: int, right: int) -> bool:
        """Is anything typed below or right of the table (its sheet's used range goes further)?"""
        if block.sheet not in extents:
            extents[block.sheet] = live.used_extent(book, block.sheet)
        row, col = extents[block.sheet]
        return row > last or col > right

    def locate(table: Table, lang: str) -> tuple[LiveTable | None, list[Issue]]:
        block = blocks.get(table.name)
        if block is not None:
            ncols = max(len(block.header), 1)
            last = block.header_row + len(block.rows)
            right = block.first_col + ncols - 1
            end = max(block.last_row or last, block.header_row) + block.totals
            if block.header and outside(block, end, right):
                # rows typed below the table, or columns right of it: read from the sheet, as a file is
                # (read_xlsx.locate_table reads them as the table's data, with ROWS_OUTSIDE_TABLE)
                mine = [(table.name, live.address(block.header_row, block.first_col, end, right), block.totals)]
                others = [(b.table or "", live.address(b.header_row, b.first_col,
                                                       max(b.last_row or b.header_row, b.header_row) + b.totals,
                                                       b.first_col + max(len(b.header), 1) - 1), b.totals)
                          for b in blocks.values() if b.sheet == block.sheet and b is not block]
                td, issues = locate_table(table, sheet_rows, [SheetPart(block.sheet, "", mine + others)],
                                          names, path, lang)
                if td is None:
                    return None, issues
                return LiveTable(td, block.header_row, block.first_col, max([right] + list(td.columns_at.values())),
                                 end - block.totals, block.table), issues
            rows = _pad([block.header] + block.rows, block.header_row, block.first_col)
            ref = live.address(block.header_row, block.first_col, max(last, block.header_row), right)
            part = SheetPart(block.sheet, "", [(table.name, ref, 0)])
            td, issues = locate_table(table, lambda _name: rows, [part], names, path, lang)
            if td is None:
                return None, issues
            return LiveTable(td, block.header_row, block.first_col, block.first_col + ncols - 1,
                             max(block.last_row or last, block.header_row), block.table), issues
        td, issues = locate_table(table, sheet_rows, [], names, path, lang)
        if td is None:
            return None, issues
        cols = list(td.columns_at.values())
        lt = LiveTable(td, td.header_row, min(cols), max(cols), td.header_row)
        lt.last_row = lt.last_data_row
        return lt, issues

    settings_t, found = locate(contract.SETTINGS, "en")
    settings = settings_from_table(settings_t.data if settings_t else None)
    lang = detect_lang(names, settings)
    tables: dict[str, LiveTable] = {}
    issues: list[Issue] = []
    if outside_issues(found):                  # said again in the workbook's language
        issues += outside_issues(locate(contract.SETTINGS, lang)[1])
    if settings_t is not None:
        tables["settings"] = settings_t
    for t in contract.TABLES.values():
        if t.key == "settings":
            continue
        lt, found = locate(t, lang)
        issues.extend(found)
        if lt is not None:
            tables[t.key] = lt
    lists: dict[str, TableData] = {}
    for key, t in contract.LIST_TABLES.items():
        if t.name in blocks:
            lt, found = locate(t, lang)
            issues += outside_issues(found)
            if lt is not None and len(lt.data.frame):
                lists[key] = lt.data
    flagged: set = set()
    for key, lt in tables.items():
        if key != "settings":
            issues.extend(cell_error_issues(lt.data, path, lang, flagged))
    return LiveBook(book, path, names, lang, settings, tables, lists, issues, flagged)


# ---------------------------------------------------------------------------------------------
# Writing generated sheets


def _sheet_name(book: xw.Book, key: str, lang: str) -> str:
    """The generated sheet's name: an existing one in either language is reused."""
    names = contract.SHEETS[key]
    existing = live.find_sheet(book, names[lang], *names.values())
    return existing.name if existing is not None else names[lang]


def _header_format(sheet: xw.Sheet, ncols: int, row: int = 1) -> None:
    live.format_range(sheet, (row, 1, 1, ncols), bold=True, font_color="#FFFFFF", fill=HEADER_COLOR,
                      wrap_text=True)


def write_issues(book: xw.Book, issues: Sequence[Issue], lang: str) -> xw.Sheet:
    """The Issues / Anomalies sheet, laid out as the file writer's: one header row, one row per issue
    (severity, code, file, sheet, row, column, value, message), in one block write."""
    sev = {k: i18n.pick(v, lang) for k, v in SEVERITY_LABELS.items()}
    rows: list[list[Any]] = [[i18n.pick(lab, lang) for _, lab, _ in ISSUE_FIELDS]]
    for i in issues:
        rows.append([sev.get(i.severity, i.severity), i.code, i.file, i.sheet, i.row, i.column,
                     issue_value(i.value), i.message])
    if not issues:
        rows.append([None, None, None, None, None, None, None, _t(_NO_ISSUES, lang)])
    sheet = live.write_sheet_block(book, _sheet_name(book, "issues", lang), "A1", rows)
    ncols = len(ISSUE_FIELDS)
    _header_format(sheet, ncols)
    live.set_column_widths(sheet, [w for _, _, w in ISSUE_FIELDS])
    if issues:
        severity = sheet.range((2, 1), (len(rows), 1))
        for key, colour in ((ERROR, live.ERROR_FILL), (WARNING, live.WARNING_FILL)):
            try:
                severity.conditional_formats.add_cell_value("equal_to", f'"{sev[key]}"', fill_color=colour)
            except (NotImplementedError, AttributeError, ValueError):  # engine without the API
                pass
    return sheet



def forecast_rows(fc: TeamForecast, lang: str) -> tuple[list[list[Any]], list[str | None], list[int]]:
    """The Forecast sheet as a block (the file writer's columns): header, one row per rep, the team
    row, a blank row, the as-of date. Also the risk key of each row and the reps' rows without a
    period. Values are the forecast's `to_dict()` numbers (rounded like the JSON output)."""
    data = fc.to_dict()
    head = [i18n.pick(lab, lang) for _, lab, _, _ in FORECAST_FIELDS]
    rows: list[list[Any]] = [head]
    risks: list[str | None] = [None]

    def row(rec: Mapping[str, Any]) -> list[Any]:
        out = []
        for key, _, kind, _ in FORECAST_FIELDS:
            v = rec.get(key)
            if kind == "risk" and v is not None:
                v = i18n.pick(RISK_LABELS.get(v, {"en": str(v)}), lang)
            elif kind == "basis" and v is not None:
                v = basis_label(v, rec.get("basis_reason"), lang)
            elif kind == "date" and isinstance(v, str):
                v = dt.date.fromisoformat(v[:10])
            out.append(v)
        return out

    for rec in data["reps"]:
        rows.append(row(rec))
        risks.append(rec.get("risk"))
    skipped = []
    for s in data.get("skipped") or []:
        rows.append(row({"rep": s.get("rep"), "risk": None}))
        rows[-1][-1] = _t(_NO_PERIOD, lang)
        risks.append(None)
        skipped.append(len(rows))
    for kind, figures in team_rows(data.get("team") or {}):      # per period-length group, then overall
        team = dict(figures)
        team["rep"] = team_label(kind, figures, lang)
        rows.append(row(team))
        risks.append(team.get("risk"))
    rows.append([])
    rows.append([_t(T["as_of"], lang), fc.as_of])
    risks += [None, None]
    return rows, risks, skipped


def write_forecast(book: xw.Book, fc: TeamForecast, lang: str) -> xw.Sheet:
    """The Forecast / Prévisions sheet in one block, then formats per column and risk colours."""
    rows, risks, _ = forecast_rows(fc, lang)
    sheet = live.write_sheet_block(book, _sheet_name(book, "forecast", lang), "A1", rows)
    ncols = len(FORECAST_FIELDS)
    team_row = len(rows) - 2          # Excel row of the (last) team line (blank row and as-of row below)
    n_team = len(team_rows(fc.team or {}))
    _header_format(sheet, ncols)
    formats = [DATE_FORMAT[lang] if kind == "date" else _FORMAT.get(kind) for _, _, kind, _ in FORECAST_FIELDS]
    live.set_column_formats(sheet, 2, 1, team_row - n_team, formats)
    live.format_range(sheet, (team_row - n_team + 1, 1, n_team, ncols), bold=True)
    live.format_range(sheet, (team_row + 2, 1, 1, 1), bold=True)
    live.format_range(sheet, (team_row + 2, 2, 1, 1), number_format=DATE_FORMAT[lang])
    risk_col = next(j for j, (k, _, _, _) in enumerate(FORECAST_FIELDS, start=1) if k == "risk")
    _risk_colours(sheet, (2, risk_col, team_row - n_team, 1), risks[1:team_row - n_team + 1], lang)
    live.set_column_widths(sheet, [w for _, _, _, w in FORECAST_FIELDS])
    return sheet


def _risk_colours(sheet: xw.Sheet, where: tuple[int, int, int, int], risks: Sequence[str | None],
                  lang: str) -> None:
    """Colour the risk column: one conditional format per risk label (a fixed number of calls),
    else, on an engine without conditional formats, one fill per run of rows of the same risk."""
    r0, col, n, _ = where
    rng = sheet.range((r0, col), (r0 + n - 1, col))
    try:
        for risk, colour in RISK_COLORS.items():
            label = i18n.pick(RISK_LABELS[risk], lang)
            rng.conditional_formats.add_cell_value("equal_to", f'"{label}"', fill_color=colour)
        return
    except (NotImplementedError, AttributeError):
        pass
    by_risk: dict[str, list[tuple[int, int]]] = {}
    for r, risk in enumerate(risks, start=r0):
        if risk in RISK_COLORS:
            by_risk.setdefault(risk, []).append((r, col))
    for risk, cells in sorted(by_risk.items()):
        for r1, c1, r2, c2 in live.rectangles(cells):
            live.format_range(sheet, (r1, c1, r2 - r1 + 1, c2 - c1 + 1), fill=RISK_COLORS[risk])


# ---------------------------------------------------------------------------------------------
# Marking invalid cells


def _mark_issues(book: xw.Book, lb: LiveBook, issues: Iterable[Issue]) -> dict[str, int]:
    """Fill each invalid cell (errors red, warnings amber) with a note holding its messages.

    A row-level issue (a duplicated row) colours the row across the table, its note on the first
    cell. Issues about a missing sheet or header have no cell to mark. At most MAX_MARKED_CELLS cells
    per sheet (errors first)."""
    cells = issue_cells([lt.data for key, lt in lb.tables.items() if key != "settings"], issues)
    summary = {"cells": 0, "fills": 0, "notes": 0, "notes_skipped": 0, "capped": 0}
    for sheet_name, bucket in cells.items():
        ordered = sorted(bucket.items(), key=lambda kv: (kv[1][0] != ERROR, kv[0]))
        summary["capped"] += max(0, len(ordered) - MAX_MARKED_CELLS)
        ordered = ordered[:MAX_MARKED_CELLS]
        sheet = book.sheets[sheet_name]
        for severity, colour in ((ERROR, live.ERROR_FILL), (WARNING, live.WARNING_FILL)):
            marks: list[tuple[int, int, str | None]] = []
            for (r, c), (sev, texts) in ordered:
                if sev != severity:
                    continue
                if texts:
                    marks.extend((r, c, t) for t in texts)
                else:
                    marks.append((r, c, None))
            if not marks:
                continue
            s = live.mark_cells(sheet, marks, colour, max_notes=MAX_NOTES)
            summary["cells"] += len({(r, c) for r, c, _ in marks})
            for k in ("fills", "notes", "notes_skipped"):
                summary[k] += int(s[k])
    return summary


# ---------------------------------------------------------------------------------------------
# The actions


def validate(book: xw.Book) -> dict[str, Any]:
    """Check the open workbook: Issues sheet, coloured cells with notes; nothing typed is changed."""
    lb = load(book)
    v = lb.validate()
    cleared = live.clear_marks(book)
    sheet = write_issues(book, v.issues, lb.lang)
    marked = _mark_issues(book, lb, v.issues)
    sheet.activate()
    return {"action": "validate", "sheet": sheet.name, "errors": v.errors,
            "warnings": len(v.issues) - v.errors, "marked": marked, "cleared": cleared,
            "as_of": v.as_of.isoformat()}


def _plan(lb: LiveBook) -> tuple[Validated, Any]:
    """The open workbook validated, and its forecast planned (the batch's stage 3: forecast.plan_forecast)."""
    v = lb.validate()
    return v, plan_forecast(v.frames, v.lists, v.as_of, v.settings)


def _forecast(lb: LiveBook) -> tuple[Validated, TeamForecast]:
    from salesxl import consolidate as stages
    v, plan = _plan(lb)
    return v, stages.forecast_team(plan, stages.forecast_reps(plan))


def forecast(book: xw.Book) -> dict[str, Any]:
    """Each rep's forecast for their own current period, and the team's: the Forecast sheet."""
    lb = load(book)
    v, fc = _forecast(lb)
    sheet = write_forecast(book, fc, lb.lang)
    sheet.activate()
    return {"action": "forecast", "sheet": sheet.name, "errors": v.errors, **fc.to_dict()}


def reviews(book: xw.Book) -> dict[str, Any]:
    """One end-of-period review sheet per rep (the same blocks as `salesxl review` writes)."""
    from salesxl import consolidate as stages
    lb = load(book)
    v, plan = _plan(lb)
    # the batch's stage 4 reviews (each made as its rep's forecast comes), rendered into the open book
    built = stages.TeamReviews(plan, stages.forecast_reps(plan), as_of=v.as_of, lang=lb.lang,
                               currency=str(v.settings.get("currency") or "EUR"))
    after: Any = live.find_sheet(book, *contract.SHEETS["forecast"].values())
    names = []
    for rv in built:
        after = live.render_review(book, rv, after=after)
        names.append(after.name)
    fc = built.team_forecast()
    if names:
        book.sheets[names[0]].activate()
    return {"action": "reviews", "sheets": names, "skipped": fc.skipped, "errors": v.errors}


# ---------------------------------------------------------------------------------------------
# Writing rows into the tables of the open book


def _code_label(lists: Mapping[str, contract.ListSpec], codes: str, value: Any, lang: str) -> Any:
    if not isinstance(value, str):
        return value
    label = lists[codes].label_of(value, lang)
    return value if label is None else label


def table_rows(key: str, typed: pd.DataFrame, raw: pd.DataFrame, lists: Mapping[str, contract.ListSpec],
               lang: str, mask: Sequence[bool] | None = None) -> list[dict[str, Any]]:
    """Rows to write (column key -> value): the interpreted value where the rep typed something that
    could be read (codes in `lang`), the text as typed where it could not, nothing where the cell was
    empty (a default filled in by a rule, a stage's probability, is never written)."""
    table = contract.TABLES[key]
    raw_by_row = raw.set_index(ROW, drop=False) if len(raw) else raw
    out = []
    rows = typed[ROW].tolist()
    cols = [c for c in table.input_columns if c.key in typed.columns]
    values = {c.key: typed[c.key].tolist() for c in cols}
    raw_values = {c.key: (raw_by_row[c.key].to_dict() if c.key in raw_by_row.columns else {}) for c in cols}
    for i, r in enumerate(rows):
        if mask is not None and not mask[i]:
            continue
        rec: dict[str, Any] = {}
        for c in cols:
            t, rv = values[c.key][i], raw_values[c.key].get(r)
            if is_blank(rv):
                continue
            if t is None or (isinstance(t, float) and t != t):
                rec[c.key] = rv
            elif c.kind == CODE:
                rec[c.key] = _code_label(lists, c.codes, t, lang)
            else:
                rec[c.key] = t
        out.append(rec)
    return out


def _raw_rows(key: str, raw: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table as they are in the book (blank cells left out)."""
    cols = [c.key for c in contract.TABLES[key].input_columns if c.key in raw.columns]
    data = {c: raw[c].tolist() for c in cols}
    return [{c: data[c][i] for c in cols if not is_blank(data[c][i])} for i in range(len(raw))]


def _template_layout(lt: LiveTable) -> bool:
    table = contract.TABLES[lt.data.key]
    return lt.header_row == 1 and all(lt.data.columns_at.get(c.key) == j
                                      for j, c in enumerate(table.columns, start=1))


def _formula_rows(lb: LiveBook, lt: LiveTable, first: int, last: int) -> tuple[int, list[list[Any]]] | None:
    """The template's native formulas (Weighted, Done, Won…) for Excel rows first..last of a table
    laid out as the template lays it out; None for other layouts or tables without formulas."""
    from salesxl.io import template

    table = contract.TABLES[lt.data.key]
    computed = [j for j, c in enumerate(table.columns, start=1) if c.computed]
    if not computed or not _template_layout(lt) or last < first:
        return None
    sheets = {t.key: (lb.tables[t.key].data.sheet if t.key in lb.tables else t.sheet(lb.lang))
              for t in contract.TABLES.values()}
    formulas = template.native_formulas(table, lb.lang, last - 1, sheets)
    c0 = computed[0]
    block = []
    for r in range(first, last + 1):
        row = []
        for j in range(c0, computed[-1] + 1):
            formula = formulas.get((r, j))
            row.append(live.Formula(formula) if formula else None)
        block.append(row)
    return c0, block


def _write_rows(lb: LiveBook, key: str, start: int, rows: Sequence[Mapping[str, Any]],
                clear_to: int | None = None) -> dict[str, int]:
    """Write `rows` into table `key` from Excel row `start`: one block per run of adjacent input
    columns (usually one); rows up to `clear_to` are emptied in the same block. A ListObject is
    resized when the rows go past its end, and the template's formulas fill its new rows."""
    lt = lb.tables.get(key)
    if lt is None:
        raise ActionError(_t(_MESSAGES["no_table"], lb.lang, table=contract.TABLES[key].name))
    td = lt.data
    table = contract.TABLES[key]
    cols = sorted((td.columns_at[c.key], c.key) for c in table.input_columns if c.key in td.columns_at)
    runs: list[list[tuple[int, str]]] = []
    for col, k in cols:
        if runs and col == runs[-1][-1][0] + 1:
            runs[-1].append((col, k))
        else:
            runs.append([(col, k)])
    end = start + len(rows) - 1
    n = max(len(rows), (clear_to or 0) - start + 1)
    if n <= 0:
        return {"rows": 0, "writes": 0}
    writes = 0
    for run in runs:
        block = [[rows[i].get(k) for _, k in run] if i < len(rows) else [None] * len(run) for i in range(n)]
        live.write_sheet_block(lb.book, td.sheet, (start, run[0][0]), block, clear=False, create=False)
        writes += 1
    if lt.list_object and end > lt.last_row:
        formulas = _formula_rows(lb, lt, lt.last_row + 1, end)
        if formulas is not None:
            c0, block = formulas
            live.write_sheet_block(lb.book, td.sheet, (lt.last_row + 1, c0), block, clear=False, create=False)
            writes += 1
        live.resize_table(lb.book.sheets[td.sheet], lt.list_object, lt.header_row, lt.first_col, end, lt.last_col)
        lt.last_row = end
        writes += 1
    return {"rows": len(rows), "writes": writes}


def _folder(book: xw.Book, value: Any) -> Path | None:
    """A folder named in Settings; relative to the workbook's folder."""
    text = clean_text(value)
    if not text:
        return None
    p = Path(text).expanduser()
    if not p.is_absolute():
        try:
            base = Path(book.fullname).parent
        except Exception:  # pragma: no cover - remote books have no folder
            base = Path.cwd()
        p = base / p
    return p


# ---------------------------------------------------------------------------------------------
# Consolidate

REP_OWNED = ("reporting", "pipeline")       # rows of an imported rep are replaced by the rep's file
MANAGER_OWNED = {"reps": ("rep",), "objectives": ("rep", "period_start", "period_end"),
                 "planning": ("rep", "period_start", "period_end", "action")}   # rows added when new


def _key_of(rec: Mapping[str, Any], cols: Sequence[str]) -> tuple:
    out = []
    for c in cols:
        v = rec.get(c)
        if isinstance(v, dt.datetime):
            v = v.date()
        out.append(label_key(v) if isinstance(v, str) else v)
    return tuple(out)


def _read_inbox(lb: LiveBook, inbox: Path) -> tuple[list[dict], list[Issue]]:
    """Each inbox workbook through the batch consolidation's reader (`salesxl.consolidate.read_one`:
    the bad-file guard, a read-only headless read, every rule), in this process; the same workbook
    twice (same typed content, or same bytes) counts once, as in `salesxl consolidate`."""
    from salesxl import consolidate as batch
    from salesxl.io.inputs import expand_inputs
    from salesxl.io.pool import TaskFailure, run_inline

    exclude = []
    try:
        own = Path(lb.book.fullname)
        if own.exists():
            exclude.append(own)
    except Exception:  # pragma: no cover - a book without a path
        pass
    paths, notes = expand_inputs([inbox], lb.lang, exclude=exclude)
    engine = batch.default_engine()
    files: list[dict] = []
    seen: dict[str, str] = {}
    # every message in the open book's language, those about files in the other language too
    for _, task, res in run_inline(batch.read_one, [(str(p), engine, lb.lang, None) for p in paths]):
        path = task[0]
        if isinstance(res, TaskFailure):
            res = batch.failure_result(path, res, lb.lang)
        dup_of = batch.duplicate_of(seen, res, path)
        if dup_of is not None:
            issue = make_issue("DUPLICATE_FILE", lang=lb.lang, file=path, other=dup_of)
            files.append({"path": path, "sha256": res.sha256, "status": batch.DUPLICATE, "issues": [issue]})
            continue
        files.append({"path": path, "sha256": res.sha256, "status": batch.result_status(res), "issues": res.issues,
                      "tables": res.tables if res.readable else {}})
    return files, notes


def _part_rows(key: str, part: Any, lists: Mapping[str, contract.ListSpec], lang: str) -> list[dict[str, Any]]:
    """Rows of a file's table as the batch consolidation writes them (typed values, the text as typed
    where it could not be read), codes in the team workbook's language."""
    table = contract.TABLES[key]
    cols = {c.key: part.output(c.key) for c in table.input_columns if c.key in part.cols}
    out = []
    for i in range(len(part.rows)):
        rec = {}
        for c in table.input_columns:
            if c.key not in cols:
                continue
            v = cols[c.key][i]
            if v is None or (isinstance(v, float) and v != v):
                continue
            rec[c.key] = _code_label(lists, c.codes, v, lang) if c.kind == CODE else v
        out.append(rec)
    return out


def consolidate(book: xw.Book) -> dict[str, Any]:
    """Import the rep workbooks of the inbox folder into the team tables of the open book.

    Reporting and Pipeline rows of each imported rep are replaced by the rep's rows (re-importing is
    harmless); Reps, Planning and Objectives rows are added only when new (the manager's rows stay).
    Rows without a rep are not imported (the Issues sheet names them with file, sheet and row).
    Each file is read once, headlessly, and never written; a file that cannot be read gets one
    file-level issue, and the same workbook twice counts once. Writes: one block per table and the
    Issues sheet."""
    lb = load(book)
    inbox = _folder(book, lb.settings.get("inbox"))
    if inbox is None:
        raise ActionError(_t(_MESSAGES["no_inbox"], lb.lang))
    if not inbox.is_dir():
        raise ActionError(_t(_MESSAGES["inbox_missing"], lb.lang, path=str(inbox)))
    files, notes = _read_inbox(lb, inbox)
    team = lb.validate()
    imported: dict[str, list[dict]] = {k: [] for k in (*REP_OWNED, *MANAGER_OWNED)}
    for f in files:
        for key in imported:
            part = f.get("tables", {}).get(key)
            if part is not None and part.rows:
                recs = _part_rows(key, part, team.lists, lb.lang)
                imported[key].extend(r for r in recs if clean_text(r.get("rep")))
    counts: dict[str, dict[str, int]] = {}
    for key in REP_OWNED:
        lt = lb.tables.get(key)
        if lt is None or not imported[key]:
            continue
        reps = {label_key(clean_text(r["rep"])) for r in imported[key]}
        current = _raw_rows(key, lt.data.frame)
        kept = [r for r in current if label_key(clean_text(r.get("rep")) or "") not in reps]
        first = lt.header_row + 1
        res = _write_rows(lb, key, first, kept + imported[key], clear_to=lt.last_data_row)
        counts[key] = {"imported": len(imported[key]), "kept": len(kept), "replaced": len(current) - len(kept),
                       "writes": res["writes"]}
    for key, cols in MANAGER_OWNED.items():
        lt = lb.tables.get(key)
        if lt is None or not imported[key]:
            continue
        existing = {_key_of(r, cols) for r in (table_rows(key, team.frames[key], lt.data.frame, team.lists,
                                                          lb.lang) if key in team.frames else [])}
        new = []
        for r in imported[key]:
            k = _key_of(r, cols)
            if k not in existing:
                existing.add(k)
                new.append(r)
        if new:
            res = _write_rows(lb, key, lt.last_data_row + 1, new)
            counts[key] = {"imported": len(new), "writes": res["writes"]}
    issues = list(notes) + [i for f in files for i in f["issues"]]
    sheet = write_issues(book, issues, lb.lang)
    sheet.activate()
    return {"action": "consolidate", "inbox": str(inbox), "sheet": sheet.name,
            "files": [{k: f[k] for k in ("path", "sha256", "status")} | {"issues": len(f["issues"])}
                      for f in files],
            "tables": counts,
            "counts": count_issues(issues)}


# ---------------------------------------------------------------------------------------------
# New period

_UNSAFE_FILE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def _period_length(seniority: Any, length: Any) -> tuple[str, int]:
    return (parse_period_length(length)
            or parse_period_length(contract.DEFAULT_PERIOD.get(seniority or "", ""))
            or ("months", 1))


def next_period(rep_objectives: pd.DataFrame | None, rep_planning: pd.DataFrame | None, as_of: dt.date,
                seniority: Any = None, length: Any = None) -> tuple[dt.date, dt.date, dt.date, dt.date] | None:
    """(current start, current end, next start, next end) of a rep: the current period holds the
    as-of date (else it is the latest one); the next starts the day after it ends and lasts the rep's
    Period length (else the seniority's default: junior 1w, confirmed 1m, senior 3m)."""
    cur = select_period(rep_objectives, rep_planning, as_of)
    if cur is None:
        ends = []
        for df in (rep_objectives, rep_planning):
            if df is not None and len(df):
                ends += [(e, s) for s, e in zip(df["period_start"], df["period_end"]) if s is not None and e is not None]
        if not ends:
            return None
        e, s = max(ends)
        cur = (s, e)
    start = cur[1] + dt.timedelta(days=1)
    return cur[0], cur[1], start, add_period(start, _period_length(seniority, length))


def new_period(book: xw.Book) -> dict[str, Any]:
    """Next period's Planning and Objectives rows for each rep (planned counts and objective copied
    from the current period), appended in one write per table, and one personalised rep workbook per
    rep in the outbox folder (written atomically). A rep whose next period is already planned is
    left as is, so running it twice adds nothing."""
    from salesxl.io.template import write_template

    lb = load(book)
    v = lb.validate()
    as_of, lang = v.as_of, lb.lang
    frames = v.frames

    def by_rep(key: str) -> dict[str, pd.DataFrame]:
        df = frames.get(key)
        if df is None or df.empty:
            return {}
        keys = df["rep"].map(rep_key)
        return {k: g for k, g in df.groupby(keys, sort=False)}

    objectives, planning, pipeline = by_rep("objectives"), by_rep("planning"), by_rep("pipeline")
    reps: dict[str, dict[str, Any]] = {}
    if "reps" in frames:
        for rec in table_rows("reps", frames["reps"], lb.tables["reps"].data.frame, v.lists, lang):
            if clean_text(rec.get("rep")):
                reps.setdefault(label_key(clean_text(rec["rep"])), rec)
        typed = frames["reps"]
        for r, s, p in zip(typed["rep"], typed["seniority"], typed["period_length"]):
            if isinstance(r, str) and label_key(r) in reps:
                reps[label_key(r)].update(_seniority=s, _length=p)
    for key in ("objectives", "planning"):
        for k, g in (objectives if key == "objectives" else planning).items():
            if k not in reps:
                reps[k] = {"rep": g["rep"].iloc[0]}

    new_obj: list[dict] = []
    new_plan: list[dict] = []
    done: list[dict] = []
    skipped: list[dict] = []
    for k, rec in reps.items():
        name = clean_text(rec["rep"])
        o, p = objectives.get(k), planning.get(k)
        nxt = next_period(o, p, as_of, rec.get("_seniority"), rec.get("_length"))
        if nxt is None:
            skipped.append({"rep": name, "reason": "no_period"})
            continue
        cs, ce, ns, ne = nxt
        if any(s is not None and e is not None and s <= ne and ns <= e
               for df in (o, p) if df is not None for s, e in zip(df["period_start"], df["period_end"])):
            skipped.append({"rep": name, "reason": "already_planned", "period_start": ns.isoformat()})
            continue
        obj_rows = []
        if o is not None:
            cur = o[(o["period_start"] == cs) & (o["period_end"] == ce)]
            for r, obj, deals in zip(cur["rep"], cur["revenue_objective"], cur["deals_objective"]):
                obj_rows.append({"rep": r, "period_start": ns, "period_end": ne, "revenue_objective": obj,
                                 "deals_objective": deals})
        plan_rows = []
        if p is not None:
            cur = p[(p["period_start"] == cs) & (p["period_end"] == ce)]
            for r, action, planned in zip(cur["rep"], cur["action"], cur["planned"]):
                plan_rows.append({"rep": r, "period_start": ns, "period_end": ne,
                                  "action": _code_label(v.lists, "actions", action, lang),
                                  "planned": int(planned) if planned is not None else None})
        new_obj += obj_rows
        new_plan += plan_rows
        done.append({"rep": name, "period_start": ns, "period_end": ne, "objectives": obj_rows,
                     "planning": plan_rows, "key": k})

    writes = {}
    for key, rows in (("objectives", new_obj), ("planning", new_plan)):
        if rows:
            lt = lb.tables.get(key)
            writes[key] = _write_rows(lb, key, (lt.last_data_row if lt else 0) + 1, rows)["writes"]

    outbox = _folder(book, lb.settings.get("outbox"))
    written = []
    if outbox is not None and done:
        settings = {k: lb.settings.get(k) for k in ("currency", "on_track", "at_risk", "simulations", "seed")
                    if not is_blank(lb.settings.get(k))}
        for d in done:
            rep_rec = {k2: v2 for k2, v2 in reps[d["key"]].items() if not k2.startswith("_")}
            rows = {"reps": [rep_rec], "objectives": d["objectives"], "planning": d["planning"]}
            if d["key"] in pipeline and "pipeline" in lb.tables:
                g = pipeline[d["key"]]
                rows["pipeline"] = table_rows("pipeline", g, lb.tables["pipeline"].data.frame, v.lists, lang,
                                              mask=(g["status"] == contract.OPEN).tolist())
            name = _UNSAFE_FILE.sub("-", d["rep"]).strip(" .") or "rep"
            target = outbox / f"{name} {d['period_start'].isoformat()}.xlsx"
            write_template(target, lang, rows=rows, settings=settings)
            written.append(str(target))
    return {"action": "new_period", "as_of": as_of.isoformat(),
            "reps": [{"rep": d["rep"], "period_start": d["period_start"].isoformat(),
                      "period_end": d["period_end"].isoformat(), "objectives": len(d["objectives"]),
                      "planning": len(d["planning"])} for d in done],
            "skipped": skipped, "writes": writes, "outbox": str(outbox) if outbox else None,
            "files": written}


# ---------------------------------------------------------------------------------------------

ACTIONS: Mapping[str, Callable[[xw.Book], dict]] = {
    "validate": validate,
    "forecast": forecast,
    "reviews": reviews,
    "consolidate": consolidate,
    "new_period": new_period,
}


def run(tag: str, book: xw.Book | None = None) -> dict[str, Any]:
    """Run the action named by a ribbon button's tag on `book` (default: the workbook that called)."""
    try:
        action = ACTIONS[tag]
    except KeyError:
        raise ValueError(f"unknown action {tag!r}: one of {', '.join(ACTIONS)}") from None
    if book is None:
        book = xw.Book.caller()
    return action(book)
