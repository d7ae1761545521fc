"""Layers, enforced on every imported name.

core (every salesxl module not listed below: pure python/numpy/pandas) ← io (salesxl.io.*: files,
the live workbook) ← orchestration (consolidate) ← front ends (cli, actions, udfs, demo, the add-in).

The checker reads each module with `ast` and sees every way a name comes in: `import x.y`,
`from x import y` (y may be a module: `from salesxl import io`), relative imports, imports inside
functions, `importlib.import_module("x")` / `__import__("x")` with a constant name (relative names
resolved, the importer under any name), and modules reached as attributes of a bound package
(`import salesxl` then `salesxl.io.live`). The tests at the end prove it fails on each kind of
forbidden import.

Also: a front end uses no private name of another module (`from m import _x`, `m._x`, a private
module), and a private module (`_name.py`) is imported only from its own package."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "salesxl"
FILE_FORMATS = ("openpyxl", "xlwings", "xlsxwriter", "python_calamine", "pyopenvba", "defusedxml")
FRONT = ("cli", "actions", "udfs", "demo", "addin_build", "__main__")
ORCHESTRATION = ("consolidate",)
LITE = ROOT / "addin" / "lite" / "main.py"          # the xlwings Lite script: a front end
ORDER = {"core": 0, "io": 1, "orchestration": 2, "front": 3}


def module_name(path: Path) -> str:
    if path == LITE:
        return "addin.lite.main"
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(name: str) -> str:
    """The layer of a dotted name: a salesxl module (or a name inside one), a file-format library,
    or "other" (standard library, numpy, pandas…)."""
    parts = name.split(".")
    if parts[0] in FILE_FORMATS:
        return "format"
    if name == "addin.lite.main":
        return "front"
    if parts[0] != "salesxl":
        return "other"
    if len(parts) == 1:
        return "package"
    if parts[1] == "io":
        return "io"
    if parts[1] in FRONT:
        return "front"
    if parts[1] in ORCHESTRATION:
        return "orchestration"
    return "core"


def imported(module: str, source: str, *, is_package: bool = False) -> list[tuple[str, str, int]]:
    """Every name `module` imports, as (dotted name, name bound in the module or "", line); also the
    modules reached through an attribute of a bound package (`import salesxl` then `salesxl.io.live`)
    and what an importer function loads (`import_module`, `__import__`, however they are bound; a
    relative name resolved against the constant package given, else this module's)."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    out: list[tuple[str, str, int]] = []
    importers = {"import_module", "__import__"}          # the names that load a module by its name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append((a.name, a.asname or "", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            out.append((base_name, "", node.lineno))
            for a in node.names:
                if a.name != "*":
                    out.append((f"{base_name}.{a.name}", a.asname or a.name, node.lineno))
                if base_name == "importlib" and a.name == "import_module":
                    importers.add(a.asname or a.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            f = node.func
            fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if fname in importers:
                name = node.args[0].value
                if name.startswith("."):
                    given = [a for a in node.args[1:2]] + [k.value for k in node.keywords if k.arg == "package"]
                    anchor = (given[0].value if given and isinstance(given[0], ast.Constant) else
                              module if given and isinstance(given[0], ast.Name) and given[0].id == "__name__"
                              else package)
                    level = len(name) - len(name.lstrip("."))
                    parts = anchor.split(".")
                    name = ".".join(parts[:len(parts) - (level - 1)] + ([name.lstrip(".")] if name.strip(".") else []))
                out.append((name, "", node.lineno))
    # attributes of a bound salesxl package or module: `salesxl.io.live.render_sheet` reaches salesxl.io.live
    bound = {b or n.split(".")[0]: (n if b else n.split(".")[0]) for n, b, _ in out
             if n.split(".")[0] == "salesxl"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            path, base = [], node
            while isinstance(base, ast.Attribute):
                path.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                name = ".".join([bound[base.id], *reversed(path)])
                reached = _target(name)
                if reached and reached != bound[base.id]:
                    out.append((reached, "", node.lineno))
    return out


def _is_module(name: str) -> bool:
    rel = ROOT / Path(*name.split("."))
    return rel.with_suffix(".py").exists() or (rel / "__init__.py").exists()


def _target(name: str) -> str:
    """The module a dotted name lives in (the name itself when it is a module)."""
    while name and not _is_module(name):
        name = name.rpartition(".")[0]
    return name


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """What breaks the layers in `source`, the text of salesxl module `module` (empty when nothing)."""
    own = layer(module)
    names = imported(module, source, is_package=is_package)
    found = []
    for name, _, line in names:
        where = f"{module}:{line} imports {name}"
        kind = layer(name)
        if own == "core" and kind in ("format", "io", "orchestration", "front"):
            found.append(f"{where}: the core imports no file format, io, orchestration or front end")
        elif kind in ORDER and own in ORDER and ORDER[kind] > ORDER[own]:
            found.append(f"{where}: {own} imports {kind} (arrows point down only)")
        if kind in ("format", "other") or not any(_private(p) for p in name.split(".")):
            continue
        target = _target(name)
        private_module = next((".".join(target.split(".")[:i + 1]) for i, p in enumerate(target.split("."))
                               if _private(p)), None)
        if own == "front" and target != module:
            found.append(f"{where}: a front end uses no private name of another module")
        elif private_module and not module.startswith(private_module.rpartition(".")[0] + "."):
            found.append(f"{where}: a private module is imported only from its own package")
    if own == "front":                  # m._x where m is a salesxl module bound by an import
        bound = {b: n for n, b, _ in names if b and layer(n) not in ("format", "other") and _is_module(n)}
        bound.update({n.split(".")[0]: n.split(".")[0] for n, b, _ in names
                      if not b and n.split(".")[0] == "salesxl"})
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            base, path = node.value, []
            while isinstance(base, ast.Attribute):
                path.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                target = ".".join([bound[base.id], *reversed(path)])
                if _is_module(target) and target != module:
                    found.append(f"{module}:{node.lineno} uses {target}.{node.attr}: a front end uses no "
                                 f"private name of another module")
    return found


SOURCES = sorted(PKG.rglob("*.py")) + [LITE]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_layers(path):
    assert violations(module_name(path), path.read_text(encoding="utf-8"),
                      is_package=path.name == "__init__.py") == []


# ---------------------------------------------------------------------------------------------
# The checker fails where it must


@pytest.mark.parametrize("source", [
    "from salesxl import cli",                          # the example of issue 12: was not seen
    "import salesxl.cli",
    "import salesxl.io.live as live",
    "from salesxl import io",
    "from salesxl.io import read_xlsx",
    "from salesxl.io.read_xlsx import validate_file",
    "from .io import live",                             # relative
    "from . import consolidate",
    "import openpyxl",
    "from openpyxl.styles import Font",
    "import xlsxwriter.worksheet",
    "def later():\n    from salesxl import actions\n",   # inside a function
    "import importlib\nimportlib.import_module('xlwings')",
    "__import__('python_calamine')",
    "import salesxl\nsalesxl.io.live.render_sheet",     # a module reached as an attribute of the package
    "import salesxl.contract\nsalesxl.cli.main()",
    "import importlib\nimportlib.import_module('.cli', 'salesxl')",   # relative, with its package
    "import importlib\nimportlib.import_module('..io', __name__)",
    "import importlib\nimportlib.import_module('.actions', __package__)",
    "from importlib import import_module as im\nim('xlwings')",      # the importer under another name
])
def test_the_checker_sees_a_forbidden_import_in_the_core(source):
    assert violations("salesxl.review", source), source


def test_the_checker_fails_on_the_real_review_module_given_a_forbidden_import():
    real = (PKG / "review.py").read_text(encoding="utf-8")
    assert violations("salesxl.review", real) == []
    assert violations("salesxl.review", real + "\nfrom salesxl import cli\n")


@pytest.mark.parametrize("module, source", [
    ("salesxl.io.live", "from salesxl import actions"),
    ("salesxl.io.live", "from .. import cli"),
    ("salesxl.io.write_xlsx", "from salesxl.consolidate import consolidate"),
    ("salesxl.consolidate", "from salesxl.cli import main"),
])
def test_the_checker_sees_an_upward_import(module, source):
    assert violations(module, source)


@pytest.mark.parametrize("module, source", [
    ("salesxl.actions", "from salesxl.io.write_xlsx import _issue_value"),
    ("salesxl.actions", "from salesxl.io import live\nlive._rectangles([])"),
    ("salesxl.cli", "import salesxl.io.template\nsalesxl.io.template._formulas(1)"),
    ("salesxl.udfs", "from salesxl.io import _xlsxwriter_ext"),
    ("addin.lite.main", "from salesxl.forecast import _private_helper"),
    ("salesxl.consolidate", "from salesxl.io._xlsxwriter_ext import StreamSheet"),
    ("salesxl.consolidate", "import salesxl.io._xlsxwriter_ext"),
])
def test_the_checker_sees_a_private_name_used_from_outside(module, source):
    assert violations(module, source)


def test_what_is_allowed_passes():
    assert violations("salesxl.io.write_xlsx", "from salesxl.io._xlsxwriter_ext import StreamSheet") == []
    assert violations("salesxl.io.write_xlsx", "from ._xlsxwriter_ext import StreamSheet") == []
    assert violations("salesxl.actions", "from salesxl.io import live\nlive.mark_cells\nfrom salesxl import cli") == []
    assert violations("salesxl.review", "import numpy as np\nfrom salesxl.contract import AMOUNT\n"
                                        "from . import simulate") == []
    assert violations("salesxl.review", "import salesxl.contract\nsalesxl.contract.AMOUNT\n"
                                        "import importlib\nimportlib.import_module('.simulate', 'salesxl')") == []


# ---------------------------------------------------------------------------------------------
# Public modules keep `__all__`; what other modules use of them is in it


PUBLIC = ("salesxl.actions", "salesxl.addin_build", "salesxl.calibrate", "salesxl.consolidate", "salesxl.issue_codes",
          "salesxl.rules",
          "salesxl.simulate", "salesxl.tables",
          "salesxl.udfs", "salesxl.io.guard", "salesxl.io.live")


def _declared_all(path: Path) -> list[str] | None:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return None


def _path(module: str) -> Path:
    rel = ROOT / Path(*module.split("."))
    return rel / "__init__.py" if rel.is_dir() else rel.with_suffix(".py")


WITH_ALL = sorted({module_name(p) for p in PKG.rglob("*.py") if _declared_all(p) is not None} | set(PUBLIC))


@pytest.mark.parametrize("module", WITH_ALL)
def test_public_modules_keep_all_and_it_names_what_they_define(module):
    import importlib

    names = _declared_all(_path(module))
    assert names is not None, f"{module} lost its __all__"
    assert len(names) == len(set(names)), f"{module}.__all__ repeats a name"
    mod = importlib.import_module(module)
    assert [n for n in names if not hasattr(mod, n)] == []


def uses_of(module: str) -> list[tuple[str, str]]:
    """(user module, name) for every name of `module` another module takes: `from module import name`
    or `module.name` through a name bound by an import."""
    out = []
    for path in SOURCES:
        user = module_name(path)
        if user == module:
            continue
        source = path.read_text(encoding="utf-8")
        names = imported(user, source, is_package=path.name == "__init__.py")
        bound = set()
        for name, as_, _ in names:
            if name.rpartition(".")[0] == module and not _is_module(name):
                out.append((user, name.rpartition(".")[2]))
            elif name == module and as_:
                bound.add(as_)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
                out.append((user, node.attr))
    return out


@pytest.mark.parametrize("module", WITH_ALL)
def test_what_other_modules_use_of_a_public_module_is_in_its_all(module):
    exported = set(_declared_all(_path(module)) or ())
    assert sorted({f"{user} uses {name}" for user, name in uses_of(module) if name not in exported}) == []


def test_the_all_check_sees_a_name_used_but_not_exported():
    assert ("salesxl.io.write_xlsx", "render_review") in uses_of("salesxl.io.review_xlsx")
    assert any(name == "mark_cells" for _, name in uses_of("salesxl.io.live"))
