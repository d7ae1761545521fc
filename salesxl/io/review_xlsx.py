"""Render sheet layouts (salesxl.layout: reviews, the Forecast sheet, the Issues sheet's setup) with
XlsxWriter: formats from the layout's styles, merges, links, data bars, native charts, A4 print setup.
Text is always written as text (write_string).

Review sheets are `ReviewSheet`s: XlsxWriter worksheets whose cell XML is written by a faster loop (the
same XML, for the cell types a review holds), and which can be `freeze`d once complete: their cell XML
is built there and then and XlsxWriter's cell table dropped, so that a team workbook with a thousand
reviews does not hold a thousand cell tables until it is closed."""
from __future__ import annotations

import datetime as dt
import weakref
from typing import TYPE_CHECKING, Any, Sequence

import xlsxwriter
from xlsxwriter.format import Format

from salesxl.io._xlsxwriter_ext import FastSheet
from salesxl.io.cells import clean_str
from salesxl.layout import (AMOUNT, CHART_TITLE_PT, DASH_PT, MARKER_PT, STYLES, TOTAL_LINE, Cell, ChartSpec, SheetLayout,
                            number_format, quote_sheet, review_layout)

if TYPE_CHECKING:
    from salesxl.review import Review

_FORMATS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def format_props(fmt: str, style: str | None, lang: str) -> dict[str, Any]:
    """XlsxWriter format properties of a layout cell (style of salesxl.layout.STYLES, number format)."""
    st = STYLES.get(style, STYLES[None])
    props: dict[str, Any] = {}
    if st.bold:
        props["bold"] = True
    if st.italic:
        props["italic"] = True
    if st.size:
        props["font_size"] = st.size
    if st.colour:
        props["font_color"] = st.colour
    if st.fill:
        props["bg_color"] = st.fill
    if st.wrap:
        props["text_wrap"] = True
    if st.valign:
        props["valign"] = st.valign
    if st.align:
        props["align"] = st.align
    if st.underline:
        props["underline"] = 1
    if st.border:
        props.update(border=1, border_color=st.border)
    if st.top:
        props.update(top=2, top_color=TOTAL_LINE)
    if st.bottom_line:
        props.update(bottom=1, bottom_color=st.bottom_line)
    num = number_format(fmt, lang)
    if num:
        props["num_format"] = num
    return props


class Formats:
    """XlsxWriter formats are per workbook: created once and reused by every sheet rendered."""

    def __init__(self, wb: xlsxwriter.Workbook, lang: str):
        self.wb = wb
        self.lang = lang
        self._cache: dict[tuple, Any] = {}

    def cell(self, fmt: str, style: str | None, lang: str):
        key = (fmt, style, lang)
        f = self._cache.get(key)
        if f is None:
            f = self._cache[key] = self.wb.add_format(format_props(fmt, style, lang))
        return f


class ReviewSheet(FastSheet):
    """A review sheet: XlsxWriter's worksheet with the faster cell writing of `FastSheet`."""

    def put_cells(self, row: int, col0: int, cells: Sequence[Cell], formats: Formats, lang: str) -> None:
        """write_cell for each cell of a row from column `col0`, in one go."""
        super().put_cells(row, col0, cells, formats.cell, lang, write_cell)


def formats_for(wb: xlsxwriter.Workbook, lang: str) -> Formats:
    f = _FORMATS.get(wb)
    if f is None:
        f = _FORMATS[wb] = Formats(wb, lang)
    return f


def write_cell(ws: ReviewSheet, row: int, col: int, cell: Cell, fmt: Format | None) -> None:
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


def render_review(wb: xlsxwriter.Workbook, review: Review, formats: Formats | None = None, *,
                  defer_strings: bool = False) -> ReviewSheet:
    """Add one worksheet holding `review` (laid out by salesxl.layout.review_layout); returns it.
    `defer_strings`: see ReviewSheet.defer_strings (the caller then calls resolve_strings)."""
    return render_sheet(wb, review_layout(review), formats, defer_strings=defer_strings)


def render_sheet(wb: xlsxwriter.Workbook, lay: SheetLayout, formats: Formats | None = None, *,
                 ws: ReviewSheet | None = None, defer_strings: bool = False) -> ReviewSheet:
    """Render a SheetLayout with XlsxWriter on a new ReviewSheet (or on `ws`); returns the sheet."""
    formats = formats or formats_for(wb, lay.lang)
    if ws is None:
        ws = wb.add_worksheet(lay.name, worksheet_class=ReviewSheet)
    if defer_strings and hasattr(ws, "defer_strings"):
        ws.defer_strings()
    _render_cells(ws, lay, formats)
    apply_setup(wb, ws, lay, formats)
    return ws


def _render_cells(ws, lay: SheetLayout, formats: Formats) -> None:
    lang = lay.lang
    merged = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in lay.merges}      # each merged once, at its first write
    fast = hasattr(ws, "put_cells")
    for r, c0, cells in lay.runs:
        if merged and any((r, c0 + j) in merged for j in range(len(cells))):
            for j, cell in enumerate(cells):
                end = merged.pop((r, c0 + j), None)
                if end is not None:
                    fmt = formats.cell(cell.fmt, cell.style, lang)
                    ws.merge_range(r, c0 + j, end[0], end[1], None, fmt)
                    write_cell(ws, r, c0 + j, cell, fmt)
                else:
                    write_cell(ws, r, c0 + j, cell, formats.cell(cell.fmt, cell.style, lang))
        elif fast:
            ws.put_cells(r, c0, cells, formats, lang)
        else:
            for j, cell in enumerate(cells):
                write_cell(ws, r, c0 + j, cell, formats.cell(cell.fmt, cell.style, lang))


def apply_setup(wb: xlsxwriter.Workbook, ws: ReviewSheet, lay: SheetLayout, formats: Formats | None = None) -> None:
    """Everything of a layout but its cells: widths, heights, links, data bars, cell-value rules,
    charts, frozen panes, print setup (also for a sheet whose rows are streamed)."""
    formats = formats or formats_for(wb, lay.lang)
    lang = lay.lang
    _set_widths(ws, lay.widths)
    if not lay.gridlines:
        ws.hide_gridlines(2)
    for r, h in lay.heights.items():
        ws.set_row(r, h)
    cells = lay.grid() if lay.links else {}
    for link in lay.links:
        cell = cells.get((link.row, link.col)) or Cell(link.text, "text", "link")
        ws.write_url(link.row, link.col, f"internal:{quote_sheet(link.sheet)}!A1",
                     formats.cell(cell.fmt, cell.style, lang), clean_str(link.text))   # (the link's XML holds it raw)
    for bar in lay.data_bars:
        opts: dict[str, Any] = {"type": "data_bar", "bar_color": bar.colour, "bar_solid": True}
        if bar.minimum is not None:
            opts.update(min_type="num", min_value=bar.minimum)
        if bar.maximum is not None:
            opts.update(max_type="num", max_value=bar.maximum)
        ws.conditional_format(bar.first_row, bar.col, bar.last_row, bar.col, opts)
    for rule in lay.text_rules:
        ws.conditional_format(rule.first_row, rule.col, rule.last_row, rule.col,
                              {"type": "cell", "criteria": "==", "value": '"' + rule.text.replace('"', '""') + '"',
                               "format": formats.cell("text", rule.style, lang)})
    for spec in lay.charts:
        _chart(wb, ws, lay.name, spec)
    if lay.freeze:
        ws.freeze_panes(*lay.freeze)
    page = lay.print
    if page.landscape:
        ws.set_landscape()
    ws.set_paper(page.paper)
    if page.scale:
        ws.set_print_scale(page.scale)
    else:
        ws.fit_to_pages(page.fit_width, page.fit_height)
    ws.set_margins(left=page.margins[0], right=page.margins[1], top=page.margins[2], bottom=page.margins[3])
    if page.area:
        ws.print_area(*page.area)
    if page.repeat_rows:
        ws.repeat_rows(*page.repeat_rows)
    if page.breaks:
        ws.set_h_pagebreaks(list(page.breaks))
    if page.footer:
        ws.set_footer("&L" + page.footer.replace("&", "&&") + "&R&P / &N")


def _set_widths(ws, widths) -> None:
    j = 0
    while j < len(widths):
        k = j
        while k + 1 < len(widths) and widths[k + 1] == widths[j]:
            k += 1
        ws.set_column(j, k, widths[j])
        j = k + 1


def _chart(wb, ws, sheet: str, spec: ChartSpec) -> None:
    """A native chart. The range chart ("bullet"): a stacked column (invisible base to P10, then the
    P10–P90 band) combined with a line chart showing only markers (P50, won, objective)."""
    def ref(rect):
        return [sheet, rect[0], rect[1], rect[2], rect[3]]

    if spec.kind == "bullet":
        chart = wb.add_chart({"type": "column", "subtype": "stacked"})
        marks = wb.add_chart({"type": "line"})
        for s in spec.series:
            if s.role == "marker":
                marks.add_series({"name": s.name, "categories": ref(s.categories), "values": ref(s.values),
                                  "line": {"none": True},
                                  "marker": {"type": s.marker or "diamond", "size": DASH_PT if s.marker == "dash" else MARKER_PT,
                                             "fill": {"color": s.colour}, "border": {"color": s.colour}},
                                  "data_labels": {"value": True, "position": "right",
                                                  "num_format": number_format(AMOUNT, "en")}})
            elif s.role == "base":
                chart.add_series({"name": s.name, "categories": ref(s.categories), "values": ref(s.values),
                                  "fill": {"none": True}, "border": {"none": True}})
            else:
                chart.add_series({"name": s.name, "categories": ref(s.categories), "values": ref(s.values),
                                  "fill": {"color": s.colour}, "border": {"none": True}, "gap": 80})
        chart.combine(marks)
        chart.set_legend({"position": "bottom", "delete_series": [0]})
    else:
        kind = {"stacked_column": ("column", "stacked")}.get(spec.kind, (spec.kind, None))
        chart = wb.add_chart({"type": kind[0], **({"subtype": kind[1]} if kind[1] else {})})
        for s in spec.series:
            chart.add_series({"name": s.name, "categories": ref(s.categories), "values": ref(s.values),
                              "fill": {"color": s.colour} if s.colour else {}})
        chart.set_legend({"position": "bottom"} if spec.legend else {"none": True})
    axis: dict[str, Any] = {"num_format": spec.number_format} if spec.number_format else {}
    if spec.y_min is not None:
        axis["min"] = spec.y_min
    if spec.y_max is not None:
        axis["max"] = spec.y_max
    if axis:
        chart.set_y_axis(axis)
    chart.set_title({"name": spec.title, "name_font": {"size": CHART_TITLE_PT}})
    chart.set_size({"width": spec.width, "height": spec.height})
    ws.insert_chart(spec.row, spec.col, chart, {"object_position": 3})
