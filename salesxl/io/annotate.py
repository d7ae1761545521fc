"""An annotated copy of a workbook: every issue marked as the add-in's Validate marks it (errors red,
warnings amber, a note per cell with its messages, an Issues sheet), for reps without Python.

The copy is made at the package level: every part of the original is copied byte for byte, except the
few that must change, which are patched as text — the marked sheets (a style index per marked cell, a
legacyDrawing element when the sheet had no notes), the styles (two fills and the cell formats that use
them, appended), the notes (comments part and its VML drawing, appended to or created), and the
workbook's sheet list, relationships and content types for the Issues sheet. Tables, data validation,
conditional formats, formulas, defined names, and anything openpyxl would not know (extLst, slicers,
sparklines, VBA) stay as they were. The original is only ever read.
"""
from __future__ import annotations

import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence
from xml.sax.saxutils import escape

from salesxl import contract, i18n
from salesxl.io.cells import atomic_write, clean_str
from salesxl.io.read_xlsx import col_index, col_letters, package_sheets
from salesxl.layout import (ERROR_FILL, HEADER_COLOUR, ISSUE_COLUMNS, ISSUE_MESSAGE_COL, NO_ISSUES, NOTE_FILL, STYLES,
                            WARNING_FILL, WHITE, issue_rows, issues_frame, issues_in_order,
                            rgb_hex, stored_width)      # the Issues sheet as every renderer draws it
from salesxl.issue_codes import CODES
from salesxl.issues import ERROR, FILE_LEVEL_CODES, WARNING, Issue
from salesxl.tables import TableData
from salesxl.values import label_key

ERROR_RGB, WARNING_RGB = rgb_hex(ERROR_FILL, alpha=True), rgb_hex(WARNING_FILL, alpha=True)   # the add-in's marks
HEADER_RGB = rgb_hex(HEADER_COLOUR, alpha=True)
NOTE_AUTHOR = "salesxl"
NOTE_MAX_CHARS = 1000
MAX_NOTES = 1000          # notes per sheet (a VML drawing's shape ids span 1,024 per block)
# The hidden sheet where the marks are recorded, as the add-in records its own (io/live.py MARKS_SHEET):
# a later annotation, or the add-in's Validate, removes exactly these fills and notes before marking again.
MARKS_SHEET = "_salesxl_marks"
MARKS_HEADER = ("sheet", "kind", "address")

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL_COMMENTS = _NS_REL + "/comments"
_REL_VML = _NS_REL + "/vmlDrawing"
_REL_SHEET = _NS_REL + "/worksheet"
_CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
# CT_Worksheet children that come after legacyDrawing (where a new legacyDrawing goes before)
_AFTER_LEGACY = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                 "tableParts", "extLst")


class AnnotateError(Exception):
    """The package cannot be patched safely (a layout this module does not handle): no copy is written.
    `reason` is a key of i18n.PATCH_REFUSALS, `params` fill its text; `say(lang)` tells it in EN or FR
    (str() is the English)."""

    def __init__(self, reason: str, /, **params: Any):
        self.reason, self.params = reason, params
        super().__init__(self.say("en"))

    def say(self, lang: str) -> str:
        return i18n.patch_refusal(self.reason, lang, **self.params)


# ---------------------------------------------------------------------------------------------
# Which cells an issue marks (shared with the add-in's Validate)
def issue_cells(tables: Iterable[TableData], issues: Iterable[Issue]) -> dict[str, dict[tuple[int, int], list]]:
    """Sheet name -> (Excel row, column) -> [severity, note texts] for the issues that mark a cell.

    A cell issue marks its cell; a row issue (a duplicated row) the row across the table's input
    columns, its note on the first. Issues about a missing sheet or header, or on a header row, mark
    nothing. A cell with an error and a warning is an error cell; its note holds every message."""
    by_sheet: dict[str, list[TableData]] = {}
    for td in tables:
        if td.key != "settings":
            by_sheet.setdefault(label_key(td.sheet), []).append(td)
    cells: dict[str, dict[tuple[int, int], list]] = {}
    for i in issues:
        if i.sheet is None or i.row is None or not CODES[i.code].marks_cell:
            continue
        for td in by_sheet.get(label_key(i.sheet), []):
            if i.row <= td.header_row:
                continue
            if i.column is not None:
                key = next((k for k, h in td.headers.items() if h == i.column), None)
                if key is None:
                    continue
                targets = [(td.columns_at[key], True)]
            else:
                cols = sorted(td.columns_at[c.key] for c in contract.TABLES[td.key].input_columns
                              if c.key in td.columns_at)
                targets = [(c, j == 0) for j, c in enumerate(range(cols[0], cols[-1] + 1))] if cols else []
            bucket = cells.setdefault(td.sheet, {})
            for col, with_note in targets:
                entry = bucket.setdefault((i.row, col), [WARNING, []])
                if i.severity == ERROR:
                    entry[0] = ERROR
                if with_note and i.message not in entry[1]:
                    entry[1].append(i.message)
            break
    return cells


# ---------------------------------------------------------------------------------------------
@dataclass
class Annotated:
    source: str
    output: str
    cells: int = 0                 # cells filled
    notes: int = 0                 # notes written
    notes_kept: int = 0            # cells whose own note was kept (the issue is in the Issues sheet)
    notes_skipped: int = 0         # beyond MAX_NOTES on a sheet (in the Issues sheet)
    issues: int = 0
    sheets: list[str] = field(default_factory=list)
    error: str | None = None       # why no copy could be made (the package's layout is not one handled)
    refusal: AnnotateError | None = field(default=None, repr=False, compare=False)   # said in a language

    def why(self, lang: str) -> str | None:
        """Why no copy was made, in `lang` (a patch refusal is declared EN/FR; a reader's error is its own)."""
        return self.refusal.say(lang) if self.refusal is not None else self.error

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.source, "output": self.output, "issues": self.issues, "cells": self.cells,
                "notes": self.notes, "notes_kept": self.notes_kept, "notes_skipped": self.notes_skipped,
                **({"error": self.error} if self.error else {})}


def annotate_file(source: str | os.PathLike[str], output: str | os.PathLike[str], tables: Iterable[TableData],
                  issues: Sequence[Issue], lang: str) -> Annotated:
    """Write to `output` (atomically) a copy of the workbook `source` with `issues` marked. `source` is
    only read; `output` must be another file."""
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve():
        raise AnnotateError("copy_replaces_source")
    marks = issue_cells(tables, issues)
    with zipfile.ZipFile(source) as z:
        pkg = _Package(z)
        result = Annotated(str(source), str(output), issues=len(issues))
        styles = _Styles(pkg.text("xl/styles.xml"))
        parts = package_sheets(z)
        old = _recorded_marks(source, parts)
        records: list[tuple[str, str, str]] = []
        for part in parts:
            cells = marks.get(part.name, {})
            fills, notes = old.get(label_key(part.name), (set(), set()))
            if not cells and not fills and not notes:
                continue
            records += _mark_sheet(pkg, part.path, cells, styles, result, fills, notes, part.name)
            if cells:
                result.sheets.append(part.name)
        _issues_sheet(pkg, issues, lang, styles)
        _marks_sheet(pkg, parts, records)
        pkg.set_text("xl/styles.xml", styles.xml())
        atomic_write(output, pkg.write)
    return result


# ---------------------------------------------------------------------------------------------
class _Package:
    """The original parts, and the parts changed or added (text), written back in the original order."""

    def __init__(self, z: zipfile.ZipFile):
        self.z = z
        self.infos = z.infolist()
        self.names = {i.filename for i in self.infos}
        self.changed: dict[str, bytes] = {}
        self.added: list[str] = []

    def has(self, name: str) -> bool:
        return name in self.names or name in self.changed

    def text(self, name: str) -> str:
        data = self.changed.get(name)
        return (data if data is not None else self.z.read(name)).decode("utf-8")

    def set_text(self, name: str, text: str) -> None:
        if name not in self.names and name not in self.added:
            self.added.append(name)
        self.changed[name] = text.encode("utf-8")

    def free_name(self, pattern: str) -> str:
        n = 1
        while self.has(pattern.format(n)):
            n += 1
        return pattern.format(n)

    def write(self, path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for info in self.infos:
                data = self.changed.get(info.filename)
                if data is None:
                    out.writestr(info, self.z.read(info.filename))
                else:
                    out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
            for name in self.added:
                out.writestr(name, self.changed[name])

    # relationships ------------------------------------------------------------------------
    @staticmethod
    def rels_name(part: str) -> str:
        d, f = posixpath.split(part)
        return posixpath.join(d, "_rels", f + ".rels")

    def rels(self, part: str) -> list[tuple[str, str, str]]:
        """(Id, Type, Target resolved to a part name) of a part's relationships."""
        name = self.rels_name(part)
        if not self.has(name):
            return []
        out = []
        for m in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)/?>", self.text(name)):
            a = _attrs(m.group(1))
            if a.get("TargetMode") == "External":
                continue
            target = a.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else \
                posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
            out.append((a.get("Id", ""), a.get("Type", ""), target))
        return out

    def add_rel(self, part: str, rel_type: str, target: str) -> str:
        name = self.rels_name(part)
        text = self.text(name) if self.has(name) else (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>')
        ids = set(re.findall(r'\bId="([^"]*)"', text))
        n = 1
        while f"rId{n}" in ids or f"sxl{n}" in ids:
            n += 1
        rid = f"sxl{n}"
        rel_target = posixpath.relpath(target, posixpath.dirname(part))
        el = f'<Relationship Id="{rid}" Type="{rel_type}" Target="{escape(rel_target)}"/>'
        text = _insert_before_close(text, "Relationships", el)
        self.set_text(name, text)
        return rid

    def content_type(self, part: str, ctype: str) -> None:
        text = self.text("[Content_Types].xml")
        if f'PartName="/{part}"' in text:
            return
        text = _insert_before_close(text, "Types", f'<Override PartName="/{part}" ContentType="{ctype}"/>')
        self.set_text("[Content_Types].xml", text)

    def default_type(self, ext: str, ctype: str) -> None:
        text = self.text("[Content_Types].xml")
        if re.search(rf'<(?:\w+:)?Default\b[^>]*Extension="{ext}"', text, re.I):
            return
        text = _insert_before_close(text, "Types", f'<Default Extension="{ext}" ContentType="{ctype}"/>')
        self.set_text("[Content_Types].xml", text)


def _attrs(s: str) -> dict[str, str]:
    """The attributes of a start tag's text, by qualified name."""
    return {m.group(1): m.group(2) for m in re.finditer(r'([\w:.-]+)\s*=\s*"([^"]*)"', s)}


def _insert_before_close(text: str, tag: str, el: str) -> str:
    m = None
    for m in re.finditer(rf"</(?:\w+:)?{tag}>", text):
        pass
    if m is None:
        m2 = re.search(rf"<((?:\w+:)?){tag}\b([^>]*)/>", text)
        if m2 is None:
            raise AnnotateError("no_element", tag=tag)
        return text[:m2.start()] + f"<{m2.group(1)}{tag}{m2.group(2)}>{el}</{m2.group(1)}{tag}>" + text[m2.end():]
    return text[:m.start()] + el + text[m.start():]


# ---------------------------------------------------------------------------------------------
class _Styles:
    """styles.xml with fills and cell formats appended (the existing ones never change index)."""

    def __init__(self, text: str):
        self.text = text
        self.prefix = re.search(r"<(\w+:)?styleSheet\b", text).group(1) or ""
        self.xfs = self._elements("cellXfs", "xf")
        self.new_fills: list[str] = []
        self.new_fonts: list[str] = []
        self.new_xfs: list[str] = []
        self.fill_ids: dict[str, int] = {}
        self.memo: dict[tuple[int, str], int] = {}
        self.n_fills = len(self._elements("fills", "fill"))
        self.n_fonts = len(self._elements("fonts", "font"))
        self._header: int | None = None

    def _block(self, tag: str) -> re.Match | None:
        p = self.prefix
        return re.search(rf"<{p}{tag}\b[^>]*?(?:/>|>(.*?)</{p}{tag}>)", self.text, re.S)

    def _elements(self, block: str, tag: str) -> list[str]:
        m = self._block(block)
        if m is None or m.group(1) is None:
            return []
        p = self.prefix
        return re.findall(rf"<{p}{tag}\b(?:[^>]*?/>|[^>]*?>.*?</{p}{tag}>)", m.group(1), re.S)

    def fill(self, rgb: str) -> int:
        if rgb not in self.fill_ids:
            p = self.prefix
            self.new_fills.append(f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="{rgb}"/>'
                                  f'<{p}bgColor rgb="{rgb}"/></{p}patternFill></{p}fill>')
            self.fill_ids[rgb] = self.n_fills + len(self.new_fills) - 1
        return self.fill_ids[rgb]

    def _add_xf(self, xf: str) -> int:
        self.new_xfs.append(xf)
        return len(self.xfs) + len(self.new_xfs) - 1

    def marked(self, s: int, rgb: str | None) -> int:
        """The index of a cell format like `s` (number format, font, borders, alignment kept) filled
        `rgb` (None: no fill, a mark removed)."""
        key = (s, rgb)
        if key not in self.memo:
            fid = self.fill(rgb) if rgb is not None else 0
            xfs = self.xfs + self.new_xfs
            base = xfs[s] if 0 <= s < len(xfs) else f'<{self.prefix}xf numFmtId="0" fontId="0" ' \
                                                    f'fillId="0" borderId="0" xfId="0"/>'
            m = re.match(r"<([\w:]+)\b([^>]*?)(/?)>", base)
            attrs = re.sub(r'\s(fillId|applyFill)="[^"]*"', "", m.group(2))
            xf = f'<{m.group(1)}{attrs} fillId="{fid}" applyFill="1"{m.group(3)}>' + base[m.end():]
            self.memo[key] = self._add_xf(xf)
        return self.memo[key]

    def header(self) -> int:
        """Bold white on dark blue, wrapped: the Issues sheet's header."""
        if self._header is None:
            p = self.prefix
            self.new_fonts.append(f'<{p}font><{p}b/><{p}sz val="11"/><{p}color rgb="{rgb_hex(WHITE, alpha=True)}"/>'
                                  f'<{p}name val="Calibri"/></{p}font>')
            font = self.n_fonts + len(self.new_fonts) - 1
            self._header = self._add_xf(
                f'<{p}xf numFmtId="0" fontId="{font}" fillId="{self.fill(HEADER_RGB)}" borderId="0" xfId="0" '
                f'applyFont="1" applyFill="1" applyAlignment="1"><{p}alignment vertical="center" wrapText="1"/>'
                f'</{p}xf>')
        return self._header

    def aligned(self, style: str | None) -> int:
        """The index of a plain cell format aligned as salesxl.layout's `style` (wrapped, top); 0 when
        the style sets no alignment."""
        st = STYLES.get(style, STYLES[None])
        attrs = (f' vertical="{"center" if st.valign == "vcenter" else st.valign}"' if st.valign else "") + \
            (' wrapText="1"' if st.wrap else "")
        if not attrs:
            return 0
        key = (-1, attrs)
        if key not in self.memo:
            p = self.prefix
            self.memo[key] = self._add_xf(f'<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" '
                                          f'applyAlignment="1"><{p}alignment{attrs}/></{p}xf>')
        return self.memo[key]

    def xml(self) -> str:
        text = self.text
        for block, tag, new, n in (("fonts", "font", self.new_fonts, self.n_fonts),
                                   ("fills", "fill", self.new_fills, self.n_fills),
                                   ("cellXfs", "xf", self.new_xfs, len(self.xfs))):
            if not new:
                continue
            self.text = text
            m = self._block(block)
            if m is None:
                raise AnnotateError("no_styles_block", block=block)
            p = self.prefix
            el = m.group(0)
            head = re.match(rf"<{p}{block}\b[^>]*?/?>", el).group(0)
            attrs = re.sub(r'\scount="\d*"', "", head[len(p) + len(block) + 1:].rstrip("/>").rstrip("/"))
            body = m.group(1) or ""
            new_el = f'<{p}{block} count="{n + len(new)}"{attrs}>{body}{"".join(new)}</{p}{block}>'
            text = text[:m.start()] + new_el + text[m.end():]
        self.text = text
        return text


# ---------------------------------------------------------------------------------------------
_ROW = re.compile(r"<((?:\w+:)?)row\b([^>]*?)(/?)>")
_CELL = re.compile(r"<((?:\w+:)?)c\b([^>]*?)(/?)>")
_SPANS = re.compile(r'\sspans="[^"]*"')
_SHEET_DATA = re.compile(r"<((?:\w+:)?)sheetData\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?sheetData>)", re.S)


def sheet_data(xml: str) -> re.Match:
    """A worksheet's sheetData element (its prefix, its body or None); AnnotateError when there is none."""
    sd = _SHEET_DATA.search(xml)
    if sd is None:
        raise AnnotateError("no_sheet_data")
    return sd


def _mark_sheet(pkg: _Package, part: str, cells: Mapping[tuple[int, int], list], styles: _Styles,
                result: Annotated, old_fills: set, old_notes: set, sheet: str) -> list[tuple[str, str, str]]:
    """Fill and note the cells of one sheet, after removing the marks recorded before (fills and notes
    of a previous annotation or of the add-in's Validate). The records of the new marks."""
    xml = pkg.text(part)
    rgb = {ERROR: ERROR_RGB, WARNING: WARNING_RGB}
    fills: dict[tuple[int, int], str | None] = {rc: None for rc in old_fills}
    fills.update({rc: rgb[sev] for rc, (sev, _) in cells.items()})
    xml = _fill_cells(xml, fills, styles)
    result.cells += len(cells)
    notes = {rc: "\n".join(texts) for rc, (_, texts) in cells.items() if texts}
    written: list[tuple[int, int]] = []
    if notes or old_notes:
        xml = _add_notes(pkg, part, xml, notes, result, old_notes, written)
    pkg.set_text(part, xml)
    return [(sheet, "fill", f"{col_letters(c)}{r}") for r, c in sorted(cells)] + \
        [(sheet, "note", f"{col_letters(c)}{r}") for r, c in written]


def _fill_cells(xml: str, fills: Mapping[tuple[int, int], str], styles: _Styles) -> str:
    """Each (row, col) of `fills` given a cell format filled with its colour; missing cells and rows created."""
    sd = sheet_data(xml)
    p = sd.group(1)
    body = sd.group(2) or ""
    by_row: dict[int, dict[int, str]] = {}
    for (r, c), colour in fills.items():
        by_row.setdefault(r, {})[c] = colour
    out, pos = [], 0
    rows_seen: set[int] = set()
    for m in _ROW.finditer(body):
        a = _attrs(m.group(2))
        if "r" not in a:
            raise AnnotateError("row_without_number")
        r = int(a["r"])
        end = m.end() if m.group(3) else body.index("</" + m.group(1) + "row>", m.end())
        # rows to create before this one
        for nr in sorted(x for x in by_row if x < r and x not in rows_seen):
            out.append(body[pos:m.start()])
            pos = m.start()
            out.append(_new_row(p, nr, by_row[nr], styles))
            rows_seen.add(nr)
        rows_seen.add(r)
        if r not in by_row:
            continue
        out.append(body[pos:m.start()])
        inner = "" if m.group(3) else body[m.end():end]
        open_tag = f"<{m.group(1)}row{_SPANS.sub('', m.group(2))}>"      # spans: a hint, now stale
        out.append(open_tag + _fill_row(m.group(1), r, inner, by_row[r], styles) + f"</{m.group(1)}row>")
        pos = end + (0 if m.group(3) else len(f"</{m.group(1)}row>"))
    out.append(body[pos:])
    for nr in sorted(x for x in by_row if x not in rows_seen):
        out.append(_new_row(p, nr, by_row[nr], styles))
    new_body = "".join(out)
    return xml[:sd.start()] + f"<{p}sheetData>{new_body}</{p}sheetData>" + xml[sd.end():]


def _new_row(p: str, r: int, cols: Mapping[int, str | None], styles: _Styles) -> str:
    if all(rgb is None for rgb in cols.values()):          # nothing to clear in a row that is not there
        return ""
    return f'<{p}row r="{r}">' + "".join(
        f'<{p}c r="{col_letters(c)}{r}" s="{styles.marked(0, rgb)}"/>' for c, rgb in sorted(cols.items())
        if rgb is not None) + f"</{p}row>"


def _fill_row(p: str, r: int, inner: str, cols: Mapping[int, str], styles: _Styles) -> str:
    out, pos = [], 0
    done: set[int] = set()
    for m in _CELL.finditer(inner):
        a = _attrs(m.group(2))
        ref = a.get("r")
        if ref is None:
            raise AnnotateError("cell_without_ref")
        c = col_index(re.match(r"[A-Z]+", ref).group(0))
        for nc in sorted(x for x in cols if x < c and x not in done):
            out.append(inner[pos:m.start()])
            pos = m.start()
            if cols[nc] is not None:
                out.append(f'<{p}c r="{col_letters(nc)}{r}" s="{styles.marked(0, cols[nc])}"/>')
            done.add(nc)
        done.add(c)
        if c not in cols:
            continue
        s = styles.marked(int(a.get("s", "0")), cols[c])
        attrs = re.sub(r'\ss="\d*"', "", m.group(2)) + f' s="{s}"'
        out.append(inner[pos:m.start()])
        out.append(f"<{m.group(1)}c{attrs}{m.group(3)}>")
        pos = m.end()
    out.append(inner[pos:])
    for nc in sorted(x for x in cols if x not in done and cols[x] is not None):
        out.append(f'<{p}c r="{col_letters(nc)}{r}" s="{styles.marked(0, cols[nc])}"/>')
    return "".join(out)


# ---------------------------------------------------------------------------------------------
def _add_notes(pkg: _Package, part: str, xml: str, notes: Mapping[tuple[int, int], str], result: Annotated,
               old: set = frozenset(), written: list | None = None) -> str:
    """Notes in the sheet's comments part (and its VML drawing), created when the sheet has none, after
    removing the notes recorded as ours (`old`). A cell that already has another note keeps it."""
    rels = pkg.rels(part)
    comments = next((t for _, ty, t in rels if ty == _REL_COMMENTS), None)
    vml = next((t for _, ty, t in rels if ty == _REL_VML), None)
    if old and comments is not None and vml is not None:
        _remove_notes(pkg, comments, vml, old)
    if not notes:
        return xml
    if comments is None:
        comments = pkg.free_name("xl/comments/salesxl{}.xml")
        pkg.set_text(comments, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                               f'<comments xmlns="{_NS_MAIN}"><authors></authors><commentList></commentList>'
                               '</comments>')
        pkg.add_rel(part, _REL_COMMENTS, comments)
        pkg.content_type(comments, _CT_COMMENTS)
    if vml is None:
        vml = pkg.free_name("xl/drawings/salesxlNotes{}.vml")
        pkg.set_text(vml, '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
                          'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
                          '<o:idmap v:ext="edit" data="1"/></o:shapelayout></xml>')
        rid = pkg.add_rel(part, _REL_VML, vml)
        pkg.default_type("vml", _CT_VML)
        xml = _add_legacy_drawing(xml, rid)
    ctext = pkg.text(comments)
    cp = re.search(r"<(\w+:)?comments\b", ctext).group(1) or ""
    taken = {m.group(1) for m in re.finditer(rf'<{cp}comment\b[^>]*\bref="([A-Z]+\d+)"', ctext)}
    authors = re.findall(rf"<{cp}author>(.*?)</{cp}author>", ctext, re.S)
    if NOTE_AUTHOR in authors:
        author = authors.index(NOTE_AUTHOR)
    else:
        author = len(authors)
        ctext = _insert_before_close(ctext, "authors", f"<{cp}author>{NOTE_AUTHOR}</{cp}author>") \
            if re.search(rf"<{cp}authors\b", ctext) else \
            ctext.replace(f"<{cp}commentList", f"<{cp}authors><{cp}author>{NOTE_AUTHOR}</{cp}author></{cp}authors>"
                                               f"<{cp}commentList", 1)
    new_comments, shapes = [], []
    vtext = pkg.text(vml)
    next_id = max([int(x) for x in re.findall(r'id="_x0000_s(\d+)"', vtext)] + [1024]) + 1
    for (r, c), text in sorted(notes.items()):
        ref = f"{col_letters(c)}{r}"
        if ref in taken:
            result.notes_kept += 1
            continue
        if len(new_comments) >= MAX_NOTES:         # the Issues sheet lists them all
            result.notes_skipped += 1
            continue
        if len(text) > NOTE_MAX_CHARS:
            text = text[:NOTE_MAX_CHARS - 1] + "…"
        new_comments.append(f'<{cp}comment ref="{ref}" authorId="{author}"><{cp}text><{cp}r><{cp}t xml:space="preserve">'
                            f"{escape(clean_str(text))}</{cp}t></{cp}r></{cp}text></{cp}comment>")
        shapes.append(_vml_shape(next_id, r - 1, c - 1))
        next_id += 1
        result.notes += 1
        if written is not None:
            written.append((r, c))
    if new_comments:
        ctext = _insert_before_close(ctext, "commentList", "".join(new_comments))
        pkg.set_text(comments, ctext)
        if 'id="_x0000_t202"' not in vtext:
            shapes.insert(0, '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
                             'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
                             '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>')
        idx = vtext.rindex("</xml>")
        pkg.set_text(vml, vtext[:idx] + "".join(shapes) + vtext[idx:])
    return xml


def _remove_notes(pkg: _Package, comments: str, vml: str, cells: set) -> None:
    """The notes of `cells` out of the comments part and their shapes out of the VML drawing."""
    refs = {f"{col_letters(c)}{r}" for r, c in cells}
    ctext = pkg.text(comments)
    kept = re.sub(r'<(\w+:)?comment\b[^>]*\bref="([A-Z]+\d+)"[^>]*>.*?</\1?comment>',
                  lambda m: "" if m.group(2) in refs else m.group(0), ctext, flags=re.S)
    if kept != ctext:
        pkg.set_text(comments, kept)
    vtext = pkg.text(vml)
    at = {(r - 1, c - 1) for r, c in cells}

    def shape(m: re.Match) -> str:
        row, col = re.search(r"<x:Row>\s*(\d+)", m.group(0)), re.search(r"<x:Column>\s*(\d+)", m.group(0))
        note = "ObjectType=\"Note\"" in m.group(0)
        return "" if note and row and col and (int(row.group(1)), int(col.group(1))) in at else m.group(0)
    kept = re.sub(r"<v:shape\b(?:(?!<v:shape\b).)*?</v:shape>", shape, vtext, flags=re.S)
    if kept != vtext:
        pkg.set_text(vml, kept)


def _vml_shape(n: int, row0: int, col0: int) -> str:
    return (f'<v:shape id="_x0000_s{n}" type="#_x0000_t202" style="position:absolute;margin-left:80pt;'
            f'margin-top:2pt;width:240pt;height:90pt;z-index:{n};visibility:hidden" fillcolor="{NOTE_FILL.lower()}" '
            f'o:insetmode="auto"><v:fill color2="{NOTE_FILL.lower()}"/><v:shadow on="t" color="black" obscured="t"/>'
            f'<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/>'
            f'</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f'<x:Anchor>{col0 + 1}, 15, {row0}, 2, {col0 + 5}, 15, {row0 + 5}, 16</x:Anchor><x:AutoFill>False</x:AutoFill>'
            f'<x:Row>{row0}</x:Row><x:Column>{col0}</x:Column></x:ClientData></v:shape>')


def _prefixes(xml: str, root: str) -> tuple[str, str, str]:
    """(xml, prefix of the root element, prefix bound to the relationships namespace — declared on the
    root when it was not)."""
    m = re.search(rf"<(\w+:)?{root}\b([^>]*)>", xml)
    if m is None:
        raise AnnotateError("no_element", tag=root)
    rp = next((x.group(1) for x in re.finditer(r'xmlns:(\w+)="([^"]*)"', m.group(2)) if x.group(2) == _NS_REL), None)
    if rp is None:
        rp = "sxlr"
        xml = xml[:m.end() - 1] + f' xmlns:{rp}="{_NS_REL}"' + xml[m.end() - 1:]
    return xml, m.group(1) or "", rp


def _add_legacy_drawing(xml: str, rid: str) -> str:
    xml, p, rp = _prefixes(xml, "worksheet")
    el = f'<{p}legacyDrawing {rp}:id="{rid}"/>'
    for tag in _AFTER_LEGACY:
        m = re.search(rf"<{p}{tag}\b", xml)
        if m:
            return xml[:m.start()] + el + xml[m.start():]
    return _insert_before_close(xml, "worksheet", el)


# ---------------------------------------------------------------------------------------------
def _issues_sheet(pkg: _Package, issues: Sequence[Issue], lang: str, styles: _Styles) -> None:
    """The Issues / Anomalies sheet (replaced when the workbook has one, else added last)."""
    wb = pkg.text("xl/workbook.xml")
    names = {label_key(v) for v in contract.SHEETS["issues"].values()}
    sheets = package_sheets(pkg.z)
    existing = next((s for s in sheets if label_key(s.name) in names), None)
    pkg.set_text(existing.path if existing else _add_sheet(pkg, wb, contract.SHEETS["issues"][lang]),
                 _issues_xml(issues, lang, styles))


def _recorded_marks(source: Path, parts) -> dict[str, tuple[set, set]]:
    """The marks recorded in the workbook's hidden marks sheet: sheet (label key) -> (filled cells,
    noted cells)."""
    if not any(p.name.casefold() == MARKS_SHEET for p in parts):
        return {}
    import openpyxl
    from salesxl.io.guard import ensure_defusedxml
    ensure_defusedxml()
    wb = openpyxl.load_workbook(source, read_only=True, data_only=True, keep_links=False)
    try:
        ws = next(wb[n] for n in wb.sheetnames if n.casefold() == MARKS_SHEET)
        rows = list(ws.iter_rows(min_row=2, max_col=3, values_only=True))
    finally:
        wb.close()
    out: dict[str, tuple[set, set]] = {}
    for row in rows:
        sheet, kind, addr = (str(v).strip() if v is not None else "" for v in (tuple(row) + (None,) * 3)[:3])
        m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)(?::\$?([A-Za-z]{1,3})\$?(\d+))?", addr)
        if not sheet or kind not in ("fill", "note") or m is None:
            continue                         # a damaged record: touch nothing
        c1, r1 = col_index(m.group(1).upper()), int(m.group(2))
        c2, r2 = (col_index(m.group(3).upper()), int(m.group(4))) if m.group(3) else (c1, r1)
        if (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1) > 100_000:
            continue                         # not a rectangle of marks
        cells = {(r, c) for r in range(min(r1, r2), max(r1, r2) + 1) for c in range(min(c1, c2), max(c1, c2) + 1)}
        out.setdefault(label_key(sheet), (set(), set()))[0 if kind == "fill" else 1].update(cells)
    return out


def _marks_sheet(pkg: _Package, parts, records: Sequence[tuple[str, str, str]]) -> None:
    """The hidden marks sheet: rewritten when the workbook has one, else added (hidden) when there is a
    mark to record."""
    existing = next((p for p in parts if p.name.casefold() == MARKS_SHEET), None)
    if existing is None and not records:
        return
    xml = _sheet_xml([[(v, 0) for v in MARKS_HEADER]] + [[(v, 0) for v in rec] for rec in records], (30, 8, 12))
    pkg.set_text(existing.path if existing else _add_sheet(pkg, pkg.text("xl/workbook.xml"), MARKS_SHEET, True),
                 xml)


def _add_sheet(pkg: _Package, wb: str, name: str, hidden: bool = False) -> str:
    part = pkg.free_name("xl/worksheets/sheet{}.xml")
    rid = pkg.add_rel("xl/workbook.xml", _REL_SHEET, part)
    pkg.content_type(part, _CT_SHEET)
    wb, p, rp = _prefixes(wb, "workbook")
    ids = [int(x) for x in re.findall(rf'<{p}sheet\b[^>]*\bsheetId="(\d+)"', wb)]
    state = ' state="hidden"' if hidden else ""
    el = f'<{p}sheet name="{escape(name)}" sheetId="{max(ids + [0]) + 1}"{state} {rp}:id="{rid}"/>'
    pkg.set_text("xl/workbook.xml", _insert_before_close(wb, "sheets", el))
    return part


_FILE = [k for k, *_ in ISSUE_COLUMNS].index("file")
_SEVERITY = [k for k, *_ in ISSUE_COLUMNS].index("severity")


def _issues_xml(issues: Sequence[Issue], lang: str, styles: _Styles) -> str:
    """The Issues sheet as salesxl.layout declares it for every renderer (ISSUE_COLUMNS: headers, widths,
    order, Effect included, wrapped columns, row heights; errors first), each severity cell filled as the
    add-in marks a cell; the File column names the workbook itself."""
    frame = issues_frame(lang, len(issues))
    head = styles.header()
    column = [styles.aligned(style) for *_, style in ISSUE_COLUMNS]
    sev_style = {ERROR: styles.marked(column[_SEVERITY], ERROR_RGB),
                 WARNING: styles.marked(column[_SEVERITY], WARNING_RGB)}
    rows = [[(cell.value, head) for cell in frame.runs[0][2]]]
    heights = dict(frame.heights)
    for i, values, h in issue_rows(issues_in_order(issues), lang):      # errors first, as on every Issues sheet
        if h:
            heights[len(rows)] = h
        values[_FILE] = Path(i.file).name if i.file else i.file
        row = [(_value(v), s) for v, s in zip(values, column)]
        row[_SEVERITY] = (row[_SEVERITY][0], sev_style.get(i.severity, column[_SEVERITY]))
        rows.append(row)
    if not issues:
        rows.append([(None, 0)] * ISSUE_MESSAGE_COL + [(i18n.pick(NO_ISSUES, lang), 0)])  # as the layout
    return _sheet_xml(rows, frame.widths, heights)


def _sheet_xml(rows: Sequence[Sequence[tuple[Any, int]]], widths: Sequence[float],
               heights: Mapping[int, float] | None = None) -> str:
    """A worksheet of (value, style index) rows, the first frozen: text inline, numbers as numbers;
    `widths` in characters, `heights` in points by row index (0: the first row)."""
    heights = heights or {}
    out = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, (v, s) in enumerate(row, start=1):
            ref = f"{col_letters(c)}{r}"
            st = f' s="{s}"' if s else ""
            if v is None or v == "":
                if s:
                    cells.append(f'<c r="{ref}"{st}/>')
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<c r="{ref}"{st}><v>{v}</v></c>')
            else:
                cells.append(f'<c r="{ref}"{st} t="inlineStr"><is><t xml:space="preserve">'
                             f'{escape(clean_str(str(v)))}</t></is></c>')
        h = heights.get(r - 1)
        ht = f' ht="{h:g}" customHeight="1"' if h else ""
        out.append(f'<row r="{r}"{ht}>{"".join(cells)}</row>')
    cols = "".join(f'<col min="{j}" max="{j}" width="{stored_width(w):.16g}" customWidth="1"/>'
                   for j, w in enumerate(widths, start=1))
    last = f"{col_letters(max(len(r) for r in rows))}{len(rows)}"
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_NS_MAIN}"><dimension ref="A1:{last}"/>'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<cols>{cols}</cols><sheetData>{"".join(out)}</sheetData>'
            "</worksheet>")


def _value(v: Any) -> Any:
    if v is None or isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


# ---------------------------------------------------------------------------------------------
class ValidatedFile(Protocol):
    """A workbook read and validated: `rules.Validated`, or what a reader process sent back
    (`consolidate.FileResult`: what `salesxl validate` has once `read_files` read the inputs). A file
    that could not be read has a file-level issue (issues.FILE_LEVEL_CODES) and no tables."""
    path: str
    lang: str
    tables: Mapping[str, TableData]
    issues: Sequence[Issue]


def annotate_validated(files: Iterable[ValidatedFile], outdir: str | os.PathLike[str]) -> list[Annotated]:
    """An annotated copy in `outdir` of each workbook of `files` as already read and validated (same file
    name; a second workbook of the same name gets " (2)"); nothing is read again. A workbook that could
    not be read (a file-level issue: unreadable, READ_TIMEOUT, READ_FAILED…) gets no copy (its issue is
    in the validation's output). `outdir` must not be the folder of an input: the originals are never
    written."""
    files = list(files)
    _check_outdir([f.path for f in files], outdir)
    return list(_annotate_each(files, Path(outdir)))


def _check_outdir(paths: Iterable[str], outdir: str | os.PathLike[str]) -> None:
    if Path(outdir).resolve() in {Path(p).resolve().parent for p in paths}:
        raise AnnotateError("outdir_holds_sources", outdir=outdir)


def _annotate_each(files: Iterable[ValidatedFile], outdir: Path) -> Iterable[Annotated]:
    taken: set[str] = set()
    for f in files:
        if any(i.code in FILE_LEVEL_CODES for i in f.issues):
            continue
        p = f.path
        name, n = Path(p).name, 1
        while name.casefold() in taken:
            n += 1
            name = f"{Path(p).stem} ({n}){Path(p).suffix}"
        taken.add(name.casefold())
        try:
            yield annotate_file(p, outdir / name, f.tables.values(), f.issues, f.lang)
        except (AnnotateError, KeyError, ValueError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            yield Annotated(str(p), "", issues=len(f.issues), error=f"{type(exc).__name__}: {exc}"[:300],
                            refusal=exc if isinstance(exc, AnnotateError) else None)
