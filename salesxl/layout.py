"""Sheet layouts: the review, Forecast and Issues sheets laid out once, as data, for two renderers.

A `SheetLayout` says everything a renderer writes on a sheet: cells (value, number format, style) by
position, merged ranges, row heights, column widths, internal hyperlinks, data bars, cell-value rules,
native charts (series given as cell ranges of the same sheet), freeze panes and the print setup (A4
landscape, scale, page breaks, print titles, footer). The file writer (io/review_xlsx.py, XlsxWriter)
and the live-workbook writer (io/live.py, xlwings) only translate it; neither decides where anything
goes. Styles (colours, fonts, number formats) are declared here and nowhere else, and so are the
sheet-name rule (`sheet_name`) and the name-matching rule (`name_key`).

Pure core: no file format is imported here.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, NamedTuple, Sequence

from salesxl.contract import DEFAULT_CURRENCY
from salesxl.i18n import pick
from salesxl.review_text import TEXTS, counted_text, text_of
from salesxl.values import label_key

if TYPE_CHECKING:
    from salesxl.forecast import TeamForecast
    from salesxl.issues import Issue
    from salesxl.review import Review

__all__ = [
    "TEXT", "AMOUNT", "PERCENT", "DATE", "INT", "RATIO", "SIGNED_AMOUNT", "SIGNED_POINTS", "KAMOUNT",
    "ROUNDED_AMOUNT_FORMAT", "INTEGER_FORMAT", "RATIO_FORMAT", "TEXT_FORMAT",
    "HEADER_COLOUR", "WHITE", "OPTIONAL_HEADER", "COMPUTED_HEADER", "GOOD", "WARN", "BAD", "AHEAD_FILL",
    "GRID_BORDER", "TOTAL_LINE", "NOTE_FILL", "ERROR_FILL", "WARNING_FILL", "rgb_hex", "STYLES", "Style", "number_format", "Cell", "Link", "DataBar", "TextRule",
    "Series", "ChartSpec", "CHART_TITLE_PT", "MARKER_PT", "DASH_PT", "PrintSetup", "SheetLayout", "name_key", "sheet_name", "quote_sheet",
    "sheet_text", "utf16_cut", "A4_LANDSCAPE_WIDTH_PT", "A4_LANDSCAPE_HEIGHT_PT", "width_points", "fit_scale", "text_lines",
    "DATE_FORMATS", "TABLE_AMOUNT_FORMAT", "TABLE_PERCENT_FORMAT", "SEVERITY_LABELS",
    "Title", "Fields", "Grid", "Chart", "Points", "review_layout", "forecast_layout",
    "team_label", "ISSUE_COLUMNS", "ISSUE_MESSAGE_COL", "NO_ISSUES", "stored_width", "issues_in_order", "issue_values", "issue_row_height", "issue_rows", "issues_frame", "issues_layout",
]

# -- value formats understood by every renderer ------------------------------------------------
TEXT, AMOUNT, PERCENT, DATE, INT, RATIO = "text", "amount", "percent", "date", "int", "ratio"
SIGNED_AMOUNT, SIGNED_POINTS, KAMOUNT = "signed_amount", "signed_points", "kamount"

ROUNDED_AMOUNT_FORMAT = "#,##0"       # amounts on the generated sheets, chart axes and labels
INTEGER_FORMAT = "0"
RATIO_FORMAT = "0.00"
TEXT_FORMAT = "@"                      # Excel's text format (a cell typed into stays text)
_NUMBER_FORMATS = {
    AMOUNT: ROUNDED_AMOUNT_FORMAT,
    PERCENT: "0.0%",                  # one decimal: the same figure as the talking points write
    INT: INTEGER_FORMAT,
    RATIO: RATIO_FORMAT,
    SIGNED_AMOUNT: "+#,##0;-#,##0;0",
    SIGNED_POINTS: '+0.0" pt";-0.0" pt";0',
    KAMOUNT: '#,##0.0,"k"',
    TEXT: None,
}
DATE_FORMATS = {"en": "yyyy-mm-dd", "fr": "dd/mm/yyyy"}
TABLE_AMOUNT_FORMAT = "#,##0.00"       # the consolidated tables' amounts (as typed, with cents)
TABLE_PERCENT_FORMAT = "0%"            # the consolidated tables' probabilities (as the template shows them)


def number_format(fmt: str, lang: str) -> str | None:
    """The Excel number format of a value format."""
    if fmt == DATE:
        return DATE_FORMATS.get(lang, DATE_FORMATS["en"])
    return _NUMBER_FORMATS.get(fmt)


# -- the palette: every colour a renderer draws, as "#RRGGBB" ------------------------------------------
# XlsxWriter and xlwings take this spelling as it is; openpyxl and the package XML take `rgb_hex`'s.
HEADER_COLOUR = "#1F4E78"             # dark blue: headers, titles, section lines (also the templates')
WHITE = "#FFFFFF"                     # text on a header
OPTIONAL_HEADER = "#5B9BD5"           # the templates' optional columns; the attainment data bar
COMPUTED_HEADER = "#7F7F7F"           # the templates' computed columns (native formulas)
GOOD, WARN, BAD = ("#C6EFCE", "#006100"), ("#FFEB9C", "#9C5700"), ("#FFC7CE", "#9C0006")   # (fill, text)
AHEAD_FILL = "#BDD7EE"                # the templates' Planning rows ahead of pace
GROUP_FILL = "#DDEBF7"
GRID_BORDER = "#D9D9D9"
TOTAL_LINE = "#404040"                # the line above a subtotal row
LABEL_COLOUR = "#404040"
NOTE_COLOUR = "#595959"
MUTED_COLOUR = "#808080"
LINK_COLOUR = "#0563C1"
NOTE_FILL = "#FFFFE1"                 # a cell note's background (Excel's own)
LIGHT_BLUE, ORANGE, GREY, GREEN = "#9DC3E6", "#ED7D31", "#A5A5A5", "#70AD47"       # chart series, data bars
MARK_GREEN, MARK_RED, MARK_PURPLE = "#00B050", "#C00000", "#7030A0"                 # the range chart's markers
# the add-in's and the annotated copy's marks: an invalid cell (Excel's "Bad" fill), a doubtful one ("Neutral")
ERROR_FILL, WARNING_FILL = BAD[0], WARN[0]


def rgb_hex(colour: str, alpha: bool = False) -> str:
    """A palette colour as openpyxl and the package XML spell it: "RRGGBB", or "FFRRGGBB" (opaque)
    with `alpha`."""
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
        raise ValueError(f"not a palette colour (#RRGGBB): {colour!r}")
    return ("FF" if alpha else "") + colour[1:].upper()


# -- styles --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    bold: bool = False
    italic: bool = False
    size: float | None = None
    colour: str | None = None             # font colour
    fill: str | None = None
    wrap: bool = False
    valign: str | None = None             # top | vcenter
    align: str | None = None              # left | center | right
    border: str | None = None             # colour of a thin border around the cell
    top: bool = False                     # a thin line above (subtotal rows)
    underline: bool = False
    bottom_line: str | None = None        # colour of a line under (section titles)


STYLES: dict[str | None, Style] = {
    None: Style(border=GRID_BORDER),                                   # a grid's data cell
    "plain": Style(),
    "title": Style(bold=True, size=16, colour=HEADER_COLOUR),
    "subtitle": Style(italic=True, colour=NOTE_COLOUR),
    "section": Style(bold=True, size=12, colour=HEADER_COLOUR, bottom_line=HEADER_COLOUR),
    "header": Style(bold=True, colour=WHITE, fill=HEADER_COLOUR, wrap=True, valign="vcenter",
                    border=GRID_BORDER),
    "group": Style(bold=True, colour=HEADER_COLOUR, fill=GROUP_FILL, border=GRID_BORDER),
    "label": Style(colour=LABEL_COLOUR),
    "point": Style(wrap=True, valign="top"),
    "wrap": Style(wrap=True, valign="top", border=GRID_BORDER),
    "top": Style(valign="top"),
    "muted": Style(italic=True, colour=MUTED_COLOUR),
    "note": Style(italic=True, colour=NOTE_COLOUR),
    "bold": Style(bold=True, border=GRID_BORDER),
    "good": Style(bold=True, fill=GOOD[0], colour=GOOD[1], border=GRID_BORDER),
    "warn": Style(bold=True, fill=WARN[0], colour=WARN[1], border=GRID_BORDER),
    "bad": Style(bold=True, fill=BAD[0], colour=BAD[1], border=GRID_BORDER),
    "up": Style(bold=True, colour=GOOD[1], border=GRID_BORDER, align="center"),
    "down": Style(bold=True, colour=BAD[1], border=GRID_BORDER, align="center"),
    "link": Style(colour=LINK_COLOUR, underline=True, border=GRID_BORDER),
    "link_plain": Style(colour=LINK_COLOUR, underline=True),
    "total": Style(bold=True, top=True, border=GRID_BORDER),
    "error": Style(fill=BAD[0], colour=BAD[1]),
    "warning": Style(fill=WARN[0], colour=WARN[1]),
}


class Cell(NamedTuple):
    value: Any
    fmt: str = TEXT
    style: str | None = None           # a key of STYLES


@dataclass(frozen=True)
class Link:
    """An internal hyperlink on the cell (row, col): to cell A1 of `sheet`."""
    row: int
    col: int
    sheet: str
    text: str


@dataclass(frozen=True)
class DataBar:
    first_row: int
    col: int
    last_row: int
    colour: str = OPTIONAL_HEADER
    minimum: float | None = 0.0
    maximum: float | None = 1.0


@dataclass(frozen=True)
class TextRule:
    """Cells of a column range equal to `text` take `style` (a conditional format)."""
    first_row: int
    col: int
    last_row: int
    text: str
    style: str


@dataclass(frozen=True)
class Series:
    """One series of a chart; a marker's size in points is MARKER_PT (a dash is drawn wider, DASH_PT)."""
    name: str
    categories: tuple[int, int, int, int]      # (first row, first col, last row, last col)
    values: tuple[int, int, int, int]
    colour: str | None = None
    role: str = "bar"                          # bar | base (invisible) | marker (no line, a marker)
    marker: str | None = None                  # for markers: square | diamond | dash | triangle | circle


CHART_TITLE_PT = 10                            # a chart's title, in points
MARKER_PT = 10                                 # a marker series' marker
DASH_PT = 14                                   # a dash marker (a target line across a bar)


@dataclass(frozen=True)
class ChartSpec:
    kind: str                                  # column | bar | stacked_column
    title: str
    series: tuple[Series, ...]
    row: int                                   # anchor (top-left cell)
    col: int
    width: int                                 # pixels
    height: int
    legend: bool = True
    y_min: float | None = None
    y_max: float | None = None
    number_format: str | None = None           # the value axis
    fallback: "ChartSpec | None" = None        # what an engine that cannot combine chart types draws


@dataclass
class PrintSetup:
    landscape: bool = True
    paper: int = 9                             # A4
    scale: int | None = None                   # percent; None: fit to `fit_width` pages wide
    fit_width: int = 1
    fit_height: int = 0                        # 0: as many pages tall as needed
    area: tuple[int, int, int, int] | None = None
    repeat_rows: tuple[int, int] | None = None
    breaks: tuple[int, ...] = ()               # manual page breaks before these rows
    footer: str | None = None                  # left footer text (page numbers on the right)
    estimated_scale: int | None = None         # the scale the pages are expected to print at (Calibri)
    margins: tuple[float, float, float, float] = (0.4, 0.4, 0.5, 0.5)     # left, right, top, bottom (inches)


@dataclass
class SheetLayout:
    name: str
    lang: str
    widths: list[float] = field(default_factory=list)
    runs: list[tuple[int, int, tuple[Cell, ...]]] = field(default_factory=list)   # (row, first col, cells)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    data_bars: list[DataBar] = field(default_factory=list)
    text_rules: list[TextRule] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    freeze: tuple[int, int] | None = None
    gridlines: bool = False
    print: PrintSetup = field(default_factory=PrintSetup)
    # where named blocks went: id -> (title row, first data row, number of rows, first column)
    blocks: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)

    def put(self, row: int, col: int, *cells: Cell) -> None:
        if cells:
            self.runs.append((row, col, tuple(cells)))

    def text(self, row: int, col: int, value: str, style: str | None = "plain") -> None:
        self.runs.append((row, col, (Cell(value, TEXT, style),)))

    def last_row(self) -> int:
        rows = [r for r, _, _ in self.runs] + [m[2] for m in self.merges] + \
               [c.row + _px_rows(c.height) for c in self.charts]
        return max(rows) if rows else 0

    def grid(self) -> dict[tuple[int, int], Cell]:
        """Every cell by (row, col)."""
        out: dict[tuple[int, int], Cell] = {}
        for r, c0, cells in self.runs:
            for j, cell in enumerate(cells):
                out[(r, c0 + j)] = cell
        return out

    def values(self, ncols: int | None = None) -> list[list[Any]]:
        """The cells' values as a dense block from A1 (None where nothing is written)."""
        g = self.grid()
        if not g:
            return []
        nrows = max(r for r, _ in g) + 1
        ncols = ncols or max(c for _, c in g) + 1
        out = [[None] * ncols for _ in range(nrows)]
        for (r, c), cell in g.items():
            if c < ncols:
                out[r][c] = cell.value
        return out


# -- names -----------------------------------------------------------------------------------------
def name_key(name: str) -> str:
    """How names are matched everywhere, files and open workbook alike (sheets, headers, settings):
    values.label_key — case, accents, Unicode form and spaces ignored ("Parametres" is "Paramètres")."""
    return label_key(name)


_ILLEGAL_SHEET = re.compile(r"[\[\]:*?/\\]")
_X_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")          # how Excel stores a control character in a text
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
SHEET_MAX = 31                                           # UTF-16 units, as Excel counts


def sheet_text(text: str) -> str:
    """A name made fit for a sheet tab: `_x0007_` escapes decoded; line breaks and the characters Excel
    forbids in a sheet name replaced by spaces, other control characters removed, spaces collapsed."""
    s = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), str(text))
    s = _UNPRINTABLE.sub("", _ILLEGAL_SHEET.sub(" ", _BREAKS.sub(" ", s)))
    return " ".join(s.split())


def utf16_cut(s: str, units: int) -> str:
    """The longest start of `s` within `units` UTF-16 code units (Excel's length), a pair never split."""
    out, n = [], 0
    for ch in s:
        n += 2 if ord(ch) > 0xFFFF else 1
        if n > units:
            break
        out.append(ch)
    return "".join(out)


def sheet_name(base: str, taken: set[str] | None = None) -> str:
    """The one sheet-name rule: `sheet_text(base)`, at most 31 UTF-16 units, no apostrophe at either end,
    unique among `taken` by `name_key` (case and accents: "(2)", "(3)"… added); the name is added to
    `taken`."""
    taken = taken if taken is not None else set()
    clean = sheet_text(base).strip("'").strip() or "Sheet"
    name = utf16_cut(clean, SHEET_MAX).rstrip().strip("'")
    keys = {name_key(n) for n in taken}
    i = 2
    while name_key(name) in keys:
        suffix = f" ({i})"
        name = utf16_cut(clean, SHEET_MAX - len(suffix)).rstrip().strip("'") + suffix
        i += 1
    taken.add(name)
    return name


def quote_sheet(name: str) -> str:
    """The sheet name as a formula or link reference takes it: 'Review – A'!A1."""
    return "'" + name.replace("'", "''") + "'"


# -- page arithmetic (what a renderer's page will hold) -----------------------------------------------
A4_LANDSCAPE_WIDTH_PT = 842.0
A4_LANDSCAPE_HEIGHT_PT = 595.0
DEFAULT_ROW_PT = 15.0


def width_points(chars: float) -> float:
    """A column of `chars` characters (Excel's width unit, default font) in points."""
    return (int(chars * 7 + 0.5) + 5) * 0.75


def stored_width(chars: float) -> float:
    """The width a package stores for a column of `chars` characters (default font): the pixels, padding
    included, in characters, to 1/256 (what Excel and XlsxWriter write)."""
    return ((int(chars * 7 + 0.5) + 5) * 256 // 7) / 256.0


def _px_rows(px: int) -> int:
    return math.ceil(px * 0.75 / DEFAULT_ROW_PT)


def printable(setup: PrintSetup) -> tuple[float, float]:
    """Printable width and height (points) of an A4 landscape page with the setup's margins, less room
    for the footer."""
    left, right, top, bottom = setup.margins
    w = A4_LANDSCAPE_WIDTH_PT - (left + right) * 72
    h = A4_LANDSCAPE_HEIGHT_PT - (top + bottom) * 72 - 14
    return w, h


def fit_scale(widths: Sequence[float], page_heights: Iterable[float], setup: PrintSetup) -> int:
    """The print scale (percent) at which the columns fit one page wide and each page's rows (their
    heights in points) fit one page tall."""
    w, h = printable(setup)
    total = sum(width_points(x) for x in widths)
    scale = min(1.0, w / total) if total else 1.0
    for ph in page_heights:
        if ph > 0:
            scale = min(scale, h / ph)
    return max(10, int(scale * 100))


def text_lines(text: str, chars_per_line: float) -> int:
    """Lines a wrapped text takes in a cell `chars_per_line` characters wide (words kept whole)."""
    if chars_per_line <= 0:
        return 1
    lines, used = 1, 0
    for word in str(text).split():
        n = len(word)
        if used and used + 1 + n > chars_per_line:
            lines += 1
            used = n
        else:
            used += (1 if used else 0) + n
    return lines


# -- review content blocks (built by salesxl.review, placed by review_layout) ---------------------------
@dataclass(frozen=True)
class Title:
    text: str
    subtitle: str
    back: str = ""                             # text of the link back to the Forecast sheet


@dataclass(frozen=True)
class Fields:
    title: str
    rows: tuple[tuple[str, Cell], ...]
    id: str = ""


@dataclass(frozen=True)
class Grid:
    id: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str = ""
    footer: str = ""                           # one line under the rows (e.g. "and 12 more: …")


@dataclass(frozen=True)
class Chart:
    kind: str                                  # column | bar | bullet
    title: str
    source: str                                # Grid id
    categories: int                            # column index in the grid
    series: tuple[int, ...]                    # column indexes


@dataclass(frozen=True)
class Points:
    title: str
    items: tuple[str, ...]


# -- the review sheet ------------------------------------------------------------------------------------
REVIEW_WIDTHS = (30, 12, 12, 12, 12, 12, 12, 2, 10, 10, 10, 10, 10, 10)
REVIEW_LAST_COL = len(REVIEW_WIDTHS) - 1      # N: the printed width
REVIEW_RIGHT = 8                               # I: charts and right-hand grids
CHART_DATA_COL = 16                            # Q: the bullet chart's numbers, outside the print area
_POINT_CHARS = sum(REVIEW_WIDTHS) * 1.05       # characters per line of a talking point (A..N merged)
_PX_PER_ROW = 20


def review_layout(review: Review) -> SheetLayout:
    """Where everything of a review goes. Page 1: header, where we stand with the range chart, the
    talking points, plan vs done; a page break; page 2: results | reasons, the open proposals that
    matter most (| slipping), track record | calibration. The print scale is the one at which each page
    fits one A4 landscape page (width and height)."""
    lay = SheetLayout(review.sheet_name, review.lang, list(REVIEW_WIDTHS))
    blocks = {getattr(b, "id", ""): b for b in review.blocks if getattr(b, "id", "")}
    title = next(b for b in review.blocks if isinstance(b, Title))
    points = next((b for b in review.blocks if isinstance(b, Points)), None)
    charts = [b for b in review.blocks if isinstance(b, Chart)]

    lay.text(0, 0, title.text, "title")
    lay.heights[0] = 24
    if title.back and getattr(review, "back_sheet", None):
        lay.merges.append((0, 11, 0, REVIEW_LAST_COL))
        lay.text(0, 11, title.back, "link_plain")
        lay.links.append(Link(0, 11, review.back_sheet, title.back))
    lay.text(1, 0, title.subtitle, "subtitle")

    # header (left), where we stand (right), the range chart (far right)
    bottom = 3
    left = blocks.get("header")
    if left is not None:
        bottom = max(bottom, _fields(lay, left, 3, 0, value_span=2))
    status = blocks.get("status")
    if status is not None:
        bottom = max(bottom, _fields(lay, status, bottom + 1, 0, value_span=2))
    right = blocks.get("kpis")
    if right is not None:
        bottom = max(bottom, _fields(lay, right, 3, 3, label_span=3, value_span=1))
    rng = blocks.get("range")
    bullet = next((c for c in charts if c.kind == "bullet"), None)
    if rng is not None and bullet is not None:
        top = 3
        height = max(bottom - top + 1, 12) * _PX_PER_ROW
        lay.charts.append(_bullet_chart(lay, rng, bullet, top, height))
        bottom = max(bottom, top + height // _PX_PER_ROW)
    row = bottom + 2

    # talking points, across the page
    if points is not None:
        lay.text(row, 0, points.title, "section")
        row += 1
        for p in points.items:
            lay.merges.append((row, 0, row, REVIEW_LAST_COL))
            lay.text(row, 0, "• " + p, "point")
            lay.heights[row] = DEFAULT_ROW_PT * text_lines("• " + p, _POINT_CHARS) + 2
            row += 1
        row += 1

    # plan vs done with its chart
    plan = blocks.get("plan")
    if plan is not None:
        end = _grid(lay, plan, row, 0)
        spec = next((c for c in charts if c.source == "plan"), None)
        if spec is not None and plan.rows:
            rows = max(end - row, 7)
            lay.charts.append(_grid_chart(lay, plan, spec, row, REVIEW_RIGHT, rows * _PX_PER_ROW))
            end = max(end, row + rows)
        row = end + 1
    page1_end = row
    lay.print.breaks = (page1_end,)

    # page 2
    row = page1_end
    row = max(_grid(lay, blocks["results"], row, 0) if "results" in blocks else row,
              _grid(lay, blocks["reasons"], row, REVIEW_RIGHT) if "reasons" in blocks else row) + 1
    top = row
    ends = [row]
    if "proposals" in blocks:
        ends.append(_grid(lay, blocks["proposals"], top, 0))
    if "slippage" in blocks:
        ends.append(_grid(lay, blocks["slippage"], top, REVIEW_RIGHT))
    row = max(ends) + 1
    ends = [row]
    if "track" in blocks:
        ends.append(_grid(lay, blocks["track"], row, 0))
    if "calibration" in blocks:
        ends.append(_grid(lay, blocks["calibration"], row, REVIEW_RIGHT))
    row = max(ends)
    last = max(row, lay.last_row())

    heights = [lay.heights.get(r, DEFAULT_ROW_PT) for r in range(last + 1)]
    p1 = sum(heights[:page1_end])
    p2 = sum(heights[page1_end:])
    # one page wide (whatever the fonts), page 1 ending at the break; the scale at which both pages
    # also fit one page tall is kept as the estimate of the printed size
    lay.print.fit_width, lay.print.fit_height = 1, 0
    lay.print.estimated_scale = fit_scale(REVIEW_WIDTHS, (p1, p2), lay.print)
    lay.print.area = (0, 0, last, REVIEW_LAST_COL)
    lay.print.footer = review.sheet_name
    return lay


def _fields(lay: SheetLayout, b: Fields, row: int, col: int, *, label_span: int = 1, value_span: int = 1) -> int:
    """Label/value rows; returns the last row used."""
    if b.title:
        lay.text(row, col, b.title, "section")
        if label_span + value_span > 1:
            lay.put(row, col + 1, *[Cell(None, TEXT, "section")] * (label_span + value_span - 1))
        row += 1
    for label, cell in b.rows:
        lay.text(row, col, label, "label")
        if label_span > 1:
            lay.merges.append((row, col, row, col + label_span - 1))
        vcol = col + label_span
        lay.put(row, vcol, cell)
        if value_span > 1:
            lay.merges.append((row, vcol, row, vcol + value_span - 1))
            lay.put(row, vcol + 1, *[Cell(None, cell.fmt, cell.style)] * (value_span - 1))
        row += 1
    return row - 1


def _grid(lay: SheetLayout, b: Grid, row: int, col: int) -> int:
    """A titled grid at (row, col); returns the row after it."""
    lay.text(row, col, b.title, "section")
    lay.put(row + 1, col, *[Cell(h, TEXT, "header") for h in b.headers])
    widths = lay.widths[col:col + len(b.headers)]
    lines = max([text_lines(h, max(w * 0.85 - 1, 1)) for h, w in zip(b.headers, widths)] + [2])
    lay.heights[row + 1] = DEFAULT_ROW_PT * lines
    first = row + 2
    for i, cells in enumerate(b.rows):
        lay.put(first + i, col, *cells)
    n = len(b.rows)
    end = first + max(n, 1)
    if not b.rows and b.empty:
        lay.text(first, col, b.empty, "muted")
    if b.footer:
        lay.text(first + n, col, b.footer, "note")
        end = first + n + 1
    lay.blocks[b.id] = (row, first, n, col)
    return end


def _grid_chart(lay: SheetLayout, b: Grid, spec: Chart, row: int, col: int, height: int) -> ChartSpec:
    _, first, n, c0 = lay.blocks[b.id]
    colours = (HEADER_COLOUR, ORANGE, GREY)
    series = tuple(Series(b.headers[s], (first, c0 + spec.categories, first + n - 1, c0 + spec.categories),
                          (first, c0 + s, first + n - 1, c0 + s), colours[k % len(colours)])
                   for k, s in enumerate(spec.series))
    width = int(sum(width_points(w) for w in REVIEW_WIDTHS[col:]) / 0.75)
    return ChartSpec(spec.kind, spec.title, series, row, col, width, height, legend=len(series) > 1)


def _bullet_chart(lay: SheetLayout, b: Grid, spec: Chart, row: int, height: int) -> ChartSpec:
    """The range chart: one column from P10 to P90 (an invisible base, then the band), and markers for
    P50, won, the objective and, when the grid has a sixth row, the history's expected value. Its numbers
    are written beside the page (outside the print area); an engine that cannot combine chart types
    draws the values as bars (`fallback`)."""
    c = CHART_DATA_COL
    labels = [r[0].value for r in b.rows]          # objective, won, P10, P50, P90[, expected]
    numbers = [r[1].value for r in b.rows]
    objective, won, p10, p50, p90 = numbers[:5]
    extra = list(zip(labels[5:6], numbers[5:6]))   # the history's expected value, when there is one
    lay.text(row, c, b.title, "muted")
    lay.put(row + 1, c, *[Cell(h, TEXT, "plain") for h in ["", "P10", "P10–P90", "P50", labels[1], labels[0],
                                                             *(lab for lab, _ in extra)]])
    band = (p90 - p10) if p10 is not None and p90 is not None else None
    lay.put(row + 2, c, Cell(""), *[Cell(v, AMOUNT, "plain") for v in (p10, band, p50, won, objective,
                                                                        *(v for _, v in extra))])
    # the same numbers as a column, for the fallback bar chart
    for i, (lab, v) in enumerate(zip(labels, numbers)):
        lay.put(row + 4 + i, c, Cell(lab, TEXT, "plain"), Cell(v, AMOUNT, "plain"))
    r = row + 2
    cat = (r, c, r, c)
    series = (
        Series("P10", cat, (r, c + 1, r, c + 1), None, "base"),
        Series("P10–P90", cat, (r, c + 2, r, c + 2), LIGHT_BLUE, "bar"),
        Series("P50", cat, (r, c + 3, r, c + 3), HEADER_COLOUR, "marker", "diamond"),
        Series(labels[1], cat, (r, c + 4, r, c + 4), MARK_GREEN, "marker", "square"),
        Series(labels[0], cat, (r, c + 5, r, c + 5), MARK_RED, "marker", "dash"),
        *(Series(lab, cat, (r, c + 6, r, c + 6), MARK_PURPLE, "marker", "triangle") for lab, _ in extra),
    )
    width = int(sum(width_points(w) for w in REVIEW_WIDTHS[REVIEW_RIGHT:]) / 0.75)
    last = row + 4 + len(numbers) - 1
    fallback = ChartSpec("bar", spec.title, (Series(b.headers[-1] if b.headers else "", (row + 4, c, last, c),
                                                    (row + 4, c + 1, last, c + 1), HEADER_COLOUR),),
                         row, REVIEW_RIGHT, width, height, legend=False)
    return ChartSpec("bullet", spec.title, series, row, REVIEW_RIGHT, width, height, legend=True, y_min=0,
                     number_format=ROUNDED_AMOUNT_FORMAT, fallback=fallback)


# -- the team Forecast sheet: the manager's dashboard -----------------------------------------------------
_RISK_ORDER = {"off_track": 0, "at_risk": 1, "on_track": 2, None: 3}
_RISK_STYLE = {"on_track": "good", "at_risk": "warn", "off_track": "bad"}
_MOVES = ("new", "won", "lost", "pushed", "changed")


def _fc_columns(lang: str, expected: bool, history: bool = False) -> list[tuple[str, str, str, float]]:
    """(key, header, value format, width) of the Forecast sheet's main table."""
    cols = [("rep", text_of("rep", lang), TEXT, 20), ("period_end", text_of("fc_period_end", lang), DATE, 11),
            ("objective", text_of("objective", lang), AMOUNT, 11), ("won", text_of("won", lang), AMOUNT, 10),
            ("forecast", text_of("fc_d_forecast", lang), AMOUNT, 10)]
    if expected:
        cols.append(("expected", text_of("fc_expected", lang), AMOUNT, 11))
        cols.append(("basis", text_of("basis", lang), TEXT, 9))
    cols += [("attainment", text_of("attainment", lang), PERCENT, 10), ("p_reach", text_of("p_reach", lang), PERCENT, 10)]
    if history:
        cols.append(("p_reach_declared", text_of("p_reach_declared", lang), PERCENT, 10))
    cols += [("risk", text_of("fc_d_risk", lang), TEXT, 11),
             ("d_won", text_of("fc_d_won", lang), SIGNED_AMOUNT, 10), ("d_forecast", text_of("fc_d_fc", lang), SIGNED_AMOUNT, 10),
             ("d_p", text_of("fc_d_p", lang), SIGNED_POINTS, 9), ("d_risk", text_of("fc_d_move", lang), TEXT, 8)]
    return cols


_NUMBER_FORMATS["signed_k"] = '+#,##0.0,"k";-#,##0.0,"k";0'


def forecast_layout(fc: TeamForecast, lang: str = "en", *, review_sheets: Mapping[str, str] | None = None,
                    currency: str = DEFAULT_CURRENCY, name: str | None = None) -> SheetLayout:
    """The team Forecast sheet, the manager's dashboard. The reps sorted by risk then P(reach) (within
    each manager when there are several, with a subtotal per manager), each name a link to the rep's
    review, with the change since the previous collection; the team's row; data bars on attainment and
    P(reach). Below: the pipeline's movement since the previous collection per rep (counts and amounts)
    with a chart of the team's movement, then the open pipeline by stage with its chart. One A4
    landscape page wide, the header rows repeated on every page."""
    from salesxl import contract
    from salesxl.values import format_date_long
    review_sheets = review_sheets or {}
    reps = list(fc.reps)
    expected = any(getattr(r, "expected", None) is not None for r in reps)
    history = any(getattr(r, "basis", None) == "history" for r in reps)
    cols = _fc_columns(lang, expected, history)
    keys = [k for k, _, _, _ in cols]
    ci = {k: j for j, k in enumerate(keys)}
    lay = SheetLayout(name or contract.SHEETS["forecast"][lang], lang, [w for _, _, _, w in cols])
    last_col = len(cols) - 1
    prev = next((r.change.previous_as_of for r in reps if getattr(r, "change", None) is not None), None)
    when = format_date_long(prev, lang) if prev else "—"

    lay.text(0, 0, text_of("fc_title", lang, date=format_date_long(fc.as_of, lang)), "title")
    lay.heights[0] = 24
    lay.text(1, 0, text_of("fc_subtitle", lang), "subtitle")
    # two header rows: groups, columns
    g = 3
    d0 = ci["d_won"]
    lay.put(g, 0, *[Cell(None, TEXT, "group")] * len(cols))
    lay.put(g, 0, Cell(text_of("fc_now", lang), TEXT, "group"))
    lay.merges.append((g, 0, g, d0 - 1))
    lay.put(g, d0, Cell(text_of("fc_change", lang, date=when), TEXT, "group"))
    lay.merges.append((g, d0, g, last_col))
    lay.put(g + 1, 0, *[Cell(head, TEXT, "header") for _, head, _, _ in cols])
    lay.heights[g + 1] = DEFAULT_ROW_PT * 2
    first = g + 2

    def rep_row(r) -> list[Cell]:
        ch = getattr(r, "change", None)
        basis = getattr(r, "basis", None)
        vals: dict[str, Cell] = {
            "rep": Cell(r.rep, TEXT, "link" if r.rep in review_sheets else None),
            "period_end": Cell(r.period_end, DATE), "objective": Cell(r.objective, AMOUNT),
            "won": Cell(r.won, AMOUNT), "forecast": Cell(r.forecast, AMOUNT, "bold"),
            "expected": Cell(getattr(r, "expected", None), AMOUNT),
            "basis": Cell(text_of("basis_history", lang) if basis == "history" else text_of("basis_declared", lang), TEXT,
                          None if basis == "history" else "muted"),
            "attainment": Cell(r.attainment, PERCENT), "p_reach": Cell(r.p_reach, PERCENT),
            "p_reach_declared": Cell(getattr(r, "p_reach_declared", None), PERCENT),
            "risk": Cell(text_of(r.risk, lang) if r.risk else text_of("no_objective", lang), TEXT,
                         _RISK_STYLE.get(r.risk, "muted")),
        }
        if ch is not None:
            # the previous collection's figures are the declared ones: compared with today's declared
            declared = basis == "history"
            p_now = getattr(r, "p_reach_declared", None) if declared else r.p_reach
            risk_now = getattr(r, "risk_declared", None) if declared else r.risk
            vals["d_won"] = Cell(None if ch.won is None else r.won - ch.won, SIGNED_AMOUNT)
            vals["d_forecast"] = Cell(None if ch.forecast is None else r.forecast - ch.forecast, SIGNED_AMOUNT)
            vals["d_p"] = Cell(None if ch.p_reach is None or p_now is None
                               else round((p_now - ch.p_reach) * 100, 1), SIGNED_POINTS)
            move = _RISK_ORDER.get(risk_now, 3) - _RISK_ORDER.get(ch.risk, 3) if risk_now and ch.risk else 0
            vals["d_risk"] = Cell("▲" if move > 0 else "▼" if move < 0 else "=", TEXT,
                                  "up" if move > 0 else "down" if move < 0 else None)
        return [vals.get(k, Cell(None, fmt)) for k, _, fmt, _ in cols]

    def sort_key(r):
        return (_RISK_ORDER.get(r.risk, 3), r.p_reach if r.p_reach is not None else 2.0, r.rep.casefold())

    managers = sorted({getattr(r, "manager", None) or "" for r in reps}, key=str.casefold)
    groups = [(m, sorted([r for r in reps if (getattr(r, "manager", None) or "") == m], key=sort_key))
              for m in managers] if len(managers) > 1 else [(None, sorted(reps, key=sort_key))]
    order: list = []
    row = first
    for manager, members in groups:
        for r in members:
            lay.put(row, 0, *rep_row(r))
            if r.rep in review_sheets:
                lay.links.append(Link(row, 0, review_sheets[r.rep], r.rep))
            order.append(r)
            row += 1
        if manager is not None:
            label = text_of("fc_subtotal", lang, manager=manager or text_of("fc_no_manager", lang))
            lay.put(row, 0, *_total_row(label, members, cols, lang))
            row += 1
    last_rep_row = row - 1
    team = dict(getattr(fc, "team", None) or {})
    if reps:
        from salesxl.forecast import team_rows
        for kind, figures in team_rows(team):   # per period-length group (when several), then the team
            if kind == "group":
                lay.put(row, 0, *_group_row(team_label(kind, figures, lang), figures, cols, lang))
            else:
                lay.put(row, 0, *_total_row(team_label(kind, figures, lang), reps, cols, lang, team))
            row += 1
        lay.data_bars.append(DataBar(first, ci["attainment"], last_rep_row, OPTIONAL_HEADER, 0.0, 1.0))
        lay.data_bars.append(DataBar(first, ci["p_reach"], last_rep_row, GREEN, 0.0, 1.0))
    lay.blocks["reps"] = (g, first, last_rep_row - first + 1, 0)
    row += 1
    lay.text(row, 0, text_of("as_of", lang), "label")
    lay.put(row, 1, Cell(fc.as_of, DATE, "plain"))
    row += 1
    if prev is not None:
        lay.text(row, 0, text_of("fc_previous", lang), "label")
        lay.put(row, 1, Cell(prev, DATE, "plain"))
    else:
        lay.text(row, 0, text_of("fc_no_previous", lang), "note")
    row += 1
    skipped = [s.get("rep") for s in getattr(fc, "skipped", None) or [] if s.get("rep")]
    if skipped:
        lay.text(row, 0, counted_text("fc_skipped", len(skipped), lang, names=", ".join(skipped)), "note")
        row += 1
    row += 1
    chart_rows = 14
    data_col = last_col + 2                 # the charts' own numbers, beside the printed page

    # the pipeline's movement per rep, with the team's in a chart
    changes = [r for r in order if getattr(r, "change", None) is not None]
    if changes:
        m = row
        lay.text(m, 0, text_of("fc_movement", lang, date=when), "section")
        lay.put(m + 1, 0, Cell(text_of("rep", lang), TEXT, "header"), *[Cell(None, TEXT, "header")] * 10)
        lay.merges.append((m + 1, 0, m + 2, 0))
        for j, kind in enumerate(_MOVES):
            c = 1 + 2 * j
            lay.put(m + 1, c, Cell(text_of("mv_" + kind, lang), TEXT, "header"))
            lay.merges.append((m + 1, c, m + 1, c + 1))
            lay.put(m + 2, c, Cell(text_of("mv_n", lang), TEXT, "header"),
                    Cell(text_of("mv_delta" if kind == "changed" else "mv_amount", lang, currency=currency), TEXT,
                         "header"))
        lay.put(m + 2, 0, Cell(None, TEXT, "header"))
        r = m + 3
        team_mv = None
        for rf in changes:
            mv = rf.change.movement
            team_mv = team_mv or type(mv)()
            team_mv.add(mv)
            lay.put(r, 0, Cell(rf.rep), *_movement_cells(mv))
            r += 1
        lay.put(r, 0, Cell(text_of("fc_team_short", lang), TEXT, "total"), *_movement_cells(team_mv, "total"))
        end = r + 1
        # the chart's numbers: one row per kind (the team's amounts), beside the page
        lay.text(m, data_col, text_of("fc_movement_title", lang, date=when), "muted")
        for i, kind in enumerate(_MOVES):
            lay.put(m + 1 + i, data_col, Cell(text_of("mv_" + kind, lang), TEXT, "plain"),
                    Cell(getattr(team_mv, kind), INT, "plain"),
                    Cell(getattr(team_mv, f"{kind}_amount"), AMOUNT, "plain"))
        cat = (m + 1, data_col, m + 5, data_col)
        c0 = 11
        width = int(sum(width_points(w) for w in lay.widths[c0:]) / 0.75)
        lay.charts.append(ChartSpec("column", text_of("fc_movement_title", lang, date=when), (
            Series(text_of("amount", lang), cat, (m + 1, data_col + 2, m + 5, data_col + 2), ORANGE),),
            m, c0, width, max(chart_rows, end - m) * _PX_PER_ROW, legend=False, number_format=ROUNDED_AMOUNT_FORMAT))
        row = max(end, m + max(chart_rows, end - m)) + 1

    # the open pipeline of the current periods by stage, with its chart
    stages: dict[Any, list[float]] = {}
    for r in reps:
        for st, (amount, weighted) in (getattr(r, "open_by_stage", None) or {}).items():
            t = stages.setdefault(st, [0.0, 0.0])
            t[0] += amount
            t[1] += weighted
    rank = {it.key: i for i, it in enumerate(contract.LISTS["stages"].items)} if "stages" in contract.LISTS else {}
    stage_rows = sorted(stages.items(), key=lambda kv: (rank.get(kv[0], 99), str(kv[0])))
    top = row
    lay.text(top, 0, text_of("fc_stage_short", lang), "section")
    lay.put(top + 1, 0, Cell(text_of("fc_stage", lang), TEXT, "header"), Cell(text_of("amount", lang), TEXT, "header"),
            Cell(text_of("weighted", lang), TEXT, "header"))
    for i, (st, (amount, weighted)) in enumerate(stage_rows):
        label = _stage_label(st, lang) if st else text_of("fc_no_stage", lang)
        lay.put(top + 2 + i, 0, Cell(label), Cell(amount, AMOUNT), Cell(weighted, AMOUNT))
    end = top + 2 + max(len(stage_rows), 1)
    if stage_rows:
        n = len(stage_rows)
        cat = (top + 2, 0, top + 1 + n, 0)
        c0 = 4
        width = int(sum(width_points(w) for w in lay.widths[c0:c0 + 7]) / 0.75)
        lay.charts.append(ChartSpec("column", text_of("fc_stage_title", lang), (
            Series(text_of("amount", lang), cat, (top + 2, 1, top + 1 + n, 1), HEADER_COLOUR),
            Series(text_of("weighted", lang), cat, (top + 2, 2, top + 1 + n, 2), LIGHT_BLUE)),
            top, c0, width, chart_rows * _PX_PER_ROW, number_format=ROUNDED_AMOUNT_FORMAT))
        end = max(end, top + chart_rows)
    lay.freeze = (first, 1)
    lay.print = PrintSetup(area=(0, 0, end, last_col), repeat_rows=(g, g + 1), footer=lay.name)
    return lay


def _movement_cells(mv, style: str | None = None) -> list[Cell]:
    out = []
    for kind in _MOVES:
        out.append(Cell(getattr(mv, kind), INT, style))
        out.append(Cell(getattr(mv, f"{kind}_amount"), "signed_k" if kind == "changed" else KAMOUNT, style))
    return out


TEAM_LABEL = {"en": "Team", "fr": "Équipe"}
OVERALL_LABEL = {"en": "All reps (sum of current periods)", "fr": "Tous (somme des périodes en cours)"}
GROUP_LABELS = {"weekly": {"en": "Team, weekly reps", "fr": "Équipe, commerciaux à la semaine"},
                "monthly": {"en": "Team, monthly reps", "fr": "Équipe, commerciaux au mois"},
                "quarterly": {"en": "Team, quarterly reps", "fr": "Équipe, commerciaux au trimestre"}}
DAYS_GROUP_LABEL = {"en": "Team, {days}-day periods", "fr": "Équipe, périodes de {days} jours"}


def team_label(kind: str, rec: Mapping[str, Any], lang: str) -> str:
    """The label of a team line of the Forecast sheet (forecast.team_rows): the team, a period-length
    group, or the overall line (the sum of the reps' current periods)."""
    if kind == "overall":
        return pick(OVERALL_LABEL, lang)
    if kind == "group":
        group = str(rec.get("group"))
        if group in GROUP_LABELS:
            return pick(GROUP_LABELS[group], lang)
        return pick(DAYS_GROUP_LABEL, lang).format(days=group.split("_")[0])
    return pick(TEAM_LABEL, lang)


def _group_row(label: str, figures: Mapping[str, Any], cols, lang: str) -> list[Cell]:
    """A period-length group's line: its own figures (forecast.team_rows)."""
    vals = {k: figures.get(k) for k, _, _, _ in cols}
    vals["rep"] = label
    risk = figures.get("risk")
    vals["risk"] = pick(TEXTS[risk], lang) if risk in TEXTS else None
    vals["basis"] = None
    vals["period_end"] = None
    return [Cell(vals.get(k), fmt, "total") for k, _, fmt, _ in cols]


def _stage_label(key: str, lang: str) -> str:
    from salesxl import contract
    lab = contract.LISTS["stages"].label_of(key, lang) if "stages" in contract.LISTS else None
    return lab or str(key)


def _total_row(label: str, reps: Sequence[Any], cols, lang: str,
               team: Mapping[str, Any] | None = None) -> list[Cell]:
    """A subtotal (or the team's) row: sums of the amounts and movements; attainment of the sums;
    P(reach) and risk only for the team (the team's own distribution)."""

    def total(attr):
        vals = [getattr(r, attr, None) for r in reps]
        vals = [v for v in vals if v is not None]
        return float(sum(vals)) if vals else None
    objective, won, fcast = total("objective"), total("won"), total("forecast")
    vals: dict[str, Any] = {"rep": label, "objective": objective, "won": won, "forecast": fcast,
                            "expected": total("expected"),
                            "attainment": (fcast / objective) if objective and fcast is not None else None}
    if team:
        vals["p_reach"] = team.get("p_reach")
        vals["p_reach_declared"] = team.get("p_reach_declared")
        risk = team.get("risk")
        vals["risk"] = pick(TEXTS[risk], lang) if risk in TEXTS else None
    changes = [r.change for r in reps if getattr(r, "change", None) is not None]
    if changes:
        d = [(r.won - r.change.won) for r in reps if getattr(r, "change", None) is not None and r.change.won is not None]
        vals["d_won"] = float(sum(d)) if d else None
        d = [(r.forecast - r.change.forecast) for r in reps
             if getattr(r, "change", None) is not None and r.change.forecast is not None]
        vals["d_forecast"] = float(sum(d)) if d else None
        for m in _MOVES:
            vals[f"{m}_n"] = sum(getattr(c.movement, m) for c in changes)
            vals[f"{m}_amount"] = float(sum(getattr(c.movement, f"{m}_amount") for c in changes))
    return [Cell(vals.get(k), fmt, "total") for k, _, fmt, _ in cols]


# -- the Issues sheet ----------------------------------------------------------------------------------------
ISSUE_COLUMNS = (      # key, header EN/FR, width, value format, style (wrapped columns)
    ("severity", {"en": "Severity", "fr": "Gravité"}, 12, TEXT, "top"),
    ("code", {"en": "Code", "fr": "Code"}, 22, TEXT, "top"),
    ("file", {"en": "File", "fr": "Fichier"}, 22, TEXT, "wrap"),
    ("sheet", {"en": "Sheet", "fr": "Feuille"}, 13, TEXT, "wrap"),
    ("row", {"en": "Row", "fr": "Ligne"}, 7, INT, "top"),
    ("column", {"en": "Column", "fr": "Colonne"}, 14, TEXT, "wrap"),
    ("value", {"en": "Value", "fr": "Valeur"}, 16, TEXT, "wrap"),
    ("message", {"en": "Message", "fr": "Message"}, 55, TEXT, "wrap"),
    ("effect", {"en": "Effect", "fr": "Effet"}, 24, TEXT, "wrap"),
)
SEVERITY_LABELS = {"error": {"en": "error", "fr": "erreur"}, "warning": {"en": "warning", "fr": "avertissement"}}
NO_ISSUES = {"en": "No issues found.", "fr": "Aucune anomalie."}
ISSUE_MESSAGE_COL = [k for k, *_ in ISSUE_COLUMNS].index("message")


def issues_in_order(issues: Iterable[Any]) -> Iterable[Any]:
    """Errors first, then warnings, each in the order found (one pass: the warnings wait)."""
    later = []
    for i in issues:
        if i.severity == "error":
            yield i
        else:
            later.append(i)
    yield from later


def issue_values(issue: Issue, lang: str) -> list[Any]:
    """The cells of an issue's row, in ISSUE_COLUMNS order."""
    from salesxl.issues import effect
    sev = SEVERITY_LABELS.get(issue.severity)
    value = issue.value
    if not (value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool)
            or hasattr(value, "isoformat")):
        value = str(value)
    return [sev[lang] if sev else issue.severity, issue.code, issue.file, issue.sheet, issue.row, issue.column,
            value, issue.message, effect(issue, lang)]


_WRAPPED = tuple((j, w) for j, (_, _, w, _, style) in enumerate(ISSUE_COLUMNS) if style == "wrap")


def issue_row_height(values: Sequence[Any]) -> float | None:
    """The height (points) of an issue's row: as many lines as its longest wrapped text needs (None: one
    line, the default height)."""
    lines = 1
    for j, w in _WRAPPED:
        v = values[j]
        if isinstance(v, str) and len(v) > w - 2:
            lines = max(lines, text_lines(v, w - 2) if " " in v else math.ceil(len(v) / (w - 2)))
    return DEFAULT_ROW_PT * lines if lines > 1 else None



def issue_rows(issues: Iterable[Issue], lang: str) -> Iterator[tuple[Issue, list[Any], float | None]]:
    """Each issue, in the order given, with its row's cells (issue_values) and height (issue_row_height):
    what every renderer of the Issues sheet writes for it."""
    for issue in issues:
        values = issue_values(issue, lang)
        yield issue, values, issue_row_height(values)

def issues_frame(lang: str, rows: int, name: str | None = None) -> SheetLayout:
    """The Issues sheet but for its rows (which a writer may stream): the header row, column widths,
    wrapped columns, severity colours, frozen header, print titles, one A4 landscape page wide."""
    from salesxl import contract
    lay = SheetLayout(name or contract.SHEETS["issues"][lang], lang, [w for _, _, w, _, _ in ISSUE_COLUMNS])
    lay.put(0, 0, *[Cell(pick(lab, lang), TEXT, "header") for _, lab, _, _, _ in ISSUE_COLUMNS])
    lay.heights[0] = 30
    last = max(rows, 1)
    for sev, style in (("error", "error"), ("warning", "warning")):
        lay.text_rules.append(TextRule(1, 0, last, SEVERITY_LABELS[sev][lang], style))
    lay.freeze = (1, 0)
    lay.gridlines = True
    lay.print = PrintSetup(repeat_rows=(0, 0), footer=lay.name, area=(0, 0, last, len(ISSUE_COLUMNS) - 1))
    return lay


def issues_layout(issues: Sequence[Issue], lang: str, name: str | None = None) -> SheetLayout:
    """The whole Issues sheet (errors first, then warnings; messages wrapped)."""
    lay = issues_frame(lang, len(issues), name)
    styles = [(fmt, style) for _, _, _, fmt, style in ISSUE_COLUMNS]
    for r, (_, values, h) in enumerate(issue_rows(issues_in_order(issues), lang), start=1):
        if h:
            lay.heights[r] = h
        lay.put(r, 0, *[Cell(v, fmt if isinstance(v, (int, float)) else (DATE if hasattr(v, "isoformat") else TEXT),
                             style or "plain") for v, (fmt, style) in zip(values, styles)])
    if not issues:
        lay.text(1, ISSUE_MESSAGE_COL, pick(NO_ISSUES, lang), "muted")
    return lay
