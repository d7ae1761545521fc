"""Render review blocks (salesxl.review) to an XlsxWriter worksheet: formats, risk colours, native
charts, A4 landscape print setup. Text is always written as text (write_string).

Review sheets are `ReviewSheet`s: XlsxWriter worksheets whose cell XML is written by a faster loop (the
same XML, for the cell types a review holds), and which can be `freeze`d once complete: their cell XML
is built there and then and XlsxWriter's cell table dropped, so that a team workbook with a thousand
reviews does not hold a thousand cell tables until it is closed."""
from __future__ import annotations

import datetime as dt
import itertools
import weakref
from array import array
import zlib
from io import StringIO
from typing import Any

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import CellBlankTuple, CellDatetimeTuple, CellNumberTuple, CellStringTuple, Worksheet

from salesxl.layout import STYLES, Cell, ChartSpec, SheetLayout, number_format, quote_sheet, review_layout

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
        props.update(top=2, top_color="#404040")
    if st.bottom_line:
        props.update(bottom=1, bottom_color=st.bottom_line)
    num = number_format(fmt, lang)
    if num:
        props["num_format"] = num
    return props


class Formats:
    """XlsxWriter formats are per workbook: created once and reused by every sheet rendered."""

    def __init__(self, wb, lang: str):
        self.wb = wb
        self.lang = lang
        self._cache: dict[tuple, Any] = {}

    def cell(self, fmt: str, style: str | None, lang: str):
        key = (fmt, style, lang)
        f = self._cache.get(key)
        if f is None:
            f = self._cache[key] = self.wb.add_format(format_props(fmt, style, lang))
        return f


def _strings_by_index(sst) -> list[str]:
    """The shared strings in index order (what XlsxWriter builds at close), kept up to date incrementally:
    strings get their index in the order they are first added, so the newest are the last keys."""
    cache = sst.__dict__.setdefault("_salesxl_by_index", [])
    missing = len(sst.string_table) - len(cache)
    if missing > 0:
        new = list(itertools.islice(reversed(sst.string_table), missing))
        new.reverse()
        cache.extend(new)
    if cache and sst.string_table.get(cache[-1]) != len(cache) - 1:      # not in index order after all
        cache[:] = sorted(sst.string_table, key=sst.string_table.__getitem__)
    return cache


class ReviewSheet(Worksheet):
    """A worksheet with a faster cell-XML loop (byte for byte XlsxWriter's, for numbers, dates, strings
    and blanks; other cells go through XlsxWriter's own writer), `freeze` and `defer_strings`."""

    _sheet_xml: bytes | None = None         # the frozen cell XML, deflated

    # -- shared strings given their numbers later: a sheet written before others that come first in
    #    the package (see defer_strings)
    def defer_strings(self) -> None:
        """Texts written from now on get their shared-string numbers only at `resolve_strings`, in the
        order they were written: a writer may fill an earlier sheet in between and still have the
        package XlsxWriter would have made had it written the sheets in order."""
        if not isinstance(self.str_table, _DeferredStrings) and not self.constant_memory:
            self.str_table = _DeferredStrings(self.str_table)

    def resolve_strings(self) -> None:
        """Number the deferred texts (in the shared-string table, in the order they were written)."""
        deferred = self.str_table
        if not isinstance(deferred, _DeferredStrings):
            return
        sst = deferred.sst
        number = sst._get_shared_string_index
        self._string_numbers = array("q", [number(t) for t in deferred.strings])
        self.str_table = sst
        if self._sheet_xml is None:             # not frozen: the cells get their numbers
            numbers = self._string_numbers
            for cells in self.table.values():
                for c, cell in cells.items():
                    if type(cell) is CellStringTuple:
                        cells[c] = CellStringTuple(numbers[cell.string], cell.format)

    # -- writing: XlsxWriter's write_string / write_number / write_blank without their per-call
    #    checks of A1 notation, storing the same cells (anything unusual goes through XlsxWriter)
    def put_string(self, row: int, col: int, string: str, cell_format=None) -> int:
        if self.constant_memory or len(string) > self.xls_strmax // 2:
            return self.write_string(row, col, string, cell_format)
        if self._check_dimensions(row, col):
            return -1
        self.table[row][col] = CellStringTuple(self.str_table._get_shared_string_index(string), cell_format)
        return 0

    def put_number(self, row: int, col: int, number: float, cell_format=None) -> int:
        if self.constant_memory or type(number) is not float or number - number != 0:   # nan, inf
            return self.write_number(row, col, number, cell_format)
        if self._check_dimensions(row, col):
            return -1
        self.table[row][col] = CellNumberTuple(number, cell_format)
        return 0

    def put_blank(self, row: int, col: int, cell_format=None) -> int:
        if cell_format is None:
            return 0
        if self.constant_memory:
            return self.write_blank(row, col, None, cell_format)
        if self._check_dimensions(row, col):
            return -1
        self.table[row][col] = CellBlankTuple(cell_format)
        return 0

    def put_cells(self, row: int, col0: int, cells, formats: "Formats", lang: str) -> None:
        """write_cell for each cell of a row from column `col0`: the same cells stored, in one go."""
        n = len(cells)
        if self.constant_memory or not (0 <= row < self.xls_rowmax and 0 <= col0 and col0 + n <= self.xls_colmax):
            for j, cell in enumerate(cells):
                write_cell(self, row, col0 + j, cell, formats.cell(cell.fmt, cell.style, lang))
            return
        fcell = formats.cell
        sst = self.str_table._get_shared_string_index
        strmax = self.xls_strmax // 2
        table_row = None
        lo = hi = None
        for j, cell in enumerate(cells):
            col = col0 + j
            fmt = fcell(cell.fmt, cell.style, lang)
            v = cell.value
            tv = type(v)
            if tv is str and len(v) <= strmax:
                stored = CellStringTuple(sst(v), fmt)
            elif tv is float and v - v == 0:
                stored = CellNumberTuple(v, fmt)
            elif v is None and fmt is not None:
                stored = CellBlankTuple(fmt)
            else:                       # anything else as write_cell does it (it keeps the dimensions)
                write_cell(self, row, col, cell, fmt)
                continue
            if table_row is None:
                table_row = self.table[row]
            table_row[col] = stored
            if lo is None:
                lo = col
            hi = col
        if lo is not None:              # the dimensions, as each cell's write would have set them
            self._check_dimensions(row, lo)
            self._check_dimensions(row, hi)

    def freeze(self, wb) -> None:
        """The sheet is complete: build its cell XML now and drop the cell table. The cached values of
        the charts inserted in this sheet (which read this sheet) are taken first, as XlsxWriter would
        take them at close. Nothing may be written to the sheet, nor read from it by a chart, afterwards.

        Style numbers are given by XlsxWriter in the order formats are first used as the package is
        written: the frozen XML holds a token per format, replaced at close in that same order, so the
        package is byte for byte what it would have been. A sheet holding other cells than numbers,
        dates, texts and blanks is left as it is."""
        if self._sheet_xml is not None or self.constant_memory or self.dim_rowmin is None:
            return
        if any(type(c) not in _FAST_CELLS for cells in self.table.values() for c in cells.values()) or \
                any(info.row_format for info in self.row_info.values()):
            return
        sst = self.str_table
        deferred = isinstance(sst, _DeferredStrings)     # (then it holds the texts by their numbers)
        if not deferred:
            saved_array, sst.string_array = sst.string_array, _strings_by_index(sst)
        try:
            for chart in [c[2] for c in self.charts]:
                for ch in (chart, chart.combined):
                    if ch is None:
                        continue
                    for c_range, r_id in ch.formula_ids.items():
                        if ch.formula_data[r_id] is not None:
                            continue
                        sheet, cells = wb._get_chart_range(c_range)
                        if sheet == self.name and cells is not None:
                            ch.formula_data[r_id] = self._get_range_data(*cells)
        finally:
            if not deferred:
                sst.string_array = saved_array
        saved, self.fh = self.fh, StringIO()
        self._tokens, self._token_formats, self._token_uses = {}, [], 0
        self._token_strings = deferred
        try:
            super()._write_sheet_data()
            xml = self.fh.getvalue()
        finally:
            self.fh = saved
            self._tokens = None
        # the only braces are the tokens ("{n}", filled in by str.format at close)
        if xml.count("{") != self._token_uses or xml.count("}") != self._token_uses:   # pragma: no cover
            self._token_formats, self._token_strings = [], False
            return
        self._sheet_xml = zlib.compress(xml.encode("utf-8"), 1)    # a tenth of the memory until close
        self.table.clear()

    _tokens: dict | None = None
    _token_formats: list = []
    _token_uses = 0
    _token_strings = False                  # the frozen XML holds tokens for deferred texts
    _string_numbers: Any = ()

    def _xf(self, fmt) -> Any:
        """A format's style number, or while freezing a token standing for it."""
        tokens = self._tokens
        if tokens is None:
            return fmt._get_xf_index()
        tok = tokens.get(id(fmt))
        if tok is None:
            tok = tokens[id(fmt)] = f"{{f{len(self._token_formats)}}}"
            self._token_formats.append(fmt)
        return tok

    def _write_sheet_data(self) -> None:
        if self._sheet_xml is None:
            return super()._write_sheet_data()
        xml = zlib.decompress(self._sheet_xml).decode("utf-8")
        # style numbers in the order the formats first appear (that of the tokens), as XlsxWriter would
        # number them here; deferred texts' numbers
        if self._token_formats or self._token_strings:
            fields = {f"f{i}": str(f._get_xf_index()) for i, f in enumerate(self._token_formats)}
            if self._token_strings:
                fields.update((f"s{i}", str(n)) for i, n in enumerate(self._string_numbers))
            xml = xml.format_map(fields)
        self.fh.write(xml)

    def _calculate_spans(self) -> None:
        # Worksheet._calculate_spans, from each row's own columns (the same spans, fewer lookups)
        spans = {}
        span_min = span_max = None
        table, comments = self.table, self.comments
        colmin, colmax = self.dim_colmin, self.dim_colmax
        for row_num in range(self.dim_rowmin, self.dim_rowmax + 1):
            cells = table.get(row_num)
            if cells:
                cols = [c for c in cells if colmin <= c <= colmax]
                if cols:
                    lo, hi = min(cols), max(cols)
                    span_min = lo if span_min is None else min(span_min, lo)
                    span_max = hi if span_max is None else max(span_max, hi)
            if row_num in comments:
                for col_num in range(colmin, colmax + 1):
                    if col_num in comments[row_num]:
                        span_min = col_num if span_min is None else min(span_min, col_num)
                        span_max = col_num if span_max is None else max(span_max, col_num)
            if ((row_num + 1) % 16 == 0) or row_num == self.dim_rowmax:
                if span_min is not None:
                    spans[int(row_num / 16)] = f"{span_min + 1}:{span_max + 1}"
                    span_min = None
        self.row_spans = spans

    def _write_rows(self) -> None:
        # Worksheet._write_rows with the common cells written here in one string per row
        self._calculate_spans()
        table, row_info, comments, col_info = self.table, self.row_info, self.comments, self.col_info
        colmin, colmax = self.dim_colmin, self.dim_colmax
        letters = {c: xl_col_to_name(c) for c in range(colmin, colmax + 1)}
        xf = self._xf
        style: dict = {}                # format -> ' s="…"' (its number, or while freezing its token)
        strings_later = self._tokens is not None and isinstance(self.str_table, _DeferredStrings)
        write = self.fh.write
        for row_num in range(self.dim_rowmin, self.dim_rowmax + 1):
            cells = table.get(row_num)
            if not (row_num in row_info or row_num in comments or cells):
                continue
            span = self.row_spans.get(int(row_num / 16))
            info = row_info.get(row_num)
            if not cells:
                self._write_empty_row(row_num, span, info)
                continue
            self._write_row(row_num, span, info)
            r = str(row_num + 1)
            out = []
            for col_num in sorted(c for c in cells if colmin <= c <= colmax):
                cell = cells[col_num]
                fmt = cell.format
                if not fmt:
                    if info is not None and info.row_format:
                        fmt = info.row_format
                    elif col_num in col_info and col_info[col_num].column_format is not None:
                        fmt = col_info[col_num].column_format
                if fmt:
                    s = style.get(fmt)
                    if s is None:
                        s = style[fmt] = f' s="{xf(fmt)}"'
                    if self._tokens is not None:
                        self._token_uses += 1
                    attr = f' r="{letters[col_num]}{r}"{s}'
                else:
                    attr = f' r="{letters[col_num]}{r}"'
                kind = type(cell)
                if kind is CellStringTuple:
                    if strings_later:
                        out.append(f'<c{attr} t="s"><v>{{s{cell.string}}}</v></c>')
                        self._token_uses += 1
                    else:
                        out.append(f'<c{attr} t="s"><v>{cell.string}</v></c>')
                elif kind is CellNumberTuple or kind is CellDatetimeTuple:
                    out.append(f"<c{attr}><v>{cell.number:.16G}</v></c>")
                elif kind is CellBlankTuple:
                    out.append(f"<c{attr}/>")
                else:                                   # any other cell: XlsxWriter's own writer
                    write("".join(out))
                    out = []
                    self._write_cell(row_num, col_num, cell)
            write("".join(out))
            self._xml_end_tag("row")


class _DeferredStrings:
    """Stands for the shared-string table of a sheet whose texts are numbered later: keeps them in
    order, numbered by their place in this list meanwhile."""

    def __init__(self, sst):
        self.sst = sst
        self.strings: list[str] = []

    def _get_shared_string_index(self, string: str) -> int:
        self.strings.append(string)
        return len(self.strings) - 1

    def _get_shared_string(self, index: int) -> str:
        return self.strings[index]

    def __getattr__(self, name):
        return getattr(self.sst, name)


_FAST_CELLS = frozenset({CellStringTuple, CellNumberTuple, CellDatetimeTuple, CellBlankTuple})


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


def render_review(wb, review, formats: Formats | None = None, *, defer_strings: bool = False):
    """Add one worksheet holding `review` (laid out by salesxl.layout.review_layout); returns it.
    `defer_strings`: see ReviewSheet.defer_strings (the caller then calls resolve_strings)."""
    return render_sheet(wb, review_layout(review), formats, defer_strings=defer_strings)


def render_sheet(wb, lay: SheetLayout, formats: Formats | None = None, *, ws=None, defer_strings: bool = False):
    """Render a SheetLayout with XlsxWriter on a new ReviewSheet (or on `ws`); returns the sheet."""
    F = formats or formats_for(wb, lay.lang)
    if ws is None:
        ws = wb.add_worksheet(lay.name, worksheet_class=ReviewSheet)
    if defer_strings and hasattr(ws, "defer_strings"):
        ws.defer_strings()
    _render_cells(ws, lay, F)
    apply_setup(wb, ws, lay, F)
    return ws


def _render_cells(ws, lay: SheetLayout, F: Formats) -> None:
    L = lay.lang
    merged = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in lay.merges}      # each merged once, at its first write
    fast = hasattr(ws, "put_cells")
    for r, c0, cells in lay.runs:
        if merged and any((r, c0 + j) in merged for j in range(len(cells))):
            for j, cell in enumerate(cells):
                end = merged.pop((r, c0 + j), None)
                if end is not None:
                    fmt = F.cell(cell.fmt, cell.style, L)
                    ws.merge_range(r, c0 + j, end[0], end[1], None, fmt)
                    write_cell(ws, r, c0 + j, cell, fmt)
                else:
                    write_cell(ws, r, c0 + j, cell, F.cell(cell.fmt, cell.style, L))
        elif fast:
            ws.put_cells(r, c0, cells, F, L)
        else:
            for j, cell in enumerate(cells):
                write_cell(ws, r, c0 + j, cell, F.cell(cell.fmt, cell.style, L))


def apply_setup(wb, ws, lay: SheetLayout, formats: Formats | None = None) -> None:
    """Everything of a layout but its cells: widths, heights, links, data bars, cell-value rules,
    charts, frozen panes, print setup (also for a sheet whose rows are streamed)."""
    F = formats or formats_for(wb, lay.lang)
    L = lay.lang
    _set_widths(ws, lay.widths)
    if not lay.gridlines:
        ws.hide_gridlines(2)
    for r, h in lay.heights.items():
        ws.set_row(r, h)
    cells = lay.grid() if lay.links else {}
    for link in lay.links:
        cell = cells.get((link.row, link.col)) or Cell(link.text, "text", "link")
        ws.write_url(link.row, link.col, f"internal:{quote_sheet(link.sheet)}!A1",
                     F.cell(cell.fmt, cell.style, L), link.text)
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
                               "format": F.cell("text", rule.style, L)})
    for spec in lay.charts:
        _chart(wb, ws, lay.name, spec)
    if lay.freeze:
        ws.freeze_panes(*lay.freeze)
    p = lay.print
    if p.landscape:
        ws.set_landscape()
    ws.set_paper(p.paper)
    if p.scale:
        ws.set_print_scale(p.scale)
    else:
        ws.fit_to_pages(p.fit_width, p.fit_height)
    ws.set_margins(left=p.margins[0], right=p.margins[1], top=p.margins[2], bottom=p.margins[3])
    if p.area:
        ws.print_area(*p.area)
    if p.repeat_rows:
        ws.repeat_rows(*p.repeat_rows)
    if p.breaks:
        ws.set_h_pagebreaks(list(p.breaks))
    if p.footer:
        ws.set_footer("&L" + p.footer.replace("&", "&&") + "&R&P / &N")


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
                                  "marker": {"type": s.marker or "diamond", "size": 14 if s.marker == "dash" else 10,
                                             "fill": {"color": s.colour}, "border": {"color": s.colour}},
                                  "data_labels": {"value": True, "position": "right", "num_format": "#,##0"}})
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
    chart.set_title({"name": spec.title, "name_font": {"size": 10}})
    chart.set_size({"width": spec.width, "height": spec.height})
    ws.insert_chart(spec.row, spec.col, chart, {"object_position": 3})
