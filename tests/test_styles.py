"""One place for styles: every colour and number format a renderer draws is declared in salesxl/layout.py
(the palette as "#RRGGBB", converted to a library's spelling by `layout.rgb_hex`); no other module
spells one. The checker reads each module with `ast`, and is shown to fail on a forbidden source."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from salesxl import layout

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "salesxl"
# "#1F4E78", "1F4E78", "FF1F4E78" (openpyxl, package XML), "#ffffe1" (VML)
COLOUR = re.compile(r"#?(?:[0-9A-Fa-f]{2})?[0-9A-Fa-f]{6}")


NOT_COLOURS = {"ABCDEF"}        # column letters (io/template.py: the Settings sheet's widths)


def looks_like_colour(s: str) -> bool:
    return bool(COLOUR.fullmatch(s)) and not s.isdigit() and s not in NOT_COLOURS      # "123456": a number


def style_literals(source: str) -> list[str]:
    """Colour literals, and number formats given as literals (`"num_format": "0"`, `x.number_format =
    "0"`, `number_format="0"`), in a module's source."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # a colour inside a longer text (XML attributes): every #RRGGBB / rgb="…" spelled out
            inside = [m.group(0) for m in re.finditer(r'#[0-9A-Fa-f]{6}\b|rgb="[0-9A-Fa-f]{8}"', node.value)]
            found += inside
            if not inside and looks_like_colour(node.value):
                found.append(node.value)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value == "num_format" and isinstance(v, ast.Constant):
                    found.append(f"num_format={v.value!r}")
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Attribute) and t.attr == "number_format" and isinstance(node.value, ast.Constant) \
                        and node.value.value is not None:
                    found.append(f"number_format={node.value.value!r}")
        elif isinstance(node, ast.keyword) and node.arg == "number_format" and isinstance(node.value, ast.Constant) \
                and node.value.value is not None:
            found.append(f"number_format={node.value.value!r}")
    return found


MODULES = sorted(p for p in PKG.rglob("*.py") if p != PKG / "layout.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_but_layout_spells_a_colour_or_a_number_format(path):
    assert style_literals(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source", [
    'FILL = PatternFill("solid", fgColor="1F4E78")',
    'ERROR = "#FFC7CE"',
    'ERROR_RGB = "FFFFC7CE"',
    'Font(color="FFFFFF")',
    """f'fillcolor="#ffffe1" o:insetmode="{mode}"'""",
    """xml = f'<color rgb="FFFFFFFF"/>'""",
    'props.update(top=2, top_color="#404040")',
    'f = wb.add_format({"num_format": "0.00"})',
    'cell.number_format = "#,##0"',
    'ChartSpec("column", "t", (), 0, 0, 1, 1, number_format="#,##0")',
])
def test_the_checker_sees_a_colour_or_a_format_spelled_outside_layout(source):
    assert style_literals(source)


def test_the_checker_leaves_plain_words_and_numbers_alone():
    assert style_literals('n = "123456"; y = "Effect"; z = 0xFFFFFF; w = "#,##0 is an amount"') == []


def test_layout_declares_the_palette_it_renders_with():
    assert style_literals((PKG / "layout.py").read_text(encoding="utf-8"))       # the palette is here
    for name in ("HEADER_COLOUR", "WHITE", "GRID_BORDER", "TOTAL_LINE", "ERROR_FILL", "WARNING_FILL", "NOTE_FILL"):
        assert re.fullmatch(r"#[0-9A-F]{6}", getattr(layout, name)), name
    assert (layout.ERROR_FILL, layout.WARNING_FILL) == (layout.BAD[0], layout.WARN[0])
    assert layout.STYLES["error"].fill == layout.ERROR_FILL and layout.STYLES["warning"].fill == layout.WARNING_FILL


def test_rgb_hex_spells_a_palette_colour_for_openpyxl_and_the_package_xml():
    assert layout.rgb_hex("#1f4e78") == "1F4E78"
    assert layout.rgb_hex(layout.HEADER_COLOUR, alpha=True) == "FF1F4E78"
    with pytest.raises(ValueError):
        layout.rgb_hex("1F4E78")


def test_the_renderers_draw_the_palette(tmp_path):
    """Read back: the template's header fill, the annotated copy's marks and the add-in's marks are the
    layout's colours."""
    from openpyxl import load_workbook

    from salesxl.io import live
    from salesxl.io.annotate import ERROR_RGB, HEADER_RGB, WARNING_RGB
    from salesxl.io.template import write_template

    p = write_template(tmp_path / "t.xlsx", "en")
    ws = load_workbook(p)["Pipeline"]
    assert ws["A1"].fill.fgColor.rgb.endswith(layout.rgb_hex(layout.HEADER_COLOUR))
    assert ws["A1"].font.color.rgb.endswith(layout.rgb_hex(layout.WHITE))
    assert (live.ERROR_FILL, live.WARNING_FILL) == (layout.ERROR_FILL, layout.WARNING_FILL)
    assert (ERROR_RGB, WARNING_RGB, HEADER_RGB) == ("FFFFC7CE", "FFFFEB9C", "FF1F4E78")
