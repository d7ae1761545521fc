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
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import xlwings as xw

from salesxl import contract, i18n
from salesxl.i18n import counted
from salesxl.contract import Table
from salesxl.folders import outbox_is_inbox, setting_folder
from salesxl.forecast import ForecastPlan, TeamForecast, plan_forecast
from salesxl.io import live
from salesxl.io.annotate import issue_cells
from salesxl.io.read_xlsx import (SheetPart, cell_error_issues, detect_lang, locate_table, outside_issues,
                                  settings_from_table)
from salesxl.layout import forecast_layout, issues_layout, name_key
from salesxl.issues import ERROR, WARNING, Issue, make_issue
from salesxl.issues import count as count_issues
from salesxl.review import sheet_name as review_sheet_name
from salesxl.rollover import MANAGER_OWNED, REP_OWNED, new_rows, plan_rollover, replace_rep_rows, table_rows
from salesxl.rules import Validated, validate_tables
from salesxl.tables import TableData
from salesxl.values import is_blank

__all__ = ["ACTIONS", "ActionError", "LiveBook", "consolidate", "forecast", "load", "new_period", "reviews",
           "run", "validate"]

#: At most this many cells are coloured per sheet (errors first); the Issues sheet lists everything.
MAX_MARKED_CELLS = 500
#: At most this many notes per sheet and severity (a note is one or two calls each).
MAX_NOTES = 200
_MESSAGES = {
    "no_inbox": {"en": "Set the inbox folder (Settings: 'Inbox folder') to the folder where the reps' "
                       "workbooks arrive.",
                 "fr": "Indiquez le dossier de réception (Paramètres : « Dossier de réception ») où "
                       "arrivent les classeurs des commerciaux."},
    "inbox_missing": {"en": "Inbox folder not found: {path}", "fr": "Dossier de réception introuvable : {path}"},
    "no_table": {"en": "The workbook has no {table} table to write into.",
                 "fr": "Le classeur n'a pas de tableau {table} où écrire."},
    "cloud_folder": {"en": "The workbook is on OneDrive/SharePoint and its synced folder was not found: set "
                           "xlwings' ONEDRIVE_CONSUMER, ONEDRIVE_COMMERCIAL or SHAREPOINT setting (_WIN or _MAC), "
                           "or an absolute '{setting}' in Settings.",
                     "fr": "Le classeur est sur OneDrive/SharePoint et son dossier synchronisé est introuvable : "
                           "renseignez le paramètre xlwings ONEDRIVE_CONSUMER, ONEDRIVE_COMMERCIAL ou SHAREPOINT "
                           "(_WIN ou _MAC), ou un chemin complet pour « {setting} » dans Paramètres."},
    "outbox_is_inbox": {"en": "The Outbox folder is the Inbox folder ({path}), where the reps' workbooks arrive: "
                              "set another 'Outbox folder' in Settings.",
                        "fr": "Le dossier d'envoi est le dossier de réception ({path}), où arrivent les classeurs "
                              "des commerciaux : indiquez un autre « Dossier d'envoi » dans Paramètres."},
    "no_folder": {"en": "The workbook has no folder yet (new or online): give an absolute '{setting}' in Settings.",
                  "fr": "Le classeur n'a pas encore de dossier (nouveau ou en ligne) : indiquez un chemin complet "
                        "pour « {setting} » dans Paramètres."},
}
#: The one-line summary each action ends with (shown in a message box by `run`).
_SUMMARY = {        # the counted things come as i18n.counted phrases ("1 error", "2 erreurs")
    "validate": {"en": "Validate: {errors}, {warnings}; see the {sheet} sheet.",
                 "fr": "Vérification : {errors}, {warnings} ; voyez la feuille {sheet}."},
    "forecast": {"en": "Forecast: {reps} ({on_track} on track, {at_risk} at risk, {off_track} off track); "
                       "see the {sheet} sheet.",
                 "fr": "Prévisions : {reps} ({on_track} en bonne voie, {at_risk} à risque, "
                       "{off_track} hors trajectoire) ; voyez la feuille {sheet}."},
    "reviews": {"en": "Reviews: {sheets}; {skipped}.", "fr": "Entretiens : {sheets} ; {skipped}."},
    "consolidate": {"en": "Consolidate: {files} from {inbox} ({unreadable}), {rows}; {errors}, {warnings} in the "
                          "{sheet} sheet.",
                    "fr": "Consolidation : {files} dans {inbox} ({unreadable}), {rows} ; {errors}, {warnings} dans "
                          "la feuille {sheet}."},
    "new_period": {"en": "New period: {reps}, {skipped}; {files} in {outbox}.",
                   "fr": "Nouvelle période : {reps}, {skipped} ; {files} dans {outbox}."},
    "new_period_no_outbox": {"en": "New period: {reps}, {skipped}; no Outbox folder in Settings, so no rep "
                                   "workbook written.",
                             "fr": "Nouvelle période : {reps}, {skipped} ; pas de dossier d'envoi dans Paramètres, "
                                   "aucun classeur écrit."},
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

    data: TableData                 # raw values by column key, with their Excel rows (as read_xlsx gives)
    header_row: int                 # Excel row of the header
    first_col: int                  # Excel columns spanned by the table (ListObject) or its header
    last_col: int
    last_row: int                   # last Excel row of the table (a ListObject's blank rows included)
    list_object: str | None = None  # the ListObject's name, when the table is one

    @property
    def last_data_row(self) -> int:
        rows = self.data.rows
        return max(rows) if rows else self.header_row


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
        raw = {k: t.data for k, t in self.tables.items() if k != "settings"}
        return validate_tables(self.path, raw, lang=self.lang, as_of=as_of, settings=self.settings,
                               raw_lists=self.lists,
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
            if lt is not None and len(lt.data):
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


def write_issues(book: xw.Book, issues: Sequence[Issue], lang: str) -> xw.Sheet:
    """The Issues / Anomalies sheet as the file writer lays it out (salesxl.layout.issues_layout:
    errors first, the Effect column, messages wrapped, print titles), in one block write."""
    return live.render_sheet(book, issues_layout(list(issues), lang, _sheet_name(book, "issues", lang)))


def write_forecast(book: xw.Book, fc: TeamForecast, lang: str, currency: str = contract.DEFAULT_CURRENCY) -> xw.Sheet:
    """The Forecast / Prévisions sheet as the file writer lays it out (salesxl.layout.forecast_layout),
    each rep linked to their review sheet when the workbook has it."""
    taken: set[str] = set()
    names = {r.rep: review_sheet_name(r.rep, lang, taken) for r in fc.reps}
    existing = {name_key(n) for n in live.list_sheets(book)}
    links = {rep: name for rep, name in names.items() if name_key(name) in existing}
    lay = forecast_layout(fc, lang, review_sheets=links, currency=currency,
                          name=_sheet_name(book, "forecast", lang))
    return live.render_sheet(book, lay)


# ---------------------------------------------------------------------------------------------
# Marking invalid cells


def _mark_issues(book: xw.Book, live_book: LiveBook, issues: Iterable[Issue]) -> dict[str, int]:
    """Fill each invalid cell (errors red, warnings amber) with a note holding its messages.

    A row-level issue (a duplicated row) colours the row across the table, its note on the first
    cell. Issues about a missing sheet or header have no cell to mark. At most MAX_MARKED_CELLS cells
    per sheet (errors first)."""
    cells = issue_cells([lt.data for key, lt in live_book.tables.items() if key != "settings"], issues)
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
    live_book = load(book)
    v = live_book.validate()
    cleared = live.clear_marks(book)
    sheet = write_issues(book, v.issues, live_book.lang)
    marked = _mark_issues(book, live_book, v.issues)
    sheet.activate()
    warnings = len(v.issues) - v.errors
    return {"action": "validate", "sheet": sheet.name, "errors": v.errors,
            "warnings": warnings, "marked": marked, "cleared": cleared,
            "as_of": v.as_of.isoformat(),
            "message": _t(_SUMMARY["validate"], live_book.lang, errors=counted(v.errors, "error", live_book.lang),
                          warnings=counted(warnings, "warning", live_book.lang), sheet=sheet.name)}


def _plan(live_book: LiveBook) -> tuple[Validated, ForecastPlan]:
    """The open workbook validated, and its forecast planned (the batch's stage 3: forecast.plan_forecast),
    with what the history store beside it tells (`salesxl consolidate` keeps `<team>.history.sqlite`
    there): the history-based forecast, calibration, slippage, the change since the previous collection
    and the track records, as `salesxl forecast --history` gives them. The store is only read."""
    from salesxl import consolidate as stages
    v = live_book.validate()
    plan = plan_forecast(v.tables, v.lists, v.as_of, v.settings)
    store = _history_beside(live_book.book)
    if store is not None:
        try:
            plan.attach_history(stages.history_facts_with(store, v.tables, v.as_of, path=live_book.path, wait=5))
        except (sqlite3.Error, OSError, RuntimeError):  # held by another program, or not a salesxl store:
            pass                                          # the forecast goes on without it
    return v, plan


def _history_beside(book: xw.Book) -> Path | None:
    """The history store beside the open workbook (`<name>.history.sqlite`), when the workbook has a
    folder on this machine and the store is there; else None."""
    from salesxl.io.history import default_path
    try:
        path = _book_path(book)
    except Exception:  # an online workbook xlwings cannot map to a synced folder
        return None
    store = default_path(path) if path.is_absolute() else None
    return store if store is not None and store.is_file() else None


def _book_path(book: xw.Book) -> Path:
    """Where the open workbook is: its full name, a OneDrive/SharePoint URL mapped to the synced local
    file by xlwings' own helper (its ONEDRIVE_*/SHAREPOINT_* settings; it raises when it cannot). A
    new or online workbook has no folder: its path is not absolute."""
    full = book.fullname
    if "://" in full:
        from xlwings.utils import fullname_url_to_local_path
        full = fullname_url_to_local_path(full)
    return Path(full)


def _forecast(live_book: LiveBook) -> tuple[Validated, TeamForecast]:
    from salesxl import consolidate as stages
    v, plan = _plan(live_book)
    return v, stages.forecast_team(plan, stages.forecast_reps(plan))


def forecast(book: xw.Book) -> dict[str, Any]:
    """Each rep's forecast for their own current period, and the team's: the Forecast sheet."""
    live_book = load(book)
    v, fc = _forecast(live_book)
    sheet = write_forecast(book, fc, live_book.lang, contract.currency_code(v.settings))
    sheet.activate()
    risks = {k: sum(1 for r in fc.reps if r.risk == k) for k in ("on_track", "at_risk", "off_track")}
    return {"action": "forecast", "sheet": sheet.name, "errors": v.errors, **fc.to_dict(),
            "message": _t(_SUMMARY["forecast"], live_book.lang, reps=counted(len(fc.reps), "rep", live_book.lang),
                          sheet=sheet.name, **risks)}


def reviews(book: xw.Book) -> dict[str, Any]:
    """One end-of-period review sheet per rep (the same blocks as `salesxl review` writes)."""
    from salesxl import consolidate as stages
    live_book = load(book)
    v, plan = _plan(live_book)
    # the batch's stage 4 reviews (each made as its rep's forecast comes), rendered into the open book
    after: Any = live.find_sheet(book, *contract.SHEETS["forecast"].values())
    built = stages.TeamReviews(plan, stages.forecast_reps(plan), as_of=v.as_of, lang=live_book.lang,
                               currency=contract.currency_code(v.settings),
                               back_sheet=after.name if after is not None else None)
    names = []
    for rv in built:
        after = live.render_review(book, rv, after=after)
        names.append(after.name)
    fc = built.team_forecast()
    if names:
        book.sheets[names[0]].activate()
    return {"action": "reviews", "sheets": names, "skipped": fc.skipped, "errors": v.errors,
            "message": _t(_SUMMARY["reviews"], live_book.lang, sheets=counted(len(names), "review_sheet", live_book.lang),
                          skipped=counted(len(fc.skipped), "no_period", live_book.lang))}


# ---------------------------------------------------------------------------------------------
# Writing rows into the tables of the open book


def _raw_rows(key: str, raw: TableData) -> list[dict[str, Any]]:
    """The rows of a table as they are in the book (blank cells left out)."""
    cols = [c.key for c in contract.TABLES[key].input_columns if c.key in raw]
    data = {c: raw[c] for c in cols}
    return [{c: data[c][i] for c in cols if not is_blank(data[c][i])} for i in range(len(raw))]


def _formula_rows(live_book: LiveBook, lt: LiveTable, first: int, last: int) -> tuple[int, list[list[Any]]] | None:
    """The template's formulas for Excel rows first..last of a table (io.template.formula_rows decides:
    None unless the table is laid out as the template lays it out), as cells to write."""
    from salesxl.io.template import formula_rows

    found = formula_rows(lt.data, live_book.lang, first, last, {k: t.data.sheet for k, t in live_book.tables.items()})
    if found is None:
        return None
    c0, rows = found
    return c0, [[live.Formula(f) if f else None for f in row] for row in rows]


def _write_rows(live_book: LiveBook, key: str, start: int, rows: Sequence[Mapping[str, Any]],
                clear_to: int | None = None) -> dict[str, int]:
    """Write `rows` into table `key` from Excel row `start`: one block per run of adjacent input
    columns (usually one); rows up to `clear_to` are emptied in the same block. A ListObject is
    resized when the rows go past its end, and the template's formulas fill its new rows."""
    lt = live_book.tables.get(key)
    if lt is None:
        raise ActionError(_t(_MESSAGES["no_table"], live_book.lang, table=contract.TABLES[key].name))
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
        live.write_sheet_block(live_book.book, td.sheet, (start, run[0][0]), block, clear=False, create=False)
        writes += 1
    if lt.list_object and end > lt.last_row:
        formulas = _formula_rows(live_book, lt, lt.last_row + 1, end)
        if formulas is not None:
            c0, block = formulas
            live.write_sheet_block(live_book.book, td.sheet, (lt.last_row + 1, c0), block, clear=False, create=False)
            writes += 1
        live.resize_table(live_book.book.sheets[td.sheet], lt.list_object, lt.header_row, lt.first_col, end,
                          lt.last_col)
        lt.last_row = end
        writes += 1
    return {"rows": len(rows), "writes": writes}


def _folder(book: xw.Book, value: Any, lang: str = "en", setting: str = "inbox") -> Path | None:
    """A folder named in Settings (`salesxl.folders.setting_folder`: a relative one is in the workbook's
    folder, `_book_path`); when it is relative and the workbook has no folder, or its OneDrive/SharePoint
    URL cannot be mapped, the action stops with one line saying what to set."""
    def book_folder() -> Path:
        spec = next(k for k in contract.SETTINGS_KEYS if k.key == setting)
        label = spec.fr if lang == "fr" else spec.en
        try:
            base = _book_path(book)
        except Exception:  # xlwings could not map the URL to a synced file (XlwingsError, OSError…)
            raise ActionError(_t(_MESSAGES["cloud_folder"], lang, setting=label)) from None
        if not base.is_absolute():
            raise ActionError(_t(_MESSAGES["no_folder"], lang, setting=label))
        return base.parent

    return setting_folder(value, book_folder)


# ---------------------------------------------------------------------------------------------
# Consolidate

def _read_inbox(live_book: LiveBook, inbox: Path) -> tuple[list[dict], list[Issue]]:
    """The inbox workbooks through the batch consolidation's stages 1 and 2, in this process: each file
    read by `salesxl.consolidate.read_one` (the bad-file guard, a read-only headless read, every rule),
    then `salesxl.consolidate.triage`: the same workbook twice counts once, a team workbook is skipped,
    each rep once from their newest submission, a Ref in two files is an error — as in
    `salesxl consolidate`. Messages in the open book's language."""
    from salesxl import consolidate as batch

    exclude = []
    try:
        own = _book_path(live_book.book)             # (a OneDrive/SharePoint URL mapped to the synced file)
        if own.exists():
            exclude.append(own)
    except Exception:  # a book without a path, or an online one xlwings cannot map
        pass
    # the batch's input expansion (its language: the book's); read in this process
    paths, notes, opts = batch.input_paths([inbox], batch.run_options(lang=live_book.lang, workers=0), exclude)
    with batch.read_files(paths, opts) as reads:
        results = list(reads)
    files = [{"path": status.path, "sha256": status.sha256, "status": status.status, "issues": status.issues,
              "tables": parts or {}} for status, parts in batch.triage(results, opts)]
    return files, notes


def consolidate(book: xw.Book) -> dict[str, Any]:
    """Import the rep workbooks of the inbox folder into the team tables of the open book.

    Reporting and Pipeline rows of each imported rep are replaced by the rep's rows (re-importing is
    harmless); Reps, Planning and Objectives rows are added only when new (the manager's rows stay).
    Every row of a file taken is imported, as `salesxl consolidate` writes it (a row without a rep too:
    the Issues sheet names it with file, sheet and row; importing it again does not add it twice).
    Each file is read once, headlessly, and never written; a file that cannot be read gets one
    file-level issue, and the same workbook twice counts once. Writes: one block per table and the
    Issues sheet."""
    from salesxl.consolidate import taken_tables
    live_book = load(book)
    inbox = _folder(book, live_book.settings.get("inbox"), live_book.lang, "inbox")
    if inbox is None:
        raise ActionError(_t(_MESSAGES["no_inbox"], live_book.lang))
    if not inbox.is_dir():
        raise ActionError(_t(_MESSAGES["inbox_missing"], live_book.lang, path=str(inbox)))
    files, notes = _read_inbox(live_book, inbox)
    team = live_book.validate()
    imported: dict[str, list[dict]] = {k: [] for k in (*REP_OWNED, *MANAGER_OWNED)}
    for f in files:         # every row of every table taken, as the batch writes them (a row without a rep too)
        for part in taken_tables(f["tables"]):
            if part.key in imported:
                imported[part.key].extend(table_rows(part.key, part, live_book.lang, lists=team.lists))
    counts: dict[str, dict[str, int]] = {}
    for key in REP_OWNED:
        lt = live_book.tables.get(key)
        if lt is None or not imported[key]:
            continue
        current = _raw_rows(key, lt.data)
        rows = replace_rep_rows(current, imported[key])
        kept = len(rows) - len(imported[key])
        res = _write_rows(live_book, key, lt.header_row + 1, rows, clear_to=lt.last_data_row)
        counts[key] = {"imported": len(imported[key]), "kept": kept, "replaced": len(current) - kept,
                       "writes": res["writes"]}
    for key, cols in MANAGER_OWNED.items():
        lt = live_book.tables.get(key)
        if lt is None or not imported[key]:
            continue
        existing = table_rows(key, team.tables.get(key), live_book.lang, lists=team.lists)
        new = new_rows(existing, imported[key], cols)
        if new:
            res = _write_rows(live_book, key, lt.last_data_row + 1, new)
            counts[key] = {"imported": len(new), "writes": res["writes"]}
    issues = list(notes) + [i for f in files for i in f["issues"]]
    sheet = write_issues(book, issues, live_book.lang)
    sheet.activate()
    tally = count_issues(issues)
    lang = live_book.lang
    message = _t(_SUMMARY["consolidate"], lang, files=counted(len(files), "file_read", lang), inbox=str(inbox),
                 unreadable=counted(sum(1 for f in files if f["status"] == "unreadable"), "status_unreadable", lang),
                 rows=counted(sum(c["imported"] for c in counts.values()), "row_imported", lang),
                 errors=counted(tally[ERROR], "error", lang), warnings=counted(tally[WARNING], "warning", lang),
                 sheet=sheet.name)
    return {"action": "consolidate", "inbox": str(inbox), "sheet": sheet.name,
            "files": [{k: f[k] for k in ("path", "sha256", "status")} | {"issues": len(f["issues"])}
                      for f in files],
            "tables": counts,
            "counts": tally, "message": message}


# ---------------------------------------------------------------------------------------------
# New period

def new_period(book: xw.Book) -> dict[str, Any]:
    """Next period's Planning and Objectives rows for each rep (`salesxl.rollover`: planned counts and
    objective copied from the current period), appended in one write per table, and one personalised
    rep workbook per rep in the outbox folder (written atomically). A rep whose next period is already
    planned is left as is, so running it twice adds nothing. An outbox that is the inbox is refused before
    anything is written (`salesxl.folders.outbox_is_inbox`)."""
    from salesxl.io.team_file import write_rep_workbooks

    live_book = load(book)
    lang = live_book.lang
    outbox = _folder(book, live_book.settings.get("outbox"), lang, "outbox")
    if outbox is not None:
        try:
            inbox = _folder(book, live_book.settings.get("inbox"), lang, "inbox")
        except ActionError:       # a relative inbox without the workbook's folder: not a folder to compare
            inbox = None
        if outbox_is_inbox(outbox, inbox):
            raise ActionError(_t(_MESSAGES["outbox_is_inbox"], lang, path=str(outbox)))
    v = live_book.validate()
    plan = plan_rollover(v.tables, v.as_of, lang)
    writes = {}
    for key in ("objectives", "planning"):
        rows = plan.rows(key)
        if rows:
            lt = live_book.tables.get(key)
            writes[key] = _write_rows(live_book, key, (lt.last_data_row if lt else 0) + 1, rows)["writes"]
    written, existing = (write_rep_workbooks(plan, outbox, lang, live_book.settings)
                         if outbox is not None else ([], []))
    planned = {"reps": counted(len(plan.reps), "rep_planned", lang),
               "skipped": counted(len(plan.skipped), "left_as_is", lang)}
    message = (_t(_SUMMARY["new_period"], lang, **planned, files=counted(len(written), "rep_workbook_written", lang),
                  outbox=str(outbox)) if outbox is not None else _t(_SUMMARY["new_period_no_outbox"], lang, **planned))
    return {"action": "new_period", "as_of": v.as_of.isoformat(), "reps": [r.to_dict() for r in plan.reps],
            "skipped": plan.skipped, "writes": writes, "outbox": str(outbox) if outbox else None,
            "files": [str(p) for p in written], "existing": [str(p) for p in existing], "message": message}


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
    try:
        result = action(book)
    except ActionError as exc:            # what to set or fix, in one line: a message box, not a traceback
        _alert(book, str(exc), critical=True)
        return {"action": tag, "error": str(exc)}
    _alert(book, result["message"])
    return result


def _alert(book: xw.Book, text: str, critical: bool = False) -> None:
    """A message box with the action's summary (xlwings' App.alert, on every engine)."""
    book.app.alert(text, title="SalesXL", mode="critical" if critical else "info")
