"""Every use of XlsxWriter's (and zipfile's) internals, in one place. Private: only the file writers
(io/write_xlsx.py, io/review_xlsx.py) import it.

XlsxWriter is pinned exactly in pyproject.toml (``xlsxwriter==3.3.1``) because of what follows; when
the pin moves, `tests/test_xlsxwriter_ext.py` (sheet XML compared with stock XlsxWriter's for the same
content) says whether it still holds.

What is used beyond XlsxWriter's public API, and why:

- `PackagedWorkbook._store_workbook` (overrides ``Workbook._store_workbook``): swaps the module
  global ``xlsxwriter.workbook.ZipFile`` for `_PackageZip` while the package is written (restored in
  ``finally``), to deflate at level 1 and put the streamed sheets' rows in place from their files;
  sets ``tmpdir`` to a RAM-backed folder for the thousands of small part files; `discard` sets
  ``fileclosed``.
- `StreamSheet` (a ``Worksheet``): its rows are sheet XML streamed to a temporary file, because
  XlsxWriter keeps every cell until close (8× slower here) and its ``constant_memory`` mode refuses
  ``add_table``. Uses ``_write_sheet_data`` (override), ``_write_row``, ``_write_cell``, ``table``,
  ``row_info``, ``fh``, ``_xml_start_tag``/``_xml_end_tag``, ``tables[-1]`` (the range widened after
  ``add_table``), ``_check_dimensions`` and ``Format._get_xf_index``; strings are inline
  (``t="inlineStr"``, as ``constant_memory`` writes them) and rows carry no ``spans``.
- `_write_deflated`: adds an already-deflated member under zipfile's ``ZipFile._lock``, with
  ``_writecheck``, ``_didModify``, ``_writing``, ``_seekable``, ``start_dir`` (what ``ZipFile.write``
  does once it has compressed the data).
- `FastSheet` (a ``Worksheet``, the review sheets' base): ``_write_sheet_data``, ``_calculate_spans``
  and ``_write_rows`` overridden by loops that write the same bytes for numbers, dates, strings and
  blanks; ``put_*`` store XlsxWriter's own cell tuples (``CellStringTuple``…) in ``table`` without the
  per-call checks; `FastSheet.freeze` builds the cell XML early (chart data taken with
  ``Workbook._get_chart_range`` and ``_get_range_data``, style numbers as tokens), and
  `FastSheet.defer_strings` numbers shared strings later (``str_table``,
  ``_get_shared_string_index``), so that the package is byte for byte XlsxWriter's.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import os
import re
import shutil
import tempfile
import threading
import time
import zipfile
import zlib
from array import array
from io import StringIO
from typing import Any, Callable, Mapping, Sequence

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import CellBlankTuple, CellDatetimeTuple, CellNumberTuple, CellStringTuple, Worksheet

from salesxl.io.outputs import sigterm_held
from salesxl.io.read_xlsx import col_letters
from salesxl.values import EXCEL_EPOCH

__all__ = ["PackagedWorkbook", "StreamSheet", "FastSheet", "crc32_combine"]


# ---------------------------------------------------------------------------------------------
# The package

class PackagedWorkbook(xlsxwriter.Workbook):
    """XlsxWriter's workbook, zipped with a faster deflate level (the sheet XML of big tables is
    tens of MB: level 1 deflates it about 3× faster than the default level 6, for a file ~25 % larger).

    Packaging: XlsxWriter writes each part to a temporary file and zips it; with a thousand review
    sheets that is thousands of small files, so they go to a RAM-backed temporary folder when there is
    one with room to spare (/dev/shm). The rows of the streamed sheets go from their own files into the
    zip, deflated beforehand in a background thread when `StreamSheet.start_compression` was called."""

    compresslevel = 1

    def discard(self) -> None:
        """Never save this workbook (not even when it is garbage-collected unclosed)."""
        self.fileclosed = True

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
        try:
            if not self.in_memory and self.tmpdir is None:
                ram = _ram_tmpdir()
                if ram is not None:
                    with sigterm_held():        # the folder is known to the `finally` before SIGTERM stops the run
                        try:
                            parts_dir = self.tmpdir = tempfile.mkdtemp(prefix=f"salesxl-parts-{os.getpid()}-",
                                                                       dir=ram)
                        except OSError:
                            parts_dir = None
            xw_workbook.ZipFile = functools.partial(_PackageZip, compresslevel=self.compresslevel, streams=streams)
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



def _height(h: float | None) -> str:
    return f' ht="{h:g}" customHeight="1"' if h else ""


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
# Streamed sheets (the team workbook's tables and Issues)


class StreamSheet(Worksheet):
    """A worksheet whose rows are streamed to a temporary file as sheet XML.

    Cells: str -> inline string ("" an empty one, as XlsxWriter's write_string writes an empty text);
    int/float -> number; date/datetime -> serial with the column's date style; None / NaN -> no cell;
    anything else -> its text. Only `append_rows` and `finish_table`
    write cells; XlsxWriter's own cell methods must not be used on it (their cells would be ignored).
    """

    def start_stream(self, formats: Sequence[Any], date_format: Any, text: Callable[[str], str],
                     tmpdir: str | None = None, text_formats: Sequence[Any] | None = None) -> None:
        """Prepare the sheet for `append_rows`: one XlsxWriter format (or None) per column, the format
        of dates, and `text`, the writer's rule for a text cell's content (cleaned, truncated).
        `text_formats`: a format per column for its texts (e.g. wrapped); by default texts have none."""
        ncols = len(formats)
        self._letters = [col_letters(j + 1) for j in range(ncols)]
        self._styles, self._date_styles = [], []
        for f in formats:           # (style numbers are given on first use: column by column, as before)
            style = f._get_xf_index() if f is not None else None
            date_style = date_format._get_xf_index()
            self._styles.append(f' s="{style}"' if style else "")
            self._date_styles.append(f' s="{date_style}"' if date_style else "")
        self._text_styles = [f' s="{f._get_xf_index()}"' if f is not None else ""
                             for f in (text_formats or [None] * ncols)]
        self._clean = text
        self._rows_dir = tmpdir
        self._rows_fh = tempfile.TemporaryFile("w+b", dir=tmpdir, buffering=1 << 20)   # UTF-8 row XML
        self._rows_len = 0                       # bytes written to _rows_fh
        self._next_row = 1                       # next Excel row number (1 = header)
        self._frags: list[dict] = [{} for _ in range(ncols)]   # per column: value -> its cell XML
        self._deflated = None                    # (crc, size, file, compressed size) once compressed
        self._compressor = None                  # the thread compressing the rows, if started

    # -- writing ------------------------------------------------------------------------------
    def _inline_suffix(self, s: str) -> str:
        s = self._clean(s)
        if "_x" in s:
            s = _X_ESCAPE.sub(r"_x005F\1", s)
        if "&" in s or "<" in s or ">" in s:       # (& first: the others bring in no & to escape)
            s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        space = ' xml:space="preserve"' if s[:1].isspace() or s[-1:].isspace() else ""
        return f'" t="inlineStr"><is><t{space}>{s}</t></is></c>'

    def append_rows(self, columns: Sequence[Sequence[Any]], count: int,
                    heights: Sequence[float | None] | None = None) -> None:
        """Append `count` rows given column by column (each sequence holds `count` values); `heights`:
        each row's height in points (None: the default height)."""
        if count <= 0:
            return
        r0 = self._next_row + 1
        # each cell's XML with a placeholder for its row number (the same for many cells: cached by
        # value); each row is then one join and one replace
        frags = [self._render(col, j, count) for j, col in enumerate(columns)]
        if heights is None:
            data = "".join([f'<row r="{r}">{"".join(cells).replace(_ROW, r)}</row>'
                            for r, cells in zip(map(str, range(r0, r0 + count)), zip(*frags))]).encode("utf-8")
        else:
            data = "".join([f'<row r="{r}"{_height(h)}>{"".join(cells).replace(_ROW, r)}</row>'
                            for r, cells, h in zip(map(str, range(r0, r0 + count)), zip(*frags), heights)
                            ]).encode("utf-8")
        self._rows_fh.write(data)
        self._rows_len += len(data)
        self._next_row = r0 + count - 1

    def _render(self, col: Sequence[Any], j: int, count: int) -> list[str]:
        """The cell XML of one column, one string per row ("" for no cell), with `_ROW` where the row
        number goes. Column-wise list comprehensions on the column's main type (texts and dates cached
        by value across batches), then a slow path for the odd cells."""
        letter, style, date_style = self._letters[j], self._styles[j], self._date_styles[j]
        first = next((v for v in col if v is not None), None)
        tp = type(first)
        if first is None:
            return [""] * count
        pre = f'<c r="{letter}{_ROW}'
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
            text_style = getattr(self, "_text_styles", None) and self._text_styles[j]
            if cell is not None and text_style:
                cell = lambda v, _s=self._inline_suffix, _t=text_style: '"' + _t + _s(v)[1:]   # noqa: E731
            for v in new:
                if type(v) is tp:
                    cache[v] = pre + cell(v) if cell else f'{pre}"{date_style}><v>{_serial(v)}</v></c>'
                elif v is None:
                    cache[None] = ""
                else:
                    odd = True
            if odd:
                cached = cache.get
                out = [cached(v) if type(v) is tp or v is None else _SLOW for v in col]
                for i in [i for i, x in enumerate(out) if x is None]:      # not cached (unhashable case)
                    v = col[i]
                    out[i] = "" if v is None else \
                        pre + cell(v) if cell else f'{pre}"{date_style}><v>{_serial(v)}</v></c>'
            else:
                out = list(map(cache.__getitem__, col))
        elif tp is float or tp is int:
            out = ["" if v is None else f'{pre}"{style}><v>{v!r}</v></c>'
                   if (type(v) is float and v - v == 0) or type(v) is int else _SLOW
                   for v in col]
        else:
            out = [_SLOW] * count
        if _SLOW not in out:
            return out
        for i in [i for i, x in enumerate(out) if x is _SLOW]:
            out[i] = self._cell(letter, _ROW, col[i], style, date_style,
                                getattr(self, "_text_styles", None) and self._text_styles[j])
        return out

    def _cell(self, letter: str, r, v: Any, style: str, dstyle: str, tstyle: str | None = "") -> str:
        if v is None:
            return ""
        if isinstance(v, str):
            if not v:
                return ""
            return self._string_cell(letter, r, v, tstyle)
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
        return self._string_cell(letter, r, s, tstyle)

    def _string_cell(self, letter: str, r, s: str, tstyle: str | None = "") -> str:
        if tstyle:
            return f'<c r="{letter}{r}"{tstyle}{self._inline_suffix(s)[1:]}'
        return f'<c r="{letter}{r}{self._inline_suffix(s)}'

    def write_header(self, headers: Sequence[str], header_format: Format | None) -> None:
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
        self.close_stream()

    def close_stream(self) -> None:
        """Close and drop the streamed rows (once written into the package, or on abort)."""
        self._wait_compression()
        fh = getattr(self, "_rows_fh", None)
        if fh is not None:
            fh.close()
            self._rows_fh = None
        d = getattr(self, "_deflated", None)
        if d is not None:
            d[2].close()
            self._deflated = None


# ---------------------------------------------------------------------------------------------
# Review sheets


def _strings_by_index(sst) -> list[str]:
    """The shared strings in index order (what XlsxWriter builds at close), kept up to date incrementally:
    strings get their index in the order they are first added, so the newest are the last keys."""
    cache = sst.__dict__.setdefault("_salesxl_by_index", [])
    missing = len(sst.string_table) - len(cache)
    if missing > 0:
        new = list(itertools.islice(reversed(sst.string_table), missing))
        new.reverse()
        cache.extend(new)
    if cache and sst.string_table.get(cache[-1]) != len(cache) - 1:      # not in index order after all
        cache[:] = sorted(sst.string_table, key=sst.string_table.__getitem__)
    return cache


class FastSheet(Worksheet):
    """A worksheet with a faster cell-XML loop (byte for byte XlsxWriter's, for numbers, dates, strings
    and blanks; other cells go through XlsxWriter's own writer), `freeze` and `defer_strings`."""

    _sheet_xml: bytes | None = None         # the frozen cell XML, deflated

    # -- shared strings given their numbers later: a sheet written before others that come first in
    #    the package (see defer_strings)
    def defer_strings(self) -> None:
        """Texts written from now on get their shared-string numbers only at `resolve_strings`, in the
        order they were written: a writer may fill an earlier sheet in between and still have the
        package XlsxWriter would have made had it written the sheets in order."""
        if not isinstance(self.str_table, _DeferredStrings) and not self.constant_memory:
            self.str_table = _DeferredStrings(self.str_table)

    def resolve_strings(self) -> None:
        """Number the deferred texts (in the shared-string table, in the order they were written)."""
        deferred = self.str_table
        if not isinstance(deferred, _DeferredStrings):
            return
        sst = deferred.sst
        number = sst._get_shared_string_index
        self._string_numbers = array("q", [number(t) for t in deferred.strings])
        self.str_table = sst
        if self._sheet_xml is None:             # not frozen: the cells get their numbers
            numbers = self._string_numbers
            for cells in self.table.values():
                for c, cell in cells.items():
                    if type(cell) is CellStringTuple:
                        cells[c] = CellStringTuple(numbers[cell.string], cell.format)

    # -- writing: XlsxWriter's write_string / write_number / write_blank without their per-call
    #    checks of A1 notation, storing the same cells (anything unusual goes through XlsxWriter)
    def put_string(self, row: int, col: int, string: str, cell_format: Format | None = None) -> int:
        if self.constant_memory or len(string) > self.xls_strmax // 2:
            return self.write_string(row, col, string, cell_format)
        if self._check_dimensions(row, col):
            return -1
        self.table[row][col] = CellStringTuple(self.str_table._get_shared_string_index(string), cell_format)
        return 0

    def put_number(self, row: int, col: int, number: float, cell_format: Format | None = None) -> int:
        if self.constant_memory or type(number) is not float or number - number != 0:   # nan, inf
            return self.write_number(row, col, number, cell_format)
        if self._check_dimensions(row, col):
            return -1
        self.table[row][col] = CellNumberTuple(number, cell_format)
        return 0

    def put_blank(self, row: int, col: int, cell_format: Format | None = None) -> int:
        if cell_format is None:
            return 0
        if self.constant_memory:
            return self.write_blank(row, col, None, cell_format)
        if self._check_dimensions(row, col):
            return -1
        self.table[row][col] = CellBlankTuple(cell_format)
        return 0

    def put_cells(self, row: int, col0: int, cells: Sequence[Any], cell_format: Callable, lang: str, write_cell: Callable) -> None:
        """`write_cell(self, row, col, cell, cell_format(cell.fmt, cell.style, lang))` for each cell of a
        row from column `col0` (cells have `value`, `fmt`, `style`): the same cells stored, in one go."""
        n = len(cells)
        if self.constant_memory or not (0 <= row < self.xls_rowmax and 0 <= col0 and col0 + n <= self.xls_colmax):
            for j, cell in enumerate(cells):
                write_cell(self, row, col0 + j, cell, cell_format(cell.fmt, cell.style, lang))
            return
        fcell = cell_format
        sst = self.str_table._get_shared_string_index
        strmax = self.xls_strmax // 2
        table_row = None
        lo = hi = None
        for j, cell in enumerate(cells):
            col = col0 + j
            fmt = fcell(cell.fmt, cell.style, lang)
            v = cell.value
            tv = type(v)
            if tv is str and len(v) <= strmax:
                stored = CellStringTuple(sst(v), fmt)
            elif tv is float and v - v == 0:
                stored = CellNumberTuple(v, fmt)
            elif v is None and fmt is not None:
                stored = CellBlankTuple(fmt)
            else:                       # anything else as write_cell does it (it keeps the dimensions)
                write_cell(self, row, col, cell, fmt)
                continue
            if table_row is None:
                table_row = self.table[row]
            table_row[col] = stored
            if lo is None:
                lo = col
            hi = col
        if lo is not None:              # the dimensions, as each cell's write would have set them
            self._check_dimensions(row, lo)
            self._check_dimensions(row, hi)

    def freeze(self, wb: xlsxwriter.Workbook) -> None:
        """The sheet is complete: build its cell XML now and drop the cell table. The cached values of
        the charts inserted in this sheet (which read this sheet) are taken first, as XlsxWriter would
        take them at close. Nothing may be written to the sheet, nor read from it by a chart, afterwards.

        Style numbers are given by XlsxWriter in the order formats are first used as the package is
        written: the frozen XML holds a token per format, replaced at close in that same order, so the
        package is byte for byte what it would have been. A sheet holding other cells than numbers,
        dates, texts and blanks is left as it is."""
        if self._sheet_xml is not None or self.constant_memory or self.dim_rowmin is None:
            return
        if any(type(c) not in _FAST_CELLS for cells in self.table.values() for c in cells.values()) or \
                any(info.row_format for info in self.row_info.values()):
            return
        sst = self.str_table
        deferred = isinstance(sst, _DeferredStrings)     # (then it holds the texts by their numbers)
        if not deferred:
            saved_array, sst.string_array = sst.string_array, _strings_by_index(sst)
        try:
            for chart in [c[2] for c in self.charts]:
                for ch in (chart, chart.combined):
                    if ch is None:
                        continue
                    for c_range, r_id in ch.formula_ids.items():
                        if ch.formula_data[r_id] is not None:
                            continue
                        sheet, cells = wb._get_chart_range(c_range)
                        if sheet == self.name and cells is not None:
                            ch.formula_data[r_id] = self._get_range_data(*cells)
        finally:
            if not deferred:
                sst.string_array = saved_array
        saved, self.fh = self.fh, StringIO()
        self._tokens, self._token_formats, self._token_uses = {}, [], 0
        self._token_strings = deferred
        try:
            super()._write_sheet_data()
            xml = self.fh.getvalue()
        finally:
            self.fh = saved
            self._tokens = None
        # the only braces are the tokens ("{n}", filled in by str.format at close)
        if xml.count("{") != self._token_uses or xml.count("}") != self._token_uses:   # pragma: no cover
            self._token_formats, self._token_strings = [], False
            return
        self._sheet_xml = zlib.compress(xml.encode("utf-8"), 1)    # a tenth of the memory until close
        self.table.clear()

    _tokens: dict | None = None
    _token_formats: list = []
    _token_uses = 0
    _token_strings = False                  # the frozen XML holds tokens for deferred texts
    _string_numbers: Any = ()

    def _xf(self, fmt) -> Any:
        """A format's style number, or while freezing a token standing for it."""
        tokens = self._tokens
        if tokens is None:
            return fmt._get_xf_index()
        tok = tokens.get(id(fmt))
        if tok is None:
            tok = tokens[id(fmt)] = f"{{f{len(self._token_formats)}}}"
            self._token_formats.append(fmt)
        return tok

    def _write_sheet_data(self) -> None:
        if self._sheet_xml is None:
            return super()._write_sheet_data()
        xml = zlib.decompress(self._sheet_xml).decode("utf-8")
        # style numbers in the order the formats first appear (that of the tokens), as XlsxWriter would
        # number them here; deferred texts' numbers
        if self._token_formats or self._token_strings:
            fields = {f"f{i}": str(f._get_xf_index()) for i, f in enumerate(self._token_formats)}
            if self._token_strings:
                fields.update((f"s{i}", str(n)) for i, n in enumerate(self._string_numbers))
            xml = xml.format_map(fields)
        self.fh.write(xml)

    def _calculate_spans(self) -> None:
        # Worksheet._calculate_spans, from each row's own columns (the same spans, fewer lookups)
        spans = {}
        span_min = span_max = None
        table, comments = self.table, self.comments
        colmin, colmax = self.dim_colmin, self.dim_colmax
        for row_num in range(self.dim_rowmin, self.dim_rowmax + 1):
            cells = table.get(row_num)
            if cells:
                cols = [c for c in cells if colmin <= c <= colmax]
                if cols:
                    lo, hi = min(cols), max(cols)
                    # (a block's span starts afresh: span_max too, as in XlsxWriter)
                    span_min, span_max = (lo, hi) if span_min is None else (min(span_min, lo), max(span_max, hi))
            if row_num in comments:
                for col_num in range(colmin, colmax + 1):
                    if col_num in comments[row_num]:
                        span_min, span_max = ((col_num, col_num) if span_min is None else
                                              (min(span_min, col_num), max(span_max, col_num)))
            if ((row_num + 1) % 16 == 0) or row_num == self.dim_rowmax:
                if span_min is not None:
                    spans[int(row_num / 16)] = f"{span_min + 1}:{span_max + 1}"
                    span_min = None
        self.row_spans = spans

    def _write_rows(self) -> None:
        # Worksheet._write_rows with the common cells written here in one string per row
        self._calculate_spans()
        table, row_info, comments, col_info = self.table, self.row_info, self.comments, self.col_info
        colmin, colmax = self.dim_colmin, self.dim_colmax
        letters = {c: xl_col_to_name(c) for c in range(colmin, colmax + 1)}
        xf = self._xf
        style: dict = {}                # format -> ' s="…"' (its number, or while freezing its token)
        strings_later = self._tokens is not None and isinstance(self.str_table, _DeferredStrings)
        write = self.fh.write
        for row_num in range(self.dim_rowmin, self.dim_rowmax + 1):
            cells = table.get(row_num)
            if not (row_num in row_info or row_num in comments or cells):
                continue
            span = self.row_spans.get(int(row_num / 16))
            info = row_info.get(row_num)
            if not cells:
                self._write_empty_row(row_num, span, info)
                continue
            self._write_row(row_num, span, info)
            r = str(row_num + 1)
            out = []
            for col_num in sorted(c for c in cells if colmin <= c <= colmax):
                cell = cells[col_num]
                fmt = cell.format
                if not fmt:
                    if info is not None and info.row_format:
                        fmt = info.row_format
                    elif col_num in col_info and col_info[col_num].column_format is not None:
                        fmt = col_info[col_num].column_format
                if fmt:
                    s = style.get(fmt)
                    if s is None:
                        s = style[fmt] = f' s="{xf(fmt)}"'
                    if self._tokens is not None:
                        self._token_uses += 1
                    attr = f' r="{letters[col_num]}{r}"{s}'
                else:
                    attr = f' r="{letters[col_num]}{r}"'
                kind = type(cell)
                if kind is CellStringTuple:
                    if strings_later:
                        out.append(f'<c{attr} t="s"><v>{{s{cell.string}}}</v></c>')
                        self._token_uses += 1
                    else:
                        out.append(f'<c{attr} t="s"><v>{cell.string}</v></c>')
                elif kind is CellNumberTuple or kind is CellDatetimeTuple:
                    out.append(f"<c{attr}><v>{cell.number:.16G}</v></c>")
                elif kind is CellBlankTuple:
                    out.append(f"<c{attr}/>")
                else:                                   # any other cell: XlsxWriter's own writer
                    write("".join(out))
                    out = []
                    self._write_cell(row_num, col_num, cell)
            write("".join(out))
            self._xml_end_tag("row")


class _DeferredStrings:
    """Stands for the shared-string table of a sheet whose texts are numbered later: keeps them in
    order, numbered by their place in this list meanwhile."""

    def __init__(self, sst):
        self.sst = sst
        self.strings: list[str] = []

    def _get_shared_string_index(self, string: str) -> int:
        self.strings.append(string)
        return len(self.strings) - 1

    def _get_shared_string(self, index: int) -> str:
        return self.strings[index]

    def __getattr__(self, name):
        return getattr(self.sst, name)


_FAST_CELLS = frozenset({CellStringTuple, CellNumberTuple, CellDatetimeTuple, CellBlankTuple})
