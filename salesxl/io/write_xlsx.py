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

import datetime as dt
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.worksheet import Worksheet

from salesxl import contract, i18n
from salesxl.contract import AMOUNT, CODE, DATE, INTEGER, NUMBER, PERCENT
from salesxl.io.cells import FIXED_TIME, clean_str
from salesxl.io.read_xlsx import col_letters

TABLE_ORDER = ("reps", "planning", "objectives", "reporting", "pipeline")
DATE_FORMAT = {"en": "yyyy-mm-dd", "fr": "dd/mm/yyyy"}
AMOUNT_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0%"
HEADER_COLOR = "#1F4E78"
MAX_TEXT = 32767
EXCEL_EPOCH = dt.date(1899, 12, 30)
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                    "nan_inf_to_errors": True}

PROVENANCE = (("_file", {"en": "Source file", "fr": "Fichier source"}, 28),
              ("_sheet", {"en": "Source sheet", "fr": "Feuille source"}, 16),
              ("_row", {"en": "Source row", "fr": "Ligne source"}, 10))
WEIGHTED = contract.PIPELINE.column("weighted")

ISSUE_FIELDS = (
    ("severity", {"en": "Severity", "fr": "Gravité"}, 14),
    ("code", {"en": "Code", "fr": "Code"}, 26),
    ("file", {"en": "File", "fr": "Fichier"}, 30),
    ("sheet", {"en": "Sheet", "fr": "Feuille"}, 16),
    ("row", {"en": "Row", "fr": "Ligne"}, 8),
    ("column", {"en": "Column", "fr": "Colonne"}, 18),
    ("value", {"en": "Value", "fr": "Valeur"}, 22),
    ("message", {"en": "Message", "fr": "Message"}, 90),
)
SEVERITY_LABELS = {"error": {"en": "error", "fr": "erreur"}, "warning": {"en": "warning", "fr": "avertissement"}}
# What each issue did to the consolidation (the Issues sheet's last column): rows are always kept.
ISSUE_EFFECT_FIELD = ("effect", {"en": "Effect", "fr": "Effet"}, 40)
_VALUE_LEFT_OUT = {"en": "value left out of the computations; row kept",
                   "fr": "valeur exclue des calculs ; ligne conservée"}
_EFFECTS = {
    **{code: _VALUE_LEFT_OUT for code in ("BAD_DATE", "BAD_NUMBER", "PROBABILITY_RANGE", "NEGATIVE_AMOUNT",
                                          "CELL_ERROR", "MISSING_CACHED_VALUE", "UNKNOWN_VALUE")},
    "MISSING_VALUE": {"en": "missing: left out of the computations; row kept",
                      "fr": "manquant : exclu des calculs ; ligne conservée"},
    "PROBABILITY_DEFAULTED": {"en": "the stage's default probability is used", "fr": "probabilité par défaut de l'étape utilisée"},
    "PROBABILITY_NORMALISED": {"en": "read as a percentage", "fr": "lu comme un pourcentage"},
    "NUMBER_NORMALISED": {"en": "read as a number", "fr": "lu comme un nombre"},
    "HEADER_MISMATCH": {"en": "column not read", "fr": "colonne non lue"},
    "SHEET_NOT_FOUND": {"en": "sheet not read", "fr": "feuille non lue"},
    "DUPLICATE_FILE": {"en": "not counted again", "fr": "non compté une seconde fois"},
    "LOCK_FILE_SKIPPED": {"en": "skipped", "fr": "ignoré"},
}
_FILE_NOT_READ = {"en": "file not read", "fr": "fichier non lu"}


def issue_effect(issue, lang: str) -> str:
    """What the consolidation did about an issue (a reason outside the list is kept as typed)."""
    from salesxl.issues import FILE_LEVEL_CODES
    if issue.code in FILE_LEVEL_CODES:
        return i18n.pick(_FILE_NOT_READ, lang)
    if issue.code == "UNKNOWN_VALUE" and issue.severity == "warning":
        return i18n.pick({"en": "kept as typed", "fr": "conservé tel quel"}, lang)
    eff = _EFFECTS.get(issue.code)
    return i18n.pick(eff, lang) if eff else ""

FORECAST_FIELDS = (
    ("rep", {"en": "Rep", "fr": "Commercial"}, "text", 22),
    ("period_start", {"en": "Period start", "fr": "Début de période"}, "date", 14),
    ("period_end", {"en": "Period end", "fr": "Fin de période"}, "date", 14),
    ("objective", {"en": "Revenue objective", "fr": "Objectif de CA"}, "amount", 15),
    ("won", {"en": "Won", "fr": "Gagné"}, "amount", 14),
    ("weighted_open", {"en": "Weighted open", "fr": "Pondéré en cours"}, "amount", 15),
    ("forecast", {"en": "Forecast", "fr": "Prévision"}, "amount", 14),
    ("attainment", {"en": "Projected attainment", "fr": "Atteinte projetée"}, "percent", 13),
    ("coverage", {"en": "Coverage", "fr": "Couverture"}, "ratio", 11),
    ("p10", {"en": "P10", "fr": "P10"}, "amount", 13),
    ("p50", {"en": "P50", "fr": "P50"}, "amount", 13),
    ("p90", {"en": "P90", "fr": "P90"}, "amount", 13),
    ("p_reach", {"en": "P(reach objective)", "fr": "P(atteindre l'objectif)"}, "percent", 15),
    ("risk", {"en": "Risk", "fr": "Risque"}, "risk", 16),
)
RISK_LABELS = {"on_track": {"en": "On track", "fr": "En bonne voie"},
               "at_risk": {"en": "At risk", "fr": "À risque"},
               "off_track": {"en": "Off track", "fr": "Hors trajectoire"}}
RISK_COLORS = {"on_track": "#C6EFCE", "at_risk": "#FFEB9C", "off_track": "#FFC7CE"}
TEAM_LABEL = {"en": "Team", "fr": "Équipe"}


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
class _Workbook(xlsxwriter.Workbook):
    """XlsxWriter's workbook, zipped with a faster deflate level (the sheet XML of big tables is
    tens of MB: level 1 deflates it about 3× faster than the default level 6, for a file ~25 % larger)."""

    compresslevel = 1

    def _store_workbook(self) -> None:
        import functools
        import zipfile

        from xlsxwriter import workbook as xw_workbook
        saved = xw_workbook.ZipFile
        xw_workbook.ZipFile = functools.partial(zipfile.ZipFile, compresslevel=self.compresslevel)
        try:
            super()._store_workbook()
        finally:
            xw_workbook.ZipFile = saved


class StreamSheet(Worksheet):
    """A worksheet whose rows are streamed to a temporary file as sheet XML.

    Cells: str -> shared string; int/float -> number; date/datetime -> serial with the column's date
    style; None / NaN / "" -> no cell; anything else -> its text. Only `append_rows` and `finish_table`
    write cells; XlsxWriter's own cell methods must not be used on it (their cells would be ignored).
    """

    def _stream_init(self, ncols: int, styles: Sequence[int | None], date_styles: Sequence[int | None],
                     tmpdir: str | None = None, inline: bool = False) -> None:
        self._inline = inline
        self._letters = [col_letters(j + 1) for j in range(ncols)]
        self._styles = [f' s="{s}"' if s else "" for s in styles]
        self._date_styles = [f' s="{s}"' if s else "" for s in date_styles]
        self._rows_fh = tempfile.TemporaryFile("w+", encoding="utf-8", dir=tmpdir, buffering=1 << 20)
        self._next_row = 1                       # next Excel row number (1 = header)
        self._ncols = ncols
        self._serials: dict = {}

    # -- writing ------------------------------------------------------------------------------
    def _shared_suffix(self, s: str) -> str:
        return f'" t="s"><v>{self._sidx(s)}</v></c>'

    @staticmethod
    def _inline_suffix(s: str) -> str:
        s = _XML_ESCAPES_RE.sub(lambda m: _XML_ESCAPES[m.group(0)], _X_ESCAPE.sub(r"_x005F\1", _text(s)))
        space = ' xml:space="preserve"' if s[:1].isspace() or s[-1:].isspace() else ""
        return f'" t="inlineStr"><is><t{space}>{s}</t></is></c>'

    def _sidx(self, s: str) -> int:
        """Shared-string index of a text (cleaned of characters XML cannot hold, cut at Excel's limit)."""
        sst = self.str_table
        idx = sst.string_table.get(s)
        if idx is None:
            s2 = _text(s)
            idx = sst.string_table.get(s2)
            if idx is None:
                idx = sst._get_shared_string_index(s2)
                sst.count -= 1                  # references are counted by the caller
        return idx

    def append_rows(self, columns: Sequence[Sequence[Any]], count: int) -> None:
        """Append `count` rows given column by column (each sequence holds `count` values)."""
        if count <= 0:
            return
        r0 = self._next_row + 1
        frags = [self._render(col, j, r0, count) for j, col in enumerate(columns)]
        rows = range(r0, r0 + count)
        self._rows_fh.write("".join([f'<row r="{r}">{"".join(cells)}</row>' for r, cells in zip(rows, zip(*frags))]))
        self._next_row = r0 + count - 1

    def _render(self, col: Sequence[Any], j: int, r0: int, count: int) -> list[str]:
        """The cell XML of one column, one string per row ("" for no cell). Column-wise list
        comprehensions on the column's main type, then a slow path for the odd cells."""
        L, S, DS = self._letters[j], self._styles[j], self._date_styles[j]
        rows = range(r0, r0 + count)
        first = next((v for v in col if v is not None), None)
        tp = type(first)
        if first is None:
            return [""] * count
        pre = f'<c r="{L}'
        if tp is str:
            cell = self._inline_suffix if self._inline else self._shared_suffix
            m = {v: cell(v) for v in dict.fromkeys([v for v in col if type(v) is str])}
            g = m.get
            out = ["" if v is None else f"{pre}{r}{g(v)}" if type(v) is str else None for r, v in zip(rows, col)]
            if not self._inline:
                self.str_table.count += count - col.count(None) - out.count(None)
        elif tp is float or tp is int:
            out = ["" if v is None else f'{pre}{r}"{S}><v>{v!r}</v></c>'
                   if (type(v) is float and v - v == 0) or type(v) is int else None
                   for r, v in zip(rows, col)]
        elif tp is dt.date:
            ser = self._serials
            for v in dict.fromkeys([v for v in col if type(v) is dt.date]):
                if v not in ser:
                    ser[v] = f'"{DS}><v>{_serial(v)}</v></c>'
            g = ser.get
            out = ["" if v is None else f"{pre}{r}{g(v)}" if type(v) is dt.date else None for r, v in zip(rows, col)]
        else:
            out = [None] * count
        for i, x in enumerate(out):
            if x is None:
                out[i] = self._cell(L, r0 + i, col[i], S, DS)
        return out

    def _cell(self, letter: str, r: int, v: Any, style: str, dstyle: str) -> str:
        if v is None:
            return ""
        if isinstance(v, str):
            if not v:
                return ""
            return self._string_cell(letter, r, v)
        if isinstance(v, bool):
            return f'<c r="{letter}{r}" t="b"><v>{int(v)}</v></c>'
        if isinstance(v, (dt.date, dt.datetime)):          # datetimes, subclasses, pandas Timestamp
            try:
                return f'<c r="{letter}{r}"{dstyle}><v>{_serial(v)}</v></c>'
            except (TypeError, ValueError, OverflowError):   # NaT
                return ""
        if isinstance(v, (int, float)) or hasattr(v, "item"):   # numpy scalars
            try:
                x = float(v)
            except (TypeError, ValueError):
                x = None
            if x is not None:
                if not math.isfinite(x):
                    return ""
                if isinstance(v, int) or (hasattr(v, "dtype") and v.dtype.kind in "iu"):
                    return f'<c r="{letter}{r}"{style}><v>{int(v)}</v></c>'
                return f'<c r="{letter}{r}"{style}><v>{x!r}</v></c>'
        s = str(v)
        if not s:
            return ""
        return self._string_cell(letter, r, s)

    def _string_cell(self, letter: str, r: int, s: str) -> str:
        if self._inline:
            return f'<c r="{letter}{r}{self._inline_suffix(s)}'
        self.str_table.count += 1
        return f'<c r="{letter}{r}" t="s"><v>{self._sidx(s)}</v></c>'

    def write_header(self, headers: Sequence[str], header_format) -> None:
        """The header row (row 1), through XlsxWriter (the table's column names must match)."""
        self._header_format = header_format
        for j, h in enumerate(headers):
            self.write_string(0, j, h, header_format)

    def finish_table(self, name: str, headers: Sequence[str], style: str = "TableStyleMedium2") -> None:
        """Declare the Excel table over the header and every streamed row (at least one data row)."""
        last = max(self._next_row, 2) - 1       # 0-based last row
        ncols = len(headers)
        # add_table marks every cell of its range; declare it on two rows then widen it (cheap).
        fmt = getattr(self, "_header_format", None)
        self.add_table(0, 0, 1, ncols - 1, {"name": name, "style": style,
                                            "columns": [{"header": h, "header_format": fmt} for h in headers]})
        t = self.tables[-1]
        from xlsxwriter.utility import xl_range
        t["range"] = xl_range(0, 0, last, ncols - 1)
        t["a_range"] = t["range"]
        if t.get("autofilter"):
            t["autofilter"] = t["range"]
        self._check_dimensions(last, ncols - 1)
        self._rows_fh.flush()

    @property
    def data_rows(self) -> int:
        return self._next_row - 1

    # -- XlsxWriter hooks ---------------------------------------------------------------------
    def _write_sheet_data(self) -> None:
        fh = getattr(self, "_rows_fh", None)
        if fh is None:
            return super()._write_sheet_data()
        self._xml_start_tag("sheetData")
        # row 1 (header) from XlsxWriter's own cell table, then the streamed rows
        row0 = self.table.get(0)
        if row0:
            self._write_row(0, None, self.row_info.get(0))
            for col in sorted(row0):
                self._write_cell(0, col, row0[col])
            self._xml_end_tag("row")
        fh.seek(0)
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            self.fh.write(chunk)
        fh.close()
        self._rows_fh = None
        self._xml_end_tag("sheetData")

    def _close_stream(self) -> None:
        fh = getattr(self, "_rows_fh", None)
        if fh is not None:
            fh.close()
            self._rows_fh = None


_X_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")        # literal "_x0041_" is not an escape: Excel's rule
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_XML_ESCAPES_RE = re.compile("[&<>]")


def _text(s: str) -> str:
    s = clean_str(s)
    return s[:MAX_TEXT] if len(s) > MAX_TEXT else s


def _serial(v) -> str:
    if isinstance(v, dt.datetime) or hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime() if hasattr(v, "to_pydatetime") else v
        if v.tzinfo is not None:
            v = v.replace(tzinfo=None)
        d = v - dt.datetime(1899, 12, 30)
        x = d.days + d.seconds / 86400 + d.microseconds / 86400e6
        return repr(x) if not float(x).is_integer() else str(int(x))
    return str((v - EXCEL_EPOCH).days)


# ---------------------------------------------------------------------------------------------
class TeamWorkbookWriter:
    """Streams the consolidated tables into the team workbook, then adds Issues, Forecast and reviews.

        with TeamWorkbookWriter("team.xlsx", "fr") as w:
            w.add_rows("pipeline", {"ref": [...], ...}, file="a.xlsx", sheet="Carnet commercial", rows=[2, 3])
            w.finish(issues=..., forecast=..., reviews=...)

    Nothing is visible at `path` until `finish` returns; on any error the temporary file is removed.
    """

    BATCH_ROWS = 4096                      # rows of a table buffered before their XML is built

    def __init__(self, path, lang: str = "en", *, tables: Sequence[str] = TABLE_ORDER,
                 lists: Mapping[str, contract.ListSpec] | None = None, settings: Mapping[str, Any] | None = None):
        self.path = Path(path)
        self.lang = lang if lang in i18n.LANGS else "en"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~" + self.path.stem + "-", suffix=".xlsx", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.wb = _Workbook(str(self.tmp), dict(WORKBOOK_OPTIONS))
        self.wb.set_properties({"title": "salesxl team workbook", "author": "salesxl", "created": FIXED_TIME})
        self.formats = self._formats()
        self.codes = code_labels(self.lang, lists)
        self.settings = dict(settings or {})
        self._closed = False
        self._buffer: dict[str, list] = {}
        self.sheets: dict[str, StreamSheet] = {}
        self.columns: dict[str, list[tuple[str, str, str, float]]] = {}
        self._settings_sheet = self.wb.add_worksheet(contract.SETTINGS.sheet(self.lang))
        for key in tables:
            self._add_table_sheet(key)

    # -- setup --------------------------------------------------------------------------------
    def _formats(self) -> dict:
        wb, lang = self.wb, self.lang
        f = {
            "header": wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": HEADER_COLOR,
                                     "text_wrap": True, "valign": "vcenter"}),
            "date": wb.add_format({"num_format": DATE_FORMAT[lang]}),
            "amount": wb.add_format({"num_format": AMOUNT_FORMAT}),
            "percent": wb.add_format({"num_format": PERCENT_FORMAT}),
            "integer": wb.add_format({"num_format": "0"}),
            "ratio": wb.add_format({"num_format": "0.00"}),
            "text": wb.add_format({"num_format": "@"}),
            "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
            "bold": wb.add_format({"bold": True}),
            "title": wb.add_format({"bold": True, "font_size": 14, "font_color": HEADER_COLOR}),
            "error": wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"}),
            "warning": wb.add_format({"font_color": "#9C5700", "bg_color": "#FFEB9C"}),
        }
        f["amount0"] = wb.add_format({"num_format": "#,##0"})
        for k in ("amount0", "percent", "date", "ratio"):
            f["team_" + k] = wb.add_format({"bold": True, "top": 1, "num_format": f[k].num_format})
        f["team_text"] = wb.add_format({"bold": True, "top": 1})
        for risk, color in RISK_COLORS.items():
            f["risk_" + risk] = wb.add_format({"bg_color": color, "bold": True})
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
        styles, dstyles = [], []
        for _, _, kind, _ in cols:
            fmt = self._kind_format(kind)
            styles.append(fmt._get_xf_index() if fmt is not None else None)
            dstyles.append(self.formats["date"]._get_xf_index())
        ws._stream_init(len(cols), styles, dstyles, inline=True)
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
        out = []
        for ckey, _, kind, _ in self.columns[key]:
            if ckey == "_file":
                out.append([file] * n)
            elif ckey == "_sheet":
                out.append([sheet] * n)
            elif ckey == "_row":
                out.append(list(rows))
            elif ckey == "weighted" and key == "pipeline" and "weighted" not in columns:
                out.append([a * p if isinstance(a, (int, float)) and isinstance(p, (int, float))
                            and not isinstance(a, bool) and not isinstance(p, bool) else None
                            for a, p in zip(columns.get("amount", [None] * n), columns.get("probability", [None] * n))])
            else:
                vals = columns.get(ckey)
                if vals is None:
                    out.append([None] * n)
                    continue
                if kind == CODE:
                    spec = contract.TABLES[key].column(ckey).codes
                    labels = self.codes.get(spec, {})
                    vals = [labels.get(v, v) if type(v) is str else v for v in vals]
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

    def _flush(self, key: str | None = None) -> None:
        """Render buffered rows (files are batched: the XML is built column by column, per batch)."""
        for k in ([key] if key else list(self._buffer)):
            buf = self._buffer.pop(k, None)
            if buf and buf[1]:
                self.sheets[k].append_rows(buf[0], buf[1])

    def add_frame(self, key: str, df) -> int:
        """Append a DataFrame holding column keys plus `_file`, `_sheet`, `_row` (several files at once)."""
        if df is None or len(df) == 0:
            return 0
        ws = self.sheets.get(key) or self._add_table_sheet(key)
        self._flush(key)
        n = len(df)
        out = []
        for ckey, _, kind, _ in self.columns[key]:
            if ckey in df.columns:
                vals = _plain_list(df[ckey])
                if kind == CODE:
                    labels = self.codes.get(contract.TABLES[key].column(ckey).codes, {})
                    vals = [labels.get(v, v) if type(v) is str else v for v in vals]
            elif ckey == "weighted" and key == "pipeline":
                a, p = _plain_list(df["amount"]), _plain_list(df["probability"])
                vals = [x * y if type(x) in (int, float) and type(y) in (int, float) else None for x, y in zip(a, p)]
            else:
                vals = [None] * n
            out.append(vals)
        ws.append_rows(out, n)
        return n

    # -- the rest of the workbook -------------------------------------------------------------
    def finish(self, *, issues: Iterable = (), forecast: Any = None, reviews: Sequence = (),
               render_review=None) -> Path:
        """Write Settings, Issues, Forecast and reviews, close the workbook and move it into place."""
        try:
            self._flush()
            for key, ws in self.sheets.items():
                ws.finish_table(contract.TABLES[key].name, [h for _, h, _, _ in self.columns[key]])
            self._write_settings()
            self._write_issues(issues)
            fc_ws = self._write_forecast(forecast)
            if reviews:
                if render_review is None:
                    from salesxl.io.review_xlsx import render_review
                for review in reviews:
                    render_review(self.wb, review)     # the renderer keeps its own formats per workbook
            fc_ws.activate()
            try:
                self.wb.close()
            except FileCreateError as exc:     # XlsxWriter wraps the OSError (disk full, permissions…)
                cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
                raise (cause or OSError(str(exc))) from exc
            self._closed = True
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop everything written so far; the previous file at `path` is untouched."""
        self._buffer.clear()
        for ws in self.sheets.values():
            ws._close_stream()
        if not self._closed:
            self._closed = True
            try:
                self.wb.fileclosed = True       # no save attempt at garbage collection
            except Exception:  # pragma: no cover
                pass
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass

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
        t = contract.SETTINGS
        headers = [c.label(lang) for c in t.columns]
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
        ws.add_table(0, 0, len(rows), 1, {"name": t.name, "style": "TableStyleMedium2",
                                          "columns": [{"header": h, "header_format": f["header"]} for h in headers]})
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 22)

    def _write_issues(self, issues: Iterable) -> StreamSheet:
        lang, f = self.lang, self.formats
        ws = self.wb.add_worksheet(contract.SHEETS["issues"][lang], worksheet_class=StreamSheet)
        fields = ISSUE_FIELDS + (ISSUE_EFFECT_FIELD,)
        headers = [i18n.pick(lab, lang) for _, lab, _ in fields]
        row_style = f["integer"]._get_xf_index()
        styles = [None, None, None, None, row_style, None, None, f["wrap"]._get_xf_index(), None]
        ws._stream_init(len(headers), styles, [f["date"]._get_xf_index()] * len(headers), inline=True)
        ws.write_header(headers, f["header"])
        for j, (_, _, w) in enumerate(fields):
            ws.set_column(j, j, w)
        sev = {k: i18n.pick(v, lang) for k, v in SEVERITY_LABELS.items()}
        batch: list[list] = [[] for _ in fields]
        n = 0
        for i in issues:
            vals = (sev.get(i.severity, i.severity), i.code, i.file, i.sheet, i.row, i.column,
                    _issue_value(i.value), i.message, issue_effect(i, lang))
            for col, v in zip(batch, vals):
                col.append(v)
            n += 1
            if n >= 5000:
                ws.append_rows(batch, n)
                batch, n = [[] for _ in fields], 0
        if n:
            ws.append_rows(batch, n)
        ws.finish_table("tblIssues", headers)
        last = max(ws.data_rows, 1)
        ws.conditional_format(1, 0, last, 0, {"type": "cell", "criteria": "==", "value": f'"{sev["error"]}"',
                                              "format": f["error"]})
        ws.conditional_format(1, 0, last, 0, {"type": "cell", "criteria": "==",
                                              "value": f'"{sev["warning"]}"', "format": f["warning"]})
        ws.freeze_panes(1, 0)
        ws.set_row(0, 30)
        _print_setup(ws)
        return ws

    def _write_forecast(self, forecast: Any):
        lang, f = self.lang, self.formats
        ws = self.wb.add_worksheet(contract.SHEETS["forecast"][lang])
        data = _forecast_dict(forecast)
        reps = data.get("reps") or []
        headers = [i18n.pick(lab, lang) for _, lab, _, _ in FORECAST_FIELDS]
        for j, h in enumerate(headers):
            ws.write_string(0, j, h, f["header"])
        for j, (_, _, kind, w) in enumerate(FORECAST_FIELDS):
            ws.set_column(j, j, w)
        for i, rec in enumerate(reps, start=1):
            self._forecast_row(ws, i, rec, team=False)
        last = max(len(reps), 1)
        ws.add_table(0, 0, last, len(headers) - 1, {"name": "tblForecast", "style": "TableStyleMedium2",
                                                    "columns": [{"header": h, "header_format": f["header"]}
                                                                for h in headers]})
        team = data.get("team")
        if team:
            rec = dict(team)
            rec["rep"] = i18n.pick(TEAM_LABEL, lang)
            self._forecast_row(ws, last + 1, rec, team=True)
        ws.freeze_panes(1, 1)
        ws.set_row(0, 30)
        as_of = data.get("as_of")
        if as_of:
            ws.write_string(last + 3, 0, i18n.pick({"en": "As-of date", "fr": "Date d'arrêté"}, lang), f["bold"])
            d = _to_date(as_of)
            if d is not None:
                ws.write_datetime(last + 3, 1, _as_datetime(d), f["date"])
            else:
                ws.write_string(last + 3, 1, str(as_of))
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        return ws

    def _forecast_row(self, ws, i: int, rec: Mapping[str, Any], team: bool) -> None:
        f, lang = self.formats, self.lang
        for j, (key, _, kind, _) in enumerate(FORECAST_FIELDS):
            v = rec.get(key)
            fmt = None
            if kind in ("amount", "percent", "date", "ratio"):
                k = "amount0" if kind == "amount" else kind
                fmt = f[("team_" if team else "") + k]
            elif team:
                fmt = f["team_text"]
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                if team:
                    ws.write_blank(i, j, None, fmt)
                continue
            if kind == "risk":
                label = i18n.pick(RISK_LABELS.get(v, {"en": str(v)}), lang)
                ws.write_string(i, j, label, f.get("risk_" + str(v), fmt))
            elif kind == "date":
                d = _to_date(v)
                if d is not None:
                    ws.write_datetime(i, j, _as_datetime(d), fmt)
                else:
                    ws.write_string(i, j, _text(str(v)), fmt)
            elif kind == "text" or isinstance(v, str):
                ws.write_string(i, j, _text(str(v)), fmt)
            else:
                ws.write_number(i, j, float(v), fmt)


def _print_setup(ws) -> None:
    """A4 landscape, one page wide, the header row on every page."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def _forecast_dict(forecast: Any) -> dict:
    if forecast is None:
        return {}
    if isinstance(forecast, Mapping):
        return dict(forecast)
    to_dict = getattr(forecast, "to_dict", None)
    return to_dict() if callable(to_dict) else {}


def _to_date(v) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def _as_datetime(d: dt.date) -> dt.datetime:
    return d if isinstance(d, dt.datetime) else dt.datetime(d.year, d.month, d.day)


def _issue_value(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, dt.date)) and not isinstance(v, bool):
        return v
    return str(v)


def _plain_list(series) -> list:
    """Python values of a column (NaN/NaT -> None, numpy scalars -> Python, Timestamps -> date)."""
    out = series.tolist()
    types = set(map(type, out))
    if types <= {str, int, dt.date, type(None)}:
        return out
    if types <= {str, int, float, dt.date, type(None)}:
        return [None if type(v) is float and v != v else v for v in out]
    for i, v in enumerate(out):
        if v is None or type(v) in (str, int, dt.date):
            continue
        if type(v) is float:
            if v != v:
                out[i] = None
        elif hasattr(v, "to_pydatetime"):
            out[i] = None if v != v else v.to_pydatetime().date() if v.time() == dt.time(0) else v.to_pydatetime()
        elif hasattr(v, "item"):
            out[i] = v.item()
        elif v != v:
            out[i] = None
    return out


# ---------------------------------------------------------------------------------------------
def write_team_workbook(path, *, tables: Mapping[str, Any], issues: Iterable = (), forecast: Any = None,
                        reviews: Sequence = (), lang: str = "en", settings: Mapping[str, Any] | None = None,
                        lists: Mapping[str, contract.ListSpec] | None = None, render_review=None) -> Path:
    """Write the whole team workbook at once from DataFrames (column keys plus `_file`, `_sheet`,
    `_row`). The streaming path used by `salesxl consolidate` is `TeamWorkbookWriter`."""
    with TeamWorkbookWriter(path, lang, lists=lists, settings=settings,
                            tables=[k for k in TABLE_ORDER if k in tables]) as w:
        for key in TABLE_ORDER:
            if key in tables:
                w.add_frame(key, tables[key])
        return w.finish(issues=issues, forecast=forecast, reviews=reviews, render_review=render_review)
