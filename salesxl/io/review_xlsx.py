"""Render review blocks (salesxl.review) to an XlsxWriter worksheet: formats, risk colours, native
charts, A4 landscape print setup. Text is always written as text (write_string).

Review sheets are `ReviewSheet`s: XlsxWriter worksheets whose cell XML is written by a faster loop (the
same XML, for the cell types a review holds), and which can be `freeze`d once complete: their cell XML
is built there and then and XlsxWriter's cell table dropped, so that a team workbook with a thousand
reviews does not hold a thousand cell tables until it is closed."""
from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

from salesxl.io._xlsxwriter_ext import FastSheet
from salesxl.io.cells import DATE_FORMAT
from salesxl.review import AMOUNT, DATE, INT, PERCENT, RATIO, TEXT, Cell, Chart, Fields, Grid, Points, Review, Title

CHART_COL = 8
WIDTHS = (34, 16, 16, 14, 14, 14, 16, 2)
STYLE_COLOURS = {
    "good": ("#C6EFCE", "#006100"),
    "warn": ("#FFEB9C", "#9C5700"),
    "bad": ("#FFC7CE", "#9C0006"),
}
NUM_FORMATS = {AMOUNT: "#,##0", PERCENT: "0%", INT: "0", RATIO: "0.00", TEXT: None}

_FORMATS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class Formats:
    """XlsxWriter formats are per workbook: created once and reused by every review sheet."""

    def __init__(self, wb, lang: str):
        self.wb = wb
        self.lang = lang
        self._cache: dict[tuple, Any] = {}
        self.title = wb.add_format({"bold": True, "font_size": 16, "font_color": "#1F4E78"})
        self.subtitle = wb.add_format({"italic": True, "font_color": "#595959"})
        self.section = wb.add_format({"bold": True, "font_size": 12, "font_color": "#1F4E78",
                                      "bottom": 1, "bottom_color": "#1F4E78"})
        self.header = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78",
                                     "text_wrap": True, "valign": "vcenter", "border": 1})
        self.label = wb.add_format({"font_color": "#404040"})
        self.point = wb.add_format({"text_wrap": True, "valign": "top"})
        self.muted = wb.add_format({"italic": True, "font_color": "#808080"})

    def cell(self, fmt: str, style: str | None, lang: str):
        key = (fmt, style, lang)
        if key not in self._cache:
            props: dict[str, Any] = {"border": 1, "border_color": "#D9D9D9"}
            num = DATE_FORMAT[lang] if fmt == DATE else NUM_FORMATS.get(fmt)
            if num:
                props["num_format"] = num
            if style in STYLE_COLOURS:
                bg, fg = STYLE_COLOURS[style]
                props.update(bg_color=bg, font_color=fg, bold=True)
            elif style == "bold":
                props["bold"] = True
            elif style == "muted":
                props.update(italic=True, font_color="#808080")
            self._cache[key] = self.wb.add_format(props)
        return self._cache[key]


class ReviewSheet(FastSheet):
    """A review sheet: XlsxWriter's worksheet with the faster cell writing of `FastSheet`."""

    def put_cells(self, row: int, col0: int, cells, formats: Formats, lang: str) -> None:
        """write_cell for each cell of a row from column `col0`, in one go."""
        super().put_cells(row, col0, cells, formats.cell, lang, write_cell)


def formats_for(wb, lang: str) -> Formats:
    f = _FORMATS.get(wb)
    if f is None:
        f = _FORMATS[wb] = Formats(wb, lang)
    return f


def write_cell(ws: ReviewSheet, row: int, col: int, cell: Cell, fmt) -> None:
    v = cell.value
    if v is None or (isinstance(v, float) and v != v):
        ws.put_blank(row, col, fmt)
    elif isinstance(v, str):
        ws.put_string(row, col, v, fmt)
    elif isinstance(v, bool):
        ws.write_boolean(row, col, v, fmt)
    elif isinstance(v, (dt.date, dt.datetime)):
        ws.write_datetime(row, col, v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day), fmt)
    else:
        ws.put_number(row, col, float(v), fmt)


def render_review(wb, review: Review, formats: Formats | None = None, *, defer_strings: bool = False):
    """Add one worksheet holding `review`; returns it. Charts reference the grids they sit beside.
    `defer_strings`: see ReviewSheet.defer_strings (the caller then calls resolve_strings)."""
    F = formats or formats_for(wb, review.lang)
    L = review.lang
    ws = wb.add_worksheet(review.sheet_name, worksheet_class=ReviewSheet)
    if defer_strings:
        ws.defer_strings()
    for i, w in enumerate(WIDTHS):
        ws.set_column(i, i, w)
    ws.set_column(CHART_COL, CHART_COL + 7, 10)
    ws.hide_gridlines(2)
    row = 0
    grid_at: dict[str, tuple[int, int, int]] = {}   # grid id -> (title row, first data row, n rows)
    chart_row = 0
    for b in review.blocks:
        if isinstance(b, Title):
            ws.put_string(row, 0, b.text, F.title)
            ws.put_string(row + 1, 0, b.subtitle, F.subtitle)
            row += 3
        elif isinstance(b, Fields):
            if b.title:
                ws.put_string(row, 0, b.title, F.section)
                row += 1
            for label, cell in b.rows:
                ws.put_string(row, 0, label, F.label)
                ws.put_cells(row, 1, (cell,), F, L)
                row += 1
            row += 1
        elif isinstance(b, Grid):
            ws.put_string(row, 0, b.title, F.section)
            ws.set_row(row + 1, 30)
            for j, h in enumerate(b.headers):
                ws.put_string(row + 1, j, h, F.header)
            first = row + 2
            for i, cells in enumerate(b.rows):
                ws.put_cells(first + i, 0, cells, F, L)
            if not b.rows and b.empty:
                ws.put_string(first, 0, b.empty, F.muted)
            grid_at[b.id] = (row, first, len(b.rows))
            row = first + max(len(b.rows), 1) + 1
        elif isinstance(b, Chart):
            _chart(wb, ws, review.sheet_name, b, grid_at, max(chart_row, grid_at[b.source][0]))
            chart_row = grid_at[b.source][0] + 16
        elif isinstance(b, Points):
            ws.put_string(row, 0, b.title, F.section)
            row += 1
            for p in b.items:
                ws.merge_range(row, 0, row, 6, "", F.point)
                ws.put_string(row, 0, "• " + p, F.point)
                ws.set_row(row, 15 * (1 + len(p) // 110))
                row += 1
            row += 1
    ws.set_landscape()
    ws.set_paper(9)                      # A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.print_area(0, 0, max(row, chart_row + 15), CHART_COL + 7)
    ws.set_footer("&L" + review.sheet_name + "&R&P / &N")
    return ws


def _chart(wb, ws, sheet: str, spec: Chart, grid_at, at_row: int) -> None:
    title_row, first, n = grid_at[spec.source]
    if n == 0:
        return
    chart = wb.add_chart({"type": spec.kind})
    colours = ("#1F4E78", "#ED7D31", "#A5A5A5")
    for k, col in enumerate(spec.series):
        chart.add_series({
            "name": [sheet, first - 1, col],
            "categories": [sheet, first, spec.categories, first + n - 1, spec.categories],
            "values": [sheet, first, col, first + n - 1, col],
            "fill": {"color": colours[k % len(colours)]},
        })
    chart.set_title({"name": spec.title, "name_font": {"size": 11}})
    chart.set_legend({"position": "bottom" if len(spec.series) > 1 else "none"})
    chart.set_size({"width": 560, "height": 300})
    ws.insert_chart(at_row, CHART_COL, chart)
