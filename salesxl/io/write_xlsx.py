"""Write the team workbook with XlsxWriter: consolidated tables, Issues, Forecast and one Review per rep.

Big tables are streamed: rows are turned into sheet XML as they arrive (one temporary file per sheet),
with their texts as inline strings (t="inlineStr", as Excel's own streaming writers and XlsxWriter's
constant_memory mode do), so the writer's memory does not grow with the number of rows. XlsxWriter's own per-cell path (cell objects kept until close) costs about
8× more time for these tables, and its `constant_memory` mode cannot hold Excel tables
(`add_table` is refused in that mode), so the streamed sheets plug their XML into XlsxWriter's
package at close time while everything else (formats, tables, Forecast, review sheets with charts)
goes through XlsxWriter's public API.

Text stays text: every str is written as a string cell (t="inlineStr" in the streamed tables, t="s"
elsewhere), never as a formula, number or URL,
whatever it looks like (`=HYPERLINK(…)`, `1 234`, `http://…`); the workbook is opened with
strings_to_formulas/urls/numbers off for the few cells written through XlsxWriter's `write()`.
The output is written to a temporary file beside the target and moved in place with os.replace, so a
failed run leaves the previous workbook intact.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import shutil
import tempfile
import threading
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.worksheet import Worksheet

from salesxl import contract, i18n
from salesxl.contract import AMOUNT, CODE, DATE, INTEGER, NUMBER, PERCENT
from salesxl.io.cells import AMOUNT_FORMAT, DATE_FORMAT, FIXED_TIME, PERCENT_FORMAT, clean_str
from salesxl.io.read_xlsx import col_letters
from salesxl.issues import effect as issue_effect
from salesxl.review_text import T
from salesxl.values import EXCEL_EPOCH

TABLE_ORDER = ("reps", "planning", "objectives", "reporting", "pipeline")
HEADER_COLOR = "#1F4E78"
MAX_TEXT = 32767
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                    "nan_inf_to_errors": True}

PROVENANCE = (("_file", {"en": "Source file", "fr": "Fichier source"}, 28),
              ("_sheet", {"en": "Source sheet", "fr": "Feuille source"}, 16),
              ("_row", {"en": "Source row", "fr": "Ligne source"}, 10))
WEIGHTED = contract.PIPELINE.column("weighted")

ISSUE_FIELDS = (
    ("severity", {"en": "Severity", "fr": "Gravité"}, 14),
    ("code", {"en": "Code", "fr": "Code"}, 26),
    ("file", {"en": "File", "fr": "Fichier"}, 30),
    ("sheet", {"en": "Sheet", "fr": "Feuille"}, 16),
    ("row", {"en": "Row", "fr": "Ligne"}, 8),
    ("column", {"en": "Column", "fr": "Colonne"}, 18),
    ("value", {"en": "Value", "fr": "Valeur"}, 22),
    ("message", {"en": "Message", "fr": "Message"}, 90),
)
SEVERITY_LABELS = {"error": {"en": "error", "fr": "erreur"}, "warning": {"en": "warning", "fr": "avertissement"}}
# What each issue did to the consolidation (the Issues sheet's last column): rows are always kept;
# each code's effect is declared with it (salesxl/issue_codes.py).
ISSUE_EFFECT_FIELD = ("effect", {"en": "Effect", "fr": "Effet"}, 40)

FORECAST_FIELDS = (
    ("rep", {"en": "Rep", "fr": "Commercial"}, "text", 22),
    ("period_start", {"en": "Period start", "fr": "Début de période"}, "date", 14),
    ("period_end", {"en": "Period end", "fr": "Fin de période"}, "date", 14),
    ("objective", {"en": "Revenue objective", "fr": "Objectif de CA"}, "amount", 15),
    ("won", {"en": "Won", "fr": "Gagné"}, "amount", 14),
    ("weighted_open", {"en": "Weighted open", "fr": "Pondéré en cours"}, "amount", 15),
    ("forecast", {"en": "Forecast", "fr": "Prévision"}, "amount", 14),
    ("attainment", {"en": "Projected attainment", "fr": "Atteinte projetée"}, "percent", 13),
    ("coverage", {"en": "Coverage", "fr": "Couverture"}, "ratio", 11),
    ("p10", {"en": "P10", "fr": "P10"}, "amount", 13),
    ("p50", {"en": "P50", "fr": "P50"}, "amount", 13),
    ("p90", {"en": "P90", "fr": "P90"}, "amount", 13),
    ("p_reach", {"en": "P(reach objective)", "fr": "P(atteindre l'objectif)"}, "percent", 15),
    ("risk", {"en": "Risk", "fr": "Risque"}, "risk", 16),
)
RISK_LABELS = {k: T[k] for k in ("on_track", "at_risk", "off_track")}
RISK_COLORS = {"on_track": "#C6EFCE", "at_risk": "#FFEB9C", "off_track": "#FFC7CE"}
TEAM_LABEL = {"en": "Team", "fr": "Équipe"}


def output_columns(key: str, lang: str) -> list[tuple[str, str, str, float]]:
    """(column key, header, kind, width) of a consolidated table: the contract's input columns (plus
    the Weighted amount of proposals), then the provenance columns."""
    table = contract.TABLES[key]
    cols = [(c.key, c.label(lang), c.kind, c.width) for c in table.input_columns]
    if key == "pipeline":
        cols.append((WEIGHTED.key, WEIGHTED.label(lang), AMOUNT, WEIGHTED.width))
    cols += [(k, i18n.pick(lab, lang), "text" if k != "_row" else INTEGER, w) for k, lab, w in PROVENANCE]
    return cols


def code_labels(lang: str, lists: Mapping[str, contract.ListSpec] | None = None) -> dict[str, dict[str, str]]:
    """Canonical code -> label in `lang`, per list."""
    lists = lists or contract.LISTS
    return {k: {it.key: it.label(lang) for it in spec.items} for k, spec in lists.items()}


# ---------------------------------------------------------------------------------------------
class _Workbook(xlsxwriter.Workbook):
    """XlsxWriter's workbook, zipped with a faster deflate level (the sheet XML of big tables is
    tens of MB: level 1 deflates it about 3× faster than the default level 6, for a file ~25 % larger).

    Packaging: XlsxWriter writes each part to a temporary file and zips it; with a thousand review
    sheets that is thousands of small files, so they go to a RAM-backed temporary folder when there is
    one with room to spare (/dev/shm). The rows of the streamed sheets go from their own files into the
    zip, deflated beforehand in a background thread when `StreamSheet.start_compression` was called."""

    compresslevel = 1

    def _store_workbook(self) -> None:
        from xlsxwriter import workbook as xw_workbook
        streams, index = {}, 1
        for ws in self.worksheets():            # the packager's names: sheetN.xml, N counting worksheets
            if ws.is_chartsheet:
                continue
            if isinstance(ws, StreamSheet) and getattr(ws, "_rows_fh", None) is not None:
                streams[f"xl/worksheets/sheet{index}.xml"] = ws
            index += 1
        saved, saved_tmp = xw_workbook.ZipFile, self.tmpdir
        parts_dir = None
        if not self.in_memory and self.tmpdir is None:
            ram = _ram_tmpdir()
            if ram is not None:
                try:
                    parts_dir = self.tmpdir = tempfile.mkdtemp(prefix="salesxl-parts-", dir=ram)
                except OSError:
                    parts_dir = None
        xw_workbook.ZipFile = functools.partial(_PackageZip, compresslevel=self.compresslevel, streams=streams)
        try:
            super()._store_workbook()
        finally:
            xw_workbook.ZipFile = saved
            self.tmpdir = saved_tmp
            if parts_dir is not None:
                shutil.rmtree(parts_dir, ignore_errors=True)


def _ram_tmpdir(min_free: int = 1 << 30) -> str | None:
    """A RAM-backed folder for the package's small part files, if there is one with `min_free` bytes
    free (far more than the parts need), else None (the default temporary folder is used)."""
    d = "/dev/shm"
    try:
        st = os.statvfs(d)
    except (OSError, AttributeError):
        return None
    if st.f_bavail * st.f_frsize < min_free or not os.access(d, os.W_OK | os.X_OK):
        return None
    return d


class StreamSheet(Worksheet):
    """A worksheet whose rows are streamed to a temporary file as sheet XML.

    Cells: str -> inline string; int/float -> number; date/datetime -> serial with the column's date
    style; None / NaN / "" -> no cell; anything else -> its text. Only `append_rows` and `finish_table`
    write cells; XlsxWriter's own cell methods must not be used on it (their cells would be ignored).
    """

    def _stream_init(self, ncols: int, styles: Sequence[int | None], date_styles: Sequence[int | None],
                     tmpdir: str | None = None) -> None:
        self._letters = [col_letters(j + 1) for j in range(ncols)]
        self._styles = [f' s="{s}"' if s else "" for s in styles]
        self._date_styles = [f' s="{s}"' if s else "" for s in date_styles]
        self._rows_dir = tmpdir
        self._rows_fh = tempfile.TemporaryFile("w+b", dir=tmpdir, buffering=1 << 20)   # UTF-8 row XML
        self._rows_len = 0                       # bytes written to _rows_fh
        self._next_row = 1                       # next Excel row number (1 = header)
        self._frags: list[dict] = [{} for _ in range(ncols)]   # per column: value -> its cell XML
        self._deflated = None                    # (crc, size, file, compressed size) once compressed
        self._compressor = None                  # the thread compressing the rows, if started

    # -- writing ------------------------------------------------------------------------------
    @staticmethod
    def _inline_suffix(s: str) -> str:
        s = _text(s)
        if "_x" in s:
            s = _X_ESCAPE.sub(r"_x005F\1", s)
        if "&" in s or "<" in s or ">" in s:       # (& first: the others bring in no & to escape)
            s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        space = ' xml:space="preserve"' if s[:1].isspace() or s[-1:].isspace() else ""
        return f'" t="inlineStr"><is><t{space}>{s}</t></is></c>'

    def append_rows(self, columns: Sequence[Sequence[Any]], count: int) -> None:
        """Append `count` rows given column by column (each sequence holds `count` values)."""
        if count <= 0:
            return
        r0 = self._next_row + 1
        # each cell's XML with a placeholder for its row number (the same for many cells: cached by
        # value); each row is then one join and one replace
        frags = [self._render(col, j, count) for j, col in enumerate(columns)]
        data = "".join([f'<row r="{r}">{"".join(cells).replace(_ROW, r)}</row>'
                        for r, cells in zip(map(str, range(r0, r0 + count)), zip(*frags))]).encode("utf-8")
        self._rows_fh.write(data)
        self._rows_len += len(data)
        self._next_row = r0 + count - 1

    def _render(self, col: Sequence[Any], j: int, count: int) -> list[str]:
        """The cell XML of one column, one string per row ("" for no cell), with `_ROW` where the row
        number goes. Column-wise list comprehensions on the column's main type (texts and dates cached
        by value across batches), then a slow path for the odd cells."""
        L, S, DS = self._letters[j], self._styles[j], self._date_styles[j]
        first = next((v for v in col if v is not None), None)
        tp = type(first)
        if first is None:
            return [""] * count
        pre = f'<c r="{L}{_ROW}'
        cache = self._frags[j]
        if len(cache) > _FRAG_CACHE:            # bounded: the cache never grows with the rows
            cache.clear()
        if tp is str or tp is dt.date:
            # texts (dates): each distinct value's XML made once, then one lookup per cell. Values seen in
            # earlier batches are kept (codes, reps, files...), unless most are new: a column of one-off
            # values (references, comments) gets a lookup of this batch only
            try:
                distinct = set(col)
            except TypeError:                   # an unhashable value: every odd cell the slow way
                new, odd = (), True
            else:
                odd = False
                new = distinct.difference(cache)
                if len(new) > len(col) // 2:
                    cache, new = {}, distinct
            cell = self._inline_suffix if tp is str else None
            for v in new:
                if type(v) is tp:
                    cache[v] = pre + cell(v) if cell else f'{pre}"{DS}><v>{_serial(v)}</v></c>'
                elif v is None:
                    cache[None] = ""
                else:
                    odd = True
            if odd:
                g = cache.get
                out = [g(v) if type(v) is tp or v is None else _SLOW for v in col]
                for i in [i for i, x in enumerate(out) if x is None]:      # not cached (unhashable case)
                    v = col[i]
                    out[i] = "" if v is None else \
                        pre + cell(v) if cell else f'{pre}"{DS}><v>{_serial(v)}</v></c>'
            else:
                out = list(map(cache.__getitem__, col))
        elif tp is float or tp is int:
            out = ["" if v is None else f'{pre}"{S}><v>{v!r}</v></c>'
                   if (type(v) is float and v - v == 0) or type(v) is int else _SLOW
                   for v in col]
        else:
            out = [_SLOW] * count
        if _SLOW not in out:
            return out
        for i in [i for i, x in enumerate(out) if x is _SLOW]:
            out[i] = self._cell(L, _ROW, col[i], S, DS)
        return out

    def _cell(self, letter: str, r, v: Any, style: str, dstyle: str) -> str:
        if v is None:
            return ""
        if isinstance(v, str):
            if not v:
                return ""
            return self._string_cell(letter, r, v)
        if isinstance(v, bool):
            return f'<c r="{letter}{r}" t="b"><v>{int(v)}</v></c>'
        if isinstance(v, (dt.date, dt.datetime)):          # datetimes, subclasses, pandas Timestamp
            try:
                return f'<c r="{letter}{r}"{dstyle}><v>{_serial(v)}</v></c>'
            except (TypeError, ValueError, OverflowError):   # NaT
                return ""
        if isinstance(v, (int, float)) or hasattr(v, "item"):   # numpy scalars
            try:
                x = float(v)
            except (TypeError, ValueError):
                x = None
            if x is not None:
                if not math.isfinite(x):
                    return ""
                if isinstance(v, int) or (hasattr(v, "dtype") and v.dtype.kind in "iu"):
                    return f'<c r="{letter}{r}"{style}><v>{int(v)}</v></c>'
                return f'<c r="{letter}{r}"{style}><v>{x!r}</v></c>'
        s = str(v)
        if not s:
            return ""
        return self._string_cell(letter, r, s)

    def _string_cell(self, letter: str, r, s: str) -> str:
        return f'<c r="{letter}{r}{self._inline_suffix(s)}'

    def write_header(self, headers: Sequence[str], header_format) -> None:
        """The header row (row 1), through XlsxWriter (the table's column names must match)."""
        self._header_format = header_format
        for j, h in enumerate(headers):
            self.write_string(0, j, h, header_format)

    def finish_table(self, name: str, headers: Sequence[str], style: str = "TableStyleMedium2") -> None:
        """Declare the Excel table over the header and every streamed row (at least one data row)."""
        last = max(self._next_row, 2) - 1       # 0-based last row
        ncols = len(headers)
        # add_table marks every cell of its range; declare it on two rows then widen it (cheap).
        fmt = getattr(self, "_header_format", None)
        self.add_table(0, 0, 1, ncols - 1, {"name": name, "style": style,
                                            "columns": [{"header": h, "header_format": fmt} for h in headers]})
        t = self.tables[-1]
        from xlsxwriter.utility import xl_range
        t["range"] = xl_range(0, 0, last, ncols - 1)
        t["a_range"] = t["range"]
        if t.get("autofilter"):
            t["autofilter"] = t["range"]
        self._check_dimensions(last, ncols - 1)
        self._rows_fh.flush()

    @property
    def data_rows(self) -> int:
        return self._next_row - 1

    # -- compression ----------------------------------------------------------------------------
    def start_compression(self, level: int) -> None:
        """Deflate the streamed rows in a background thread (zlib works without the GIL): called once the
        last row is in, it runs while the rest of the workbook is built; the package then copies the
        compressed rows as they are."""
        if self._rows_fh is None or self._compressor is not None:
            return
        self._compressor = threading.Thread(target=self._compress, args=(level,), name="salesxl-deflate",
                                            daemon=True)
        self._compressor.start()

    def _compress(self, level: int) -> None:
        try:
            src = self._rows_fh
            src.flush()
            src.seek(0)
            dst = tempfile.TemporaryFile("w+b", dir=self._rows_dir)
            comp = zlib.compressobj(level, zlib.DEFLATED, -15)
            crc = size = csize = 0
            while True:
                chunk = src.read(_COPY_CHUNK)
                if not chunk:
                    break
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                out = comp.compress(chunk)
                if out:
                    dst.write(out)
                    csize += len(out)
            out = comp.flush(zlib.Z_SYNC_FLUSH)        # byte-aligned, not final: the sheet's tail follows
            dst.write(out)
            csize += len(out)
            self._deflated = (crc, size, dst, csize)
        except Exception:  # noqa: BLE001 - the package falls back to compressing the rows itself
            self._deflated = None

    def _wait_compression(self) -> None:
        t = getattr(self, "_compressor", None)
        if t is not None:
            t.join()
            self._compressor = None

    # -- XlsxWriter hooks ---------------------------------------------------------------------
    def _write_sheet_data(self) -> None:
        fh = getattr(self, "_rows_fh", None)
        if fh is None:
            return super()._write_sheet_data()
        self._xml_start_tag("sheetData")
        # row 1 (header) from XlsxWriter's own cell table, then the streamed rows: they are put in
        # place (from their file) when the package is zipped (_PackageZip)
        row0 = self.table.get(0)
        if row0:
            self._write_row(0, None, self.row_info.get(0))
            for col in sorted(row0):
                self._write_cell(0, col, row0[col])
            self._xml_end_tag("row")
        self.fh.write(_ROWS_MARK)
        self._xml_end_tag("sheetData")

    def _zip_member(self, zf: zipfile.ZipFile, zinfo: zipfile.ZipInfo, head: bytes, tail: bytes) -> None:
        """Write this sheet's XML into the package: `head`, the streamed rows, `tail`."""
        self._wait_compression()
        fh, deflated = self._rows_fh, self._deflated
        level = zf.compresslevel if zf.compresslevel is not None else zlib.Z_DEFAULT_COMPRESSION
        if deflated is not None and zinfo.compress_type == zipfile.ZIP_DEFLATED:
            crc, size, dfh, csize = deflated
            c_head = zlib.compressobj(level, zlib.DEFLATED, -15)
            head_z = c_head.compress(head) + c_head.flush(zlib.Z_SYNC_FLUSH)
            c_tail = zlib.compressobj(level, zlib.DEFLATED, -15)
            tail_z = c_tail.compress(tail) + c_tail.flush(zlib.Z_FINISH)
            crc = zlib.crc32(tail, crc32_combine(zlib.crc32(head), crc, size))
            dfh.seek(0)
            _write_deflated(zf, zinfo, crc, len(head) + size + len(tail), len(head_z) + csize + len(tail_z),
                            [head_z, _chunks(dfh), tail_z])
        else:
            zinfo.file_size = len(head) + self._rows_len + len(tail)
            zinfo._compresslevel = zf.compresslevel
            with zf.open(zinfo, "w", force_zip64=zinfo.file_size > zipfile.ZIP64_LIMIT // 2) as w:
                w.write(head)
                fh.flush()
                fh.seek(0)
                for chunk in _chunks(fh):
                    w.write(chunk)
                w.write(tail)
        self._close_stream()

    def _close_stream(self) -> None:
        self._wait_compression()
        fh = getattr(self, "_rows_fh", None)
        if fh is not None:
            fh.close()
            self._rows_fh = None
        d = getattr(self, "_deflated", None)
        if d is not None:
            d[2].close()
            self._deflated = None


def _weighted(amounts: Sequence[Any], probabilities: Sequence[Any]) -> list:
    """Amount × Probability of each row where both are numbers (not booleans), else None."""
    return [a * p if isinstance(a, (int, float)) and isinstance(p, (int, float))
            and not isinstance(a, bool) and not isinstance(p, bool) else None
            for a, p in zip(amounts, probabilities)]


def _labelled(labels: Mapping[str, str], vals: Sequence[Any]) -> list:
    """Codes (canonical keys) as their labels; anything else as it is."""
    try:
        return list(map(labels.get, vals, vals))       # labels are keyed by text: other values stay
    except TypeError:                                  # an unhashable value
        return [labels.get(v, v) if type(v) is str else v for v in vals]


def _chunks(fh, size: int | None = None):
    while True:
        chunk = fh.read(size or _COPY_CHUNK)
        if not chunk:
            return
        yield chunk


def _write_deflated(zf: zipfile.ZipFile, zinfo: zipfile.ZipInfo, crc: int, file_size: int, compress_size: int,
                    pieces) -> None:
    """Add a member whose raw deflate stream is given (bytes, or iterables of bytes): what
    ZipFile.write does once it has compressed the data, without compressing it again."""
    zinfo.compress_type = zipfile.ZIP_DEFLATED
    zinfo.file_size, zinfo.compress_size, zinfo.CRC = file_size, compress_size, crc
    zinfo.flag_bits = 0x00
    if not zinfo.external_attr:
        zinfo.external_attr = 0o600 << 16
    zip64 = file_size > zipfile.ZIP64_LIMIT or compress_size > zipfile.ZIP64_LIMIT
    if zip64 and not zf._allowZip64:
        raise zipfile.LargeZipFile("Filesize would require ZIP64 extensions")
    with zf._lock:
        if zf._writing:
            raise ValueError("can't write to the ZIP file while there is an open writing handle")
        if zf._seekable:
            zf.fp.seek(zf.start_dir)
        zinfo.header_offset = zf.fp.tell()
        zf._writecheck(zinfo)
        zf._didModify = True
        zf.fp.write(zinfo.FileHeader(zip64))
        written = 0
        for piece in pieces:
            for chunk in ([piece] if isinstance(piece, (bytes, bytearray)) else piece):
                zf.fp.write(chunk)
                written += len(chunk)
        if written != compress_size:
            raise OSError(f"{zinfo.filename}: {written} compressed bytes written, {compress_size} expected")
        zf.filelist.append(zinfo)
        zf.NameToInfo[zinfo.filename] = zinfo
        zf.start_dir = zf.fp.tell()


def _gf2_times(mat: list[int], vec: int) -> int:
    s, i = 0, 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from crc32(A), crc32(B) and len(B) (zlib's crc32_combine)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]      # the operator for one zero bit
    even = _gf2_square(odd)                                # two zero bits
    odd = _gf2_square(even)                                # four zero bits
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


class _PackageZip(zipfile.ZipFile):
    """The package's zip file: every part at the workbook's compression level, and the streamed
    sheets' rows put in place from their files (see StreamSheet._zip_member)."""

    def __init__(self, *args, streams: Mapping[str, "StreamSheet"] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._streams = dict(streams or {})

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        ws = self._streams.pop(arcname, None) if arcname is not None else None
        if ws is None:
            return super().write(filename, arcname, compress_type, compresslevel)
        with open(filename, "rb") as f:          # the sheet's XML around the streamed rows (small)
            data = f.read()
        head, _, tail = data.partition(_ROWS_MARK.encode())
        zinfo = zipfile.ZipInfo.from_file(filename, arcname, strict_timestamps=self._strict_timestamps)
        zinfo.compress_type = self.compression if compress_type is None else compress_type
        ws._zip_member(self, zinfo, head, tail)

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        ws = self._streams.pop(name, None)
        mark = _ROWS_MARK.encode()
        if ws is not None and isinstance(data, bytes) and mark in data:
            head, _, tail = data.partition(mark)
            zinfo = zinfo_or_arcname if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else \
                zipfile.ZipInfo(name, date_time=time.localtime(time.time())[:6])
            if compress_type is not None:
                zinfo.compress_type = compress_type
            elif not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
                zinfo.compress_type = self.compression
            ws._zip_member(self, zinfo, head, tail)
            return
        return super().writestr(zinfo_or_arcname, data, compress_type,
                                self.compresslevel if compresslevel is None else compresslevel)


_ROW = "\x00"            # where a cell's row number goes (XML text never holds a NUL: clean_str drops it)
_SLOW = object()          # a cell left to StreamSheet._cell
_FRAG_CACHE = 20_000      # cell XML kept per column between batches, at most
_COPY_CHUNK = 1 << 20
_ROWS_MARK = "\x00salesxl-rows\x00"    # where the streamed rows go in the sheet XML at close
_X_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")        # literal "_x0041_" is not an escape: Excel's rule


def _text(s: str) -> str:
    s = clean_str(s)
    return s[:MAX_TEXT] if len(s) > MAX_TEXT else s


def _serial(v) -> str:
    if isinstance(v, dt.datetime) or hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime() if hasattr(v, "to_pydatetime") else v
        if v.tzinfo is not None:
            v = v.replace(tzinfo=None)
        d = v - dt.datetime(1899, 12, 30)
        x = d.days + d.seconds / 86400 + d.microseconds / 86400e6
        return repr(x) if not float(x).is_integer() else str(int(x))
    return str((v - EXCEL_EPOCH).days)


# ---------------------------------------------------------------------------------------------
class TeamWorkbookWriter:
    """Streams the consolidated tables into the team workbook, then adds Issues, Forecast and reviews.

        with TeamWorkbookWriter("team.xlsx", "fr") as w:
            w.add_rows("pipeline", {"ref": [...], ...}, file="a.xlsx", sheet="Carnet commercial", rows=[2, 3])
            w.finish(issues=..., forecast=..., reviews=...)

    Nothing is visible at `path` until `finish` returns; on any error the temporary file is removed.
    """

    BATCH_ROWS = 4096                      # rows of a table buffered before their XML is built

    def __init__(self, path, lang: str = "en", *, tables: Sequence[str] = TABLE_ORDER,
                 lists: Mapping[str, contract.ListSpec] | None = None, settings: Mapping[str, Any] | None = None):
        self.path = Path(path)
        self.lang = lang if lang in i18n.LANGS else "en"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~" + self.path.stem + "-", suffix=".xlsx", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.wb = _Workbook(str(self.tmp), dict(WORKBOOK_OPTIONS))
        self.wb.set_properties({"title": "salesxl team workbook", "author": "salesxl", "created": FIXED_TIME})
        self.formats = self._formats()
        self.codes = code_labels(self.lang, lists)
        self.settings = dict(settings or {})
        self._closed = False
        self._tables_done = False
        self._buffer: dict[str, list] = {}
        self.sheets: dict[str, StreamSheet] = {}
        self.columns: dict[str, list[tuple[str, str, str, float]]] = {}
        self._settings_sheet = self.wb.add_worksheet(contract.SETTINGS.sheet(self.lang))
        for key in tables:
            self._add_table_sheet(key)

    # -- setup --------------------------------------------------------------------------------
    def _formats(self) -> dict:
        wb, lang = self.wb, self.lang
        f = {
            "header": wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": HEADER_COLOR,
                                     "text_wrap": True, "valign": "vcenter"}),
            "date": wb.add_format({"num_format": DATE_FORMAT[lang]}),
            "amount": wb.add_format({"num_format": AMOUNT_FORMAT}),
            "percent": wb.add_format({"num_format": PERCENT_FORMAT}),
            "integer": wb.add_format({"num_format": "0"}),
            "ratio": wb.add_format({"num_format": "0.00"}),
            "text": wb.add_format({"num_format": "@"}),
            "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
            "bold": wb.add_format({"bold": True}),
            "title": wb.add_format({"bold": True, "font_size": 14, "font_color": HEADER_COLOR}),
            "error": wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"}),
            "warning": wb.add_format({"font_color": "#9C5700", "bg_color": "#FFEB9C"}),
        }
        f["amount0"] = wb.add_format({"num_format": "#,##0"})
        for k in ("amount0", "percent", "date", "ratio"):
            f["team_" + k] = wb.add_format({"bold": True, "top": 1, "num_format": f[k].num_format})
        f["team_text"] = wb.add_format({"bold": True, "top": 1})
        for risk, color in RISK_COLORS.items():
            f["risk_" + risk] = wb.add_format({"bg_color": color, "bold": True})
        return f

    def _kind_format(self, kind: str):
        if kind == DATE:
            return self.formats["date"]
        if kind in (AMOUNT, NUMBER):
            return self.formats["amount"]
        if kind == PERCENT:
            return self.formats["percent"]
        if kind == INTEGER:
            return self.formats["integer"]
        return None

    def _add_table_sheet(self, key: str) -> StreamSheet:
        table = contract.TABLES[key]
        cols = output_columns(key, self.lang)
        ws = self.wb.add_worksheet(table.sheet(self.lang), worksheet_class=StreamSheet)
        styles, dstyles = [], []
        for _, _, kind, _ in cols:
            fmt = self._kind_format(kind)
            styles.append(fmt._get_xf_index() if fmt is not None else None)
            dstyles.append(self.formats["date"]._get_xf_index())
        ws._stream_init(len(cols), styles, dstyles)
        ws.write_header([h for _, h, _, _ in cols], self.formats["header"])
        for j, (_, _, kind, width) in enumerate(cols):
            ws.set_column(j, j, width)
        ws.freeze_panes(1, 0)
        ws.set_row(0, 30)
        _print_setup(ws)
        self.sheets[key] = ws
        self.columns[key] = cols
        return ws

    # -- streaming ----------------------------------------------------------------------------
    def add_rows(self, key: str, columns: Mapping[str, Sequence[Any]], *, file: str, sheet: str,
                 rows: Sequence[int]) -> int:
        """Append one file's rows of table `key`: values by column key (typed values, or the text as
        typed where a value could not be interpreted; codes as canonical keys), Excel rows as found."""
        n = len(rows)
        if not n:
            return 0
        if key not in self.sheets:
            self._add_table_sheet(key)
        out = []
        for ckey, _, kind, _ in self.columns[key]:
            if ckey == "_file":
                out.append([file] * n)
            elif ckey == "_sheet":
                out.append([sheet] * n)
            elif ckey == "_row":
                out.append(list(rows))
            elif ckey == "weighted" and key == "pipeline" and "weighted" not in columns:
                out.append(_weighted(columns.get("amount", [None] * n), columns.get("probability", [None] * n)))
            else:
                vals = columns.get(ckey)
                if vals is None:
                    out.append([None] * n)
                    continue
                if kind == CODE:
                    spec = contract.TABLES[key].column(ckey).codes
                    vals = _labelled(self.codes.get(spec, {}), vals)
                out.append(vals)
        buf = self._buffer.get(key)
        if buf is None:
            self._buffer[key] = [[list(c) for c in out], n]
        else:
            for acc, c in zip(buf[0], out):
                acc.extend(c)
            buf[1] += n
        if self._buffer[key][1] >= self.BATCH_ROWS:
            self._flush(key)
        return n

    def _flush(self, key: str | None = None) -> None:
        """Render buffered rows (files are batched: the XML is built column by column, per batch)."""
        for k in ([key] if key else list(self._buffer)):
            buf = self._buffer.pop(k, None)
            if buf and buf[1]:
                self.sheets[k].append_rows(buf[0], buf[1])

    def add_frame(self, key: str, df) -> int:
        """Append a DataFrame holding column keys plus `_file`, `_sheet`, `_row` (several files at once)."""
        if df is None or len(df) == 0:
            return 0
        ws = self.sheets.get(key) or self._add_table_sheet(key)
        self._flush(key)
        n = len(df)
        plain = functools.lru_cache(maxsize=None)(lambda c: _plain_list(df[c]))     # each column once
        out = []
        for ckey, _, kind, _ in self.columns[key]:
            if ckey in df.columns:
                vals = plain(ckey)
                if kind == CODE:
                    vals = _labelled(self.codes.get(contract.TABLES[key].column(ckey).codes, {}), vals)
            elif ckey == "weighted" and key == "pipeline":
                vals = _weighted(plain("amount"), plain("probability"))
            else:
                vals = [None] * n
            out.append(vals)
        ws.append_rows(out, n)
        return n

    # -- the rest of the workbook -------------------------------------------------------------
    def finish(self, *, issues: Iterable = (), forecast: Any = None, reviews: Iterable = (),
               render_review=None) -> Path:
        """Write Settings, Issues, Forecast and reviews, close the workbook and move it into place.

        `reviews` may be a generator: each review is rendered as it comes and its sheet frozen (its XML
        built, its cells dropped), so that only one review at a time is held. `forecast` may be a
        callable, called once every review is rendered: the reviews can then be made while the forecast
        is still being computed (the Forecast sheet, which comes first, is filled afterwards, with the
        same package as a result)."""
        try:
            if not self._tables_done:
                self.finish_tables(issues=issues)
            # the streamed sheets are complete: deflate their rows on the other core while the rest is built
            for ws in [*self.sheets.values(), self._issues_ws]:
                ws.start_compression(self.wb.compresslevel)
            later = callable(forecast) and not isinstance(forecast, Mapping)
            if later and render_review is not None:     # another renderer: the forecast first after all
                reviews = list(reviews)
                forecast, later = forecast(), False
            if render_review is None:
                from salesxl.io.review_xlsx import render_review as default_render
            if later:
                fc_ws = self.wb.add_worksheet(contract.SHEETS["forecast"][self.lang])
            else:
                fc_ws = self._write_forecast(forecast)
            deferred = []
            if reviews:
                for review in reviews:
                    if render_review is None:   # (the renderer keeps its own formats per workbook)
                        ws = default_render(self.wb, review, defer_strings=later)
                    else:
                        ws = render_review(self.wb, review)
                    if hasattr(ws, "freeze"):
                        ws.freeze(self.wb)
                    if later:
                        deferred.append(ws)
                    del review, ws
            if later:
                self._fill_forecast(fc_ws, forecast())
                for ws in deferred:             # their texts numbered after the Forecast sheet's
                    ws.resolve_strings()
            fc_ws.activate()
            try:
                self.wb.close()
            except FileCreateError as exc:     # XlsxWriter wraps the OSError (disk full, permissions…)
                cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
                raise (cause or OSError(str(exc))) from exc
            self._closed = True
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def finish_tables(self, *, issues: Iterable = ()) -> None:
        """The first part of `finish`, which needs no forecast: the last rows of the tables, Settings
        (`settings` set beforehand) and Issues."""
        try:
            self._flush()
            for key, ws in self.sheets.items():
                ws.finish_table(contract.TABLES[key].name, [h for _, h, _, _ in self.columns[key]])
            self._write_settings()
            self._issues_ws = self._write_issues(issues)
            self._tables_done = True
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop everything written so far; the previous file at `path` is untouched."""
        self._buffer.clear()
        for ws in [*self.sheets.values(), getattr(self, "_issues_ws", None)]:
            if ws is not None:
                ws._close_stream()
        if not self._closed:
            self._closed = True
            try:
                self.wb.fileclosed = True       # no save attempt at garbage collection
            except Exception:  # pragma: no cover
                pass
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.abort()
        return False

    def _write_settings(self) -> None:
        ws, lang, f = self._settings_sheet, self.lang, self.formats
        t = contract.SETTINGS
        headers = [c.label(lang) for c in t.columns]
        by_key = {s.key: s for s in contract.SETTINGS_KEYS}
        rows = []
        for key in ("language", "as_of", "currency", "on_track", "at_risk", "simulations", "seed"):
            s = by_key[key]
            v = self.settings.get(key, lang if key == "language" else s.default)
            rows.append((s.fr if lang == "fr" else s.en, v, key))
        for j, h in enumerate(headers):
            ws.write_string(0, j, h, f["header"])
        for i, (label, v, key) in enumerate(rows, start=1):
            ws.write_string(i, 0, label)
            if v is None or v == "":
                continue
            if key == "as_of" and isinstance(v, dt.date):
                ws.write_datetime(i, 1, _as_datetime(v), f["date"])
            elif key in ("on_track", "at_risk") and isinstance(v, (int, float)):
                ws.write_number(i, 1, v, f["percent"])
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(i, 1, v)
            else:
                ws.write_string(i, 1, _text(str(v)))
        ws.add_table(0, 0, len(rows), 1, {"name": t.name, "style": "TableStyleMedium2",
                                          "columns": [{"header": h, "header_format": f["header"]} for h in headers]})
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 22)

    def _write_issues(self, issues: Iterable) -> StreamSheet:
        lang, f = self.lang, self.formats
        ws = self.wb.add_worksheet(contract.SHEETS["issues"][lang], worksheet_class=StreamSheet)
        fields = ISSUE_FIELDS + (ISSUE_EFFECT_FIELD,)
        headers = [i18n.pick(lab, lang) for _, lab, _ in fields]
        row_style = f["integer"]._get_xf_index()
        styles = [None, None, None, None, row_style, None, None, f["wrap"]._get_xf_index(), None]
        ws._stream_init(len(headers), styles, [f["date"]._get_xf_index()] * len(headers))
        ws.write_header(headers, f["header"])
        for j, (_, _, w) in enumerate(fields):
            ws.set_column(j, j, w)
        sev = {k: i18n.pick(v, lang) for k, v in SEVERITY_LABELS.items()}
        batch: list[list] = [[] for _ in fields]
        n = 0
        for i in issues:
            vals = (sev.get(i.severity, i.severity), i.code, i.file, i.sheet, i.row, i.column,
                    _issue_value(i.value), i.message, issue_effect(i, lang))
            for col, v in zip(batch, vals):
                col.append(v)
            n += 1
            if n >= 5000:
                ws.append_rows(batch, n)
                batch, n = [[] for _ in fields], 0
        if n:
            ws.append_rows(batch, n)
        ws.finish_table("tblIssues", headers)
        last = max(ws.data_rows, 1)
        ws.conditional_format(1, 0, last, 0, {"type": "cell", "criteria": "==", "value": f'"{sev["error"]}"',
                                              "format": f["error"]})
        ws.conditional_format(1, 0, last, 0, {"type": "cell", "criteria": "==",
                                              "value": f'"{sev["warning"]}"', "format": f["warning"]})
        ws.freeze_panes(1, 0)
        ws.set_row(0, 30)
        _print_setup(ws)
        return ws

    def _write_forecast(self, forecast: Any):
        return self._fill_forecast(self.wb.add_worksheet(contract.SHEETS["forecast"][self.lang]), forecast)

    def _fill_forecast(self, ws, forecast: Any):
        lang, f = self.lang, self.formats
        data = _forecast_dict(forecast, calibration=False)       # (the sheet shows no calibration)
        reps = data.get("reps") or []
        headers = [i18n.pick(lab, lang) for _, lab, _, _ in FORECAST_FIELDS]
        for j, h in enumerate(headers):
            ws.write_string(0, j, h, f["header"])
        for j, (_, _, kind, w) in enumerate(FORECAST_FIELDS):
            ws.set_column(j, j, w)
        for i, rec in enumerate(reps, start=1):
            self._forecast_row(ws, i, rec, team=False)
        last = max(len(reps), 1)
        ws.add_table(0, 0, last, len(headers) - 1, {"name": "tblForecast", "style": "TableStyleMedium2",
                                                    "columns": [{"header": h, "header_format": f["header"]}
                                                                for h in headers]})
        team = data.get("team")
        if team:
            rec = dict(team)
            rec["rep"] = i18n.pick(TEAM_LABEL, lang)
            self._forecast_row(ws, last + 1, rec, team=True)
        ws.freeze_panes(1, 1)
        ws.set_row(0, 30)
        as_of = data.get("as_of")
        if as_of:
            ws.write_string(last + 3, 0, i18n.pick(T["as_of"], lang), f["bold"])
            d = _to_date(as_of)
            if d is not None:
                ws.write_datetime(last + 3, 1, _as_datetime(d), f["date"])
            else:
                ws.write_string(last + 3, 1, str(as_of))
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        return ws

    def _forecast_row(self, ws, i: int, rec: Mapping[str, Any], team: bool) -> None:
        f, lang = self.formats, self.lang
        for j, (key, _, kind, _) in enumerate(FORECAST_FIELDS):
            v = rec.get(key)
            fmt = None
            if kind in ("amount", "percent", "date", "ratio"):
                k = "amount0" if kind == "amount" else kind
                fmt = f[("team_" if team else "") + k]
            elif team:
                fmt = f["team_text"]
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                if team:
                    ws.write_blank(i, j, None, fmt)
                continue
            if kind == "risk":
                label = i18n.pick(RISK_LABELS.get(v, {"en": str(v)}), lang)
                ws.write_string(i, j, label, f.get("risk_" + str(v), fmt))
            elif kind == "date":
                d = _to_date(v)
                if d is not None:
                    ws.write_datetime(i, j, _as_datetime(d), fmt)
                else:
                    ws.write_string(i, j, _text(str(v)), fmt)
            elif kind == "text" or isinstance(v, str):
                ws.write_string(i, j, _text(str(v)), fmt)
            else:
                ws.write_number(i, j, float(v), fmt)


def _print_setup(ws) -> None:
    """A4 landscape, one page wide, the header row on every page."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def _forecast_dict(forecast: Any, calibration: bool = True) -> dict:
    if forecast is None:
        return {}
    if isinstance(forecast, Mapping):
        return dict(forecast)
    to_dict = getattr(forecast, "to_dict", None)
    if not callable(to_dict):
        return {}
    if not calibration:
        from salesxl.forecast import TeamForecast
        if isinstance(forecast, TeamForecast):
            return forecast.to_dict(calibration=False)
    return to_dict()


def _to_date(v) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def _as_datetime(d: dt.date) -> dt.datetime:
    return d if isinstance(d, dt.datetime) else dt.datetime(d.year, d.month, d.day)


def _issue_value(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, dt.date)) and not isinstance(v, bool):
        return v
    return str(v)


def _plain_list(series) -> list:
    """Python values of a column (NaN/NaT -> None, numpy scalars -> Python, Timestamps -> date)."""
    out = series.tolist()
    types = set(map(type, out))
    if types <= {str, int, dt.date, type(None)}:
        return out
    if types <= {str, int, float, dt.date, type(None)}:
        return [None if type(v) is float and v != v else v for v in out]
    for i, v in enumerate(out):
        if v is None or type(v) in (str, int, dt.date):
            continue
        if type(v) is float:
            if v != v:
                out[i] = None
        elif hasattr(v, "to_pydatetime"):
            out[i] = None if v != v else v.to_pydatetime().date() if v.time() == dt.time(0) else v.to_pydatetime()
        elif hasattr(v, "item"):
            out[i] = v.item()
        elif v != v:
            out[i] = None
    return out


# ---------------------------------------------------------------------------------------------
def write_team_workbook(path, *, tables: Mapping[str, Any], issues: Iterable = (), forecast: Any = None,
                        reviews: Sequence = (), lang: str = "en", settings: Mapping[str, Any] | None = None,
                        lists: Mapping[str, contract.ListSpec] | None = None, render_review=None) -> Path:
    """Write the whole team workbook at once from DataFrames (column keys plus `_file`, `_sheet`,
    `_row`). The streaming path used by `salesxl consolidate` is `TeamWorkbookWriter`."""
    with TeamWorkbookWriter(path, lang, lists=lists, settings=settings,
                            tables=[k for k in TABLE_ORDER if k in tables]) as w:
        for key in TABLE_ORDER:
            if key in tables:
                w.add_frame(key, tables[key])
        return w.finish(issues=issues, forecast=forecast, reviews=reviews, render_review=render_review)
