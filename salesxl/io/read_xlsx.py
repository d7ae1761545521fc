"""Read a rep or team workbook into frames with provenance (file, sheet, Excel row).

Two engines give the same frames: openpyxl (the reference, read_only + data_only) and python-calamine
(faster). Tables are found by their ListObject name (from the package's table parts), else by their
header row on the sheet named in the contract; headers match in English or French, ignoring case,
accents, Unicode form and surrounding spaces. The source file is only ever opened for reading.
"""
from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from defusedxml import ElementTree as SafeET

from salesxl import contract
from salesxl.contract import Table
from salesxl.i18n import label
from salesxl.issue_codes import OUTSIDE_TABLE_CODES
from salesxl.issues import Issue, file_issue, make_issue
from salesxl.tables import TableData
from salesxl.values import is_blank, is_cell_error, label_key, may_hold_cell_errors

if TYPE_CHECKING:
    from salesxl.rules import Validated

ENGINES = ("openpyxl", "calamine")
HEADER_SCAN_ROWS = 30

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass
class WorkbookData:
    path: str
    sheets: list[str]
    tables: dict[str, TableData]
    issues: list[Issue]
    lang: str = "en"
    settings: dict[str, Any] = field(default_factory=dict)
    lists: dict[str, TableData] = field(default_factory=dict)
    flagged: set = field(default_factory=set)     # (table key, Excel row, column key) already reported

    @property
    def readable(self) -> bool:
        return bool(self.sheets)


# ---------------------------------------------------------------------------------------------
# Package facts read straight from the zip: table definitions, formulas without cached values,
# merged cells. Shared by both engines.
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def col_letters(index: int) -> str:
    s = ""
    while index:
        index, r = divmod(index - 1, 26)
        s = chr(65 + r) + s
    return s


def parse_ref(ref: str) -> tuple[int, int, int, int]:
    """'B2:K40' -> (min_row, min_col, max_row, max_col)."""
    parts = ref.replace("$", "").split(":")
    m1 = _CELL_REF.match(parts[0])
    m2 = _CELL_REF.match(parts[-1])
    if not m1 or not m2:
        raise ValueError(f"bad range {ref!r}")
    return int(m1.group(2)), col_index(m1.group(1)), int(m2.group(2)), col_index(m2.group(1))


@dataclass
class SheetPart:
    name: str
    path: str                          # xl/worksheets/sheetN.xml
    tables: list[tuple[str, str, int]]  # (table name, ref, totals row count)


def _rels(z: zipfile.ZipFile, part: str) -> dict[str, str]:
    base = posixpath.dirname(part)
    rels_path = posixpath.join(base, "_rels", posixpath.basename(part) + ".rels")
    try:
        root = SafeET.fromstring(z.read(rels_path))
    except KeyError:
        return {}
    out = {}
    for rel in root.iter(_NS_PKG_REL + "Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        out[rel.get("Id")] = path
    return out


_OFFICE_DOCUMENT = "/officeDocument"


def workbook_part(z: zipfile.ZipFile) -> str:
    """The workbook part named by the package's relationships (`xl/workbook.xml` as a rule, but a
    package may put it anywhere)."""
    try:
        root = SafeET.fromstring(z.read("_rels/.rels"))
    except KeyError:
        return "xl/workbook.xml"
    for rel in root.iter(_NS_PKG_REL + "Relationship"):
        if rel.get("Type", "").endswith(_OFFICE_DOCUMENT) and rel.get("TargetMode") != "External":
            return posixpath.normpath(rel.get("Target", "").lstrip("/")) or "xl/workbook.xml"
    return "xl/workbook.xml"


def package_sheets(z: zipfile.ZipFile) -> list[SheetPart]:
    """Sheet names in order, their XML part and their table definitions."""
    wb_path = workbook_part(z)
    root = SafeET.fromstring(z.read(wb_path))
    rels = _rels(z, wb_path)
    out = []
    for sh in root.iter(_NS_MAIN + "sheet"):
        rid = sh.get(_NS_REL + "id")
        path = rels.get(rid)
        if not path:
            continue
        tables = []
        srels = _rels(z, path)
        try:
            for target in srels.values():
                if "/tables/" in target:
                    t = SafeET.fromstring(z.read(target))
                    tables.append((t.get("displayName") or t.get("name") or "", t.get("ref") or "",
                                   int(t.get("totalsRowCount") or 0)))
        except KeyError:
            pass
        out.append(SheetPart(sh.get("name"), path, tables))
    return out


_FORMULA_NO_VALUE = re.compile(rb'<c r="(([A-Z]+)(\d+))"[^>]*?>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)(?:<v\s*/>|<v></v>)?</c>')
_MERGE = re.compile(rb'<mergeCell ref="([A-Z0-9:$]+)"')


_F_TAG = re.compile(rb"<f[\s>/]")


def _part_bytes(z: zipfile.ZipFile, part: str) -> bytes:
    """The inflated bytes of a part, read once per open package (sheets are scanned for several facts)."""
    cache = z.__dict__.setdefault("_salesxl_parts", {})
    data = cache.get(part)
    if data is None:
        data = cache[part] = z.read(part)
    return data


def sheet_xml_facts(z: zipfile.ZipFile, part: str) -> tuple[set[tuple[int, int]], list[str]]:
    """Cells holding a formula with no saved result, and merged ranges, from the raw sheet XML."""
    data = _part_bytes(z, part)
    missing: set[tuple[int, int]] = set()
    if b"<f" in data:
        # only the cells that hold a formula are matched (from their <c start), not every cell
        rfind = data.rfind
        starts = {rfind(b"<c ", 0, m.start()) for m in _F_TAG.finditer(data)}
        starts.discard(-1)
        match = _FORMULA_NO_VALUE.match
        cols: dict[bytes, int] = {}
        for st in starts:
            m = match(data, st)
            if m is None:
                continue
            letters, digits = m.group(2), m.group(3)
            c = cols.get(letters)
            if c is None:
                if len(letters) > 3:                  # not a cell reference: fails as it always has
                    mm = _CELL_REF.match(m.group(1).decode())
                    missing.add((int(mm.group(2)), col_index(mm.group(1))))
                c = cols[letters] = col_index(letters.decode())
            missing.add((int(digits), c))
    merged = [m.group(1).decode() for m in _MERGE.finditer(data)] if b"<mergeCell" in data else []
    return missing, merged


_ERROR_CELL = re.compile(rb'<c\b([^>]*?\bt="e"[^>]*)>(.*?)</c>', re.S)
_R_ATTR = re.compile(rb'\br="\$?([A-Z]{1,3})\$?(\d+)"')
_V_TEXT = re.compile(rb"<v>([^<]*)</v>")


def sheet_xml_errors(z: zipfile.ZipFile, part: str) -> dict[tuple[int, int], str]:
    """Cells holding an error value (t="e": #N/A, #DIV/0!…) -> the error text, from the raw sheet XML."""
    data = _part_bytes(z, part)
    out: dict[tuple[int, int], str] = {}
    if b't="e"' not in data:
        return out
    for m in _ERROR_CELL.finditer(data):
        r = _R_ATTR.search(m.group(1))
        v = _V_TEXT.search(m.group(2))
        if r and v:
            out[(int(r.group(2)), col_index(r.group(1).decode()))] = v.group(1).decode("utf-8", "replace")
    return out


# ---------------------------------------------------------------------------------------------
# Engines: each yields the rows of a sheet as tuples, from row 1 and column 1.
class _OpenpyxlSource:
    def __init__(self, path: str):
        import openpyxl

        from salesxl.io.guard import ensure_defusedxml
        ensure_defusedxml()
        self.wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)

    def rows(self, sheet: str) -> list[tuple]:
        ws = self.wb[sheet]
        return list(ws.iter_rows(min_row=1, min_col=1, values_only=True))

    def close(self):
        self.wb.close()


class _CalamineSource:
    def __init__(self, path: str, z: zipfile.ZipFile | None = None, parts: dict[str, str] | None = None):
        from python_calamine import CalamineWorkbook
        try:
            path.encode("utf-8")
            self.wb = CalamineWorkbook.from_path(path)
        except UnicodeEncodeError:      # a file name that is not UTF-8: calamine's from_path cannot find it
            with open(path, "rb") as f:
                self.wb = CalamineWorkbook.from_filelike(f)
        self.z, self.parts = z, parts or {}

    def rows(self, sheet: str) -> list[tuple]:
        ws = self.wb.get_sheet_by_name(sheet)
        data = ws.to_python(skip_empty_area=False)   # cells are normalised by _frame, table columns only
        # calamine gives "" for error cells (#N/A, #DIV/0!…): put back the error text, as openpyxl reads it
        part = self.parts.get(sheet)
        if self.z is not None and part:
            for (r, c), err in sheet_xml_errors(self.z, part).items():
                if r - 1 < len(data) and c - 1 < len(data[r - 1]):
                    data[r - 1][c - 1] = err
        return data

    def close(self):
        close = getattr(self.wb, "close", None)
        if close:
            close()


# ---------------------------------------------------------------------------------------------
def _find_sheet(sheets: Iterable[str], names: tuple[str, ...]) -> str | None:
    wanted = {label_key(n) for n in names}
    for s in sheets:
        if label_key(s) in wanted:
            return s
    return None


def match_header(row: tuple, lookup: dict) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for i, v in enumerate(row):
        if isinstance(v, str):
            col = lookup.get(label_key(v))
            if col is not None and col.key not in found:
                found[col.key] = (i + 1, v)
    return found


def _frame(rows: list[tuple], header_row: int, last_row: int, found: dict[str, tuple[int, str]],
           table: Table, sheet: str, header: Iterable, lookup: dict) -> TableData:
    """Data rows below the header (Excel rows header_row+1..last_row), input columns only, blank rows
    dropped, with where the table was found (`found`: column key -> (Excel column, header text)).

    Cells as both engines give them: '' -> None, a date -> datetime at midnight, a whole float -> int.
    Built column by column (list comprehensions): this runs on every cell."""
    keys = [c.key for c in table.input_columns if c.key in found]
    idx = [found[k][0] - 1 for k in keys]
    first = header_row + 1
    body = rows[first - 1:min(last_row, len(rows))]
    big = 2 ** 53
    if idx and body and min(map(len, body)) > max(idx):
        # every row is long enough (readers give rectangular rows): the cells wanted, row by row, then
        # column by column, without a Python loop
        picked = list(map(itemgetter(*idx), body)) if len(idx) > 1 else [(row[idx[0]],) for row in body]
        raw_cols = list(zip(*picked))
    else:
        picked = None
        raw_cols = [[row[i] if i < len(row) else None for row in body] for i in idx]
    cols = []
    for raw in raw_cols:
        types = set(map(type, raw))
        if float in types or dt.date in types or "" in raw:
            cols.append([None if v == "" else
                         (int(v) if v.is_integer() and -big < v < big else v) if type(v) is float else
                         dt.datetime(v.year, v.month, v.day) if type(v) is dt.date else v
                         for v in raw])
        else:                                   # nothing to normalise in this column
            cols.append(list(raw))
    rownums = list(range(first, first + len(body)))
    # a row is blank or not whether its cells are normalised or not ("" and None are both blank)
    if cols:
        keep = [j for j, vals in enumerate(picked if picked is not None else zip(*cols))
                if not all(map(is_blank, vals))]
    else:
        keep = []
    if len(keep) != len(body):
        cols = [[c[j] for j in keep] for c in cols]
        rownums = [rownums[j] for j in keep]
    return TableData(table.key, dict(zip(keys, cols)), rownums, sheet=sheet,
                     headers={k: h for k, (i, h) in found.items()}, header_row=header_row,
                     columns_at={k: i for k, (i, h) in found.items()}, extra_headers=_extra_headers(header, lookup))


def locate_table(table: Table, sheet_rows: Callable[[str], Sequence[tuple]], sheet_parts: list[SheetPart],
                 sheet_names: list[str], path: str, lang: str) -> tuple[TableData | None, list[Issue]]:
    """Find `table` by ListObject name, else by header row on its sheet; issues for what is missing."""
    lookup = contract.header_lookup(table)
    required = [c for c in table.input_columns if c.required]
    # data typed outside a rep's table is named; what the template puts beside Settings and Lists (each
    # setting's note) is not data
    checks_outside = contract.TABLES.get(table.key) is table and table.key != "settings"
    for part in sheet_parts:
        for name, ref, totals in part.tables:
            if label_key(name) == label_key(table.name) and ref:
                r0, c0, r1, c1 = parse_ref(ref)
                rows = sheet_rows(part.name)
                header = rows[r0 - 1][c0 - 1:c1] if r0 - 1 < len(rows) else ()
                found = {k: (i + c0 - 1, h) for k, (i, h) in match_header(tuple(header), lookup).items()}
                others = [parse_ref(o) for n, o, _ in part.tables if o and label_key(n) != label_key(name)]
                right = _columns_right(rows, (r0, c0, r1, c1), found, lookup, others)
                below = _rows_below(rows, (r0, c0, r1, max([c1] + [i for i, _ in right.values()])), others)
                found.update(right)
                issues = _header_issues(table, found, required, part.name, r0, path, lang,
                                        tuple(header) + tuple(h for _, h in right.values()))
                body = rows
                if totals and below > r1:      # the totals row sits between the table and the rows below
                    body = list(rows)
                    body[r1 - totals:r1] = [()] * totals
                td = _frame(body, r0, below if below > r1 else r1 - totals, found, table, part.name, header, lookup)
                known = lookup if checks_outside else None
                issues += _outside_issues(rows, (r0, c0, r1, c1), name, ref, right, below, part.name, path,
                                          lang, others, known)
                return td, issues
    sheet = _find_sheet(sheet_names, (table.sheet_en, table.sheet_fr))
    if sheet is None:
        if not table.required_sheet:
            return None, []
        return None, [make_issue("SHEET_NOT_FOUND", lang=lang, file=path, sheet=table.sheet(lang),
                                 expected=table.sheet(lang), found=", ".join(sheet_names))]
    rows = sheet_rows(sheet)
    best, best_row = {}, 0
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS], start=1):
        found = match_header(row, lookup)
        if len(found) > len(best):
            best, best_row = found, r
    if len(best) < 2:
        found_txt = ", ".join(str(v) for v in (rows[0] if rows else ()) if not is_blank(v)) or "—"
        return None, [make_issue("HEADER_MISMATCH", lang=lang, file=path, sheet=sheet, row=1,
                                 column=c.label(lang), expected=c.label(lang), found=found_txt)
                      for c in required]
    issues = _header_issues(table, best, required, sheet, best_row, path, lang, rows[best_row - 1])
    if checks_outside:
        issues += _unheaded_issues(rows, best_row, sheet, path, lang)
    return _frame(rows, best_row, len(rows), best, table, sheet, rows[best_row - 1], lookup), issues


def _unheaded_issues(rows, header_row: int, sheet: str, path: str, lang: str) -> list[Issue]:
    """COLUMNS_NOT_READ for a table found by its header row on a plain sheet (no Excel table): data typed
    below the header row in a column whose header cell is empty is not read. (A column with a header the
    contract does not know is the rep's own column, as one inside an Excel table.)"""
    header = rows[header_row - 1]
    cols: set[int] = set()
    first_row = last_row = None
    for r in range(header_row + 1, len(rows) + 1):
        row = rows[r - 1]
        hit = [c for c in range(1, len(row) + 1)
               if not is_blank(row[c - 1]) and (c > len(header) or is_blank(header[c - 1]))]
        if hit:
            cols.update(hit)
            first_row = first_row or r
            last_row = r
    if not cols:
        return []
    first, last = col_letters(min(cols)), col_letters(max(cols))
    return [make_issue("COLUMNS_NOT_READ", lang=lang, file=path, sheet=sheet, row=first_row,
                       value=f"{first}{first_row}:{last}{last_row}",
                       where=label("columns_in", lang).format(first=first, last=last),
                       table=label("table_at_header_row", lang).format(sheet=sheet, row=header_row))]


def _extra_headers(header, lookup: dict) -> tuple[str, ...]:
    """The texts of a header row that name no contract column (e.g. a team workbook's provenance)."""
    return tuple(v for v in header if isinstance(v, str) and v.strip() and label_key(v) not in lookup)


_PROVENANCE_KEYS = {label_key(t): k for k, texts in contract.PROVENANCE_LABELS.items() for t in texts}


def has_provenance(td: TableData) -> bool:
    """Whether a table carries the team workbook's provenance columns (at least two of file, sheet, row):
    the mark of a salesxl team workbook."""
    return len({_PROVENANCE_KEYS[k] for k in map(label_key, td.extra_headers) if k in _PROVENANCE_KEYS}) >= 2


_CORE_MAX = 1 << 20


def saved_at(path: str | os.PathLike[str]) -> tuple[float | None, float | None]:
    """When a workbook was saved: (its own saved date, docProps/core.xml `dcterms:modified`, as a POSIX
    timestamp, None when absent or unreadable; the file's modification time, None when unknown)."""
    try:
        mtime: float | None = os.stat(path).st_mtime
    except OSError:
        mtime = None
    saved = None
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("docProps/core.xml")
            if info.file_size <= _CORE_MAX:
                root = SafeET.fromstring(z.read(info))
                node = root.find("{http://purl.org/dc/terms/}modified")
                if node is not None and node.text:
                    when = dt.datetime.fromisoformat(node.text.strip().replace("Z", "+00:00"))
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=dt.timezone.utc)
                    saved = when.timestamp()
    except Exception:  # noqa: BLE001 - no saved date: the file's own time decides
        saved = None
    return saved, mtime


# ---------------------------------------------------------------------------------------------
# Rows typed below a ListObject (LibreOffice and pasting do not grow a table) and contract columns
# whose header sits on the table's header row right of it are read as data of the table, with a
# ROWS_OUTSIDE_TABLE warning: nothing typed is lost. The rows below run down to the first row that is
# empty across the table's columns (or that belongs to another table of the sheet).
def _blank_span(row: tuple, c0: int, c1: int) -> bool:
    return all(map(is_blank, row[c0 - 1:c1]))


def _inside(r: int, c: int, boxes) -> bool:
    return any(a <= r <= b and x <= c <= y for a, x, b, y in boxes)


def _columns_right(rows, box, found: dict, lookup: dict, others) -> dict[str, tuple[int, str]]:
    """Contract columns missing from the table whose header is on its header row, right of it."""
    r0, _c0, _r1, c1 = box
    if r0 - 1 >= len(rows):
        return {}
    header = rows[r0 - 1]
    out: dict[str, tuple[int, str]] = {}
    for i in range(c1, len(header)):
        v = header[i]
        if not isinstance(v, str) or _inside(r0, i + 1, others):
            continue
        col = lookup.get(label_key(v))
        if col is not None and col.key not in found and col.key not in out and not col.computed:
            out[col.key] = (i + 1, v)
    return out


def _rows_below(rows, box, others) -> int:
    """The last Excel row of the non-empty rows right below the table (its last row when none)."""
    _r0, c0, r1, c1 = box
    last = r1
    while last < len(rows) and not _blank_span(rows[last], c0, c1) and not _inside(last + 1, c0, others):
        last += 1
    return last


def _outside_issues(rows, box, name, ref, right, below, sheet, path, lang, others=(), known=None) -> list[Issue]:
    """ROWS_OUTSIDE_TABLE for the rows read below the table and the columns read right of it;
    ROWS_AFTER_EMPTY_ROW for what is typed further down in its columns, after an empty row (not read);
    COLUMNS_NOT_READ for data typed in the columns next to it under no header of the table (not read;
    `known`: the label keys of the table's headers, None: not checked)."""
    r0, c0, r1, c1 = box
    issues = []
    table = f"{name} ({ref.replace('$', '')})"
    last_col = max([c1] + [i for i, _ in right.values()])
    if below > r1:
        where = label("rows_below", lang).format(first=r1 + 1, last=below)
        span = f"{col_letters(c0)}{r1 + 1}:{col_letters(last_col)}{below}"
        issues.append(make_issue("ROWS_OUTSIDE_TABLE", lang=lang, file=path, sheet=sheet, row=r1 + 1,
                                 value=span, where=where, table=table))
    later = [r for r in range(below + 2, len(rows) + 1)
             if not _blank_span(rows[r - 1], c0, last_col)
             and not any(a <= r <= b and x <= last_col and y >= c0 for a, x, b, y in others)]
    if later:
        where = label("rows_below", lang).format(first=later[0], last=later[-1])
        span = f"{col_letters(c0)}{later[0]}:{col_letters(last_col)}{later[-1]}"
        issues.append(make_issue("ROWS_AFTER_EMPTY_ROW", lang=lang, file=path, sheet=sheet, row=later[0],
                                 value=span, where=where, table=table))
    unread = _unread_right(rows, box, known, below, others) if known is not None else None
    if unread:
        first_row, last_row = unread[1], unread[2]
        where = label("columns_right", lang).format(first=col_letters(unread[0][0]), last=col_letters(unread[0][-1]))
        span = f"{col_letters(unread[0][0])}{first_row}:{col_letters(unread[0][-1])}{last_row}"
        issues.append(make_issue("COLUMNS_NOT_READ", lang=lang, file=path, sheet=sheet, row=first_row, value=span,
                                 where=where, table=table))
    if right:
        cols = sorted(i for i, _ in right.values())
        used = [r for r in range(r0 + 1, max(r1, below) + 1)
                if r - 1 < len(rows) and any(not is_blank(rows[r - 1][c - 1]) for c in cols
                                             if c - 1 < len(rows[r - 1]))]
        if used:
            where = label("columns_right", lang).format(first=col_letters(cols[0]), last=col_letters(cols[-1]))
            span = f"{col_letters(cols[0])}{used[0]}:{col_letters(cols[-1])}{used[-1]}"
            issues.append(make_issue("ROWS_OUTSIDE_TABLE", lang=lang, file=path, sheet=sheet, row=used[0],
                                     column=right[min(right, key=lambda k: right[k][0])][1], value=span,
                                     where=where, table=table))
    return issues


def _unread_right(rows, box, known: Iterable[str], below: int, others) -> tuple[list[int], int, int] | None:
    """Data typed right of a table, in the columns next to it (up to the first empty one), under no header
    of the table (not read): (its Excel columns, first row, last row), None when there is none. Columns
    whose header is one of the table's (`known`: label keys; read, or computed) and other tables' cells
    are not counted."""
    r0, _c0, r1, c1 = box
    last = min(max(r1, below), len(rows))
    known = set(known)
    header = rows[r0 - 1] if r0 - 1 < len(rows) else ()
    read = {c for c in range(c1 + 1, len(header) + 1)
            if isinstance(header[c - 1], str) and label_key(header[c - 1]) in known}
    cols, first_row, last_row = [], None, None
    c = c1 + 1
    while True:
        cells = [(r, rows[r - 1][c - 1]) for r in range(r0, last + 1)
                 if c - 1 < len(rows[r - 1]) and not _inside(r, c, others)]
        if all(is_blank(v) for _, v in cells):
            break                           # the first empty column ends what is next to the table
        data = [r for r, v in cells if r > r0 and not is_blank(v)]
        if c not in read and data:
            cols.append(c)
            first_row = min(first_row or data[0], data[0])
            last_row = max(last_row or data[-1], data[-1])
        c += 1
    return (cols, first_row, last_row) if cols else None


def outside_issues(issues: list[Issue]) -> list[Issue]:
    """The issues about what is typed outside a table (issue_codes.OUTSIDE_TABLE_CODES) of a table whose
    other issues are not reported (Settings, Lists: optional tables, defaults apply)."""
    return [i for i in issues if i.code in OUTSIDE_TABLE_CODES]


def _header_issues(table, found, required, sheet, header_row, path, lang, header_cells=()) -> list[Issue]:
    missing = [c for c in required if c.key not in found]
    if not missing:
        return []
    # every header of the row, matched or not: the rep sees the misspelt one
    found_txt = ", ".join(str(v).strip() for v in header_cells if not is_blank(v)) or \
        ", ".join(h for _, h in found.values())
    return [make_issue("HEADER_MISMATCH", lang=lang, file=path, sheet=sheet, row=header_row,
                       column=c.label(lang), expected=c.label(lang), found=found_txt) for c in missing]


def detect_lang(sheet_names: list[str], settings: dict) -> str:
    v = settings.get("language")
    if isinstance(v, str) and label_key(v)[:2] in ("fr", "en"):
        return label_key(v)[:2]
    fr = sum(1 for t in contract.TABLES.values() if t.sheet_fr != t.sheet_en
             and label_key(t.sheet_fr) in {label_key(s) for s in sheet_names})
    en = sum(1 for t in contract.TABLES.values() if t.sheet_fr != t.sheet_en
             and label_key(t.sheet_en) in {label_key(s) for s in sheet_names})
    return "fr" if fr > en else "en"


def settings_from_table(td: TableData | None) -> dict[str, Any]:
    if td is None:
        return {}
    out = {}
    for k, v in zip(td.column("key"), td.column("value")):
        if is_blank(k):
            continue
        s = contract.SETTING_BY_LABEL.get(label_key(str(k)))
        if s is not None:
            out[s.key] = v
    return out


def calamine_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("python_calamine") is not None


def default_engine() -> str:
    """The one default engine of every command: calamine when python-calamine is installed (it is, but
    in Pyodide: see pyproject), else openpyxl. Either falls back on the other for a file it cannot read."""
    return "calamine" if calamine_installed() else "openpyxl"


def read_failed(path: str | os.PathLike[str], lang: str, kind: str = "content", detail: str = "") -> Issue:
    """READ_FAILED as a manager reads it: what happened (`kind`: content, crash or memory) and what to
    do; the technical detail (the readers' own errors) kept apart, in the issue's value."""
    from salesxl.io.guard import printable
    reason = label("read_failed_" + (kind if kind in ("crash", "memory") else "content"), lang)
    return file_issue("READ_FAILED", path, lang, reason=reason, value=printable(str(detail), 500) or None)


def read_workbook(path: str | os.PathLike[str], engine: str | None = None, lang: str | None = None,
                  guard: bool = True) -> WorkbookData:
    """Read every contract table of one workbook. Never raises for a bad file: issues say why.

    `engine`: "calamine" or "openpyxl" (default: `default_engine()`); when it fails on a file the
    guard let through, the other engine reads it (a workbook with an Excel 4.0 macro sheet, a part name
    in another case, styles one of them rejects); only when both fail is the file READ_FAILED.
    No pandas: each table is a `salesxl.tables.TableData` of raw cell values."""
    path = str(path)
    lang0 = lang or "en"
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    sheet_bytes: dict[str, bytes] = {}
    if guard:
        from salesxl.io.guard import guard_package
        problem, sheet_bytes = guard_package(path, lang=lang0)
        if problem is not None:
            return WorkbookData(path, [], {}, [problem], lang0)
    errors = []
    order = [engine] + [e for e in ENGINES if e != engine and (e != "calamine" or calamine_installed())]
    for name in order:
        try:
            return _read(path, name, lang, sheet_bytes)
        except MemoryError:
            return WorkbookData(path, [], {}, [read_failed(path, lang0, "memory", f"{name}: MemoryError")], lang0)
        except Exception as exc:  # the guard let it through but a parser still failed: try the other one
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":     # a Rust panic in calamine (pyo3): not an interrupt
                raise
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
    return WorkbookData(path, [], {}, [read_failed(path, lang0, "content", "; ".join(errors))], lang0)


def _read(path: str, engine: str, lang: str | None, sheet_bytes: dict[str, bytes] | None = None) -> WorkbookData:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    with zipfile.ZipFile(path) as z:
        if sheet_bytes:       # the sheets the guard inflated (and checked): not inflated again here
            z.__dict__["_salesxl_parts"] = dict(sheet_bytes)
        parts = package_sheets(z)
        source = _OpenpyxlSource(path) if engine == "openpyxl" else \
            _CalamineSource(path, z, {p.name: p.path for p in parts})
        try:
            cache: dict[str, list[tuple]] = {}

            def sheet_rows(name: str) -> list[tuple]:
                if name not in cache:
                    cache[name] = source.rows(name)
                return cache[name]

            names = [p.name for p in parts]
            settings_td, found = locate_table(contract.SETTINGS, sheet_rows, parts, names, path, "en")
            settings = settings_from_table(settings_td)
            workbook_lang = lang or detect_lang(names, settings)
            issues: list[Issue] = []
            if outside_issues(found):          # said again in the workbook's language
                issues += outside_issues(locate_table(contract.SETTINGS, sheet_rows, parts, names, path,
                                                      workbook_lang)[1])
            tables: dict[str, TableData] = {}
            for t in contract.TABLES.values():
                if t.key == "settings":
                    if settings_td is not None:
                        tables["settings"] = settings_td
                    continue
                td, iss = locate_table(t, sheet_rows, parts, names, path, workbook_lang)
                issues.extend(iss)
                if td is not None:
                    tables[t.key] = td
            lists = {}
            for key, t in contract.LIST_TABLES.items():
                td, found = locate_table(t, sheet_rows, parts, names, path, workbook_lang) if any(
                    label_key(n) == label_key(t.name) for p in parts for n, _, _ in p.tables) else (None, [])
                issues += outside_issues(found)
                if td is not None and len(td):
                    lists[key] = td
            part_by_name = {p.name: p.path for p in parts}
            flagged: set = set()
            for td in tables.values():
                issues.extend(_cell_facts(z, part_by_name[td.sheet], td, contract.TABLES[td.key], path, workbook_lang,
                                          flagged))
        finally:
            source.close()
    return WorkbookData(path, names, tables, issues, workbook_lang, settings, lists, flagged)


def cell_error_issues(td: TableData, path: str | os.PathLike[str], lang: str, flagged: set) -> list[Issue]:
    """CELL_ERROR for the input cells of a table holding an Excel error (#N/A…), each added to `flagged`
    so that the rules do not report it again as empty."""
    issues: list[Issue] = []
    row_list = td.rows
    for key, values in td.items():
        if not may_hold_cell_errors(values):
            continue
        for r, v in [(r, v) for r, v in zip(row_list, values) if is_cell_error(v)]:
            flagged.add((td.key, int(r), key))
            issues.append(make_issue("CELL_ERROR", lang=lang, file=path, sheet=td.sheet, row=int(r),
                                     column=td.headers[key], value=v))
    return issues


def _cell_facts(z, part, td: TableData, table: Table, path, lang, flagged: set) -> list[Issue]:
    """CELL_ERROR, MISSING_CACHED_VALUE and MERGED_CELL for the input cells of a table.

    Cells reported here are added to `flagged` so that the rules do not report them again as empty."""
    row_list = td.rows
    if not row_list:
        return []
    by_col = {i: k for k, i in td.columns_at.items()}
    rows = set(row_list)
    missing, merged = sheet_xml_facts(z, part)
    issues = cell_error_issues(td, path, lang, flagged)
    for (r, c) in sorted(missing):
        key = by_col.get(c)
        if key is None or r not in rows:
            continue
        if table.column(key).computed:
            continue
        flagged.add((td.key, r, key))
        issues.append(make_issue("MISSING_CACHED_VALUE", lang=lang, file=path, sheet=td.sheet, row=r,
                                 column=td.headers[key]))
    for ref in merged:
        r0, c0, r1, c1 = parse_ref(ref)
        if any(c0 <= c <= c1 for c in by_col) and any(r0 <= r <= r1 for r in rows):
            issues.append(make_issue("MERGED_CELL", lang=lang, file=path, sheet=td.sheet, row=r0,
                                     column=by_col.get(c0) and td.headers[by_col[c0]], value=ref))
    return issues


# ---------------------------------------------------------------------------------------------
def validate_file(path: str | os.PathLike[str], *, engine: str | None = None, lang: str | None = None,
                  as_of: dt.date | None = None) -> Validated:
    """Read one workbook and run every rule: the `Validated` result (typed frames + issues)."""
    return validate_workbook(read_workbook(path, engine=engine, lang=lang), as_of=as_of)


def validate_workbook(wb: WorkbookData, *, as_of: dt.date | None = None) -> Validated:
    """Every rule on a workbook `read_workbook` has read: the `Validated` result (typed tables, with
    what was typed where a value could not be interpreted, and every issue)."""
    from salesxl.rules import Validated, resolve_as_of, validate_tables

    if not wb.readable:
        return Validated(wb.path, wb.lang, resolve_as_of(as_of, {}), {}, wb.issues, {}, {})
    return validate_tables(wb.path, wb.tables, lang=wb.lang, as_of=as_of, settings=wb.settings, raw_lists=wb.lists,
                           flagged=wb.flagged, reader_issues=wb.issues)
