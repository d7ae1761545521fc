"""Shared fixtures: LibreOffice headless recalculation and filled-template workbooks.

LibreOffice facts these helpers rely on (checked with LibreOffice 7.4):
- a formula written by openpyxl has no cached value, and LibreOffice computes such cells on load;
- a formula WITH a cached value is NOT recalculated by default for .xlsx ("never recalculate" is the
  default of Tools > Options > Formula > Recalculation on file load > Excel 2007 and newer), so a stale
  cached value would survive a conversion. The private profile therefore sets
  /org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode (and ODFRecalcMode) to 0 = always.
Each pytest-xdist worker gets its own profile directory, so conversions can run in parallel.
"""
from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pytest

from salesxl.io.template import build_template, write_template

ROOT = Path(__file__).resolve().parents[1]

RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""

XLSX_FILTER = 'xlsx:Calc MS Excel 2007 XML'


@pytest.fixture(autouse=True)
def _usage_errors_in_english(monkeypatch):
    """Without --lang the command line's usage errors follow the locale (i18n.usage_language): a French
    locale on the machine running the tests must not change the English lines they pin. Nothing changes
    on a machine whose locale is not French."""
    from salesxl.i18n import LOCALE_VARS
    for var in LOCALE_VARS:
        if os.environ.get(var, "").lower().startswith("fr"):
            monkeypatch.setenv(var, "C.UTF-8")


def find_soffice() -> str | None:
    for cand in (os.environ.get("SALESXL_SOFFICE"), shutil.which("soffice"), "/usr/bin/soffice",
                 shutil.which("libreoffice")):
        if cand and Path(cand).exists():
            return cand
    return None


def make_profile(directory: Path) -> Path:
    """A private LibreOffice user profile that always recalculates formulas on load."""
    user = directory / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(RECALC_XCU, encoding="utf-8")
    return directory


def lo_convert(soffice: str, profile: Path, path: Path, out_dir: Path, fmt: str = XLSX_FILTER,
               timeout: float = 240) -> Path:
    """Convert `path` with LibreOffice headless into `out_dir`; the converted file's path."""
    path, out_dir = Path(path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if out_dir.resolve() == path.parent.resolve():
        raise ValueError("out_dir must differ from the input's folder (the output has the same name)")
    ext = fmt.split(":")[0]
    cmd = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
           "--nologo", "--calc", "--convert-to", fmt, "--outdir", str(out_dir), str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = out_dir / (path.stem + "." + ext)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"LibreOffice conversion failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return out


@pytest.fixture(scope="session")
def soffice() -> str:
    path = find_soffice()
    if path is None:
        if os.environ.get("SALESXL_REQUIRE_LIBREOFFICE"):      # CI installs it: a skip would hide a gap
            pytest.fail("LibreOffice (soffice) is required (SALESXL_REQUIRE_LIBREOFFICE is set)")
        pytest.skip("LibreOffice (soffice) is not installed")
    return path


@pytest.fixture(scope="session")
def lo_profile(tmp_path_factory) -> Path:
    # tmp_path_factory is per xdist worker: one profile per worker, never shared by two processes.
    return make_profile(tmp_path_factory.mktemp("lo_profile"))


@pytest.fixture(scope="session")
def recalc(soffice, lo_profile) -> Callable[[Path, Path], Path]:
    """recalc(path, out_dir) -> the LibreOffice-recalculated .xlsx (formulas computed and cached)."""
    def _recalc(path, out_dir) -> Path:
        return lo_convert(soffice, lo_profile, Path(path), Path(out_dir))
    return _recalc


@pytest.fixture(scope="session")
def lo_export(soffice, lo_profile) -> Callable[..., Path]:
    """lo_export(path, out_dir, fmt) -> converted file, e.g. fmt='pdf'."""
    def _export(path, out_dir, fmt: str) -> Path:
        return lo_convert(soffice, lo_profile, Path(path), Path(out_dir), fmt)
    return _export


# ---------------------------------------------------------------------------------------------
_counter = itertools.count(1)


def make_workbook(tmp_path: Path, lang: str, rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                  *, name: str | None = None, edit: Callable | None = None, **kw) -> Path:
    """Write a salesxl template in `lang` pre-filled with `rows` ({table key: [{column key: value}]}).

    `edit(wb)` may change the openpyxl workbook before it is saved (error cells, formulas, merges…);
    other keyword arguments go to `build_template` / `write_template` (settings=, blank_rows=, rep=…)."""
    path = Path(tmp_path) / (name or f"wb_{lang}_{next(_counter)}.xlsx")
    if edit is None:
        return write_template(path, lang, rows=rows or {}, **kw)
    wb = build_template(lang, rows=rows or {}, **kw)
    edit(wb)
    wb.save(path)
    return path


@pytest.fixture
def workbook(tmp_path) -> Callable[..., Path]:
    """make_workbook bound to this test's tmp_path: workbook(lang, rows, **kw)."""
    def _make(lang: str = "en", rows=None, **kw) -> Path:
        return make_workbook(tmp_path, lang, rows, **kw)
    return _make


# The handbook's own reporting table (SPEC §1), dates typed as text.
HANDBOOK_REP = "Claire Martin"
HANDBOOK_AS_OF = dt.date(2003, 4, 30)
HANDBOOK_ROWS = [
    ("4 avril 2003", "Alpha", "Mr. X", "Acheteur", "Négociation", "Revoir la proposition"),
    ("3 avril 2003", "Bêta", "Mr. Y", "Directeur", "Visite", "Pas de besoin"),
    ("3 avril 2003", "Gamma", "Mme. Z", "Ingénieur", "Visite", "Proposition"),
]


def handbook_rows() -> dict:
    return {
        "reps": [{"rep": HANDBOOK_REP, "seniority": "junior", "period_length": "1m"}],
        "reporting": [{"date": d, "rep": HANDBOOK_REP, "company": c, "contact": ct, "job_title": f,
                       "action": a, "result": r} for d, c, ct, f, a, r in HANDBOOK_ROWS],
    }


def make_handbook_workbook(tmp_path: Path, name: str = "handbook_fr.xlsx") -> Path:
    return make_workbook(tmp_path, "fr", handbook_rows(), name=name,
                         settings={"as_of": HANDBOOK_AS_OF})


def demo_team_forecast(directory: Path, reps: int):
    """The forecast of the first `reps` demo reps, from their workbooks written to `directory` and read
    back (the real reader, rules and merge)."""
    from salesxl.demo_data import DEMO_AS_OF, build_timeline, snapshot
    from salesxl.io.read_xlsx import validate_file

    team = build_timeline()
    paths = []
    for rep in team[:reps]:
        p = directory / f"{rep.name}.xlsx"
        write_template(p, rep.lang, rows=snapshot(team, rep, DEMO_AS_OF))
        paths.append(p)
    merged = merged_tables([validate_file(p, as_of=DEMO_AS_OF) for p in paths])
    first = validate_file(paths[0], as_of=DEMO_AS_OF)
    return compute(merged, first.lists, DEMO_AS_OF, first.settings)


def compute(tables, lists, as_of: dt.date, settings: Mapping[str, Any] | None = None, *,
            simulations: int | None = None, seed: int | None = None, history_closed=None, slippage=None,
            learner=None):
    """Every rep's forecast and the team's through the stages the batch and the add-in run (plan,
    forecast the reps, complete and add up), in this process: what a test compares figures with."""
    from salesxl.consolidate import forecast_reps, forecast_team
    from salesxl.forecast import plan_forecast
    plan = plan_forecast(tables, lists, as_of, settings, simulations=simulations, seed=seed,
                         history_closed=history_closed, slippage=slippage, attach=False)
    plan.attach_history(history_closed, slippage, learner)
    return forecast_team(plan, forecast_reps(plan))


def build_reviews(fc, lang: str = "en", currency: str = "EUR", back_sheet: str | None = None) -> list:
    """Every rep's review of a team forecast, as the team workbook's writer makes them (one `taken` set of
    sheet names for the team)."""
    from salesxl.review import build_review
    taken: set[str] = set()
    return [build_review(r, fc.as_of, lang, currency=currency, taken=taken, simulations=fc.simulations,
                         back_sheet=back_sheet) for r in fc.reps]


def history_counts(conn) -> dict[str, int]:
    """The rows of a history store's submissions and snapshots (what a test checks is not imported twice)."""
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("submissions", "snapshots")}


def merged_tables(validated) -> dict:
    """The typed tables of several validated workbooks, one after the other (what a test computes a
    team's forecast from by hand, to compare with the consolidation's)."""
    from salesxl.tables import TableData
    keys = dict.fromkeys(k for v in validated for k in v.tables)
    return {k: TableData.concat([v.tables[k] for v in validated if k in v.tables]) for k in keys}


def set_saved(path: Path, when: str) -> Path:
    """Rewrite a workbook's own saved date (docProps/core.xml dcterms:modified), e.g. "2026-11-02T10:00:00Z"."""
    import re
    import zipfile
    members = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "docProps/core.xml":
                data, n = re.subn(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                  rb"\g<1>" + when.encode() + rb"\g<2>", data)
                assert n == 1
            members.append((info, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            z.writestr(info, data)
    return path
