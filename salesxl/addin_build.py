"""Assemble ``salesxl.xlam``, the SalesXL Excel add-in, on any OS (no Excel needed).

The add-in is xlwings' own BSD-licensed ribbon add-in template
(``xlwings/quickstart_addin_ribbon.xlam`` of the installed xlwings, whose VBA
module ``xlwings`` holds ``RunPython`` and names the xlwings DLL of that same
version), edited as follows:

* VBA (written with pyOpenVBA; Office recompiles the source on first open):
  the template's ``RibbonMyAddin`` module becomes ``RibbonSalesxl`` with the
  source of ``salesxl/data/RibbonSalesxl.bas`` (the ``OnSalesxlButton``
  dispatcher), and the constant ``PROJECT_NAME`` of the ``xlwings`` module
  becomes ``"salesxl"``.  xlwings derives every config location from it:
  the config sheet ``salesxl.conf`` (in the active workbook, then in the
  add-in), ``salesxl.conf`` beside the active workbook and
  ``%USERPROFILE%\\.salesxl\\salesxl.conf`` / ``~/Library/Containers/com.microsoft.Excel/Data/salesxl.conf``.
* ``customUI/customUI.xml`` (the template's only ribbon part; it has no
  ``customUI14`` part) is ``salesxl/data/customUI.xml``, with French labels
  swapped in for ``lang="fr"``.
* The config sheet ``_myaddin.conf`` is renamed ``salesxl.conf`` and holds the
  build options.  Only keys with a value get a row, so a key left out (an
  interpreter, say) can still come from the user's or the folder's
  ``salesxl.conf`` file: in xlwings a key present on the sheet, even empty,
  wins over the config files.
* ``docProps/core.xml``: title and description, which Excel's Add-ins dialog shows.

The build is deterministic (same template, data files and options give the
same bytes): parts are written in sorted order with a fixed timestamp and
fixed attributes, and pyOpenVBA's project writer uses no clock or random ids.
The file is written atomically (temporary file in the target folder, then
``os.replace``).

``addin/customUI.xml`` and ``addin/RibbonSalesxl.bas`` at the repository root
are identical copies of the package data files, kept for people browsing the
repository; the build reads the package data so it also works when installed.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import os
import re
import struct
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from salesxl.i18n import addin_build_refusal
from salesxl.io.cells import atomic_write

__all__ = [
    "ACTIONS",
    "ADDIN_FILENAME",
    "AddinBuildError",
    "CONFIG_SHEET",
    "PROJECT_NAME",
    "RIBBON_MODULE",
    "build_addin",
    "data_dir",
    "template_path",
]

ACTIONS = ("validate", "forecast", "reviews", "consolidate", "new_period")

ADDIN_FILENAME = "salesxl.xlam"
PROJECT_NAME = "salesxl"                  # value of the xlwings VBA constant PROJECT_NAME
CONFIG_SHEET = PROJECT_NAME + ".conf"     # xlwings reads the sheet named PROJECT_NAME & ".conf"
RIBBON_MODULE = "RibbonSalesxl"
DISPATCHER = "OnSalesxlButton"
LANGS = ("en", "fr")

# What the build expects in the xlwings template (checked, so that a changed template fails loudly).
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
TEMPLATE_RIBBON_MODULE = "RibbonMyAddin"
TEMPLATE_XLWINGS_MODULE = "xlwings"
TEMPLATE_PROJECT_NAME = "myaddin"
TEMPLATE_CONFIG_SHEET = "_myaddin.conf"

_CUSTOMUI_PART = "customUI/customUI.xml"
_VBA_PART = "xl/vbaProject.bin"
_WORKBOOK_PART = "xl/workbook.xml"
_SST_PART = "xl/sharedStrings.xml"
_CORE_PART = "docProps/core.xml"
_CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
_RIBBON_RELTYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"

# Fixed zip metadata: 1980-01-01 is the earliest date a zip can hold; 0o644 regular file, made on Unix.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ZIP_SYSTEM = 3
_ZIP_ATTR = (0o100644 & 0xFFFF) << 16
_ZIP_LEVEL = 6

_TITLE = "SalesXL"
_DESCRIPTION = {
    "en": "SalesXL ribbon: validate, forecast, reviews, consolidate, new period (Python through xlwings).",
    "fr": "Ruban SalesXL : valider, prévisions, entretiens, consolider, nouvelle période (Python via xlwings).",
}

# French ribbon texts, by element id of salesxl/data/customUI.xml (which holds the English ones).
RIBBON_FR = {
    "salesxlTab": {"label": "SalesXL"},
    "salesxlGroup": {"label": "Ventes"},
    "salesxlValidate": {
        "label": "Valider", "screentip": "Valider",
        "supertip": "Contrôle le classeur actif et liste chaque anomalie dans la feuille Anomalies.",
    },
    "salesxlForecast": {
        "label": "Prévisions", "screentip": "Prévisions",
        "supertip": "Calcule pour chaque commercial la prévision de la période, l'atteinte, la couverture et le risque.",
    },
    "salesxlReviews": {
        "label": "Entretiens", "screentip": "Entretiens",
        "supertip": "Crée une feuille d'entretien de fin de période par commercial.",
    },
    "salesxlConsolidate": {
        "label": "Consolider", "screentip": "Consolider",
        "supertip": "Regroupe les classeurs des commerciaux dans le classeur d'équipe, avec leur provenance (fichier, feuille, ligne).",
    },
    "salesxlNewPeriod": {
        "label": "Nouvelle période", "screentip": "Nouvelle période",
        "supertip": "Fait passer le classeur à la période de planification suivante.",
    },
}


class AddinBuildError(RuntimeError):
    """The add-in cannot be built (missing template, unexpected template content, bad option): nothing is
    written. `reason` is a key of i18n.ADDIN_BUILD_REFUSALS, `params` fill its text; `say(lang)` tells it
    in EN or FR (str() is the English)."""

    def __init__(self, reason: str, /, **params: Any):
        self.reason, self.params = reason, params
        super().__init__(self.say("en"))

    def say(self, lang: str) -> str:
        return addin_build_refusal(self.reason, lang, **self.params)


# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------

def data_dir() -> Path:
    """Folder of the canonical text files (package data ``salesxl/data``)."""
    return Path(__file__).resolve().parent / "data"


def template_path() -> Path:
    """The ribbon add-in template shipped by the installed xlwings (found without importing xlwings)."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise AddinBuildError("no_xlwings")
    for location in spec.submodule_search_locations:
        path = Path(location) / TEMPLATE_NAME
        if path.is_file():
            return path
    raise AddinBuildError("no_template", name=TEMPLATE_NAME)


def _read_text(name: str) -> str:
    path = data_dir() / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AddinBuildError("cannot_read", path=path, error=exc) from exc


def _crlf(text: str) -> str:
    """VBA source lines end with CRLF, whatever the checkout did to the file."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return "\r\n".join(lines) + "\r\n"


def _replace_once(text: str, old: str, new: str, what: str) -> str:
    """`old` replaced by `new`, where `old` is there once; `what` names it in the refusal (in VBA/XML terms:
    the same in both languages)."""
    count = text.count(old)
    if count != 1:
        raise AddinBuildError("template_count", what=what, count=count)
    return text.replace(old, new)


# ----------------------------------------------------------------------------------------------
# VBA project (pyOpenVBA)
# ----------------------------------------------------------------------------------------------

def _vba_sub_names(source: str) -> set[str]:
    pattern = re.compile(r"^\s*(?:Public\s+|Private\s+|Friend\s+)?(?:Static\s+)?Sub\s+(\w+)", re.I | re.M)
    return {m.group(1) for m in pattern.finditer(source)}


def _build_vba_project(template: Path, dispatcher_source: str) -> bytes:
    """The template's vbaProject.bin with the dispatcher module and PROJECT_NAME set."""
    from pyopenvba import ExcelFile

    if DISPATCHER not in _vba_sub_names(dispatcher_source):
        raise AddinBuildError("no_sub", module=RIBBON_MODULE, sub=DISPATCHER)
    header = f'Attribute VB_Name = "{RIBBON_MODULE}"'
    if not dispatcher_source.startswith(header):
        raise AddinBuildError("bas_header", module=RIBBON_MODULE, header=header)

    with tempfile.TemporaryDirectory(prefix="salesxl-addin-") as tmp:
        out = Path(tmp) / ADDIN_FILENAME
        with ExcelFile(template) as book:
            names = book.module_names()
            for needed in (TEMPLATE_RIBBON_MODULE, TEMPLATE_XLWINGS_MODULE):
                if needed not in names:
                    raise AddinBuildError("no_vba_module", module=needed, names=names)
            xlwings_src = book.get_module(TEMPLATE_XLWINGS_MODULE)
            _check_xlwings_version(xlwings_src)
            xlwings_src = _replace_once(
                xlwings_src,
                f'Public Const PROJECT_NAME As String = "{TEMPLATE_PROJECT_NAME}"',
                f'Public Const PROJECT_NAME As String = "{PROJECT_NAME}"',
                "Const PROJECT_NAME",
            )
            book.set_module(TEMPLATE_XLWINGS_MODULE, xlwings_src)
            book.vba_project().rename_module(TEMPLATE_RIBBON_MODULE, RIBBON_MODULE)
            book.set_module(RIBBON_MODULE, dispatcher_source)
            book.save(out)
        with ExcelFile(out) as saved:  # read back what was written
            problems = saved.validate()
            if problems:
                raise AddinBuildError("vba_inconsistent", problems="; ".join(problems))
            if RIBBON_MODULE not in saved.module_names() or TEMPLATE_RIBBON_MODULE in saved.module_names():
                raise AddinBuildError("vba_not_renamed", old=TEMPLATE_RIBBON_MODULE, new=RIBBON_MODULE)
        with zipfile.ZipFile(out) as saved:
            return _name_project(saved.read(_VBA_PART), PROJECT_NAME)


def _name_project(vba_bin: bytes, name: str) -> bytes:
    """The VBA project named `name` (the editor shows "salesxl (salesxl.xlam)", not the template's
    "MyAddin"). pyOpenVBA 6.5 has no call for it, so both places [MS-OVBA] keeps the name are edited
    through its compound-file and compression functions: the PROJECTNAME record of the ``VBA/dir``
    stream (2.3.4.2.1.6: id 0x0004, a 4-byte size, the name; the records before it are plain
    id-size-data ones) and the ``Name="..."`` line of the ``PROJECT`` stream (2.3.1.4)."""
    from pyopenvba.cfb import CFB
    from pyopenvba.vba import compress, decompress

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,127}", name):
        raise AddinBuildError("vba_project_name", name=name)
    cfb = CFB.from_bytes(vba_bin)
    dir_raw = decompress(cfb.get_stream_in_storage("VBA", "dir"), stream_name="dir")
    pos = 0
    while pos + 6 <= len(dir_raw):
        rec_id, size = struct.unpack_from("<HI", dir_raw, pos)
        if rec_id == 0x0004:
            break
        if rec_id not in (0x0001, 0x004A, 0x0002, 0x0014, 0x0003):   # SYSKIND … CODEPAGE only
            raise AddinBuildError("vba_dir_record", record=rec_id)
        pos += 6 + size
    else:
        raise AddinBuildError("vba_dir_no_name")
    encoded = name.encode("ascii")
    dir_raw = dir_raw[:pos] + struct.pack("<HI", 0x0004, len(encoded)) + encoded + dir_raw[pos + 6 + size:]
    project = cfb.get_stream("PROJECT")
    renamed, n = re.subn(rb'^Name="[^"\r\n]*"', b'Name="' + encoded + b'"', project, count=1, flags=re.M)
    if n != 1:
        raise AddinBuildError("vba_project_no_name")
    cfb.write_stream_in_storage("VBA", "dir", compress(dir_raw))
    cfb.write_stream("PROJECT", renamed)
    return cfb.to_bytes()


def _check_xlwings_version(xlwings_src: str) -> None:
    """The template's VBA names the DLL of its xlwings version; it must be the installed one."""
    match = re.search(r'Public Const XLWINGS_VERSION As String = "([^"]+)"', xlwings_src)
    if match is None:
        raise AddinBuildError("no_version_constant")
    try:
        installed = importlib.metadata.version("xlwings")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - template found, so it is installed
        return
    if match.group(1) != installed:
        raise AddinBuildError("xlwings_version", template=match.group(1), installed=installed)


# ----------------------------------------------------------------------------------------------
# Package parts
# ----------------------------------------------------------------------------------------------

def _set_attr(element: str, name: str, value: str) -> str:
    """Set attribute ``name`` in the start tag ``element`` (string level: keeps the file's layout)."""
    pattern = re.compile(r'(\s%s=)("[^"]*"|\'[^\']*\')' % re.escape(name))
    if pattern.search(element):
        return pattern.sub(lambda m: m.group(1) + quoteattr(value), element, count=1)
    end = -2 if element.endswith("/>") else -1
    return element[:end].rstrip() + f" {name}={quoteattr(value)}" + element[end:]


def _customui(lang: str) -> bytes:
    text = _read_text("customUI.xml")
    if lang == "fr":
        def translate(match: re.Match[str]) -> str:
            element = match.group(0)
            id_match = re.search(r'\sid="([^"]+)"', element)
            for attr, value in RIBBON_FR.get(id_match.group(1) if id_match else "", {}).items():
                element = _set_attr(element, attr, value)
            return element
        text = re.sub(r"<(?:tab|group|button)\b[^>]*>", translate, text)
    data = text.encode("utf-8")
    _check_customui(data)
    return data


def _check_customui(data: bytes) -> None:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise AddinBuildError("customui_xml", line=exc.position[0], column=exc.position[1] + 1) from exc
    if root.tag != f"{{{_CUSTOMUI_NS}}}customUI":
        raise AddinBuildError("customui_namespace", namespace=_CUSTOMUI_NS)
    tags = []
    for button in root.iter(f"{{{_CUSTOMUI_NS}}}button"):
        if button.get("onAction") != DISPATCHER:
            raise AddinBuildError("button_action", button=button.get("id"), dispatcher=DISPATCHER)
        if button.get("tag") not in ACTIONS:
            raise AddinBuildError("button_tag", button=button.get("id"), tag=button.get("tag"))
        tags.append(button.get("tag"))
    if sorted(tags) != sorted(ACTIONS):
        raise AddinBuildError("ribbon_buttons", actions=ACTIONS, tags=tags)


def _workbook(xml: str) -> str:
    return _replace_once(
        xml,
        f'<sheet name="{TEMPLATE_CONFIG_SHEET}"',
        f'<sheet name="{escape(CONFIG_SHEET)}"',
        f'<sheet name="{TEMPLATE_CONFIG_SHEET}">',
    )


def _config_sheet_part(parts: dict[str, bytes]) -> str:
    """Path of the worksheet part of the template's config sheet, found through workbook.xml and its rels."""
    workbook = parts[_WORKBOOK_PART].decode("utf-8")
    match = re.search(r'<sheet name="%s"[^>]*\sr:id="([^"]+)"' % re.escape(TEMPLATE_CONFIG_SHEET), workbook)
    if match is None:
        raise AddinBuildError("no_config_sheet", sheet=TEMPLATE_CONFIG_SHEET)
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    for rel in re.findall(r"<Relationship\b[^>]*>", rels):
        if re.search(r'\sId="%s"' % re.escape(match.group(1)), rel):
            target = re.search(r'\sTarget="([^"]+)"', rel)
            if target:
                return "xl/" + target.group(1).lstrip("/").removeprefix("xl/")
    raise AddinBuildError("no_config_part")


def _config_rows(interpreter_win, interpreter_mac, pythonpath, udf_modules) -> list[tuple[str, str | bool]]:
    """Key/value rows of the config sheet, in the template's order; keys without a value are left out."""
    rows: list[tuple[str, str | bool | None]] = [
        ("Interpreter_Win", interpreter_win),
        ("Interpreter_Mac", interpreter_mac),
        ("PYTHONPATH", pythonpath),
        ("UDF Modules", udf_modules),
        # As in the template: explicit defaults.
        ("Debug UDFs", False),
        ("Use UDF Server", False),
        ("Show Console", False),
    ]
    out: list[tuple[str, str | bool]] = []
    for key, value in rows:
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, (str, bool)):
            raise AddinBuildError("config_not_text", key=key, type=type(value).__name__)
        if isinstance(value, str) and any(ord(ch) < 32 for ch in value):
            raise AddinBuildError("config_control", key=key)
        out.append((key, value))
    return out


def _config_sheet(sheet_xml: str, rows: list[tuple[str, str | bool]]) -> tuple[str, str]:
    """Rewrite the config sheet's cells and the shared strings (the sheet is the workbook's only one)."""
    strings: list[str] = []

    def sst_index(text: str) -> int:
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    refs = 0
    row_xml = []
    for r, (key, value) in enumerate(rows, start=1):
        cells = f'<c r="A{r}" s="1" t="s"><v>{sst_index(key)}</v></c>'
        refs += 1
        if isinstance(value, bool):
            cells += f'<c r="B{r}" s="1" t="b"><v>{int(value)}</v></c>'
        else:
            cells += f'<c r="B{r}" s="1" t="s"><v>{sst_index(value)}</v></c>'
            refs += 1
        row_xml.append(f'<row r="{r}" spans="1:2" ht="15.75">{cells}</row>')

    sheet_xml, n = re.subn(r"<sheetData>.*?</sheetData>|<sheetData\s*/>",
                           lambda _m: "<sheetData>" + "".join(row_xml) + "</sheetData>", sheet_xml, flags=re.S)
    if n != 1:
        raise AddinBuildError("no_sheet_data")
    sheet_xml, n = re.subn(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:B{max(len(rows), 1)}" />', sheet_xml)
    if n != 1:
        raise AddinBuildError("no_dimension")

    def si(text: str) -> str:
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f"<si><t{space}>{escape(text)}</t></si>"

    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           f'count="{refs}" uniqueCount="{len(strings)}">' + "".join(si(s) for s in strings) + "</sst>")
    return sheet_xml, sst


def _core(xml: str, lang: str) -> str:
    xml = _replace_once(xml, "<dc:title />", f"<dc:title>{escape(_TITLE)}</dc:title>", "<dc:title />")
    return _replace_once(xml, "<dc:description />",
                         f"<dc:description>{escape(_DESCRIPTION[lang])}</dc:description>",
                         "<dc:description />")


def _check_ribbon_relationship(parts: dict[str, bytes]) -> None:
    rels = parts["_rels/.rels"].decode("utf-8")
    if f'Type="{_RIBBON_RELTYPE}" Target="{_CUSTOMUI_PART}"' not in rels:
        raise AddinBuildError("no_ribbon_rel", part=_CUSTOMUI_PART)
    extra = [name for name in parts if name.lower().startswith("customui/") and name != _CUSTOMUI_PART]
    if extra:  # e.g. a customUI14.xml part: it would need the same rewrite
        raise AddinBuildError("ribbon_parts", parts=extra)


def _pack(parts: dict[str, bytes]) -> bytes:
    """A zip of ``parts`` in sorted order with fixed metadata: same parts, same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name in sorted(parts):  # "[Content_Types].xml" sorts first, as Office writes it
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _ZIP_SYSTEM
            info.external_attr = _ZIP_ATTR
            out.writestr(info, parts[name], compresslevel=_ZIP_LEVEL)
    return buf.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
    atomic_write(path, write)


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------

def build_addin(
    out_dir: str | os.PathLike[str],
    *,
    interpreter_win: str | None = None,
    interpreter_mac: str | None = None,
    pythonpath: str | None = None,
    udf_modules: str | None = "salesxl.udfs",
    lang: str = "en",
) -> Path:
    """Build ``salesxl.xlam`` into ``out_dir`` (created if needed) and return its path.

    ``interpreter_win`` / ``interpreter_mac`` (full path of python.exe / python), ``pythonpath`` (folders,
    ``;``-separated) and ``udf_modules`` (``;``-separated modules) go to the add-in's ``salesxl.conf``
    sheet; left empty, xlwings looks them up in the user's ``salesxl.conf`` file, then uses its defaults.
    ``lang`` (``en`` or ``fr``) picks the ribbon's labels and tips.
    """
    if lang not in LANGS:
        raise AddinBuildError("unknown_lang", lang=lang, langs=", ".join(LANGS))
    rows = _config_rows(interpreter_win, interpreter_mac, pythonpath, udf_modules)
    template = template_path()

    with zipfile.ZipFile(template) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
    for needed in (_VBA_PART, _WORKBOOK_PART, _SST_PART, _CORE_PART, _CUSTOMUI_PART, "_rels/.rels",
                   "xl/_rels/workbook.xml.rels"):
        if needed not in parts:
            raise AddinBuildError("no_part", part=needed)
    _check_ribbon_relationship(parts)

    sheet_part = _config_sheet_part(parts)
    sheet_xml, sst_xml = _config_sheet(parts[sheet_part].decode("utf-8"), rows)
    parts[sheet_part] = sheet_xml.encode("utf-8")
    parts[_SST_PART] = sst_xml.encode("utf-8")
    parts[_WORKBOOK_PART] = _workbook(parts[_WORKBOOK_PART].decode("utf-8")).encode("utf-8")
    parts[_CORE_PART] = _core(parts[_CORE_PART].decode("utf-8"), lang).encode("utf-8")
    parts[_CUSTOMUI_PART] = _customui(lang)
    parts[_VBA_PART] = _build_vba_project(template, _crlf(_read_text(f"{RIBBON_MODULE}.bas")))

    out = Path(out_dir)
    target = out / ADDIN_FILENAME
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, _pack(parts))
    except OSError as exc:                  # -o names a file, a read-only folder, a full disk…
        raise AddinBuildError("cannot_write", path=str(out), error=exc.strerror or str(exc)) from exc
    return target
