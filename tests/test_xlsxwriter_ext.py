"""Golden test of salesxl/io/_xlsxwriter_ext.py: what the extensions write is compared with what stock
XlsxWriter writes for the same content through its public API.

- Review sheets (`FastSheet`: fast cell loop, `freeze`, `defer_strings`): the whole package, byte for
  byte, as the module claims.
- Streamed sheets (`StreamSheet`, `PackagedWorkbook`): every part byte for byte after normalising what
  is expected to differ — texts inline instead of shared, rows without `spans`, numbers in Python's
  shortest exact form instead of 16 significant digits, and style numbers (given in another order)
  replaced by the style they stand for.

Two tests break the extension on purpose and check that the comparison sees it."""
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
from salesxl.review import build_reviews
from conftest import demo_team_forecast

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
