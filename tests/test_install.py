"""Install as written (docs/addin.md): the wheel `make dist` builds, installed into a fresh virtual
environment, gives a working `salesxl` — `--version`, `template`, `addin build` — with its package
data (schemas, add-in sources) inside. Slow (a venv and the dependencies from the pip cache or
index), but part of the suite."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import salesxl

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def sh(*args, cwd=None, timeout=900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(COLUMNS="200", NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert r.returncode == 0, f"{args}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built as `make dist` builds it (pip wheel --no-deps)."""
    out = tmp_path_factory.mktemp("dist")
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT, cwd=out)
    (whl,) = out.glob("salesxl-*.whl")
    return whl


def test_wheel_holds_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert wheel.name == f"salesxl-{salesxl.__version__}-py3-none-any.whl"
    for part in ("salesxl/data/customUI.xml", "salesxl/data/RibbonSalesxl.bas", "salesxl/schemas/common.json",
                 "salesxl/schemas/validate.json", "salesxl/schemas/consolidate.json"):
        assert part in names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


def test_installed_wheel_in_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py, exe = bindir / "python", bindir / "salesxl"
    sh(py, "-m", "pip", "install", "-q", wheel)
    work = tmp_path / "work"
    work.mkdir()                      # not the checkout: the installed package only
    r = sh(exe, "--version", cwd=work)
    assert r.stdout == f"salesxl {salesxl.__version__}\n"
    where = sh(py, "-c", "import salesxl, sys; print(salesxl.__file__); print(sys.prefix)", cwd=work)
    assert where.stdout.splitlines()[0].startswith(str(env_dir))
    r = sh(exe, "template", "--lang", "fr", "--rep", "Ann", "--seniority", "senior", "--period-start", "2026-12-01",
           "--period-end", "2027-02-28", "-o", work / "ann.xlsx", cwd=work)
    assert r.stdout == f"écrit : {work / 'ann.xlsx'}\n"                  # (--lang fr)
    v = subprocess.run([exe, "validate", work / "ann.xlsx", "--json"], capture_output=True, text=True, cwd=work)
    data = json.loads(v.stdout)
    assert (data["command"], data["schema_version"]) == ("validate", "1.0") and v.returncode in (0, 1)
    r = sh(exe, "addin", "build", "-o", work / "dist", "--interpreter-win", r"C:\salesxl\venv\Scripts\pythonw.exe",
           cwd=work)
    assert r.stdout == f"wrote {work / 'dist' / 'salesxl.xlam'}\n"
    assert zipfile.ZipFile(work / "dist" / "salesxl.xlam").read("xl/vbaProject.bin")
    bad = subprocess.run([exe, "addin", "build", "-o", work / "none"], capture_output=True, text=True, cwd=work)
    assert bad.returncode == 2 and "--interpreter-win" in bad.stderr and not (work / "none").exists()
