"""Write the team workbook with XlsxWriter: consolidated tables, Issues, Forecast and one Review per rep.

Big tables are streamed: rows are turned into sheet XML as they arrive (one temporary file per sheet),
with their texts as inline strings (t="inlineStr", as Excel's own streaming writers and XlsxWriter's
constant_memory mode do), so the writer's memory does not grow with the number of rows. XlsxWriter's own per-cell path (cell objects kept until close) costs about
8× more time for these tables, and its `constant_memory` mode cannot hold Excel tables
(`add_table` is refused in that mode), so the streamed sheets plug their XML into XlsxWriter's
package at close time while everything else (formats, tables, Forecast, review sheets with charts)
goes through XlsxWriter's public API.

Text stays text: every str is written as a string cell (t="inlineStr" in the streamed tables, t="s"
elsewhere), never as a formula, number or URL,
whatever it looks like (`=HYPERLINK(…)`, `1 234`, `http://…`); the workbook is opened with
strings_to_formulas/urls/numbers off for the few cells written through XlsxWriter's `write()`.
The output is written to a temporary file beside the target and moved in place with os.replace, so a
failed run leaves the previous workbook intact.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from xlsxwriter.exceptions import FileCreateError

from salesxl import contract, i18n
from salesxl.contract import AMOUNT, CODE, DATE, INTEGER, NUMBER, PERCENT
from salesxl.io._xlsxwriter_ext import PackagedWorkbook, StreamSheet
from salesxl.io.cells import AMOUNT_FORMAT, DATE_FORMAT, FIXED_TIME, PERCENT_FORMAT, clean_str
from salesxl.io.outputs import give_mode, new_temp, untrack
from salesxl.tables import TableData

if TYPE_CHECKING:
    from salesxl.forecast import TeamForecast
from salesxl.layout import (HEADER_COLOUR, INTEGER_FORMAT, ISSUE_COLUMNS, RATIO_FORMAT, TEXT, TEXT_FORMAT, WHITE,
                            forecast_layout, issue_rows, issues_frame, issues_in_order)

TABLE_ORDER = ("reps", "planning", "objectives", "reporting", "pipeline")
MAX_TEXT = 32767
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                    "nan_inf_to_errors": True}

PROVENANCE = tuple((key, {"en": en, "fr": fr}, width) for (key, (en, fr)), width
                   in zip(contract.PROVENANCE_LABELS.items(), (28, 16, 10)))
WEIGHTED = contract.PIPELINE.column("weighted")

def output_columns(key: str, lang: str) -> list[tuple[str, str, str, float]]:
    """(column key, header, kind, width) of a consolidated table: the contract's input columns (plus
    the Weighted amount of proposals), then the provenance columns."""
    table = contract.TABLES[key]
    cols = [(c.key, c.label(lang), c.kind, c.width) for c in table.input_columns]
    if key == "pipeline":
        cols.append((WEIGHTED.key, WEIGHTED.label(lang), AMOUNT, WEIGHTED.width))
    cols += [(k, i18n.pick(lab, lang), "text" if k != "_row" else INTEGER, w) for k, lab, w in PROVENANCE]
    return cols


def code_labels(lang: str, lists: Mapping[str, contract.ListSpec] | None = None) -> dict[str, dict[str, str]]:
    """Canonical code -> label in `lang`, per list."""
    lists = lists or contract.LISTS
    return {k: {it.key: it.label(lang) for it in spec.items} for k, spec in lists.items()}


# ---------------------------------------------------------------------------------------------
def _weighted(amounts: Sequence[Any], probabilities: Sequence[Any]) -> list:
    """Amount × Probability of each row where both are numbers (not booleans), else None."""
    return [a * p if isinstance(a, (int, float)) and isinstance(p, (int, float))
            and not isinstance(a, bool) and not isinstance(p, bool) else None
            for a, p in zip(amounts, probabilities)]


def _labelled(labels: Mapping[str, str], vals: Sequence[Any]) -> list:
    """Codes (canonical keys) as their labels; anything else as it is."""
    try:
        return list(map(labels.get, vals, vals))       # labels are keyed by text: other values stay
    except TypeError:                                  # an unhashable value
        return [labels.get(v, v) if type(v) is str else v for v in vals]


def _text(s: str) -> str:
    """Text fit for a cell: XML-safe, within Excel's 32,767 UTF-16 units (a pair never split; the
    validation reported the cut, TEXT_TRUNCATED)."""
    s = clean_str(s)
    if len(s) <= MAX_TEXT // 2:
        return s
    b = s.encode("utf-16-le", "surrogatepass")
    if len(b) <= 2 * MAX_TEXT:
        return s
    cut = b[:2 * MAX_TEXT]
    if 0xD8 <= cut[-1] <= 0xDB:                 # the first half of a pair: not without its second
        cut = cut[:-2]
    return cut.decode("utf-16-le", "surrogatepass")


# ---------------------------------------------------------------------------------------------
class TeamWorkbookWriter:
    """Streams the consolidated tables into the team workbook, then adds Issues, Forecast and reviews.

        with TeamWorkbookWriter("team.xlsx", "fr") as w:
            w.add_rows("pipeline", {"ref": [...], ...}, file="a.xlsx", sheet="Carnet commercial", rows=[2, 3])
            w.finish(issues=..., forecast=..., reviews=...)

    Nothing is visible at `path` until `finish` returns; on any error the temporary file is removed.
    """

    BATCH_ROWS = 4096                      # rows of a table buffered before their XML is built
    MAX_DATA_ROWS = 1_048_575              # a sheet's 1,048,576 rows less the header

    def __init__(self, path: str | os.PathLike[str], lang: str = "en", *, tables: Sequence[str] = TABLE_ORDER,
                 lists: Mapping[str, contract.ListSpec] | None = None, settings: Mapping[str, Any] | None = None):
        self.path = Path(path)
        self.lang = lang if lang in i18n.LANGS else "en"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = new_temp(self.path, ".xlsx")      # removed at exit if the run stops before abort() or finish()
        self.wb = PackagedWorkbook(str(self.tmp), dict(WORKBOOK_OPTIONS))
        self.wb.set_properties({"title": "salesxl team workbook", "author": "salesxl", "created": FIXED_TIME})
        self.formats = self._formats()
        self.codes = code_labels(self.lang, lists)
        self.settings = dict(settings or {})
        self._closed = False
        self._tables_done = False
        self.review_sheets: dict[str, str] = {}        # rep -> their review sheet (the Forecast sheet links)
        self._buffer: dict[str, list] = {}
        self._rows: dict[str, int] = {}                             # rows given, by table
        self._too_long: dict[str, Any] = {}     # table -> first (file, row) left out; "issues" -> its issue
        self.sheets: dict[str, StreamSheet] = {}
        self.columns: dict[str, list[tuple[str, str, str, float]]] = {}
        self._settings_sheet = self.wb.add_worksheet(contract.SETTINGS.sheet(self.lang))
        for key in tables:
            self._add_table_sheet(key)

    # -- setup --------------------------------------------------------------------------------
    def _formats(self) -> dict:
        wb, lang = self.wb, self.lang
        f = {
            "header": wb.add_format({"bold": True, "font_color": WHITE, "bg_color": HEADER_COLOUR,
                                     "text_wrap": True, "valign": "vcenter"}),
            "date": wb.add_format({"num_format": DATE_FORMAT[lang]}),
            "amount": wb.add_format({"num_format": AMOUNT_FORMAT}),
            "percent": wb.add_format({"num_format": PERCENT_FORMAT}),
            "integer": wb.add_format({"num_format": INTEGER_FORMAT}),
            "ratio": wb.add_format({"num_format": RATIO_FORMAT}),
            "text": wb.add_format({"num_format": TEXT_FORMAT}),
        }
        return f

    def _kind_format(self, kind: str):
        if kind == DATE:
            return self.formats["date"]
        if kind in (AMOUNT, NUMBER):
            return self.formats["amount"]
        if kind == PERCENT:
            return self.formats["percent"]
        if kind == INTEGER:
            return self.formats["integer"]
        return None

    def _add_table_sheet(self, key: str) -> StreamSheet:
        table = contract.TABLES[key]
        cols = output_columns(key, self.lang)
        ws = self.wb.add_worksheet(table.sheet(self.lang), worksheet_class=StreamSheet)
        ws.start_stream([self._kind_format(kind) for _, _, kind, _ in cols], self.formats["date"], _text)
        ws.write_header([h for _, h, _, _ in cols], self.formats["header"])
        for j, (_, _, kind, width) in enumerate(cols):
            ws.set_column(j, j, width)
        ws.freeze_panes(1, 0)
        ws.set_row(0, 30)
        _print_setup(ws)
        self.sheets[key] = ws
        self.columns[key] = cols
        return ws

    # -- streaming ----------------------------------------------------------------------------
    def add_rows(self, key: str, columns: Mapping[str, Sequence[Any]], *, file: str, sheet: str,
                 rows: Sequence[int]) -> int:
        """Append one file's rows of table `key`: values by column key (typed values, or the text as
        typed where a value could not be interpreted; codes as canonical keys), Excel rows as found."""
        n = len(rows)
        if not n:
            return 0
        if key not in self.sheets:
            self._add_table_sheet(key)
        n = self._room(key, n, lambda i: (file, rows[i]))
        if not n:
            return 0
        if n < len(rows):
            columns = {c: v[:n] for c, v in columns.items()}
            rows = rows[:n]
        out = []
        for ckey, _, kind, _ in self.columns[key]:
            if ckey == "_file":
                out.append([file] * n)
            elif ckey == "_sheet":
                out.append([sheet] * n)
            elif ckey == "_row":
                out.append(list(rows))
            elif ckey == "weighted" and key == "pipeline" and "weighted" not in columns:
                out.append(_weighted(columns.get("amount", [None] * n), columns.get("probability", [None] * n)))
            else:
                vals = columns.get(ckey)
                if vals is None:
                    out.append([None] * n)
                    continue
                if kind == CODE:
                    spec = contract.TABLES[key].column(ckey).codes
                    vals = _labelled(self.codes.get(spec, {}), vals)
                out.append(vals)
        buf = self._buffer.get(key)
        if buf is None:
            self._buffer[key] = [[list(c) for c in out], n]
        else:
            for acc, c in zip(buf[0], out):
                acc.extend(c)
            buf[1] += n
        if self._buffer[key][1] >= self.BATCH_ROWS:
            self._flush(key)
        return n

    def _room(self, key: str, n: int, where) -> int:
        """How many of `n` rows still fit in the table's sheet (MAX_DATA_ROWS); the rows beyond are left
        out of the sheet, and one TABLE_TOO_LONG issue (see `issues`) says from which file and row."""
        used = self._rows.get(key, 0)
        fit = max(0, min(n, self.MAX_DATA_ROWS - used))
        self._rows[key] = used + n
        if fit < n and key not in self._too_long:
            self._too_long[key] = where(fit)        # (file, Excel row) of the first row left out
        return fit

    @property
    def issues(self) -> list:
        """The writer's own issues (TABLE_TOO_LONG), also listed in the Issues sheet."""
        from salesxl.issues import make_issue
        return [v if key == "issues" else
                make_issue("TABLE_TOO_LONG", lang=self.lang, file=v[0], row=v[1],
                           table=contract.TABLES[key].sheet(self.lang), rows=f"{self._rows[key]:,}",
                           limit=f"{self.MAX_DATA_ROWS:,}")
                for key, v in self._too_long.items()]

    def _flush(self, key: str | None = None) -> None:
        """Render buffered rows (files are batched: the XML is built column by column, per batch)."""
        for k in ([key] if key else list(self._buffer)):
            buf = self._buffer.pop(k, None)
            if buf and buf[1]:
                self.sheets[k].append_rows(buf[0], buf[1])

    def add_table(self, td: TableData, *, file: str) -> int:
        """Append one file's typed table (`td.key`): the typed values, with what was typed where a value
        could not be interpreted (`TableData.output`); Pipeline's Weighted from the typed values only."""
        columns = {c: td.output(c) for c in td.columns}
        if td.key == "pipeline":
            columns["weighted"] = _weighted(td.column("amount"), td.column("probability"))
        return self.add_rows(td.key, columns, file=file, sheet=td.sheet or td.key, rows=td.rows)

    # -- the rest of the workbook -------------------------------------------------------------
    def finish(self, *, issues: Iterable = (), forecast: TeamForecast | Callable[[], TeamForecast] | None = None,
               reviews: Iterable = (), render_review: Callable[..., Any] | None = None) -> Path:
        """Write Settings, Issues, Forecast and reviews, close the workbook and move it into place.

        `reviews` may be a generator: each review is rendered as it comes and its sheet frozen (its XML
        built, its cells dropped), so that only one review at a time is held. `forecast` may be a
        callable, called once every review is rendered: the reviews can then be made while the forecast
        is still being computed (the Forecast sheet, which comes first, is filled afterwards, with the
        same package as a result)."""
        try:
            if not self._tables_done:
                self.finish_tables(issues=issues)
            # the streamed sheets are complete: deflate their rows on the other core while the rest is built
            for ws in [*self.sheets.values(), self._issues_ws]:
                ws.start_compression(self.wb.compresslevel)
            later = callable(forecast) and not isinstance(forecast, Mapping)
            if later and render_review is not None:     # another renderer: the forecast first after all
                reviews = list(reviews)
                forecast, later = forecast(), False
            if render_review is None:
                from salesxl.io.review_xlsx import render_review as default_render
            if later:
                fc_ws = self._forecast_sheet()
            else:
                if isinstance(reviews, (list, tuple)):        # the names are known: the links can be made
                    self.review_sheets.update((r.rep, r.sheet_name) for r in reviews)
                fc_ws = self._write_forecast(forecast)
            deferred = []
            back = contract.SHEETS["forecast"][self.lang]
            if reviews:
                for review in reviews:
                    if getattr(review, "back_sheet", False) is None:
                        review = dataclasses.replace(review, back_sheet=back)
                    self.review_sheets[review.rep] = review.sheet_name
                    if render_review is None:   # (the renderer keeps its own formats per workbook)
                        ws = default_render(self.wb, review, defer_strings=later)
                    else:
                        ws = render_review(self.wb, review)
                    if hasattr(ws, "freeze"):
                        ws.freeze(self.wb)
                    if later:
                        deferred.append(ws)
                    del review, ws
            if later:
                self._fill_forecast(fc_ws, forecast())
                for ws in deferred:             # their texts numbered after the Forecast sheet's
                    ws.resolve_strings()
            fc_ws.activate()
            try:
                self.wb.close()
            except FileCreateError as exc:     # XlsxWriter wraps the OSError (disk full, permissions…)
                cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
                raise (cause or OSError(str(exc))) from exc
            self._closed = True
            give_mode(self.tmp, self.path)      # as a normal save: not the temporary file's 0600
            os.replace(self.tmp, self.path)
            untrack(self.tmp)
        except BaseException:
            self.abort()
            raise
        return self.path

    def finish_tables(self, *, issues: Iterable = ()) -> None:
        """The first part of `finish`, which needs no forecast: the last rows of the tables, Settings
        (`settings` set beforehand) and Issues."""
        try:
            self._flush()
            for key, ws in self.sheets.items():
                ws.finish_table(contract.TABLES[key].name, [h for _, h, _, _ in self.columns[key]])
            self._write_settings()
            own = self.issues
            self._issues_ws = self._write_issues(itertools.chain(own, issues) if own else issues)
            self._tables_done = True
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop everything written so far; the previous file at `path` is untouched."""
        self._buffer.clear()
        for ws in [*self.sheets.values(), getattr(self, "_issues_ws", None)]:
            if ws is not None:
                ws.close_stream()
        if not self._closed:
            self._closed = True
            try:
                self.wb.discard()               # no save attempt at garbage collection
            except Exception:  # pragma: no cover
                pass
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass
        untrack(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.abort()
        return False

    def _write_settings(self) -> None:
        ws, lang, f = self._settings_sheet, self.lang, self.formats
        headers = [c.label(lang) for c in contract.SETTINGS.columns]
        by_key = {s.key: s for s in contract.SETTINGS_KEYS}
        rows = []
        for key in ("language", "as_of", "currency", "on_track", "at_risk", "simulations", "seed"):
            s = by_key[key]
            v = self.settings.get(key, lang if key == "language" else s.default)
            rows.append((s.fr if lang == "fr" else s.en, v, key))
        for j, h in enumerate(headers):
            ws.write_string(0, j, h, f["header"])
        for i, (label, v, key) in enumerate(rows, start=1):
            ws.write_string(i, 0, label)
            if v is None or v == "":
                continue
            if key == "as_of" and isinstance(v, dt.date):
                ws.write_datetime(i, 1, _as_datetime(v), f["date"])
            elif key in ("on_track", "at_risk") and isinstance(v, (int, float)):
                ws.write_number(i, 1, v, f["percent"])
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(i, 1, v)
            else:
                ws.write_string(i, 1, _text(str(v)))
        ws.add_table(0, 0, len(rows), 1, {"name": contract.SETTINGS.name, "style": "TableStyleMedium2",
                                          "columns": [{"header": h, "header_format": f["header"]} for h in headers]})
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 22)

    def _write_issues(self, issues: Iterable) -> StreamSheet:
        """The Issues sheet as salesxl.layout lays it out (errors first, then warnings; messages wrapped;
        print titles; one page wide), its rows streamed."""
        from salesxl.io.review_xlsx import apply_setup, formats_for
        lang, f = self.lang, self.formats
        ws = self.wb.add_worksheet(contract.SHEETS["issues"][lang], worksheet_class=StreamSheet)
        cell_formats = formats_for(self.wb, lang)
        styles = [cell_formats.cell(fmt, style, lang) for _, _, _, fmt, style in ISSUE_COLUMNS]
        text_styles = [cell_formats.cell(TEXT, style, lang) for _, _, _, _, style in ISSUE_COLUMNS]
        headers = [i18n.pick(lab, lang) for _, lab, _, _, _ in ISSUE_COLUMNS]
        ws.start_stream(styles, f["date"], _text, text_formats=text_styles)
        ws.write_header(headers, f["header"])
        batch: list[list] = [[] for _ in ISSUE_COLUMNS]
        heights: list = []
        n = 0
        issues = list(issues_in_order(issues))          # errors first, then warnings
        if len(issues) > self.MAX_DATA_ROWS:    # the first row says which are not in the sheet
            from salesxl.issues import make_issue
            first = issues[self.MAX_DATA_ROWS - 1]
            too_long = make_issue("TABLE_TOO_LONG", lang=lang, file=first.file, row=first.row,
                                  table=contract.SHEETS["issues"][lang], rows=f"{len(issues):,}",
                                  limit=f"{self.MAX_DATA_ROWS:,}")
            self._too_long["issues"] = too_long
            issues = [too_long, *issues[:self.MAX_DATA_ROWS - 1]]
        for _, vals, height in issue_rows(issues, lang):
            for col, v in zip(batch, vals):
                col.append(v)
            heights.append(height)
            n += 1
            if n >= 5000:
                ws.append_rows(batch, n, heights)
                batch, heights, n = [[] for _ in ISSUE_COLUMNS], [], 0
        if n:
            ws.append_rows(batch, n, heights)
        ws.finish_table("tblIssues", headers)
        apply_setup(self.wb, ws, issues_frame(lang, max(ws.data_rows, 1), ws.name), cell_formats)
        return ws

    def _write_forecast(self, forecast: TeamForecast | None, review_sheets: Mapping[str, str] | None = None):
        return self._fill_forecast(self._forecast_sheet(), forecast, review_sheets)

    def _forecast_sheet(self):
        from salesxl.io.review_xlsx import ReviewSheet
        return self.wb.add_worksheet(contract.SHEETS["forecast"][self.lang], worksheet_class=ReviewSheet)

    def _fill_forecast(self, ws, forecast: TeamForecast | None, review_sheets: Mapping[str, str] | None = None):
        """The Forecast sheet as salesxl.layout.forecast_layout lays it out (the manager's dashboard),
        each rep linked to their review sheet."""
        from salesxl.io.review_xlsx import render_sheet
        if forecast is None:
            return ws
        lay = forecast_layout(forecast, self.lang, review_sheets=review_sheets if review_sheets is not None
                              else self.review_sheets, currency=contract.currency_code(self.settings),
                              name=ws.name)
        return render_sheet(self.wb, lay, ws=ws)


def _print_setup(ws) -> None:
    """A4 landscape, one page wide, the header row on every page."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def _as_datetime(d: dt.date) -> dt.datetime:
    return d if isinstance(d, dt.datetime) else dt.datetime(d.year, d.month, d.day)


# ---------------------------------------------------------------------------------------------
def write_team_workbook(path: str | os.PathLike[str], *, files: Sequence[tuple[str, Mapping[str, TableData]]],
                        issues: Iterable = (),
                        forecast: TeamForecast | None = None, reviews: Sequence = (), lang: str = "en",
                        settings: Mapping[str, Any] | None = None, lists: Mapping[str, contract.ListSpec] | None = None,
                        render_review: Callable[..., Any] | None = None) -> Path:
    """Write the whole team workbook at once: `files` are (source path, its typed tables by key), in
    order (`rules.Validated.path` and `.tables`). The streaming path used by `salesxl consolidate` is
    `TeamWorkbookWriter`, table by table as the files come (`add_table`)."""
    keys = {k for _, tables in files for k in tables}
    with TeamWorkbookWriter(path, lang, lists=lists, settings=settings,
                            tables=[k for k in TABLE_ORDER if k in keys]) as w:
        for key in TABLE_ORDER:
            for file, tables in files:
                if key in tables and len(tables[key]):
                    w.add_table(tables[key], file=file)
        return w.finish(issues=issues, forecast=forecast, reviews=reviews, render_review=render_review)
