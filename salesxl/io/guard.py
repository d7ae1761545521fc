"""The bad-file ladder: a cheap pre-parse guard run on every input before any reader touches it.

`guard_package(path)` finds no issue when the file looks like a readable .xlsx/.xlsm SpreadsheetML
package, else exactly one file-level `Issue` (SPEC §3): FILE_NOT_FOUND, FILE_EMPTY, NOT_XLSX, LEGACY_XLS,
ENCRYPTED, CORRUPT_ZIP, NOT_SPREADSHEETML, UNSUPPORTED_STRICT, UNSAFE_XML or TOO_LARGE, with a
`detail` parameter saying exactly what was wrong.

The ladder, cheapest first:

1. `stat`: missing / not a regular file (directory, FIFO, dangling symlink) / empty / over the size cap.
2. Magic bytes: OLE2 compound files are inspected by reading the CFB directory (stdlib only):
   `EncryptionInfo`/`EncryptedPackage` at the root = password-protected OOXML, `Workbook`/`Book`
   = Excel 97-2003. Anything that is neither OLE2 nor zip is sniffed (CSV, HTML, PDF…) for the detail.
3. Zip central directory, before decompressing anything: member count, total declared uncompressed
   size, per-member compression ratio, overlapping members (zip-bomb techniques), duplicate names,
   zip-level encryption, compression methods.
4. `[Content_Types].xml` and the workbook part: is this SpreadsheetML (not .docx/.pptx/.xlsb), is it
   transitional (not Strict)?
5. Test-decompression, streamed with its own inflater and caps (declared sizes can lie), with CRC check,
   of every part a reader will parse: content types, relationships, workbook, worksheets, shared
   strings, tables, styles. The XML prolog of every XML part (parsed or not) is scanned with expat up
   to its root element: any DOCTYPE or ENTITY declaration is UNSAFE_XML (billion laughs, XXE).

Nothing is written and no sheet is parsed. Only the standard library and defusedxml are used;
openpyxl is imported only by `ensure_defusedxml()`.
"""
from __future__ import annotations

import os
import stat
import sys
import struct
import xml.parsers.expat
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError as _XmlParseError
from defusedxml.ElementTree import fromstring as _safe_fromstring

from salesxl.issues import Issue, file_issue

__all__ = ["Limits", "DEFAULT_LIMITS", "GuardResult", "inspect_file", "guard_package",
           "ensure_defusedxml", "printable"]

KB = 1024
MB = 1024 * KB
GB = 1024 * MB


@dataclass(frozen=True)
class Limits:
    """Safety limits of the guard. Defaults keep every realistic sales workbook well inside."""

    max_file_bytes: int = 200 * MB          # size of the file on disk
    max_members: int = 10_000               # zip entries (a big workbook has a few hundred)
    max_uncompressed_bytes: int = 1 * GB    # total uncompressed size: declared, and actual while inflating
    max_ratio: float = 200.0                # uncompressed / compressed per member (text XML: 5-100)
    ratio_min_bytes: int = 1 * MB           # ratio only checked on members at least this big
    max_xml_meta_bytes: int = 32 * MB       # parts held in memory to parse: content types, workbook, rels
    max_prolog_bytes: int = 64 * KB         # XML bytes allowed before the root element
    # Inflate worksheets, shared strings, tables and styles in full (CRC, zlib errors, real sizes).
    # About 2 ms per MB of XML; False scans their prolog only (damage is then found by the reader).
    test_decompress: bool = True


DEFAULT_LIMITS = Limits()

# (code, detail)
GuardResult = tuple[str, str]

# --------------------------------------------------------------------------------------------------
# constants

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP_SIGNATURES = (_ZIP_LOCAL, _ZIP_EOCD, b"PK\x07\x08")   # local header, empty zip, spanned marker

_SML_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SML_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"

_CT_PREFIX_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml."
# The workbook content types openpyxl accepts (openpyxl.reader.excel._find_workbook_part).
_WORKBOOK_CTS = frozenset({
    _CT_PREFIX_SML + "sheet.main+xml",                       # .xlsx
    _CT_PREFIX_SML + "template.main+xml",                    # .xltx
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",  # .xlsm
    "application/vnd.ms-excel.template.macroEnabled.main+xml",  # .xltm
})
# Main-part content types of other Office packages, for a helpful NOT_SPREADSHEETML detail.
_OTHER_MAIN_CTS = (
    ("application/vnd.ms-excel.addin.macroenabled.main", "Excel add-in (.xlam)"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.", "Word document (.docx)"),
    ("application/vnd.ms-word.", "Word document (.docm)"),
    ("application/vnd.openxmlformats-officedocument.presentationml.", "PowerPoint presentation (.pptx)"),
    ("application/vnd.ms-powerpoint.", "PowerPoint presentation (.pptm)"),
    ("application/vnd.ms-visio.", "Visio drawing (.vsdx)"),
)
_CT_XLSB = "application/vnd.ms-excel.sheet.binary.macroenabled.main"
# Parts a reader parses in full (besides content types, workbook and .rels): they are test-inflated.
_PARSED_CT_SUFFIXES = ("worksheet+xml", "sharedstrings+xml", "table+xml", "styles+xml")
_PARSED_DIRS = ("worksheets/", "tables/")
_PARSED_NAMES = ("sharedstrings.xml", "styles.xml")
_XML_EXTS = (".xml", ".rels", ".vml")

_CHUNK_IN = 256 * KB     # compressed bytes read per step (full test-decompression)
_CHUNK_OUT = 1 * MB      # max decompressed bytes produced per step
_PROLOG_CHUNK = 16 * KB  # the same, when only the XML prolog of a part is wanted


class _Stop(Exception):
    """Internal: the ladder found its answer."""

    def __init__(self, code: str, detail: str):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


# --------------------------------------------------------------------------------------------------
# public API


def guard_package(path: str | os.PathLike[str], lang: str = "en",
                  limits: Limits = DEFAULT_LIMITS) -> tuple[Issue | None, dict[str, bytes]]:
    """(None, the worksheets' bytes) if `path` looks like a readable .xlsx/.xlsm package, else (one
    file-level Issue, {}). Never raises for a bad file; never writes anything.

    The worksheets' bytes are those it inflated in full (CRC checked, within the limits): {member name:
    XML bytes}. A reader that scans the sheet XML itself uses them instead of inflating each sheet once
    more."""
    kept: dict[str, bytes] = {}
    found = inspect_file(path, limits, kept=kept)
    if found is None:
        return None, kept
    code, detail = found
    return file_issue(code, str(path), lang, detail=detail), {}


def inspect_file(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS, *,
                 kept: dict | None = None) -> GuardResult | None:
    """The guard's verdict as (code, detail), or None when the file passes. Never raises.

    `kept`: a dict that receives the inflated bytes of the worksheets (when test_decompress is on)."""
    try:
        found = _inspect(os.fspath(path), limits, kept)
    except _Stop as stop:  # pragma: no cover - _inspect converts these itself
        found = stop.code, stop.detail
    except MemoryError:
        found = "TOO_LARGE", "out of memory while checking the file"
    except Exception as exc:  # noqa: BLE001 - the guard must never raise on a hostile file
        found = "CORRUPT_ZIP", f"unexpected {type(exc).__name__}: {exc}"
    if found is None:
        return None
    return found[0], printable(found[1])


def printable(text: str, cap: int = 300) -> str:
    """Details quote names taken from the file: no control characters, bounded length."""
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return text if len(text) <= cap else text[:cap - 1] + "…"


def ensure_defusedxml() -> None:
    """Make sure openpyxl parses XML through defusedxml (no DTD entities, no external entities).

    openpyxl picks defusedxml up at import time when it is installed and OPENPYXL_DEFUSEDXML is not
    "False". Call this at start-up, before anything else imports openpyxl. Raises RuntimeError when
    protection is not active (defusedxml missing, or openpyxl imported earlier with it disabled).
    """
    if "openpyxl" not in sys.modules:
        os.environ["OPENPYXL_DEFUSEDXML"] = "True"
    try:
        import defusedxml.ElementTree as det
    except ImportError as exc:  # pragma: no cover - defusedxml is a hard dependency
        raise RuntimeError("defusedxml is not installed: openpyxl would parse unsafe XML") from exc
    import openpyxl
    from openpyxl.xml import functions as oxml

    if getattr(openpyxl, "DEFUSEDXML", False) is not True:
        raise RuntimeError("openpyxl.DEFUSEDXML is not True: openpyxl would parse XML without defusedxml "
                           "(is OPENPYXL_DEFUSEDXML=False set, or was openpyxl imported before?)")
    if oxml.iterparse is not det.iterparse:
        raise RuntimeError("openpyxl.xml.functions.iterparse is not defusedxml's")
    if not getattr(openpyxl, "LXML", False) and oxml.fromstring is not det.fromstring:
        raise RuntimeError("openpyxl.xml.functions.fromstring is not defusedxml's")
    # The sheet and shared-string readers bound iterparse at import: check them too.
    from openpyxl.reader import strings as ostrings
    from openpyxl.worksheet import _reader as osheet
    if ostrings.iterparse is not det.iterparse or osheet.iterparse is not det.iterparse:
        raise RuntimeError("openpyxl readers do not use defusedxml's iterparse")


# --------------------------------------------------------------------------------------------------
# the ladder


def _inspect(path: str, limits: Limits, kept: dict | None = None) -> GuardResult | None:
    # 1. the file itself (stat first: never open a FIFO or a device)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return "FILE_NOT_FOUND", "broken symbolic link"
        return "FILE_NOT_FOUND", "no such file"
    except OSError as exc:
        return "FILE_NOT_FOUND", f"cannot access the file ({exc.strerror or exc})"
    if stat.S_ISDIR(st.st_mode):
        return "FILE_NOT_FOUND", "this is a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        return "FILE_NOT_FOUND", "not a regular file"
    if st.st_size == 0:
        return "FILE_EMPTY", "0 bytes"
    if st.st_size > limits.max_file_bytes:
        return "TOO_LARGE", f"file size {_human(st.st_size)} over the limit of {_human(limits.max_file_bytes)}"
    try:
        fp = open(path, "rb")
    except OSError as exc:
        return "FILE_NOT_FOUND", f"cannot open the file ({exc.strerror or exc})"
    with fp:
        size = os.fstat(fp.fileno()).st_size
        if size == 0:
            return "FILE_EMPTY", "0 bytes"
        head = fp.read(8 * KB)
        try:
            if head.startswith(_OLE_MAGIC):
                return _inspect_ole(fp, size)
            if head.startswith(_ZIP_SIGNATURES) or _has_zip_tail(fp, size):
                return _inspect_zip(fp, size, head, limits, kept)
            biff = _biff_version(head)
            if biff:
                return "LEGACY_XLS", biff
            return "NOT_XLSX", _sniff(head)
        except _Stop as stop:
            return stop.code, stop.detail


def _has_zip_tail(fp: BinaryIO, size: int) -> bool:
    """A zip whose first bytes were damaged or prefixed still ends with a central directory."""
    n = min(size, 65_535 + 22)
    fp.seek(size - n)
    return _ZIP_EOCD in fp.read(n)


# --------------------------------------------------------------------------------------------------
# not a package: say what it is

# BIFF beginning-of-file records: a workbook saved by Excel 2.x-4.0 is a bare BIFF stream (no OLE2
# container), starting with the BOF record of its version; BIFF5/8 streams normally sit in an OLE2
# file, but a bare one happens too (extracted streams, some exporters).
_BIFF_BOF = {0x0009: "Excel 2.x workbook (BIFF2)", 0x0209: "Excel 3.0 workbook (BIFF3)",
             0x0409: "Excel 4.0 workbook (BIFF4)", 0x0809: "Excel 5.0-2003 workbook stream (BIFF5/8)"}
# the BOF's document type: workbook globals, VB module, worksheet, chart, macro sheet, workspace
_BIFF_DOCS = {0x0005, 0x0006, 0x0010, 0x0020, 0x0040, 0x0100}


def _biff_version(head: bytes) -> str | None:
    """What Excel version wrote a bare BIFF stream, from its first record (BOF), or None."""
    if len(head) < 8:
        return None
    rtype, length = struct.unpack_from("<HH", head, 0)
    what = _BIFF_BOF.get(rtype)
    if what is None or not 4 <= length <= 20 or len(head) < 4 + length:
        return None
    doc = struct.unpack_from("<H", head, 6)[0]
    if rtype == 0x0009:              # BIFF2: version, then document type
        return what if doc in _BIFF_DOCS else None
    if rtype == 0x0809:              # BIFF5/8: version 0x0500 or 0x0600, then document type
        version = struct.unpack_from("<H", head, 4)[0]
        if doc not in _BIFF_DOCS or version not in (0x0500, 0x0600):
            return None
        return "Excel 5.0/95 workbook stream (BIFF5)" if version == 0x0500 else \
            "Excel 97-2003 workbook stream (BIFF8)"
    return what if doc in _BIFF_DOCS else None


SAVE_AS_XLSX = ": open it in Excel and save it as .xlsx"
# Spreadsheets of other programs, by their first bytes (Lotus 1-2-3 and Works: a BOF record of
# type 0 with the file's version; Quattro Pro the same with its own versions).
_OTHER_SHEETS = (
    (b"\x00\x00\x02\x00\x04\x04", "a Lotus 1-2-3 or Works spreadsheet (.wks)"),
    (b"\xff\x00\x02\x00\x04\x04", "a Microsoft Works spreadsheet (.wks)"),
    (b"\x00\x00\x02\x00\x05\x04", "a Lotus Symphony spreadsheet (.wrk)"),
    (b"\x00\x00\x02\x00\x06\x04", "a Lotus 1-2-3 spreadsheet (.wk1)"),
    (b"\x00\x00\x1a\x00", "a Lotus 1-2-3 spreadsheet (.wk3/.wk4/.123)"),
    (b"\x00\x00\x02\x00\x20\x51", "a Quattro Pro spreadsheet (.wq1)"),
    (b"\x00\x00\x02\x00\x21\x51", "a Quattro Pro spreadsheet (.wq2)"),
    (b"\x00\x00\x02\x00\x01\x10", "a Quattro Pro spreadsheet (.wb1)"),
    (b"\x00\x00\x02\x00\x02\x10", "a Quattro Pro spreadsheet (.wb2)"),
)
_DBF_VERSIONS = frozenset(b"\x02\x03\x30\x31\x32\x43\x63\x83\x8b\x8c\xcb\xf5\xfb")


def _sniff(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "a PDF document"
    for magic, what in _OTHER_SHEETS:
        if head.startswith(magic):
            return what + SAVE_AS_XLSX
    if len(head) >= 32 and head[0] in _DBF_VERSIONS and 1 <= head[2] <= 12 and 1 <= head[3] <= 31 \
            and struct.unpack_from("<H", head, 8)[0] >= 33 and head[12:28] == b"\0" * 16:
        return "a dBase table (.dbf)" + SAVE_AS_XLSX
    for magic, what in ((b"\x1f\x8b", "a gzip archive"), (b"Rar!", "a RAR archive"),
                        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"\x89PNG", "a PNG image"),
                        (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                        (b"{\\rtf", "an RTF document"), (b"MZ", "a Windows program"),
                        (b"SQLite format 3\x00", "a SQLite database (a history store?)")):
        if head.startswith(magic):
            return what
    text = _as_text(head)
    if text is None:
        return "unrecognised binary data, starting with " + head[:8].hex(" ")
    low = text.lstrip().lower()
    if low.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in low:
        return "an Excel 2003 XML spreadsheet" + SAVE_AS_XLSX
    if low.startswith("<?xml") and "urn:oasis:names:tc:opendocument" in low:
        return "an OpenDocument flat XML file (.fods)" + SAVE_AS_XLSX
    if low.startswith("id;p"):
        return "a SYLK spreadsheet (.slk)" + SAVE_AS_XLSX
    if low.startswith("table") and low[5:12].strip().startswith("0,1"):
        return "a DIF spreadsheet (.dif)" + SAVE_AS_XLSX
    if low.startswith("<") and any(t in low[:4096] for t in ("<html", "<table", "<!doctype html")):
        return "an HTML page (a web export renamed .xlsx): open it in Excel and save as .xlsx"
    if low.startswith("<?xml") or low.startswith("<"):
        return "an XML or markup document"
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if lines:
        for sep, name in (("\t", "tab"), (";", "semicolon"), (",", "comma"), ("|", "pipe")):
            if sum(sep in ln for ln in lines) >= max(1, len(lines) * 0.6):
                return f"a CSV/text file ({name}-separated): open it in Excel and save as .xlsx"
    return "a plain text file"


def _as_text(head: bytes) -> str | None:
    sample = head[:4 * KB]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    elif sample.startswith(b"\xef\xbb\xbf"):
        enc, sample = "utf-8", sample[3:]
    else:
        enc = "utf-8"
    try:
        text = sample.decode(enc)
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4 and exc.start > 0:   # a character cut at the end of the sample
            text = sample[:exc.start].decode(enc, errors="ignore")
        else:
            try:
                text = sample.decode("cp1252")
            except UnicodeDecodeError:
                return None
    if not text:
        return None
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return None if bad > len(text) * 0.02 else text


# --------------------------------------------------------------------------------------------------
# OLE2 / compound file binary (CFB): read the root storage's stream names, stdlib only

_CFB_END = 0xFFFFFFFE
_CFB_MAXREG = 0xFFFFFFFA


def _inspect_ole(fp: BinaryIO, size: int) -> GuardResult:
    try:
        names = _cfb_root_names(fp, size)
        how = "directory"
    except Exception:  # noqa: BLE001 - damaged directory: fall back to a byte scan for entry names
        names = _cfb_scan_names(fp, size)
        how = "scan"
    folded = {n.casefold() for n in names}
    if "encryptedpackage" in folded or "encryptioninfo" in folded:
        return "ENCRYPTED", "OLE2 container with EncryptionInfo/EncryptedPackage streams"
    if "workbook" in folded:
        return "LEGACY_XLS", "Excel 97-2003 workbook (OLE2 'Workbook' stream)"
    if "book" in folded:
        return "LEGACY_XLS", "Excel 5.0/95 workbook (OLE2 'Book' stream)"
    if "nativecontent_main" in folded or "perfectoffice_main" in folded:
        return "NOT_XLSX", "a Quattro Pro spreadsheet (.qpw/.wb3)" + SAVE_AS_XLSX
    if "worddocument" in folded:
        return "NOT_XLSX", "a Word 97-2003 document (.doc)"
    if "powerpoint document" in folded:
        return "NOT_XLSX", "a PowerPoint 97-2003 presentation (.ppt)"
    if how == "scan":
        return "NOT_XLSX", "a damaged OLE2 compound file"
    return "NOT_XLSX", "an OLE2 compound file without a workbook (streams: " + \
        ", ".join(sorted(names)[:6]) + ")"


def _cfb_root_names(fp: BinaryIO, size: int) -> list[str]:
    fp.seek(0)
    hdr = fp.read(512)
    if len(hdr) < 512 or hdr[0x1C:0x1E] != b"\xfe\xff":
        raise ValueError("bad CFB header")
    shift = struct.unpack_from("<H", hdr, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector shift")
    ss = 1 << shift
    n_sectors = max(0, (size - ss) // ss + 1)
    n_fat, first_dir = struct.unpack_from("<II", hdr, 0x2C)
    first_difat, n_difat = struct.unpack_from("<II", hdr, 0x44)
    if n_fat > n_sectors + 1:
        raise ValueError("FAT larger than the file")

    def sector(sid: int) -> bytes:
        if sid > _CFB_MAXREG or sid >= n_sectors:
            raise ValueError("sector out of range")
        fp.seek((sid + 1) * ss)
        data = fp.read(ss)
        if len(data) < ss:
            data += b"\0" * (ss - len(data))   # a short last sector is common
        return data

    fat_sids = [s for s in struct.unpack_from("<109I", hdr, 0x4C) if s <= _CFB_MAXREG]
    sid, seen = first_difat, 0
    while sid <= _CFB_MAXREG and seen < n_difat and len(fat_sids) < n_fat:
        data = sector(sid)
        vals = struct.unpack(f"<{ss // 4}I", data)
        fat_sids.extend(s for s in vals[:-1] if s <= _CFB_MAXREG)
        sid, seen = vals[-1], seen + 1
    fat: list[int] = []
    for s in fat_sids[:n_fat]:
        fat.extend(struct.unpack(f"<{ss // 4}I", sector(s)))

    names: list[tuple[str, int, int, int, int]] = []   # name, type, left, right, child
    sid, visited = first_dir, set()
    while sid <= _CFB_MAXREG:
        if sid in visited or len(visited) > 4096:
            raise ValueError("directory chain loops")
        visited.add(sid)
        data = sector(sid)
        for off in range(0, ss, 128):
            e = data[off:off + 128]
            nlen = min(struct.unpack_from("<H", e, 64)[0], 64)
            name = e[:max(0, nlen - 2)].decode("utf-16-le", errors="replace")
            etype = e[66]
            left, right, child = struct.unpack_from("<III", e, 68)
            names.append((name, etype, left, right, child))
        sid = fat[sid] if sid < len(fat) else _CFB_END
    if not names or names[0][1] != 5:
        raise ValueError("no root entry")
    # walk the red-black tree of the root storage's children
    out, stack, seen_ids = [], [names[0][4]], set()
    while stack:
        i = stack.pop()
        if i > _CFB_MAXREG or i >= len(names) or i in seen_ids:
            continue
        seen_ids.add(i)
        name, etype, left, right, _child = names[i]
        if etype in (1, 2):
            out.append(name)
        stack.extend((left, right))
    return out


def _cfb_scan_names(fp: BinaryIO, size: int) -> list[str]:
    """Directory entries sit on 128-byte boundaries: look for the names we care about there."""
    wanted = ("EncryptedPackage", "EncryptionInfo", "Workbook", "Book", "WordDocument",
              "PowerPoint Document")
    pats = {w: w.encode("utf-16-le") + b"\0\0" for w in wanted}
    found: set[str] = set()
    fp.seek(0)
    pos, limit = 0, min(size, 64 * MB)
    while pos < limit:
        block = fp.read(min(4 * MB, limit - pos))
        if not block:
            break
        for w, p in pats.items():
            start = block.find(p)
            while start >= 0:
                if (pos + start) % 128 == 0:
                    found.add(w)
                    break
                start = block.find(p, start + 1)
        pos += len(block)
    return sorted(found)


# --------------------------------------------------------------------------------------------------
# zip / OPC package


def _eocd_entries(fp: BinaryIO, size: int) -> int | None:
    """Member count from the end-of-central-directory record (zip64 aware), without parsing the CD."""
    n = min(size, 65_535 + 22)
    fp.seek(size - n)
    tail = fp.read(n)
    i = tail.rfind(_ZIP_EOCD)
    if i < 0 or i + 22 > len(tail):
        return None
    entries = struct.unpack_from("<H", tail, i + 10)[0]
    if entries == 0xFFFF and i >= 20 and tail[i - 20:i - 16] == _ZIP64_LOCATOR:
        z64_off = struct.unpack_from("<Q", tail, i - 12)[0]
        if z64_off + 56 <= size:
            fp.seek(z64_off)
            rec = fp.read(56)
            if rec[:4] == b"PK\x06\x06":
                entries = struct.unpack_from("<Q", rec, 32)[0]
    return entries


def _inspect_zip(fp: BinaryIO, size: int, head: bytes, limits: Limits,
                 kept: dict | None = None) -> GuardResult | None:
    # 3a. member count from the EOCD, before zipfile builds a list of them
    entries = _eocd_entries(fp, size)
    if entries is None:
        if head.startswith(_ZIP_LOCAL):
            return "CORRUPT_ZIP", "no zip central directory: the file is truncated"
        return "CORRUPT_ZIP", "no zip central directory"
    if entries > limits.max_members:
        return "TOO_LARGE", f"{entries} zip members (limit {limits.max_members})"
    fp.seek(0)
    try:
        zf = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, struct.error,
            NotImplementedError, UnicodeDecodeError) as exc:
        return "CORRUPT_ZIP", f"unreadable zip directory: {exc}"
    infos = zf.infolist()

    # 3b. central-directory checks, nothing inflated yet
    if len(infos) > limits.max_members:
        return "TOO_LARGE", f"{len(infos)} zip members (limit {limits.max_members})"
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        return "TOO_LARGE", (f"declared uncompressed size {_human(total)} over the limit of "
                             f"{_human(limits.max_uncompressed_bytes)}")
    for i in infos:
        if i.file_size >= limits.ratio_min_bytes and i.file_size > limits.max_ratio * max(i.compress_size, 1):
            ratio = i.file_size / max(i.compress_size, 1)
            return "TOO_LARGE", (f"member {i.filename} compression ratio {ratio:.0f}:1 "
                                 f"(limit {limits.max_ratio:.0f}:1, zip bomb?)")
    for i in infos:
        if not 0 <= i.header_offset <= size - 30:
            return "CORRUPT_ZIP", f"member {i.filename} points outside the file"
    overlap = _overlap(infos, zf.start_dir)
    if overlap:
        return overlap
    by_name: dict[str, zipfile.ZipInfo] = {}
    for i in infos:
        key = i.filename.casefold()
        if key in by_name:
            return "CORRUPT_ZIP", f"duplicate member name {i.filename}"
        by_name[key] = i
    for i in infos:
        if i.flag_bits & 0x1:
            return "ENCRYPTED", f"zip member {i.filename} is encrypted"
    for i in infos:
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return "CORRUPT_ZIP", f"member {i.filename} uses unsupported compression method {i.compress_type}"

    ctx = _Inflater(fp, size, limits)

    # 4. content types
    ct_info = by_name.get("[content_types].xml")
    if ct_info is None:
        mt = by_name.get("mimetype")
        if mt is not None and mt.file_size < 200:
            mime = ctx.read_all(mt, 200).decode("ascii", "replace")
            if "opendocument.spreadsheet" in mime:
                return "NOT_XLSX", "an OpenDocument spreadsheet (.ods): open it and save it as .xlsx"
            if "opendocument" in mime:
                return "NOT_XLSX", "an OpenDocument file: " + mime.strip()[:80]
        if not infos:
            return "NOT_XLSX", "an empty zip archive"
        if any(k.startswith(("index/", "index.zip")) and k.endswith((".iwa", ".zip")) for k in by_name):
            return "NOT_XLSX", "an Apple Numbers spreadsheet (.numbers): export it to Excel (.xlsx) in Numbers"
        return "NOT_XLSX", "a zip archive that is not an Office document (no [Content_Types].xml)"
    ct_root = _parse_part(ctx, ct_info)
    overrides: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for el in ct_root:
        tag = el.tag.rsplit("}", 1)[-1]
        ctype = (el.get("ContentType") or "").strip()
        if tag == "Override" and el.get("PartName"):
            overrides[el.get("PartName").lstrip("/").casefold()] = ctype
        elif tag == "Default" and el.get("Extension"):
            defaults[el.get("Extension").casefold()] = ctype
    wb_key = next((name for name, ctype in overrides.items() if ctype in _WORKBOOK_CTS), None)
    if wb_key is None and _WORKBOOK_CTS & set(defaults.values()):
        wb_key = "xl/workbook.xml"           # openpyxl's fallback for a reassigned default
    if wb_key is None:
        cts = [c.casefold() for c in list(overrides.values()) + list(defaults.values())]
        if any(c.startswith(_CT_XLSB) for c in cts):
            return "NOT_XLSX", "an Excel binary workbook (.xlsb): open it in Excel and save it as .xlsx"
        for ctype in list(overrides.values()) + list(defaults.values()):
            low = ctype.casefold()
            for prefix, what in _OTHER_MAIN_CTS:
                if low.startswith(prefix) and ("main" in low or prefix.endswith("main")):
                    return "NOT_SPREADSHEETML", what
        return "NOT_SPREADSHEETML", "no workbook part declared in [Content_Types].xml"

    # 4b. the workbook part: transitional SpreadsheetML?
    wb_info = by_name.get(wb_key)
    if wb_info is None:
        return "CORRUPT_ZIP", f"the workbook part {wb_key} is missing"
    wb_root = _parse_part(ctx, wb_info)
    if wb_root.tag == "{%s}workbook" % _SML_STRICT:
        return "UNSUPPORTED_STRICT", f"{wb_info.filename} uses the Strict namespace {_SML_STRICT}"
    if wb_root.tag != "{%s}workbook" % _SML_MAIN:
        return "NOT_SPREADSHEETML", f"unexpected root element {wb_root.tag} in {wb_info.filename}"

    # 5. test-inflate what readers parse; scan the prolog of every other XML part
    done = {ct_info.filename, wb_info.filename}
    wb_dir = wb_key.rsplit("/", 1)[0] + "/" if "/" in wb_key else ""
    parsed, others = [], []
    sheets = set()              # worksheets: their bytes are handed to the reader when `kept` is given
    for i in infos:
        if i.filename in done or i.is_dir():
            continue
        key = i.filename.casefold()
        ctype = overrides.get(key) or defaults.get(key.rsplit(".", 1)[-1], "")
        ctype = ctype.casefold()
        if key.endswith(".rels") or ctype.endswith(_PARSED_CT_SUFFIXES) or \
                (key.startswith(wb_dir) and (key[len(wb_dir):].startswith(_PARSED_DIRS)
                                             or key[len(wb_dir):] in _PARSED_NAMES)):
            parsed.append(i)
            if key.endswith(".xml") and (ctype.endswith("worksheet+xml") or
                                         key[len(wb_dir):].startswith("worksheets/")):
                sheets.add(i.filename)
        elif key.endswith(_XML_EXTS) or "xml" in ctype:
            others.append(i)
    keep = kept is not None and limits.test_decompress
    for i in parsed:
        data = ctx.check(i, full=limits.test_decompress, strict=True, keep=keep and i.filename in sheets)
        if keep and i.filename in sheets:
            kept[i.filename] = data
    for i in others:
        ctx.check(i, full=False, strict=False)
    return None


def _overlap(infos: list[zipfile.ZipInfo], cd_start: int) -> GuardResult | None:
    spans = []
    for i in infos:
        try:
            nlen = len(i.orig_filename.encode("utf-8" if i.flag_bits & 0x800 else "cp437"))
        except UnicodeEncodeError:
            nlen = 0
        spans.append((i.header_offset, i.header_offset + 30 + nlen + i.compress_size, i))
    spans.sort(key=lambda s: s[0])
    for (s1, e1, a), (s2, _e2, b) in zip(spans, spans[1:]):
        if e1 > s2:
            # Damage, or a zip-bomb construction; a real bomb is also caught by the size limits,
            # which are checked first.
            return "CORRUPT_ZIP", f"members {a.filename} and {b.filename} overlap"
    if spans and spans[-1][1] > cd_start:
        return "CORRUPT_ZIP", f"member {spans[-1][2].filename} runs into the central directory"
    return None


def _parse_part(ctx: "_Inflater", info: zipfile.ZipInfo):
    """Inflate a small part (content types, workbook), check it is safe, parse it with defusedxml."""
    if info.file_size > ctx.limits.max_xml_meta_bytes:
        raise _Stop("TOO_LARGE", f"member {info.filename} is {_human(info.file_size)} "
                                 f"(limit {_human(ctx.limits.max_xml_meta_bytes)})")
    data = ctx.check(info, full=True, keep=True)
    try:
        return _safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise _Stop("UNSAFE_XML", f"member {info.filename}: {type(exc).__name__}") from None
    except (_XmlParseError, ValueError) as exc:
        raise _Stop("CORRUPT_ZIP", f"member {info.filename} is not well-formed XML ({exc})") from None


class _Prolog:
    """Feed an XML part to expat until its root element starts; any DOCTYPE/ENTITY is unsafe."""

    class _Root(Exception):
        pass

    class _Bad(Exception):
        pass

    def __init__(self, name: str, limits: Limits, strict: bool):
        self.name, self.limits, self.strict = name, limits, strict
        self.seen = 0
        self.done = False
        self.head = bytearray()
        p = xml.parsers.expat.ParserCreate()
        p.StartDoctypeDeclHandler = self._doctype
        p.EntityDeclHandler = self._entity
        p.StartElementHandler = self._root
        self.parser = p

    def _doctype(self, name, *_a):
        raise self._Bad(f"DOCTYPE {name} declaration")

    def _entity(self, name, *_a):
        raise self._Bad(f"ENTITY {name} declaration")

    def _root(self, *_a):
        raise self._Root()

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self.done:
            return
        room = self.limits.max_prolog_bytes - self.seen
        piece = chunk[:max(room, 0)]
        cut = len(piece) < len(chunk)
        if cut and not piece:
            self._no_root()
        self.seen += len(piece)
        if len(self.head) < 4 * KB:
            self.head += piece[:4 * KB]
        try:
            self.parser.Parse(piece, final and not cut)
        except self._Root:
            self.done = True
            return
        except self._Bad as bad:
            raise _Stop("UNSAFE_XML", f"member {self.name}: {bad}") from None
        except xml.parsers.expat.ExpatError as exc:
            self.done = True
            low = bytes(self.head).lower()
            if b"<!doctype" in low or b"<!entity" in low:
                raise _Stop("UNSAFE_XML", f"member {self.name}: DOCTYPE/ENTITY declaration") from None
            if self.strict:
                raise _Stop("CORRUPT_ZIP", f"member {self.name} is not well-formed XML "
                                           f"({xml.parsers.expat.ErrorString(exc.code)})") from None
            return
        if cut:
            self._no_root()

    def _no_root(self):
        raise _Stop("UNSAFE_XML", f"member {self.name}: no root element in the first "
                                  f"{_human(self.limits.max_prolog_bytes)}")


class _Inflater:
    """Streams members out of the zip with its own raw inflater, checking sizes, ratio and CRC."""

    def __init__(self, fp: BinaryIO, size: int, limits: Limits):
        self.fp, self.size, self.limits = fp, size, limits
        self.total_out = 0

    def read_all(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        out = bytearray()

        def sink(chunk: bytes) -> bool:
            out.extend(chunk)
            return len(out) > cap
        self._inflate(info, sink, verify=True)
        return bytes(out[:cap])

    def check(self, info: zipfile.ZipInfo, full: bool, keep: bool = False, strict: bool = True) -> bytes:
        """Inflate `info` (fully, with CRC, or only its XML prolog) and scan its prolog.

        `strict`: a malformed prolog is CORRUPT_ZIP (parts a reader parses) rather than ignored."""
        prolog = _Prolog(info.filename, self.limits, strict=strict)
        kept: list[bytes] = []

        def sink(chunk: bytes) -> bool:
            if keep:
                kept.append(chunk)
            if not prolog.done:
                prolog.feed(chunk)
            return not full and prolog.done
        self._inflate(info, sink, verify=full)
        if not prolog.done:
            prolog.feed(b"", final=True)
        return kept[0] if len(kept) == 1 else b"".join(kept)

    def _inflate(self, info: zipfile.ZipInfo, sink: Callable[[bytes], bool], verify: bool) -> None:
        name, fp, lim = info.filename, self.fp, self.limits
        if not 0 <= info.header_offset <= self.size - 30:
            raise _Stop("CORRUPT_ZIP", f"member {name} points outside the file")
        fp.seek(info.header_offset)
        lh = fp.read(30)
        if len(lh) < 30 or lh[:4] != _ZIP_LOCAL:
            raise _Stop("CORRUPT_ZIP", f"member {name}: bad local file header")
        nlen, xlen = struct.unpack_from("<HH", lh, 26)
        lname = fp.read(nlen)
        enc = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if lname.decode(enc, errors="replace") != info.orig_filename:
            raise _Stop("CORRUPT_ZIP", f"member {name}: local header names {lname[:60]!r}")
        start = info.header_offset + 30 + nlen + xlen
        if start + info.compress_size > self.size:
            raise _Stop("CORRUPT_ZIP", f"member {name} is cut off (file truncated)")
        fp.seek(start)
        left = info.compress_size
        produced = 0
        crc = 0
        d = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        chunk_in, chunk_out = (_CHUNK_IN, _CHUNK_OUT) if verify else (_PROLOG_CHUNK, _PROLOG_CHUNK)

        def emit(chunk: bytes) -> bool:
            nonlocal produced, crc
            produced += len(chunk)
            self.total_out += len(chunk)
            consumed = info.compress_size - left - (len(d.unconsumed_tail) if d else 0)
            if self.total_out > lim.max_uncompressed_bytes:
                raise _Stop("TOO_LARGE", f"more than {_human(lim.max_uncompressed_bytes)} once "
                                         f"decompressed (at member {name})")
            if produced >= lim.ratio_min_bytes and produced > lim.max_ratio * max(consumed, 1):
                raise _Stop("TOO_LARGE", f"member {name} compression ratio over "
                                         f"{lim.max_ratio:.0f}:1 while decompressing (zip bomb?)")
            if produced > info.file_size + lim.ratio_min_bytes:
                # a little overshoot is damage (reported below as a size mismatch); a lot is a bomb
                raise _Stop("TOO_LARGE", f"member {name} inflates far beyond its declared size of "
                                         f"{_human(info.file_size)} (zip bomb?)")
            if verify:
                crc = zlib.crc32(chunk, crc)
            return sink(chunk)

        try:
            while left > 0:
                raw = fp.read(min(chunk_in, left))
                if not raw:
                    raise _Stop("CORRUPT_ZIP", f"member {name} is cut off (file truncated)")
                left -= len(raw)
                if d is None:
                    if emit(raw):
                        return
                    continue
                buf = raw
                while buf:
                    out = d.decompress(buf, chunk_out)
                    buf = d.unconsumed_tail
                    if out and emit(out):
                        return
                    if d.eof:
                        break
                if d.eof:
                    break
            if d is not None and not d.eof:
                out = d.flush()
                if out and emit(out):
                    return
                if not d.eof:
                    raise _Stop("CORRUPT_ZIP", f"member {name}: compressed data ends prematurely")
        except zlib.error as exc:
            raise _Stop("CORRUPT_ZIP", f"member {name}: {exc}") from None
        if not verify:
            return
        if produced != info.file_size:
            raise _Stop("CORRUPT_ZIP", f"member {name} inflates to {produced} bytes, "
                                       f"{info.file_size} declared")
        if crc != info.CRC:
            raise _Stop("CORRUPT_ZIP", f"member {name}: bad CRC-32")
