"""The package's declared dependencies, as pip (Linux, Windows, macOS) and micropip (Pyodide, under
xlwings Lite) see them: in Pyodide every dependency must be a Pyodide package (listed unpinned in
addin/lite/requirements.txt) or a pure-Python wheel, else micropip cannot install salesxl there."""
from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYODIDE = {"sys_platform": "emscripten", "platform_system": "Emscripten", "platform_machine": "wasm32",
           "os_name": "posix", "python_version": "3.12", "python_full_version": "3.12.7",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
LINUX = {"sys_platform": "linux", "platform_system": "Linux", "extra": ""}


def _requirements() -> list[Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(r) for r in data["project"]["dependencies"]]


def _active(env: dict) -> set[str]:
    return {r.name.lower() for r in _requirements() if r.marker is None or r.marker.evaluate(env)}


def _lite_requirements() -> dict[str, str]:
    """Name -> requirement line of addin/lite/requirements.txt (the salesxl wheel URL left out)."""
    out = {}
    for line in (ROOT / "addin" / "lite" / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "://" not in line:
            out[Requirement(line).name.lower()] = line
    return out


def _pure(name: str) -> bool:
    tags = re.findall(r"^Tag: (\S+)$", distribution(name).read_text("WHEEL") or "", re.M)
    return bool(tags) and all(t.endswith("-none-any") for t in tags)


def test_native_dependencies_are_left_out_in_pyodide_only():
    assert {"python-calamine", "xlwings"} <= _active(LINUX)
    assert not {"python-calamine", "xlwings"} & _active(PYODIDE)


def test_every_pyodide_dependency_is_a_pyodide_package_or_pure_python():
    lite = _lite_requirements()
    from_pyodide = {n for n, line in lite.items() if line == n}          # unpinned: Pyodide's own build
    assert {"pandas", "numpy"} <= from_pyodide
    for name in _active(PYODIDE) - from_pyodide:
        assert _pure(name), f"{name} has native code: micropip cannot install it in xlwings Lite"


def test_lite_requirements_agree_with_the_package():
    lite = _lite_requirements()
    declared = {r.name.lower(): r for r in _requirements()}
    for name, line in lite.items():
        assert name in declared, name
        pin = Requirement(line).specifier
        if str(pin):                                  # the same pin as the package's
            assert str(pin) == str(declared[name].specifier), name


def test_the_calamine_engine_is_native_indeed():
    """(what the marker is for: if python-calamine ever ships a pure wheel, the marker can go)"""
    assert not _pure("python-calamine") and not _pure("xlwings")
    assert _pure("openpyxl") and _pure("pyopenvba")
