"""salesxl.xlam assembled on Linux: read it back with oletools, openpyxl, pyOpenVBA and LibreOffice."""
from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pytest

from salesxl import addin_build
from salesxl.addin_build import ACTIONS, AddinBuildError, build_addin

# oletools 0.60.2 still calls pyparsing's camelCase API.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:oletools.olevba")

REPO = Path(__file__).resolve().parents[1]
CUSTOMUI_NS = "{http://schemas.microsoft.com/office/2006/01/customui}"
OPTIONS = dict(
    interpreter_win=r"%LOCALAPPDATA%\salesxl\.venv\Scripts\python.exe",
    interpreter_mac="/Users/shared/salesxl/.venv/bin/python",
    pythonpath=r"C:\SalesXL\lib",
    udf_modules="salesxl.udfs",
)


@pytest.fixture(scope="module")
def xlam(tmp_path_factory) -> Path:
    return build_addin(tmp_path_factory.mktemp("addin"), **OPTIONS)


def vba_modules(path: Path) -> dict[str, str]:
    """Module name -> source, as oletools reads them."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros()
        return {Path(vba_filename).stem: code for _, _, vba_filename, code in parser.extract_macros()}
    finally:
        parser.close()


def customui(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as zf:
        return ET.fromstring(zf.read("customUI/customUI.xml"))


def open_with_openpyxl(path: Path) -> openpyxl.Workbook:
    """openpyxl reads no add-in: give it the same package with the workbook typed as an .xlsm's."""
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.ms-excel.addin.macroEnabled.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            dst.writestr(info, data)
    buf.seek(0)
    return openpyxl.load_workbook(buf)


def config_cells(wb: openpyxl.Workbook) -> dict[str, object]:
    ws = wb["salesxl.conf"]
    return {row[0]: row[1] for row in ws.iter_rows(min_col=1, max_col=2, values_only=True) if row[0]}


# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["customUI.xml", "RibbonSalesxl.bas"])
def test_addin_folder_holds_the_package_data_files(name):
    assert (REPO / "addin" / name).read_bytes() == (REPO / "salesxl" / "data" / name).read_bytes()


def test_returns_the_xlam_path(xlam):
    assert xlam.name == "salesxl.xlam" and xlam.is_file()
    assert [p.name for p in xlam.parent.iterdir()] == ["salesxl.xlam"]  # no temporary file left behind


def test_vba_project_is_named_salesxl(xlam):
    """olevba reads the project's name from the dir stream, the PROJECT stream says the same, and
    pyOpenVBA still finds the project consistent (the editor shows "salesxl (salesxl.xlam)")."""
    from oletools.olevba import VBA_Parser, VBA_Project
    from pyopenvba import ExcelFile

    parser = VBA_Parser(str(xlam))
    try:
        names, texts = [], []
        for sub in [parser, *(parser.ole_subfiles or [])]:
            if sub.ole_file is None:
                continue
            for vba_root, project_path, dir_path in sub.find_vba_projects():
                names.append(VBA_Project(sub.ole_file, vba_root, project_path, dir_path).projectname)
                texts.append(sub.ole_file.openstream(project_path).read())
    finally:
        parser.close()
    assert names == ["salesxl"]
    assert re.findall(rb'^Name="([^"]*)"', texts[0], re.M) == [b"salesxl"]
    with ExcelFile(xlam) as book:
        assert book.validate() == [] and book.vba_project().name == "salesxl"


def test_vba_has_the_dispatcher(xlam):
    modules = vba_modules(xlam)
    assert "RibbonSalesxl" in modules and "RibbonMyAddin" not in modules
    source = modules["RibbonSalesxl"]
    assert "Public Sub OnSalesxlButton(control As IRibbonControl)" in source
    assert ("RunPython \"import salesxl.actions; salesxl.actions.run('\" & control.Tag & \"')\"") in source
    # The module is the file of salesxl/data, line for line.
    canonical = (REPO / "salesxl" / "data" / "RibbonSalesxl.bas").read_text(encoding="utf-8")
    body = [line for line in canonical.splitlines() if not line.startswith("Attribute ")]
    assert [line for line in source.splitlines() if not line.startswith("Attribute ")] == body
    # xlwings' RunPython is still there for it to call.
    assert re.search(r"^Public Function RunPython\(PythonCommand As String\)", modules["xlwings"], re.M)


def test_every_ribbon_callback_is_a_vba_procedure(xlam):
    code = "\n".join(vba_modules(xlam).values())
    procedures = set(re.findall(r"^\s*(?:Public\s+|Private\s+)?(?:Sub|Function)\s+(\w+)", code, re.M | re.I))
    callbacks = {
        (el.get("id"), attr, value)
        for el in customui(xlam).iter()
        for attr, value in el.attrib.items()
        if attr.startswith(("on", "get")) or attr == "loadImage"
    }
    assert callbacks, "the ribbon calls no VBA at all"
    for element_id, attr, value in callbacks:
        assert value.split(".")[-1] in procedures, f"{element_id}: {attr}={value} has no VBA procedure"


def test_ribbon_has_one_button_per_action(xlam):
    root = customui(xlam)
    tabs = list(root.iter(f"{CUSTOMUI_NS}tab"))
    assert [tab.get("label") for tab in tabs] == ["SalesXL"]
    buttons = list(root.iter(f"{CUSTOMUI_NS}button"))
    assert [b.get("tag") for b in buttons] == list(ACTIONS)
    assert [b.get("label") for b in buttons] == ["Validate", "Forecast", "Reviews", "Consolidate", "New period"]
    for b in buttons:
        assert b.get("tag") in ACTIONS
        assert b.get("onAction") == "OnSalesxlButton"
        assert b.get("imageMso")
        assert b.get("screentip") and b.get("supertip")
    assert len({b.get("id") for b in buttons}) == len(buttons)


def test_ribbon_parts_are_consistent(xlam):
    with zipfile.ZipFile(xlam) as zf:
        names = zf.namelist()
        rels = zf.read("_rels/.rels").decode()
    ribbon_parts = [n for n in names if n.lower().startswith("customui/")]
    assert ribbon_parts == ["customUI/customUI.xml"]  # the template has no customUI14 part
    assert 'Type="http://schemas.microsoft.com/office/2007/relationships/ui/extensibility" ' \
           'Target="customUI/customUI.xml"' in rels


def test_french_labels(tmp_path):
    root = customui(build_addin(tmp_path, lang="fr"))
    buttons = list(root.iter(f"{CUSTOMUI_NS}button"))
    assert [b.get("label") for b in buttons] == ["Valider", "Prévisions", "Entretiens", "Consolider",
                                                 "Nouvelle période"]
    assert [b.get("tag") for b in buttons] == list(ACTIONS)
    assert all(b.get("onAction") == "OnSalesxlButton" for b in buttons)
    with zipfile.ZipFile(tmp_path / "salesxl.xlam") as zf:
        assert "Ruban SalesXL" in zf.read("docProps/core.xml").decode("utf-8")


def test_unknown_language_is_refused(tmp_path):
    with pytest.raises(AddinBuildError):
        build_addin(tmp_path, lang="de")
    assert not (tmp_path / "salesxl.xlam").exists()


def test_config_sheet_holds_the_build_options(xlam):
    wb = open_with_openpyxl(xlam)
    assert wb.sheetnames == ["salesxl.conf"]
    cells = config_cells(wb)
    assert cells["Interpreter_Win"] == OPTIONS["interpreter_win"]
    assert cells["Interpreter_Mac"] == OPTIONS["interpreter_mac"]
    assert cells["PYTHONPATH"] == OPTIONS["pythonpath"]
    assert cells["UDF Modules"] == "salesxl.udfs"
    assert cells["Use UDF Server"] is False
    # xlwings reads the keys from A1 down to the first empty cell.
    keys = [c.value for c in wb["salesxl.conf"]["A"]]
    assert None not in keys and len(keys) == len(cells)


def test_options_left_out_get_no_row(tmp_path):
    cells = config_cells(open_with_openpyxl(build_addin(tmp_path)))
    assert "Interpreter_Win" not in cells and "Interpreter_Mac" not in cells and "PYTHONPATH" not in cells
    assert cells["UDF Modules"] == "salesxl.udfs"


def test_vba_constant_names_the_config_sheet(xlam):
    xlwings_vba = vba_modules(xlam)["xlwings"]
    project = re.findall(r'^Public Const PROJECT_NAME As String = "([^"]*)"', xlwings_vba, re.M)
    assert project == ["salesxl"]
    # ... and it is the constant xlwings builds the config sheet's name from.
    assert 'wb.Sheets(PROJECT_NAME & ".conf")' in xlwings_vba
    assert open_with_openpyxl(xlam).sheetnames == [project[0] + ".conf"]


def test_vba_names_the_dll_of_the_installed_xlwings(xlam):
    version = importlib.metadata.version("xlwings")
    xlwings_vba = vba_modules(xlam)["xlwings"]
    assert f'Public Const XLWINGS_VERSION As String = "{version}"' in xlwings_vba
    assert f'"xlwings64-{version}.dll"' in xlwings_vba


def test_template_is_an_open_source_part_of_xlwings():
    template = addin_build.template_path()
    package = Path(importlib.util.find_spec("xlwings").origin).parent
    assert "pro" not in template.relative_to(package).parts  # LICENSE.txt: BSD for all but xlwings/pro
    modules = vba_modules(template)
    assert "xlwings is distributed under a BSD 3-clause license" in modules["xlwings"]


def test_pyopenvba_reads_a_sound_project(xlam):
    from pyopenvba import ExcelFile, check_file

    report = check_file(xlam)
    assert report.ok, report.issues
    with ExcelFile(xlam) as book:
        assert book.validate() == []
        assert sorted(book.module_names()) == sorted(
            ["ThisWorkbook", "Dictionary", "RibbonSalesxl", "Sheet2", "xlwings"])


def test_two_builds_give_the_same_bytes(xlam, tmp_path):
    again = build_addin(tmp_path / "again", **OPTIONS)
    assert again.read_bytes() == xlam.read_bytes()
    with zipfile.ZipFile(again) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_same_bytes_from_another_process(xlam, tmp_path):
    code = ("import sys; from salesxl.addin_build import build_addin; "
            f"build_addin(sys.argv[1], **{OPTIONS!r})")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env, cwd=REPO)
    assert (tmp_path / "salesxl.xlam").read_bytes() == xlam.read_bytes()


def test_rebuild_replaces_the_previous_file(tmp_path):
    first = build_addin(tmp_path, lang="fr")
    second = build_addin(tmp_path)
    assert first == second
    assert customui(second).find(f".//{CUSTOMUI_NS}button").get("label") == "Validate"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["salesxl.xlam"]


@pytest.mark.libreoffice
def test_libreoffice_opens_it(xlam, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    out = tmp_path / "out"
    # LibreOffice's type detection does not take .xlam: name the OOXML import filter.
    subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--infilter=Calc MS Excel 2007 XML", "--convert-to", "xlsx", "--outdir", str(out), str(xlam)],
        check=True, capture_output=True, timeout=300,
    )
    converted = out / "salesxl.xlsx"
    assert converted.is_file(), "LibreOffice could not load salesxl.xlam"
    wb = openpyxl.load_workbook(converted)
    assert wb.sheetnames == ["salesxl.conf"]
    cells = config_cells(wb)
    assert cells["Interpreter_Win"] == OPTIONS["interpreter_win"]
    assert cells["UDF Modules"] == "salesxl.udfs"


def test_every_build_refusal_is_declared_in_both_languages():
    """Why the add-in cannot be built (AddinBuildError) is said in EN and FR, with the same placeholders,
    and every reason addin_build.py raises is declared (none left as an inline English text)."""
    import string

    from salesxl.i18n import ADDIN_BUILD_REFUSALS

    def fields(template):
        return sorted(f for _, f, _, _ in string.Formatter().parse(template) if f is not None)

    for key, texts in ADDIN_BUILD_REFUSALS.items():
        assert set(texts) == {"en", "fr"} and texts["en"].strip() and texts["fr"].strip(), key
        assert fields(texts["en"]) == fields(texts["fr"]), key
    source = (Path(__file__).resolve().parents[1] / "salesxl" / "addin_build.py").read_text(encoding="utf-8")
    assert not re.findall(r"AddinBuildError\(\s*f?['\"][^'\"]*[ .:]", source)      # an inline message
    assert set(re.findall(r'AddinBuildError\(\s*"(\w+)"', source)) == set(ADDIN_BUILD_REFUSALS)
    exc = AddinBuildError("config_control", key="Interpreter_Win")
    assert str(exc) == "Config value for Interpreter_Win contains a control character."
    assert exc.say("fr") == "La valeur de configuration Interpreter_Win contient un caractère de contrôle."


def _cli(*args):
    from typer.testing import CliRunner

    from salesxl.cli import app
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("lang, line", [
    ("en", "error: the add-in was not built: Config value for Interpreter_Win contains a control character."),
    ("fr", "erreur : le complément n'a pas été construit : La valeur de configuration Interpreter_Win contient un "
           "caractère de contrôle.")])
def test_cli_a_bad_interpreter_path_is_one_line_not_a_traceback(tmp_path, lang, line):
    r = _cli("addin", "build", "-o", tmp_path, "--interpreter-win", "C:\\py\x07thon\\pythonw.exe", "--lang", lang)
    assert r.exit_code == 2 and r.stdout == "", r.output
    assert r.stderr.splitlines() == [line]
    assert not (tmp_path / "salesxl.xlam").exists()


@pytest.mark.parametrize("lang, line", [
    ("en", "error: the add-in was not built: customUI.xml is not well-formed XML (line 1, column 21)."),
    ("fr", "erreur : le complément n'a pas été construit : customUI.xml n'est pas du XML bien formé (ligne 1, "
           "colonne 21).")])
def test_cli_a_broken_ribbon_file_is_one_line_not_a_traceback(tmp_path, monkeypatch, lang, line):
    import shutil

    import salesxl.addin_build as ab
    data = tmp_path / "data"
    shutil.copytree(ab.data_dir(), data)
    (data / "customUI.xml").write_text("<customUI><ribbon></customUI>", encoding="utf-8")
    monkeypatch.setattr(ab, "data_dir", lambda: data)
    r = _cli("addin", "build", "-o", tmp_path / "dist", "--no-interpreter", "--lang", lang)
    assert r.exit_code == 2 and r.stdout == "", r.output
    assert r.stderr.splitlines() == [line]
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize("lang, line", [
    ("en", "error: the add-in was not built: The installed xlwings has no nothing.xlam."),
    ("fr", "erreur : le complément n'a pas été construit : Le xlwings installé n'a pas de nothing.xlam.")])
def test_cli_a_missing_template_is_one_line_not_a_traceback(tmp_path, monkeypatch, lang, line):
    import salesxl.addin_build as ab
    monkeypatch.setattr(ab, "TEMPLATE_NAME", "nothing.xlam")
    r = _cli("addin", "build", "-o", tmp_path, "--no-interpreter", "--lang", lang)
    assert r.exit_code == 2 and r.stderr.splitlines() == [line], r.output


def test_cli_demo_says_an_add_in_it_cannot_build_in_one_line(tmp_path, monkeypatch):
    import salesxl.addin_build as ab
    monkeypatch.setattr(ab, "TEMPLATE_NAME", "nothing.xlam")
    r = _cli("demo", "-o", tmp_path, "--lang", "fr")
    assert r.exit_code == 2 and r.stderr.splitlines() == [
        "erreur : le complément n'a pas été construit : Le xlwings installé n'a pas de nothing.xlam."], r.output
    assert (tmp_path / "equipe.xlsx").exists() and not (tmp_path / "salesxl.xlam").exists()


@pytest.mark.parametrize("lang, line", [
    ("en", "error: the add-in was not built: Cannot write into {out} (File exists): give -o a folder you can write "
           "to."),
    ("fr", "erreur : le complément n'a pas été construit : Impossible d'écrire dans {out} (File exists) : donnez à "
           "-o un dossier où vous pouvez écrire.")])
def test_cli_an_output_that_is_a_file_is_one_line_not_a_traceback(tmp_path, lang, line):
    out = tmp_path / "dist"
    out.write_text("a file, not a folder")
    r = _cli("addin", "build", "-o", out, "--no-interpreter", "--lang", lang)
    assert r.exit_code == 2 and r.stdout == "", r.output
    assert r.stderr.splitlines() == [line.format(out=out)]
    assert out.read_text() == "a file, not a folder"
