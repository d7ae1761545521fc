"""Golden test of salesxl/io/_xlsxwriter_ext.py: what the extensions write is compared with what stock
XlsxWriter writes for the same content through its public API.

- Review sheets (`FastSheet`: fast cell loop, `freeze`, `defer_strings`): the whole package, byte for
  byte, as the module claims.
- Streamed sheets (`StreamSheet`, `PackagedWorkbook`): every part byte for byte after normalising what
  is expected to differ — texts inline instead of shared, rows without `spans`, numbers in Python's
  shortest exact form instead of 16 significant digits, and style numbers (given in another order)
  replaced by the style they stand for. Also the Issues sheet's way: row heights and a text style per
  column (wrapped, top), against set_row and write_string with that style.
- A team workbook as `write_xlsx.write_team_workbook` builds it (PackagedWorkbook, streamed tables and
  Issues, the Forecast and review sheets as FastSheets, frozen and with deferred strings), against the
  same writer run on stock classes (`StockWorkbook`, `StockStreamSheet`, `StockReviewSheet`: the same
  calls through XlsxWriter's public API), part by part after the same normalising.

Tests break the extension on purpose (spans off by one; a text's spaces stripped; every streamed row
99 pt high; the per-column text styles dropped) and check that the comparisons see it."""
from __future__ import annotations

import datetime as dt
import re
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from salesxl.io import _xlsxwriter_ext as ext
from salesxl.io import review_xlsx
from conftest import build_reviews, demo_team_forecast

ROOT = Path(__file__).resolve().parents[1]
FIXED = dt.datetime(2026, 1, 1)


def test_xlsxwriter_is_pinned_exactly_to_the_installed_version():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pin = next(d for d in deps if d.lower().startswith("xlsxwriter"))
    assert pin.split("#")[0].strip().lower() == f"xlsxwriter=={version('xlsxwriter')}"


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def differing(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    return sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))


# ---------------------------------------------------------------------------------------------
# Review sheets: byte for byte


class StockReviewSheet(Worksheet):
    """The review renderer's calls, made with XlsxWriter's public API only."""

    def put_string(self, row, col, string, cell_format=None):
        return self.write_string(row, col, string, cell_format)

    def put_number(self, row, col, number, cell_format=None):
        return self.write_number(row, col, number, cell_format)

    def put_blank(self, row, col, cell_format=None):
        return self.write_blank(row, col, None, cell_format)

    def put_cells(self, row, col0, cells, formats, lang):
        for j, cell in enumerate(cells):
            review_xlsx.write_cell(self, row, col0 + j, cell, formats.cell(cell.fmt, cell.style, lang))

    def defer_strings(self):
        pass

    def resolve_strings(self):
        pass

    def freeze(self, wb):
        pass


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    fc = demo_team_forecast(tmp_path_factory.mktemp("golden"), 3)
    return build_reviews(fc, "fr") + build_reviews(fc, "en")


def first_sheet(ws) -> None:
    """A sheet before the reviews, with texts of its own (some also in the reviews)."""
    for i, text in enumerate(["Équipe", "Team", "Won", "Gagné", "P10"]):
        ws.write_string(i, 0, text)
        ws.write_number(i, 1, i * 1.5)


def write_reviews(path: Path, reviews, *, extension: bool) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": FIXED})
    front = wb.add_worksheet("Front")
    if not extension:                       # stock: every sheet written in order
        first_sheet(front)
    sheets = []
    for r in reviews:
        # the extension's way (as the team writer does it): texts numbered later, cells frozen as
        # each sheet is complete, the first sheet filled afterwards
        ws = review_xlsx.render_review(wb, r, defer_strings=extension)
        if extension:
            ws.freeze(wb)
        sheets.append(ws)
    if extension:
        first_sheet(front)
        for ws in sheets:
            ws.resolve_strings()
    wb.close()
    return path


def review_packages(tmp_path, reviews, monkeypatch):
    ours = write_reviews(tmp_path / "ours.xlsx", reviews, extension=True)
    with monkeypatch.context() as m:
        m.setattr(review_xlsx, "ReviewSheet", StockReviewSheet)
        stock = write_reviews(tmp_path / "stock.xlsx", reviews, extension=False)
    return parts(ours), parts(stock)


def test_review_sheets_are_stock_xlsxwriter_byte_for_byte(tmp_path, reviews, monkeypatch):
    assert issubclass(review_xlsx.ReviewSheet, ext.FastSheet)
    ours, stock = review_packages(tmp_path, reviews, monkeypatch)
    assert len([n for n in ours if n.startswith("xl/worksheets/sheet")]) == len(reviews) + 1
    assert any(n.startswith("xl/charts/") for n in ours)
    assert differing(ours, stock) == []


def test_the_review_comparison_sees_a_broken_extension(tmp_path, reviews, monkeypatch):
    real = ext.FastSheet._calculate_spans

    def off_by_one(self):
        real(self)
        self.row_spans = {k: f"1:{int(v.split(':')[1]) + 1}" for k, v in self.row_spans.items()}

    monkeypatch.setattr(ext.FastSheet, "_calculate_spans", off_by_one)
    ours, stock = review_packages(tmp_path, reviews, monkeypatch)
    assert any(n.startswith("xl/worksheets/sheet") for n in differing(ours, stock))


# ---------------------------------------------------------------------------------------------
# Streamed sheets: equal after normalising


HEADERS = ["Text", "Amount", "Count", "Date", "When", "Flag", "Note"]
ROWS = [
    ["Alpha", 1234.5, 3, dt.date(2026, 4, 4), dt.datetime(2026, 4, 4, 10, 30), True, " leading space"],
    ["=HYPERLINK(\"http://x\")", -0.1, 0, dt.date(1999, 12, 31), dt.datetime(2026, 1, 1), False, "a & b < c > d"],
    ["Bêta _x0041_ literal", 1e-7, 123456789, dt.date(2026, 12, 31), dt.datetime(2026, 6, 30, 23, 59, 59),
     True, "trailing space "],
    ["Alpha", 2.0, 7, dt.date(2026, 4, 5), dt.datetime(2026, 4, 5, 8), False, "Gamma\tand tab"],
    # odd cells, written by the slow path: numpy scalars, pandas timestamps, empty cells
    ["Odd", np.float64(3.25), np.int64(9), pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-01 12:00"), None, None],
] * 3


def stream_formats(wb):
    return {
        "header": wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78"}),
        "amount": wb.add_format({"num_format": "#,##0.00"}),
        "count": wb.add_format({"num_format": "0"}),
        "date": wb.add_format({"num_format": "dd/mm/yyyy"}),
    }


def column_formats(f):
    return [None, f["amount"], f["count"], None, None, None, None]


def write_streamed(path: Path, *, compress: bool) -> Path:
    wb = ext.PackagedWorkbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                          "strings_to_numbers": False})
    wb.set_properties({"created": FIXED})
    f = stream_formats(wb)
    ws = wb.add_worksheet("Data", worksheet_class=ext.StreamSheet)
    ws.start_stream(column_formats(f), f["date"], lambda s: s)
    ws.write_header(HEADERS, f["header"])
    columns = [list(col) for col in zip(*ROWS)]
    ws.append_rows([c[:5] for c in columns], 5)
    ws.append_rows([c[5:] for c in columns], len(ROWS) - 5)
    ws.finish_table("tblData", HEADERS)
    if compress:
        ws.start_compression(wb.compresslevel)
    other = wb.add_worksheet("Other")
    other.write_string(0, 0, "Alpha")
    wb.close()
    return path


def write_stock(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    wb.set_properties({"created": FIXED})
    f = stream_formats(wb)
    ws = wb.add_worksheet("Data")
    formats = column_formats(f)
    for r, row in enumerate(ROWS, start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            elif isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, bool):
                ws.write_boolean(r, c, v, formats[c])
            elif isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(r, c, v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day),
                                  f["date"])
            elif isinstance(v, str):
                ws.write_string(r, c, v, formats[c])
            else:
                ws.write_number(r, c, v, formats[c])
    ws.add_table(0, 0, len(ROWS), len(HEADERS) - 1, {
        "name": "tblData", "style": "TableStyleMedium2",
        "columns": [{"header": h, "header_format": f["header"]} for h in HEADERS]})
    other = wb.add_worksheet("Other")
    other.write_string(0, 0, "Alpha")
    wb.close()
    return path


def _styles(styles_xml: str) -> list[str]:
    """Each cell style (cellXfs entry) spelled out: number format code, font, fill and border XML."""
    def items(tag: str, child: str) -> list[str]:
        body = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", styles_xml, re.S)
        return re.findall(rf"<{child}\b[^>]*/>|<{child}\b.*?</{child}>", body.group(1), re.S) if body else []
    codes = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles_xml))
    fonts, fills, borders = items("fonts", "font"), items("fills", "fill"), items("borders", "border")
    out = []
    for xf in items("cellXfs", "xf"):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', xf))
        num = attrs.get("numFmtId", "0")
        out.append("|".join([codes.get(num, num), fonts[int(attrs.get("fontId", 0))],
                             fills[int(attrs.get("fillId", 0))], borders[int(attrs.get("borderId", 0))],
                             re.sub(r'\s(numFmtId|fontId|fillId|borderId|xfId)="\d+"', "", xf)]))
    return out


def normalise(package: dict[str, bytes]) -> dict[str, bytes]:
    """Shared strings inlined, rows without spans, style numbers replaced by their style."""
    styles = _styles(package["xl/styles.xml"].decode())
    sst = re.findall(r"<si>(.*?)</si>", package.get("xl/sharedStrings.xml", b"").decode(), re.S)
    out = {}
    for name, data in package.items():
        if name in ("xl/sharedStrings.xml", "xl/styles.xml", "[Content_Types].xml",
                    "xl/_rels/workbook.xml.rels"):
            continue                        # (they follow from the shared strings and style numbers)
        if name.startswith("xl/worksheets/sheet"):
            xml = data.decode()
            xml = re.sub(r'( t="s")(\s*/?>)?<v>(\d+)</v>', lambda m: f' t="inlineStr"><is>{sst[int(m[3])]}</is>'
                         if m[2] else m[0], xml)
            xml = re.sub(r' spans="\d+:\d+"', "", xml)
            xml = re.sub(r' s="(\d+)"', lambda m: f' s="{styles[int(m[1])]}"', xml)
            # numbers: ours are Python's shortest exact form (repr), XlsxWriter's 16 significant digits
            xml = re.sub(r"<v>([-+0-9.eE]+)</v>", lambda m: f"<v>{float(m[1]):.16G}</v>", xml)
            data = xml.encode()
        out[name] = data
    return out


@pytest.mark.parametrize("compress", [False, True], ids=["rows copied", "rows deflated beforehand"])
def test_streamed_sheets_equal_stock_xlsxwriter_after_normalising(tmp_path, compress):
    ours = parts(write_streamed(tmp_path / "ours.xlsx", compress=compress))
    stock = parts(write_stock(tmp_path / "stock.xlsx"))
    assert b't="inlineStr"' in ours["xl/worksheets/sheet1.xml"]
    assert b't="inlineStr"' not in stock["xl/worksheets/sheet1.xml"]       # the normalising does work
    assert ours.keys() == stock.keys()
    assert differing(normalise(ours), normalise(stock)) == []


def test_the_stream_comparison_sees_a_broken_extension(tmp_path, monkeypatch):
    real = ext.StreamSheet._inline_suffix
    monkeypatch.setattr(ext.StreamSheet, "_inline_suffix", lambda self, s: real(self, s.strip()))
    ours = parts(write_streamed(tmp_path / "ours.xlsx", compress=True))
    stock = parts(write_stock(tmp_path / "stock.xlsx"))
    assert differing(normalise(ours), normalise(stock)) == ["xl/worksheets/sheet1.xml"]


# ---------------------------------------------------------------------------------------------
# The Issues sheet's way of streaming: row heights and a text style per column


def long_issues(lang: str = "en") -> list:
    """Issues as the Issues sheet holds them: long messages and values (rows of several lines), a date
    value, a file-level issue (empty cells), an issue without an Effect (an empty text)."""
    from salesxl.issues import Issue, make_issue
    out = [make_issue("BAD_DATE", lang=lang, file="reps/hugo.xlsx", sheet="Reporting", row=388, column="Date",
                      value="31/02/2026"),
           Issue("error", "READ_FAILED", "inbox/a very long folder name/and a longer file name still.xlsx", None,
                 None, None, "zipfile.BadZipFile: " + "File is not a zip file " * 6, "The file cannot be read. " * 9),
           make_issue("OVERDUE_PROPOSAL", lang=lang, file="reps/ann.xlsx", sheet="Pipeline", row=2,
                      column="Decision date", value=dt.date(2026, 12, 1), ref="P1", date="1 Dec 2026", days=14),
           make_issue("DUPLICATE_ROW", lang=lang, file="reps/ann.xlsx", sheet="Reporting", row=3, first=2),
           Issue("warning", "PROBABILITY_PERCENT", "x.xlsx", "Pipeline", 7, "Probability", 70, "short")]
    return out * 4


def issues_columns(wb, lang: str):
    """What write_xlsx._write_issues gives the streamed Issues sheet: a style per column for numbers,
    one per column for texts (wrapped, top), the date style, the header's."""
    from salesxl.layout import ISSUE_COLUMNS, TEXT
    cells = review_xlsx.formats_for(wb, lang)
    styles = [cells.cell(fmt, style, lang) for _, _, _, fmt, style in ISSUE_COLUMNS]
    text_styles = [cells.cell(TEXT, style, lang) for _, _, _, _, style in ISSUE_COLUMNS]
    headers = [lab[lang] for _, lab, _, _, _ in ISSUE_COLUMNS]
    f = stream_formats(wb)
    return headers, styles, text_styles, f["date"], f["header"]


def issue_rows(lang: str = "en") -> tuple[list[list], list]:
    from salesxl.layout import issue_row_height, issue_values
    rows = [issue_values(i, lang) for i in long_issues(lang)]
    return rows, [issue_row_height(v) for v in rows]


def write_streamed_issues(path: Path, *, compress: bool, lang: str = "en") -> Path:
    wb = ext.PackagedWorkbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                          "strings_to_numbers": False})
    wb.set_properties({"created": FIXED})
    headers, styles, text_styles, date, header = issues_columns(wb, lang)
    ws = wb.add_worksheet("Issues", worksheet_class=ext.StreamSheet)
    ws.start_stream(styles, date, lambda s: s, text_formats=text_styles)
    ws.write_header(headers, header)
    rows, heights = issue_rows(lang)
    columns = [list(c) for c in zip(*rows)]
    ws.append_rows([c[:7] for c in columns], 7, heights[:7])
    ws.append_rows([c[7:] for c in columns], len(rows) - 7, heights[7:])
    ws.finish_table("tblIssues", headers)
    if compress:
        ws.start_compression(wb.compresslevel)
    wb.close()
    return path


def write_stock_issues(path: Path, lang: str = "en") -> Path:
    """The same content with XlsxWriter's public API: each row's height by set_row, each text with its
    column's text style, each number with its column's style, dates with the date style."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    wb.set_properties({"created": FIXED})
    headers, styles, text_styles, date, header = issues_columns(wb, lang)
    ws = wb.add_worksheet("Issues")
    rows, heights = issue_rows(lang)
    for r, (row, h) in enumerate(zip(rows, heights), start=1):
        if h:
            ws.set_row(r, h)
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(r, c, v, text_styles[c])
            elif isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date)
            else:
                ws.write_number(r, c, v, styles[c])
    ws.add_table(0, 0, len(rows), len(headers) - 1, {
        "name": "tblIssues", "style": "TableStyleMedium2",
        "columns": [{"header": h, "header_format": header} for h in headers]})
    wb.close()
    return path


def issues_differ(tmp_path: Path, compress: bool = True) -> list[str]:
    ours = parts(write_streamed_issues(tmp_path / "ours_issues.xlsx", compress=compress))
    stock = parts(write_stock_issues(tmp_path / "stock_issues.xlsx"))
    assert ours.keys() == stock.keys()
    return differing(normalise(ours), normalise(stock))


@pytest.mark.parametrize("compress", [False, True], ids=["rows copied", "rows deflated beforehand"])
def test_streamed_issues_with_heights_and_text_styles_equal_stock_xlsxwriter(tmp_path, compress):
    _, heights = issue_rows()
    assert {h for h in heights if h} >= {30.0, 45.0} and None in heights     # rows of one and of several lines
    sheet = parts(write_streamed_issues(tmp_path / "ours.xlsx", compress=compress))["xl/worksheets/sheet1.xml"]
    assert b'ht="30" customHeight="1"' in sheet and b'ht="45" customHeight="1"' in sheet
    assert issues_differ(tmp_path, compress) == []


# ---------------------------------------------------------------------------------------------
# A team workbook as the team writer builds it (PackagedWorkbook, StreamSheet, FastSheet) vs the same
# writer on stock XlsxWriter classes


class StockWorkbook(xlsxwriter.Workbook):
    compresslevel = 1

    def discard(self) -> None:
        self.fileclosed = True


class StockStreamSheet(Worksheet):
    """StreamSheet's calls made with XlsxWriter's public API only: each cell written as it comes, each
    row's height by set_row, the table declared over every row."""

    def start_stream(self, formats, date_format, text, tmpdir=None, text_formats=None):
        self._formats, self._date, self._clean = list(formats), date_format, text
        self._text_formats = list(text_formats or [None] * len(formats))
        self._next = 1

    def write_header(self, headers, header_format):
        self._header = header_format
        for j, h in enumerate(headers):
            self.write_string(0, j, h, header_format)

    def append_rows(self, columns, count, heights=None):
        for i in range(count):
            r = self._next + i
            if heights is not None and heights[i]:
                self.set_row(r, heights[i])
            for j, col in enumerate(columns):
                self._put(r, j, col[i])
        self._next += count

    def _put(self, r, j, v):
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        elif isinstance(v, np.generic):
            v = v.item()
        if v is None or (isinstance(v, float) and v != v):
            return
        if isinstance(v, str):
            self.write_string(r, j, self._clean(v), self._text_formats[j])
        elif isinstance(v, bool):
            self.write_boolean(r, j, v)
        elif isinstance(v, (dt.date, dt.datetime)):
            self.write_datetime(r, j, v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day),
                                self._date)
        elif isinstance(v, (int, float)):
            self.write_number(r, j, v, self._formats[j])
        else:
            self.write_string(r, j, self._clean(str(v)), self._text_formats[j])

    def finish_table(self, name, headers, style="TableStyleMedium2"):
        self.add_table(0, 0, max(self._next, 2) - 1, len(headers) - 1, {
            "name": name, "style": style, "columns": [{"header": h, "header_format": self._header} for h in headers]})

    @property
    def data_rows(self):
        return self._next - 1

    def start_compression(self, level):
        pass

    def close_stream(self):
        pass


@pytest.fixture(scope="module")
def team_content(tmp_path_factory):
    """A small team's inputs as `salesxl consolidate` has them: each demo rep's workbook read and validated
    (its tables and issues), plus long issues (rows of several lines), the team forecast and the reviews."""
    from conftest import compute, merged_tables
    from salesxl.demo_data import DEMO_AS_OF, build_timeline, snapshot
    from salesxl.io.read_xlsx import validate_file
    from salesxl.io.template import write_template
    d = tmp_path_factory.mktemp("team_golden")
    team = build_timeline()
    validated = []
    for rep in team[:3]:
        p = d / f"{rep.name}.xlsx"
        write_template(p, rep.lang, rows=snapshot(team, rep, DEMO_AS_OF))
        validated.append(validate_file(p, as_of=DEMO_AS_OF))
    merged = merged_tables(validated)
    fc = compute(merged, validated[0].lists, DEMO_AS_OF, validated[0].settings)
    issues = [i for v in validated for i in v.issues] + long_issues()
    return [(str(v.path), v.tables) for v in validated], issues, fc, build_reviews(fc, "en")


def write_team(path: Path, content, monkeypatch=None, *, stock: bool) -> Path:
    from salesxl.io import write_xlsx
    files, issues, fc, reviews = content
    with monkeypatch.context() as m:
        if stock:
            m.setattr(write_xlsx, "PackagedWorkbook", StockWorkbook)
            m.setattr(write_xlsx, "StreamSheet", StockStreamSheet)
            m.setattr(review_xlsx, "ReviewSheet", StockReviewSheet)
        return write_xlsx.write_team_workbook(path, files=files, issues=issues, forecast=fc, reviews=reviews,
                                              lang="en")


def team_packages(tmp_path: Path, content, monkeypatch) -> tuple[dict, dict]:
    ours = parts(write_team(tmp_path / "ours_team.xlsx", content, monkeypatch, stock=False))
    stock = parts(write_team(tmp_path / "stock_team.xlsx", content, monkeypatch, stock=True))
    return ours, stock


def sheet_part(package: dict[str, bytes], name: str) -> str:
    """The part holding the sheet called `name` (XlsxWriter numbers them in workbook order)."""
    names = re.findall(r'<sheet name="([^"]*)"', package["xl/workbook.xml"].decode())
    return f"xl/worksheets/sheet{names.index(name) + 1}.xml"


def test_a_team_workbook_equals_the_same_writer_on_stock_xlsxwriter(tmp_path, team_content, monkeypatch):
    ours, stock = team_packages(tmp_path, team_content, monkeypatch)
    names = re.findall(r'<sheet name="([^"]*)"', ours["xl/workbook.xml"].decode())
    # the tables, Settings, Issues, Forecast, one review per rep; charts; streamed texts inline
    assert {"Reporting", "Pipeline", "Settings", "Issues", "Forecast"} <= set(names)
    assert [r.sheet_name for r in team_content[3]] == names[-len(team_content[3]):]
    assert any(n.startswith("xl/charts/") for n in ours) and any(n.startswith("xl/tables/") for n in ours)
    issues = ours[sheet_part(ours, "Issues")]
    assert b't="inlineStr"' in issues and b'ht="45" customHeight="1"' in issues
    assert b't="inlineStr"' in ours[sheet_part(ours, "Pipeline")]
    assert b't="inlineStr"' not in stock[sheet_part(stock, "Pipeline")]         # stock classes indeed
    assert ours.keys() == stock.keys()
    assert differing(normalise(ours), normalise(stock)) == []


# ---------------------------------------------------------------------------------------------
# The comparisons see the Issues sheet's streaming broken: every row 99 pt high; the texts' column styles
# dropped


def break_heights(m) -> None:
    m.setattr(ext, "_height", lambda h: ' ht="99" customHeight="1"')


def break_text_styles(m) -> None:
    real = ext.StreamSheet.start_stream

    def without_text_formats(self, formats, date_format, text, tmpdir=None, text_formats=None):
        return real(self, formats, date_format, text, tmpdir)
    m.setattr(ext.StreamSheet, "start_stream", without_text_formats)


BREAKS = {"row heights 99 pt": [break_heights], "text styles dropped": [break_text_styles],
          "both": [break_heights, break_text_styles]}


@pytest.mark.parametrize("breaks", BREAKS.values(), ids=BREAKS.keys())
def test_the_issues_comparison_sees_a_broken_stream(tmp_path, monkeypatch, breaks):
    assert issues_differ(tmp_path) == []
    with monkeypatch.context() as m:
        for b in breaks:
            b(m)
        assert issues_differ(tmp_path) == ["xl/worksheets/sheet1.xml"]


@pytest.mark.parametrize("breaks", BREAKS.values(), ids=BREAKS.keys())
def test_the_team_comparison_sees_a_broken_stream(tmp_path, team_content, monkeypatch, breaks):
    with monkeypatch.context() as m:
        for b in breaks:
            b(m)
        ours = parts(write_team(tmp_path / "broken_team.xlsx", team_content, monkeypatch, stock=False))
    stock = parts(write_team(tmp_path / "stock_team.xlsx", team_content, monkeypatch, stock=True))
    assert sheet_part(ours, "Issues") in differing(normalise(ours), normalise(stock))
