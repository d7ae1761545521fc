"""The core never imports openpyxl, xlsxwriter or xlwings; io never imports front ends."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "salesxl"
CORE = ("contract", "values", "issue_codes", "issues", "i18n", "rules", "forecast", "simulate", "calibrate", "review",
        "review_text", "demo_data", "learn", "synthetic", "backtest", "rollover", "schemas/__init__")
FRONT = ("cli", "actions", "udfs", "demo", "consolidate")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("name", CORE)
def test_core_is_pure(name):
    found = imports(PKG / f"{name}.py")
    bad = {m for m in found if m.split(".")[0] in ("openpyxl", "xlwings", "xlsxwriter", "python_calamine")
           or m.startswith("salesxl.io") or m.split(".")[-1] in FRONT}
    assert not bad, f"{name}.py imports {bad}"


@pytest.mark.parametrize("path", sorted((PKG / "io").glob("*.py")), ids=lambda p: p.name)
def test_io_does_not_import_front_ends(path):
    found = imports(path)
    assert not {m for m in found if m.startswith("salesxl.") and m.split(".")[1] in FRONT}
