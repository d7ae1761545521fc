"""Every public function says what it takes (issue 12 item 1): each parameter of a public function or
method of salesxl's modules has a type annotation. Excepted: Excel functions (`@xw.func`), whose
arguments arrive as Excel gives them — xlwings would read type hints as converters."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted([*(ROOT / "salesxl").glob("*.py"), *(ROOT / "salesxl" / "io").glob("*.py")])


def _is_udf(node: ast.FunctionDef) -> bool:
    return any((isinstance(d, ast.Attribute) and d.attr == "func") or (isinstance(d, ast.Name) and d.id == "func")
               for d in node.decorator_list)


def untyped(source: str) -> list[str]:
    """`name: parameters` for each public function or method of `source` with an unannotated parameter."""
    found = []

    def visit(body, prefix=""):
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, node.name + ".")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _is_udf(node) \
                    and (not node.name.startswith("_") or node.name == "__init__"):
                a = node.args
                missing = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs
                           if p.annotation is None and p.arg not in ("self", "cls")]
                missing += [f"*{p.arg}" for p in (a.vararg,) if p is not None and p.annotation is None]
                missing += [f"**{p.arg}" for p in (a.kwarg,) if p is not None and p.annotation is None]
                if missing:
                    found.append(f"{prefix}{node.name}: {', '.join(missing)}")
    visit(ast.parse(source).body)
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_public_signatures_say_what_they_take(path):
    assert untyped(path.read_text(encoding="utf-8")) == []


def test_the_check_sees_an_untyped_parameter():
    assert untyped("def f(path, n: int) -> None: ...") == ["f: path"]
    assert untyped("class A:\n    def m(self, x, *args, **kw: int): ...") == ["A.m: x, *args"]
    assert untyped("def _private(x): ...\nclass _P:\n    def m(self, x): ...") == []
    assert untyped("import xlwings as xw\n@xw.func\ndef SXL_F(x): ...") == []
