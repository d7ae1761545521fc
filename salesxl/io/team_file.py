"""The team workbook as a file, for `salesxl new-period`: the new period's rows appended to its
tables (the package patched as XML, its other parts — charts, pictures, pivots, macros — copied byte
for byte, saved atomically), and each rep's workbook for the period written into the outbox (shared
with the New period button). A rep's workbook already in the outbox is never written over."""
from __future__ import annotations

import datetime as dt
import io
import math
import numbers
import re
import zipfile
from html import unescape
from pathlib import Path
from typing import Any, Mapping, Sequence
from xml.sax.saxutils import escape

from salesxl import contract
from salesxl.io.annotate import (_ROW, _SHEET_DATA, _SPANS, AnnotateError, _attrs, _Package,   # the package patch, shared
                                  _Styles, sheet_data)
from salesxl.io.cells import DATE_FORMAT, atomic_write, clean_str
from salesxl.io.read_xlsx import col_index, package_sheets, workbook_part
from salesxl.rollover import Rollover, rep_workbook_name
from salesxl.tables import TableData
from salesxl.values import is_blank, label_key

__all__ = ["REP_SETTINGS", "append_rows", "write_rep_workbooks"]

#: The team's Settings a rep's workbook inherits.
REP_SETTINGS = ("currency", "on_track", "at_risk", "simulations", "seed")


def write_rep_workbooks(plan: Rollover, outbox: Path, lang: str, settings: Mapping[str, Any]
                        ) -> tuple[list[Path], list[Path]]:
    """One workbook per rep of `plan` in `outbox` ("<rep> <start>.xlsx": the rep, the new period's
    objective and plan, the rep's open proposals), each written atomically: (written, already there
    and left as they were)."""
    from salesxl.io.template import write_template

    keep = {k: settings.get(k) for k in REP_SETTINGS if not is_blank(settings.get(k))}
    written, existing = [], []
    for rep in plan.reps:
        target = Path(outbox) / rep_workbook_name(rep.rep, rep.period_start)
        if target.exists():
            existing.append(target)
            continue
        rows = {"reps": [rep.rep_row], "objectives": rep.objectives, "planning": rep.planning}
        if rep.open_proposals:
            rows["pipeline"] = rep.open_proposals
        written.append(write_template(target, lang, rows=rows, settings=keep))
    return written, existing


def append_rows(path: Path, output: Path, tables: Mapping[str, TableData], rows: Mapping[str, Sequence[Mapping]],
                lang: str) -> dict[str, int]:
    """Append `rows` (table key -> [{column key: value}]) after the last filled row of each table of
    the workbook at `path` (`tables`: the reader's TableData, giving sheet, header row and columns),
    and save it to `output` atomically. Rows past a table's end stretch the table; its formulas and
    cell formats follow from the row above, and the data validations (drop-downs, input messages) and
    conditional formats that reached the table's last row reach its new last row. A table's totals
    row moves down below the new rows (its formulas over the data rows reach them); one that cannot
    move safely (cells in the way, a formula, name or chart using it by its address) is refused.
    Returns the rows written per table.

    The workbook is patched at the package level, as salesxl.io.annotate patches its copy: only the
    sheets written to, their tables, the styles (a date format when a date lands in a General cell)
    and the workbook's calculation flag (recalculate on open) change; every other part — charts,
    pictures, pivots, macros, notes — is copied byte for byte. A layout this cannot patch safely raises
    salesxl.io.annotate.AnnotateError, nothing written."""
    done: dict[str, int] = {}
    # read whole, closed before the save: the output may replace it (Windows keeps an open file)
    with zipfile.ZipFile(io.BytesIO(Path(path).read_bytes())) as z:
        pkg = _Package(z)
        styles = _DateStyles(pkg.text("xl/styles.xml"), DATE_FORMAT[lang])
        sheet_parts = package_sheets(z)                 # (the workbook, its sheets and tables: parsed once)
        wb = workbook_part(z)
        parts = {label_key(p.name): p.path for p in sheet_parts}
        sheet_names = {p.path: p.name for p in sheet_parts}
        for key, recs in rows.items():
            if not recs:
                continue
            td = tables[key]
            part = parts[label_key(td.sheet)]
            filled = [r for r in td.rows if r is not None]
            start = (max(filled) if filled else td.header_row) + 1
            end = start + len(recs) - 1
            inputs = {c.key for c in contract.TABLES[key].input_columns}
            xml = pkg.text(part)
            first_col = min(td.columns_at.values())
            found = []                                  # (part, XML, bounds, totals rows) of the sheet's tables
            for _, rel_type, table in pkg.rels(part):
                if not rel_type.endswith("/table"):
                    continue
                txt = pkg.text(table)
                head = re.search(r"<(?:\w+:)?table\b[^>]*>", txt)
                attrs = _attrs(head.group(0)) if head is not None else {}
                if "ref" not in attrs:
                    raise AnnotateError("table_without_range", table=table)
                found.append((table, txt, _bounds(attrs["ref"]), int(attrs.get("totalsRowCount") or 0),
                              attrs.get("displayName", table)))
            bottom = end
            for table, txt, ((c1, r1), (c2, r2)), totals, name in found:
                last = r2 - totals                      # the table's last data row
                if r1 != td.header_row or not c1 <= first_col <= c2 or end <= last:
                    continue
                if totals:                              # the totals row moves down, below the new rows
                    others = [b for t, _, b, _, _ in found if t != table]
                    where = _refers_to_totals(pkg, sheet_names, wb, part, td.sheet, c1, c2, r2) if totals == 1 else None
                    if where:
                        raise AnnotateError(where[0], where=where[1], table=name)
                    xml, txt = _move_totals(xml, txt, td, name, others, (c1, r1, c2, r2), totals, start, end)
                    txt = re.sub(r'(<(?:\w+:)?autoFilter\b[^>]*?\sref=")[^"]*"', rf'\g<1>{_col(c1)}{r1}:{_col(c2)}{end}"',
                                 txt)
                    txt = re.sub(r'(<(?:\w+:)?table\b[^>]*?\sref=")[^"]*"',
                                 rf'\g<1>{_col(c1)}{r1}:{_col(c2)}{end + totals}"', txt)
                else:
                    ref = f"{_col(c1)}{r1}:{_col(c2)}{end}"
                    txt = re.sub(r'(<(?:\w+:)?(?:table|autoFilter)\b[^>]*?\sref=")[^"]*"', rf'\g<1>{ref}"', txt)
                pkg.set_text(table, txt)
                xml = _grow_formats(xml, c1, c2, r1, last, end, totals)
                bottom = max(bottom, end + totals)
            xml = _write_rows(xml, td, start, recs, inputs, styles)
            pkg.set_text(part, _grow_dimension(xml, bottom))
            done[key] = len(recs)
        pkg.set_text("xl/styles.xml", styles.xml())
        pkg.set_text(wb, _recalc_on_open(pkg.text(wb)))
        atomic_write(output, pkg.write)
    return done


class _DateStyles:
    """styles.xml (salesxl.io.annotate's) with, on demand, a cell format like another but showing a date."""

    def __init__(self, text: str, date_format: str):
        self.styles = _Styles(text)
        self.date_format = date_format
        self.memo: dict[int, int] = {}
        self.new_fmt: int | None = None

    def num_fmt(self, s: int) -> int:
        xfs = self.styles.xfs
        m = re.search(r'\snumFmtId="(\d+)"', xfs[s]) if 0 <= s < len(xfs) else None
        return int(m.group(1)) if m else 0

    def dated(self, s: int) -> int:
        """`s`, or when it shows numbers as General, a format like it showing a date."""
        if self.num_fmt(s) != 0 or s in self.memo:
            return self.memo.get(s, s)
        if self.new_fmt is None:
            ids = [int(i) for i in re.findall(r'<(?:\w+:)?numFmt\b[^>]*\snumFmtId="(\d+)"', self.styles.text)]
            self.new_fmt = max([163, *ids]) + 1
        base = self.styles.xfs[s] if 0 <= s < len(self.styles.xfs) else \
            f'<{self.styles.prefix}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        m = re.match(r"<([\w:]+)\b([^>]*?)(/?)>", base)
        attrs = re.sub(r'\s(numFmtId|applyNumberFormat)="[^"]*"', "", m.group(2))
        self.memo[s] = self.styles._add_xf(f'<{m.group(1)}{attrs} numFmtId="{self.new_fmt}" applyNumberFormat="1"'
                                           f'{m.group(3)}>' + base[m.end():])
        return self.memo[s]

    def xml(self) -> str:
        text = self.styles.xml()
        if self.new_fmt is None:
            return text
        p = self.styles.prefix
        el = f'<{p}numFmt numFmtId="{self.new_fmt}" formatCode="{escape(self.date_format, {chr(34): "&quot;"})}"/>'
        m = re.search(rf"<{p}numFmts\b([^>]*?)(/?)>", text)
        if m is None:                                   # numFmts comes first in a styleSheet
            head = re.search(rf"<{p}styleSheet\b[^>]*>", text)
            return text[:head.end()] + f'<{p}numFmts count="1">{el}</{p}numFmts>' + text[head.end():]
        count = len(re.findall(rf"<{p}numFmt\b", text)) + 1
        attrs = re.sub(r'\scount="\d*"', "", m.group(1))
        if m.group(2):
            return text[:m.start()] + f'<{p}numFmts count="{count}"{attrs}>{el}</{p}numFmts>' + text[m.end():]
        close = text.index(f"</{p}numFmts>", m.end())
        return text[:m.start()] + f'<{p}numFmts count="{count}"{attrs}>' + text[m.end():close] + el + text[close:]


_CELL_RE = re.compile(r"<((?:\w+:)?)c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_EPOCH = dt.datetime(1899, 12, 30)


def _write_rows(xml: str, td: TableData, start: int, recs: Sequence[Mapping], inputs: set, styles: _DateStyles
                ) -> str:
    """The sheet's XML with `recs` written from row `start` into the table's columns: input columns
    take the values, the others the formula of the row above moved to their row; each cell keeps its
    format, else takes the one above (dates a date format)."""
    from openpyxl.formula.translate import Translator

    sd = sheet_data(xml)
    p, body = sd.group(1), sd.group(2) or ""
    end = start + len(recs) - 1
    rows: dict[int, tuple[int, int, str, dict[int, tuple[dict, str]]]] = {}    # the rows start - 1 .. end
    for r, at, stop, attrs, inner in _rows_in(body, start - 1, end):
        rows[r] = (at, stop, attrs, _cells(inner))
    above = rows.get(start - 1, (0, 0, "", {}))[3] if start - 1 > td.header_row else {}
    formulas, above_style = {}, {}
    for ck, col in td.columns_at.items():
        a, cell = above.get(col, ({}, ""))
        above_style[col] = int(a.get("s", 0))
        f = re.search(r"<(?:\w+:)?f\b([^>]*?)(?:/>|>([^<]*)</(?:\w+:)?f>)", cell)
        if ck in inputs or f is None:
            continue
        fa = _attrs(f.group(1))
        text, origin = (unescape(f.group(2)), a["r"]) if f.group(2) else _shared(body, fa.get("si"))
        if text:
            formulas[col] = Translator("=" + text, origin=origin)
    new_rows: dict[int, str] = {}
    for r, rec in enumerate(recs, start=start):
        _, _, row_attrs, cells = rows.get(r, (0, 0, f' r="{r}"', {}))
        out = dict(cells)
        for ck, col in td.columns_at.items():
            a, cell = cells.get(col, ({}, ""))
            s = int(a["s"]) if "s" in a and (styles.num_fmt(int(a["s"])) or not above_style[col]) \
                else above_style[col]
            ref = f"{_col(col)}{r}"
            if ck in inputs:
                value = rec.get(ck)
                if value is None:
                    continue
                out[col] = (a, _cell_xml(p, ref, value, s, styles))
            elif col in formulas and not _holds(cell):
                moved = formulas[col].translate_formula(ref)[1:]
                out[col] = (a, f'<{p}c r="{ref}"{_style_attr(s)}><{p}f>{escape(moved)}</{p}f></{p}c>')
        attrs = _SPANS.sub("", row_attrs)            # spans: a hint, now stale
        new_rows[r] = f"<{p}row{attrs}>" + "".join(x for _, (_, x) in sorted(out.items())) + f"</{p}row>"
    parts, pos, k = [], 0, start
    for r in sorted(rows):                              # in row order: the sheet's rows there replaced
        if r < start:
            continue
        parts.append(body[pos:rows[r][0]])
        parts += [new_rows[n] for n in range(k, r)]
        parts.append(new_rows[r])
        pos, k = rows[r][1], r + 1
    parts.append(body[pos:])
    parts += [new_rows[n] for n in range(k, end + 1)]
    return xml[:sd.start()] + f"<{p}sheetData>{''.join(parts)}</{p}sheetData>" + xml[sd.end():]


def _rows_in(body: str, lo: int, hi: int):
    """sheetData's rows numbered lo..hi, in order: (number, start, end, attributes, inner XML)."""
    for m in _ROW.finditer(body):
        if "r" not in _attrs(m.group(2)):
            raise AnnotateError("row_without_number")
        r = int(_attrs(m.group(2))["r"])
        if r < lo:
            continue
        if r > hi:
            break
        close = f"</{m.group(1)}row>"
        stop = m.end() if m.group(3) else body.index(close, m.end()) + len(close)
        yield r, m.start(), stop, m.group(2), "" if m.group(3) else body[m.end():stop - len(close)]


def _cells(inner: str) -> dict[int, tuple[dict, str]]:
    """A row's cells: column -> (attributes, the cell's XML)."""
    cells = {}
    for c in _CELL_RE.finditer(inner):
        a = _attrs(c.group(2))
        if "r" not in a:
            raise AnnotateError("cell_without_ref")
        cells[col_index(re.match(r"[A-Z]+", a["r"]).group(0))] = (a, c.group(0))
    return cells


def _shared(body: str, si: str | None) -> tuple[str | None, str | None]:
    """The text and cell of the shared formula `si` (the cell that holds it for the others)."""
    for c in _CELL_RE.finditer(body):
        f = re.search(r"<(?:\w+:)?f\b([^>]*)>([^<]+)</(?:\w+:)?f>", c.group(0))
        if f and _attrs(f.group(1)).get("t") == "shared" and _attrs(f.group(1)).get("si") == si:
            return unescape(f.group(2)), _attrs(c.group(2)).get("r")
    return None, None


def _holds(cell: str) -> bool:
    """The cell's XML holds a formula or a value."""
    return re.search(r"<(?:\w+:)?(?:f\b|v>[^<]|is>)", cell) is not None


def _style_attr(s: int) -> str:
    return f' s="{s}"' if s else ""


def _cell_xml(p: str, ref: str, value: Any, s: int, styles: _DateStyles) -> str:
    """One cell holding `value`: text as text (never a formula), numbers, booleans, dates as serials."""
    if isinstance(value, str):
        return f'<{p}c r="{ref}"{_style_attr(s)} t="inlineStr"><{p}is><{p}t xml:space="preserve">' \
               f'{escape(clean_str(value))}</{p}t></{p}is></{p}c>'
    if isinstance(value, bool):
        return f'<{p}c r="{ref}"{_style_attr(s)} t="b"><{p}v>{int(value)}</{p}v></{p}c>'
    if isinstance(value, dt.date):
        when = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        serial = (when.replace(tzinfo=None) - _EPOCH) / dt.timedelta(days=1)
        return f'<{p}c r="{ref}"{_style_attr(styles.dated(s))}><{p}v>{serial:.15g}</{p}v></{p}c>'
    if isinstance(value, numbers.Integral):
        return f'<{p}c r="{ref}"{_style_attr(s)}><{p}v>{int(value)}</{p}v></{p}c>'
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return f'<{p}c r="{ref}"{_style_attr(s)}><{p}v>{float(value)!r}</{p}v></{p}c>'
    return _cell_xml(p, ref, "" if isinstance(value, numbers.Real) else str(value), s, styles)


def _move_totals(xml: str, table_xml: str, td: TableData, name: str, others, box: tuple[int, int, int, int],
                 totals: int, start: int, end: int) -> tuple[str, str]:
    """The sheet's and the table's XML with the table's totals row(s) moved down to just below row `end`
    (the new last data row): the cells of the table's columns on those rows, their formulas over the
    data rows stretched to row `end` (references to the totals row itself follow it), and so the table's
    custom totals formulas. Raises AnnotateError when the move is not safe: rows read below the totals
    row, cells, merged cells or another table where the rows go."""
    c1, r1, c2, r2 = box
    first_total, last = r2 - totals + 1, r2 - totals
    shift = end - last
    if totals != 1:
        raise AnnotateError("totals_rows", table=name, count=totals)
    if start > first_total:
        raise AnnotateError("rows_below_totals", table=name)
    sd = sheet_data(xml)
    p, body = sd.group(1), sd.group(2) or ""
    lo, hi = first_total, end + totals                 # the rows rewritten: the totals row(s) and where they go
    for m in re.finditer(r'<(?:\w+:)?mergeCell\b[^>]*?\sref="([^"]*)"', xml):
        (mc1, mr1), (mc2, mr2) = _bounds(m.group(1))
        if mc1 <= c2 and c1 <= mc2 and mr1 <= hi and lo <= mr2:
            raise AnnotateError("merged_by_totals", cells=m.group(1), table=name)
    for (oc1, or1), (oc2, or2) in others:
        if oc1 <= c2 and c1 <= oc2 and or1 <= hi and or2 > r2:
            raise AnnotateError("table_below_totals", table=name)
    rows: dict[int, tuple[str, dict[int, tuple[dict, str]], str]] = {}    # row -> (attributes, cells, XML)
    span = None
    for r, at, stop, attrs, inner in _rows_in(body, lo, hi):
        rows[r] = (attrs, _cells(inner), body[at:stop])
        span = (span[0] if span else at, stop)
    for r, (_, cells, _) in rows.items():
        if r > r2 and any(c1 <= c <= c2 and _holds(x) for c, (_, x) in cells.items()):
            raise AnnotateError("cells_below_totals", table=name)
    sheet = td.sheet

    def moved(a: dict, cell: str, r: int) -> str:
        ref = re.sub(r"\d+$", str(r + shift), a["r"])
        cell = re.sub(r'(<(?:\w+:)?c\b[^>]*?\sr=")[^"]*"', rf'\g<1>{ref}"', cell, count=1)
        f = re.search(r"<((?:\w+:)?)f\b([^>]*?)(/?)>(?:([^<]*)</(?:\w+:)?f>)?", cell)
        if f is None:
            return cell
        fa = _attrs(f.group(2))
        if fa.get("t") == "shared" and not f.group(4):
            raise AnnotateError("shared_formula_in_totals", table=name)
        attrs = f.group(2)
        if "ref" in fa:                                 # a shared or array formula's range, on the row
            (fc1, fr1), (fc2, fr2) = _bounds(fa["ref"])
            attrs = re.sub(r'\sref="[^"]*"', f' ref="{_col(fc1)}{fr1 + shift}:{_col(fc2)}{fr2 + shift}"', attrs)
        text = f.group(4)
        if text:
            text = escape(_grow_formula(unescape(text), sheet, c1, c2, r1, last, end, first_total, r2))
        el = f"<{f.group(1)}f{attrs}{f.group(3)}>" + (f"{text}</{f.group(1)}f>" if f.group(4) is not None else "")
        return cell[:f.start()] + el + cell[f.end():]

    out: dict[int, tuple[str, dict[int, tuple[dict, str]]]] = {}
    carried: dict[int, str] = {}
    for r in range(first_total, r2 + 1):
        attrs, cells, _ = rows.get(r, (f' r="{r}"', {}, ""))
        keep = {c: x for c, x in cells.items() if not c1 <= c <= c2}
        out[r] = (attrs, keep)
        carried[r + shift] = attrs
        for c, (a, x) in cells.items():
            if c1 <= c <= c2:
                tgt = out.setdefault(r + shift, (rows[r + shift][0] if r + shift in rows else None, {}))
                tgt[1][c] = (a, moved(a, x, r))
    for r in sorted(out):
        attrs, cells = out[r]
        if attrs is None:
            attrs = re.sub(r'\sr="\d+"', f' r="{r}"', carried[r])
        if r in rows and r not in range(first_total, r2 + 1):
            cells = {**{c: x for c, x in rows[r][1].items() if not c1 <= c <= c2}, **cells}
        out[r] = (_SPANS.sub("", attrs), cells)
    text = {r: x for r, (_, _, x) in rows.items()}
    for r, (attrs, cells) in out.items():
        text[r] = f"<{p}row{attrs}>" + "".join(x for _, (_, x) in sorted(cells.items())) + f"</{p}row>" \
            if cells or r not in range(first_total, r2 + 1) else ""
    region = "".join(text[r] for r in sorted(text))
    at = span if span else (_row_insert_at(body, lo),) * 2
    body = body[:at[0]] + region + body[at[1]:]
    xml = xml[:sd.start()] + f"<{p}sheetData>{body}</{p}sheetData>" + xml[sd.end():]

    def formula(m: re.Match) -> str:
        grown = _grow_formula(unescape(m.group(2)), sheet, c1, c2, r1, last, end, first_total, r2)
        return m.group(1) + escape(grown) + m.group(3)
    table_xml = re.sub(r"(<(?:\w+:)?totalsRowFormula\b[^>]*>)([^<]*)(</(?:\w+:)?totalsRowFormula>)", formula, table_xml)
    return xml, table_xml


def _row_insert_at(body: str, r: int) -> int:
    """Where in sheetData's body a row numbered `r` goes (before the first row numbered above it)."""
    for m in _ROW.finditer(body):
        if int(_attrs(m.group(2)).get("r", 0)) > r:
            return m.start()
    return len(body)


_REF_RE = re.compile(r"^(?:(?P<sheet>'(?:[^']|'')+'|[^'!\[]+)!)?(?P<a>\$?[A-Z]{1,3}\$?\d+)(?::(?P<b>\$?[A-Z]{1,3}\$?\d+))?$")
_CELLREF_RE = re.compile(r"(\$?)([A-Z]{1,3})(\$?)(\d+)")


def _refs(text: str, sheet: str, own: bool):
    """The A1 references of a formula to cells of `sheet` (unqualified ones too when `own`: the formula
    is on that sheet): (token, its sheet prefix, (first cell's $, column, $, row), (last cell's ...)).
    A sheet named in a formula is Excel's to resolve, by Excel's rule (case ignored, accents not): not
    layout.name_key, the rule for names people type."""
    from openpyxl.formula.tokenizer import Token, Tokenizer

    tok = Tokenizer(text if text.startswith("=") else "=" + text)
    found = []
    for t in tok.items:
        if t.type != Token.OPERAND or t.subtype != Token.RANGE:
            continue
        m = _REF_RE.match(t.value)
        if m is None:
            continue
        if m.group("sheet"):
            if m.group("sheet").strip("'").replace("''", "'").casefold() != sheet.casefold():
                continue
        elif not own:
            continue
        a = _CELLREF_RE.fullmatch(m.group("a")).groups()
        b = _CELLREF_RE.fullmatch(m.group("b") or m.group("a")).groups()
        found.append((t, m.group("sheet"), a, b if m.group("b") else None))
    return tok, found


def _grow_formula(text: str, sheet: str, c1: int, c2: int, header_row: int, last: int, end: int,
                  first_total: int, r2: int) -> str:
    """A totals row formula moved below row `end`: its references (on its sheet, in the table's columns)
    over the data rows down to `last` stretched to `end`, those to the totals rows moved with them;
    structured references (Table[Column]) and every other reference unchanged."""
    tok, refs = _refs(text, sheet, True)
    shift = end - last
    for t, prefix, a, b in refs:
        ca, cb = col_index(a[1]), col_index((b or a)[1])
        ra, rb = int(a[3]), int((b or a)[3])
        if not (c1 <= ca and cb <= c2):
            continue
        if header_row < ra <= last == rb:
            rb = end
        elif first_total <= ra and rb <= r2:
            ra, rb = ra + shift, rb + shift
        else:
            continue
        t.value = (prefix + "!" if prefix else "") + f"{a[0]}{a[1]}{a[2]}{ra}" + \
            (f":{b[0]}{b[1]}{b[2]}{rb}" if b else "")
    out = tok.render()
    return out if text.startswith("=") else out[1:]


# A sheet's rules whose formulas may name cells: conditional formats and data validations (their x14 kin
# in the sheet's extensions too), and the formulas inside them
_RULES = (("totals_used_by_format", r"<(?:\w+:)?conditionalFormatting\b.*?</(?:\w+:)?conditionalFormatting>"),
          ("totals_used_by_validation", r"<(?:\w+:)?dataValidation\b.*?</(?:\w+:)?dataValidation>"))
_RULE_FORMULA_RE = re.compile(r"<(?:\w+:)?(?:formula[12]?|f)>([^<]+)</(?:\w+:)?(?:formula[12]?|f)>")


def _refers_to_totals(pkg: _Package, sheets: Mapping[str, str], wb: str, part: str, sheet: str, c1: int, c2: int,
                      total: int) -> tuple[str, str] | None:
    """Where a formula, a conditional format, a data validation, a link, a name or a chart refers by its
    address to the totals row (row `total`, columns c1..c2) of a table on `sheet` (the totals row's own
    cells aside) — (its i18n.PATCH_REFUSALS reason, the sheet, cell or name) —, None when nothing does:
    moved, the totals row would leave such a reference behind. `sheets`: part -> sheet name; `wb`: the
    workbook part."""
    def hits(text: str, own: bool) -> bool:
        for _, _, a, b in _refs(unescape(text), sheet, own)[1]:
            if col_index(a[1]) <= c2 and c1 <= col_index((b or a)[1]) and int(a[3]) <= total <= int((b or a)[3]):
                return True
        return False

    names = {sheet.casefold(), sheet.replace("'", "''").casefold()}
    for name in sorted(pkg.names):
        if name not in sheets and name != wb and not (name.startswith("xl/charts/") and name.endswith(".xml")):
            continue
        text = pkg.text(name)
        own = name == part
        links = _link_targets(pkg, name) if name in sheets else {}
        if not own and not any(n in text.casefold() or any(n in t.casefold() for t in links.values()) for n in names):
            continue
        if name in sheets:
            for c in _CELL_RE.finditer(text):
                f = re.search(r"<(?:\w+:)?f\b[^>]*>([^<]+)</(?:\w+:)?f>", c.group(3) or "")
                if f is None or (own and str(total) not in f.group(1)):
                    continue
                ref = re.fullmatch(r"([A-Z]+)(\d+)", _attrs(c.group(2)).get("r", ""))
                moves = own and ref is not None and int(ref.group(2)) == total and c1 <= col_index(ref.group(1)) <= c2
                if not moves and hits(f.group(1), own):
                    return "totals_used_by_cell", f"{sheets[name]}!{ref.group(0) if ref else ''}"
            rest = _SHEET_DATA.sub("", text)                # the sheet less its cells: its rules and links
            for what, block in _RULES:
                for b in re.finditer(block, rest, flags=re.S):
                    if any(hits(f.group(1), own) for f in _RULE_FORMULA_RE.finditer(b.group(0))):
                        return what, sheets[name]
            for h in re.finditer(r"<(?:\w+:)?hyperlink\b([^>]*)>", rest):
                a = _attrs(h.group(1))
                where = a.get("location") or next((links.get(v, "") for k, v in a.items() if k.endswith(":id")), "")
                if where and hits(where, own):
                    return "totals_used_by_link", f"{sheets[name]}!{a.get('ref', '')}"
        elif name == wb:
            for d in re.finditer(r"<(?:\w+:)?definedName\b([^>]*)>([^<]+)</(?:\w+:)?definedName>", text):
                if hits(d.group(2), False):
                    return "totals_used_by_name", _attrs(d.group(1)).get("name", "?")
        elif any(hits(f.group(1), False) for f in re.finditer(r"<(?:\w+:)?f>([^<]+)</(?:\w+:)?f>", text)):
            return "totals_used_by_chart", ""
    return None


def _link_targets(pkg: _Package, part: str) -> dict[str, str]:
    """A sheet's links to its workbook's own cells kept as relationships (`#Sheet!A1`): id -> `Sheet!A1`."""
    folder, base = part.rsplit("/", 1)
    rels = f"{folder}/_rels/{base}.rels"
    if not pkg.has(rels):
        return {}
    out = {}
    for r in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)>", pkg.text(rels)):
        a = _attrs(r.group(1))
        if a.get("Target", "").startswith("#") and a.get("Id"):
            out[a["Id"]] = unescape(a["Target"][1:])
    return out


def _grow_formats(xml: str, c1: int, c2: int, header_row: int, last: int, end: int, totals: int = 0) -> str:
    """The sheet's data validations and conditional formats (and their x14 kin) over the table's rows
    reach row `end`; those on its `totals` row(s) below `last` move with them."""
    def grow(m: re.Match) -> str:
        return m.group(1) + grow_sqref(m.group(2), c1, c2, header_row, last, end, totals) + m.group(3)
    xml = re.sub(r'(<(?:\w+:)?(?:dataValidation|conditionalFormatting)\b[^>]*?\ssqref=")([^"]*)(")', grow, xml)
    return re.sub(r"(<(?:\w+:)?sqref>)([^<]*)(</(?:\w+:)?sqref>)", grow, xml)


def _grow_dimension(xml: str, end: int) -> str:
    m = re.search(r'<(?:\w+:)?dimension\b[^>]*?\sref="([^"]*)"', xml)
    if m is None or ":" not in m.group(1):
        return xml
    (c1, r1), (c2, r2) = _bounds(m.group(1))
    return xml[:m.start(1)] + f"{_col(c1)}{r1}:{_col(c2)}{max(r2, end)}" + xml[m.end(1):]


def _recalc_on_open(xml: str) -> str:
    """The workbook asks to be recalculated when opened (the new rows' formulas have no cached value)."""
    m = re.search(r"<((?:\w+:)?)calcPr\b([^>]*?)(/?)>", xml)
    if m is None:
        p = re.search(r"<(\w+:)?workbook\b", xml).group(1) or ""
        at = None
        for tag in ("sheets", "functionGroups", "externalReferences", "definedNames"):   # calcPr follows them
            for c in re.finditer(rf"</{p}{tag}>|<{p}{tag}\b[^>]*/>", xml):
                at = c.end()
        return xml if at is None else xml[:at] + f'<{p}calcPr fullCalcOnLoad="1"/>' + xml[at:]
    attrs = re.sub(r'\sfullCalcOnLoad="[^"]*"', "", m.group(2))
    return xml[:m.start()] + f'<{m.group(1)}calcPr{attrs} fullCalcOnLoad="1"{m.group(3)}>' + xml[m.end():]


def grow_sqref(sqref: str, c1: int, c2: int, header_row: int, last: int, end: int, totals: int = 0) -> str:
    """`sqref` (space-separated ranges) with each range inside columns c1..c2 that covers the data row
    `last` (a table's last data row, below its header) stretched down to row `end`, and each range on
    the `totals` rows below `last` moved down below `end`; other ranges unchanged."""
    out = []
    for ref in str(sqref).split():
        (rc1, rr1), (rc2, rr2) = _bounds(ref)
        if c1 <= rc1 and rc2 <= c2 and header_row < rr1 <= last <= rr2 < end:
            ref = f"{_col(rc1)}{rr1}:{_col(rc2)}{end}"
        elif totals and c1 <= rc1 and rc2 <= c2 and last < rr1 and rr2 <= last + totals:
            ref = f"{_col(rc1)}{rr1 + end - last}:{_col(rc2)}{rr2 + end - last}"
        out.append(ref)
    return " ".join(out)


def _bounds(ref: str) -> tuple[tuple[int, int], tuple[int, int]]:
    from openpyxl.utils.cell import range_boundaries
    c1, r1, c2, r2 = range_boundaries(ref)
    return (c1, r1), (c2, r2)


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(n)
