"""What the live renderer (io/live.py render_sheet) draws of a layout, on xlwings' remote engine (Office.js
client, see tests/xlwings_remote.py): every attribute of the layout's types is either drawn
(live.LIVE_RENDERED, each shown in the recorded actions here) or listed as left out with its reason
(live.LIVE_LEFT_OUT, the same list in docs/architecture.md) — a new attribute cannot be dropped silently.
The reasons are checked too: when xlwings gains what one names, a test here fails."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import xlwings as xw
from openpyxl import Workbook

try:
    from tests.xlwings_remote import book_from_xlsx, recorded_actions
except ImportError:  # tests/ not a package
    from xlwings_remote import book_from_xlsx, recorded_actions  # type: ignore[no-redef]

from salesxl import layout
from salesxl.io import live
from salesxl.layout import (Cell, ChartSpec, DataBar, Link, PrintSetup, Series, SheetLayout, Style, TextRule,
                            forecast_layout)

ROOT = Path(__file__).resolve().parents[1]
CONTENT_BLOCKS = {"Title", "Fields", "Grid", "Chart", "Points"}     # review content, placed by the layout


def layout_types() -> list[type]:
    """Every type a SheetLayout is made of: the dataclasses and named tuples of salesxl.layout but the
    review's content blocks."""
    out = []
    for name, obj in vars(layout).items():
        if isinstance(obj, type) and obj.__module__ == layout.__name__ and name not in CONTENT_BLOCKS and \
                (dataclasses.is_dataclass(obj) or hasattr(obj, "_fields")):
            out.append(obj)
    return out


def attributes(tp: type) -> list[str]:
    names = [f.name for f in dataclasses.fields(tp)] if dataclasses.is_dataclass(tp) else list(tp._fields)
    return [f"{tp.__name__}.{n}" for n in names]


def test_every_attribute_of_a_layout_is_drawn_or_listed_as_left_out():
    types = layout_types()
    assert {t.__name__ for t in types} == {"Style", "Cell", "Link", "DataBar", "TextRule", "Series", "ChartSpec",
                                           "PrintSetup", "SheetLayout"}
    every = {a for t in types for a in attributes(t)}
    assert not live.LIVE_RENDERED & live.LIVE_LEFT_OUT.keys()
    assert every - live.LIVE_RENDERED - live.LIVE_LEFT_OUT.keys() == set()        # nothing dropped silently
    assert (live.LIVE_RENDERED | live.LIVE_LEFT_OUT.keys()) - every == set()       # nothing stale
    assert all(reason.strip() for reason in live.LIVE_LEFT_OUT.values())


def test_the_check_sees_a_new_style_attribute(monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class Style(layout.Style):          # a style attribute added to the layout, not to the live renderer
        strike: bool = False
    Style.__module__ = layout.__name__
    monkeypatch.setattr(layout, "Style", Style)
    with pytest.raises(AssertionError, match="Style.strike"):
        test_every_attribute_of_a_layout_is_drawn_or_listed_as_left_out()


def test_the_architecture_doc_lists_what_is_left_out():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    m = re.search(r"^### What the live renderer leaves out and why\n(.*?)(?=^#|\Z)", doc, re.S | re.M)
    assert m, "docs/architecture.md has no section 'What the live renderer leaves out and why'"
    listed = set(re.findall(r"`([A-Z]\w*\.\w+)`", m.group(1)))
    assert listed == set(live.LIVE_LEFT_OUT)


def test_the_reasons_still_hold():
    """Each reason names something xlwings' API lacks; if it comes, render it and take it off the list."""
    assert not hasattr(xw.main.Font, "underline")                                 # Style.underline
    assert not hasattr(xw.main.PageSetup, "orientation")                          # PrintSetup.*
    book = _book()
    sheet = book.sheets[0]
    sheet.range("A1:B3").value = [["x", "y"], ["a", 1], ["b", 2]]
    chart = sheet.charts.add(chart_type="column_clustered", source=sheet.range("B1:B3"), plot_by="columns")
    with pytest.raises(NotImplementedError):                                      # Series.colour (remote)
        chart.series[0].set(fill_color="#FF0000")
    book.close()


# ---------------------------------------------------------------------------------------------
# each drawn attribute, as the actions the client replays in Excel


_START: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def start_workbook(tmp_path_factory):
    """The workbook every test opens on the remote engine: one sheet, "Start"."""
    wb = Workbook()
    wb.active.title = "Start"
    path = tmp_path_factory.mktemp("live_render") / "live.xlsx"
    wb.save(path)
    _START[:] = [path]
    yield path


def _book() -> xw.Book:
    return book_from_xlsx(_START[0])


def render(lay: SheetLayout) -> list[dict]:
    book = _book()
    try:
        live.render_sheet(book, lay)
        acts = recorded_actions(book)
        pos = next(a["args"][0] for a in acts if a["func"] == "addSheet" and a["args"][1] == lay.name)
        return [a for a in acts if a.get("sheet_position") == pos]
    finally:
        book.close()


def one_cell(style: Style, monkeypatch, rows: int = 1, cols: int = 1) -> list[dict]:
    monkeypatch.setitem(layout.STYLES, "probe", style)
    lay = SheetLayout("Probe", "en", [10, 10])
    for r in range(rows):
        lay.put(r, 0, *[Cell("x", layout.TEXT, "probe")] * cols)
    return [a for a in render(lay) if a["func"] not in ("setValues", "setColumnWidth", "setShowGridlines",
                                                        "setPrintArea")]


def borders(acts: list[dict]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for a in acts:
        if a["func"] == "setBorderProperty":
            side, attr, value = a["args"]
            out.setdefault(side, {})[attr] = value
    return out


STYLE_ACTIONS = {
    "bold": (Style(bold=True), ("setFontProperty", ["bold", True])),
    "italic": (Style(italic=True), ("setFontProperty", ["italic", True])),
    "size": (Style(size=16), ("setFontProperty", ["size", 16])),
    "colour": (Style(colour=layout.HEADER_COLOUR), ("setFontProperty", ["color", layout.HEADER_COLOUR])),
    "fill": (Style(fill=layout.GOOD[0]), ("setRangeColor", [layout.GOOD[0]])),
    "wrap": (Style(wrap=True), ("setWrapText", [True])),
    "valign": (Style(valign="vcenter"), ("setVerticalAlignment", ["Center"])),
    "align": (Style(align="center"), ("setHorizontalAlignment", ["Center"])),
}


@pytest.mark.parametrize("attr", STYLE_ACTIONS)
def test_each_style_attribute_is_drawn(attr, monkeypatch):
    style, (func, args) = STYLE_ACTIONS[attr]
    acts = one_cell(style, monkeypatch)
    assert [(a["func"], a["args"]) for a in acts] == [(func, args)]
    assert (acts[0]["start_row"], acts[0]["start_column"]) == (0, 0)


def test_every_drawn_style_attribute_is_shown_drawn():
    shown = set(STYLE_ACTIONS) | {"border", "top", "bottom_line"}
    assert {a for a in live.LIVE_RENDERED if a.startswith("Style.")} == {f"Style.{a}" for a in shown}


def test_a_grid_border_around_each_cell(monkeypatch):
    one = borders(one_cell(Style(border=layout.GRID_BORDER), monkeypatch))
    assert set(one) == {"edge_top", "edge_bottom", "edge_left", "edge_right"}
    assert all(v == {"color": layout.GRID_BORDER.lower(), "line_style": "continuous"} for v in one.values())
    block = borders(one_cell(Style(border=layout.GRID_BORDER), monkeypatch, rows=3, cols=2))
    assert set(block) == {"edge_top", "edge_bottom", "edge_left", "edge_right", "inside_horizontal",
                          "inside_vertical"}


def test_a_line_above_each_subtotal_row_and_under_each_section_title(monkeypatch):
    total = borders(one_cell(layout.STYLES["total"], monkeypatch, rows=2, cols=3))
    for side in ("edge_top", "inside_horizontal"):          # each row's top line, as the file writer's
        assert total[side] == {"color": layout.TOTAL_LINE.lower(), "weight": "medium", "line_style": "continuous"}
    assert "weight" not in total["edge_bottom"] and "weight" not in total["inside_vertical"]      # thin: Excel's
    section = borders(one_cell(layout.STYLES["section"], monkeypatch))
    assert section == {"edge_bottom": {"color": layout.HEADER_COLOUR.lower(), "line_style": "continuous"}}


def test_a_plain_style_draws_nothing(monkeypatch):
    assert one_cell(Style(), monkeypatch) == []


@pytest.mark.parametrize("freeze, frozen", [((1, 0), "1:1"), ((5, 1), "A1:A5"), ((0, 2), "A:B")])
def test_the_frozen_header_and_columns(freeze, frozen):
    lay = SheetLayout("Frozen", "en", [10, 10])
    lay.text(0, 0, "x")
    lay.freeze = freeze
    assert [a["args"] for a in render(lay) if a["func"] == "freezePaneAtRange"] == [[frozen]]


def test_the_forecast_sheet_is_frozen_as_the_files_are(tmp_path):
    from conftest import demo_team_forecast
    fc = demo_team_forecast(tmp_path, 2)
    lay = forecast_layout(fc, "en", name="Forecast")
    first, cols = lay.freeze
    acts = render(lay)
    assert [a["args"] for a in acts if a["func"] == "freezePaneAtRange"] == [[f"A1:A{first}"]] and cols == 1
    # and its charts' value axes: the amounts' format, as in the file
    axes = [a["args"] for a in acts if a["func"] == "setChartAxis"]
    assert axes and all(args[1:] == ["value", {"number_format": layout.ROUNDED_AMOUNT_FORMAT}] for args in axes)


def test_a_charts_value_axis_limits_and_format():
    lay = SheetLayout("Chart", "en", [10, 10])
    lay.put(0, 0, Cell("k"), Cell("v"))
    lay.put(1, 0, Cell("a"), Cell(1.0, layout.AMOUNT))
    lay.put(2, 0, Cell("b"), Cell(2.0, layout.AMOUNT))
    lay.charts.append(ChartSpec("column", "T", (Series("v", (1, 0, 2, 0), (1, 1, 2, 1), layout.ORANGE),), 4, 0,
                                300, 200, legend=False, y_min=0, y_max=5, number_format="0.0"))
    acts = render(lay)
    assert [a["args"][1:] for a in acts if a["func"] == "setChartAxis"] == [
        ["value", {"minimum_scale": 0.0, "maximum_scale": 5.0, "number_format": "0.0"}]]
    assert [a["args"][1] for a in acts if a["func"] == "addChart"] == ["ColumnClustered"]


def test_links_data_bars_rules_merges_heights_and_print_area():
    lay = SheetLayout("Other", "en", [10, 10])
    lay.put(0, 0, Cell("go", layout.TEXT, "link"), Cell(0.5, layout.PERCENT))
    lay.put(1, 0, Cell("error"), Cell(0.7, layout.PERCENT))
    lay.links.append(Link(0, 0, "Start", "go"))
    lay.data_bars.append(DataBar(0, 1, 1, layout.GREEN, 0.0, 1.0))
    lay.text_rules.append(TextRule(0, 0, 1, "error", "error"))
    lay.merges.append((2, 0, 2, 1))
    lay.heights[1] = 30
    lay.print = PrintSetup(area=(0, 0, 2, 1))
    acts = render(lay)
    funcs = [a["func"] for a in acts]
    for func in ("addHyperlink", "addConditionalFormat", "rangeMerge", "setRowHeight", "setPrintArea",
                 "setNumberFormat"):
        assert func in funcs, func
    (bar,) = [a["args"][0] for a in acts if a["func"] == "addConditionalFormat" and a["args"][0]["type"] == "DataBar"]
    assert bar["gradient"] is False and bar["thresholds"] == [0.0, 1.0]        # solid, as the file's (bar_solid)


def test_the_line_above_a_subtotal_is_drawn_after_the_grid_above_it():
    lay = SheetLayout("Totals", "en", [10, 10])
    lay.put(0, 0, Cell("a"), Cell(1.0, layout.AMOUNT))                     # grid cells (thin border)
    lay.put(1, 0, Cell("Team", layout.TEXT, "total"), Cell(1.0, layout.AMOUNT, "total"))
    acts = [a for a in render(lay) if a["func"] == "setBorderProperty"]
    grid_bottom = max(i for i, a in enumerate(acts) if a["start_row"] == 0 and a["args"][0] == "edge_bottom")
    total_top = [i for i, a in enumerate(acts) if a["start_row"] == 1 and a["args"][:2] == ["edge_top", "weight"]]
    assert total_top and acts[total_top[0]]["args"][2] == "medium" and total_top[0] > grid_bottom
