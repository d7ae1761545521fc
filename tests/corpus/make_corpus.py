"""Hostile-file corpus for the bad-file guard (salesxl.io.guard).

    python tests/corpus/make_corpus.py OUT_DIR      # writes the files and prints name -> expected code

`build_corpus(out_dir)` writes every file into `out_dir` and returns {file name: expected code or None}.
Nothing binary is checked in: the files are generated at test time, deterministically (fixed zip
timestamps, fixed document properties, seeded randomness), from workbooks written by openpyxl.
A name in the result may deliberately not exist (FILE_NOT_FOUND). The whole corpus is < 5 MB.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
import struct
import sys
import zipfile
import warnings
from pathlib import Path

ZIP_TIME = (2024, 1, 1, 0, 0, 0)
FIXED_NOW = dt.datetime(2024, 1, 1, 12, 0, 0)

SML_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

SHEET1 = "xl/worksheets/sheet1.xml"
SHEET2 = "xl/worksheets/sheet2.xml"
SST = "xl/sharedStrings.xml"

# --------------------------------------------------------------------------------------------------
# zip helpers (deterministic)

Members = list  # list[tuple[str, bytes]]


def zip_bytes(members: Members, compression: int = zipfile.ZIP_DEFLATED, overrides: dict | None = None) -> bytes:
    """A zip of (name, data) with fixed timestamps; `overrides` maps name -> compress_type."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore")          # duplicate names are written on purpose
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            zi.compress_type = (overrides or {}).get(name, compression)
            zi.create_system = 0
            zi.external_attr = 0
            zf.writestr(zi, data, compresslevel=6 if zi.compress_type == zipfile.ZIP_DEFLATED else None)
    return buf.getvalue()


def unzip(data: bytes) -> Members:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def replace(members: Members, name: str, data: bytes | None) -> Members:
    """Replace (or drop, with None) member `name`; add it at the end if absent."""
    out, hit = [], False
    for n, d in members:
        if n == name:
            hit = True
            if data is not None:
                out.append((n, data))
        else:
            out.append((n, d))
    if not hit and data is not None:
        out.append((name, data))
    return out


def get(members: Members, name: str) -> bytes:
    return dict(members)[name]


def _infos(data: bytes) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: i for i in zf.infolist()}


def _cd_entries(data: bytes) -> dict[str, int]:
    """Offsets of central-directory entries by member name (plain zips, no zip64)."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_off = struct.unpack_from("<I", data, eocd + 16)[0]
    out, pos = {}, cd_off
    while data[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        out[data[pos + 46:pos + 46 + n].decode("utf-8")] = pos
        pos += 46 + n + m + k
    return out


def _data_span(data: bytes, name: str) -> tuple[int, int]:
    """(start, length) of the compressed bytes of member `name`."""
    info = _infos(data)[name]
    off = info.header_offset
    n, m = struct.unpack_from("<HH", data, off + 26)
    return off + 30 + n + m, info.compress_size


def patch_member(data: bytes, name: str, *, crc_xor: int = 0, size: int | None = None,
                 flag_or: int = 0) -> bytes:
    """Patch CRC / declared uncompressed size / flag bits of `name` in both local and central headers."""
    b = bytearray(data)
    lh = _infos(data)[name].header_offset
    cd = _cd_entries(data)[name]
    for base, flag_at, crc_at, usize_at in ((lh, 6, 14, 22), (cd, 8, 16, 24)):
        if crc_xor:
            crc = struct.unpack_from("<I", b, base + crc_at)[0]
            struct.pack_into("<I", b, base + crc_at, crc ^ crc_xor)
        if size is not None:
            struct.pack_into("<I", b, base + usize_at, size)
        if flag_or:
            flags = struct.unpack_from("<H", b, base + flag_at)[0]
            struct.pack_into("<H", b, base + flag_at, flags | flag_or)
    return bytes(b)


def duplicate_cd_entry(data: bytes, name: str, new_name: str) -> bytes:
    """Add a second central-directory entry pointing at the same local data (overlapping members)."""
    assert len(new_name) == len(name)
    cd = _cd_entries(data)
    pos = cd[name]
    n, m, k = struct.unpack_from("<HHH", data, pos + 28)
    entry = bytearray(data[pos:pos + 46 + n + m + k])
    entry[46:46 + n] = new_name.encode("utf-8")
    eocd = data.rfind(b"PK\x05\x06")
    cd_off = struct.unpack_from("<I", data, eocd + 16)[0]
    cd_size = struct.unpack_from("<I", data, eocd + 12)[0]
    cd_end = cd_off + cd_size
    out = bytearray(data[:cd_end] + bytes(entry) + data[cd_end:])
    e = eocd + len(entry)
    a, t = struct.unpack_from("<HH", out, e + 8)
    struct.pack_into("<HHI", out, e + 8, a + 1, t + 1, cd_size + len(entry))
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# a minimal compound file (OLE2/CFB) writer: enough for .xls-like and encrypted-like containers


def cfb_bytes(streams: dict[str, bytes], version: int = 3) -> bytes:
    """A valid CFB with the given root-level streams. Streams are padded to >= 4096 bytes so that no
    mini stream is needed (small streams must live in the mini stream otherwise)."""
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    ss = 512 if version == 3 else 4096
    items = sorted(((k, v.ljust(4096, b"\0")) for k, v in streams.items()),
                   key=lambda kv: (len(kv[0]), kv[0].upper()))
    per_dir = ss // 128
    dir_sectors = -(-(1 + len(items)) // per_dir)
    data_sectors = [-(-len(v) // ss) for _, v in items]
    n_fat = 1
    while n_fat + dir_sectors + sum(data_sectors) > n_fat * (ss // 4):
        n_fat += 1
    fat = [fatsect] * n_fat
    dir_start = n_fat
    fat += [dir_start + k + 1 if k < dir_sectors - 1 else end for k in range(dir_sectors)]
    starts, sid = [], dir_start + dir_sectors
    for n in data_sectors:
        starts.append(sid)
        fat += [sid + k + 1 if k < n - 1 else end for k in range(n)]
        sid += n
    fat += [free] * (n_fat * ss // 4 - len(fat))

    def entry(name, etype, right, child, start, size):
        nm = name.encode("utf-16-le") + b"\0\0"
        return (nm.ljust(64, b"\0") + struct.pack("<HBB", len(nm), etype, 1)
                + struct.pack("<III", free, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
                + struct.pack("<IQ", start, size))

    entries = [entry("Root Entry", 5, free, 1 if items else free, end, 0)]
    for i, ((name, body), start) in enumerate(zip(items, starts), start=1):
        entries.append(entry(name, 2, i + 1 if i < len(items) else free, free, start, len(body)))
    dir_blob = b"".join(entries)
    empty = b"\0" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", free, free, free) + b"\0" * 52
    while len(dir_blob) < dir_sectors * ss:
        dir_blob += empty
    hdr = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
           + struct.pack("<HHHHH", 0x3E, version, 0xFFFE, 9 if version == 3 else 12, 6) + b"\0" * 6
           + struct.pack("<IIIIIIIII", dir_sectors if version == 4 else 0, n_fat, dir_start, 0, 4096,
                         end, 0, end, 0)
           + struct.pack("<109I", *(list(range(n_fat)) + [free] * (109 - n_fat))))
    assert len(hdr) == 512
    out = bytearray(hdr.ljust(ss, b"\0"))
    out += struct.pack(f"<{len(fat)}I", *fat)
    out += dir_blob
    for (_, body), n in zip(items, data_sectors):
        out += body.ljust(n * ss, b"\0")
    return bytes(out)


def biff_workbook_stream(biff8: bool = True) -> bytes:
    """BOF (workbook globals) + EOF records: the start of a real BIFF8/BIFF5 'Workbook'/'Book' stream."""
    vers = 0x0600 if biff8 else 0x0500
    bof = struct.pack("<HH", 0x0809, 16) + struct.pack("<HHHHII", vers, 0x0005, 0x0DBB, 0x07CC, 0, 6)
    eof = struct.pack("<HH", 0x000A, 0)
    return bof + eof


def biff_bare_stream(version: int) -> bytes:
    """A workbook as Excel 2.x (2), 3.0 (3) or 4.0 (4) saved it: a bare BIFF stream, no OLE2 container.
    BOF (worksheet), a DIMENSIONS record, one NUMBER cell, EOF."""
    if version == 2:
        bof = struct.pack("<HH", 0x0009, 4) + struct.pack("<HH", 0x0002, 0x0010)
        cell = struct.pack("<HH", 0x0003, 15) + struct.pack("<HH3sd", 0, 0, b"\0\0\0", 1234.5)
    else:
        rtype = {3: 0x0209, 4: 0x0409}[version]
        bof = struct.pack("<HH", rtype, 6) + struct.pack("<HHH", 0x0000, 0x0010, 0x0000)
        cell = struct.pack("<HH", 0x0203, 14) + struct.pack("<HHHd", 0, 0, 0x0F, 1234.5)
    dims = struct.pack("<HH", 0x0000 if version == 2 else 0x0200, 8) + struct.pack("<HHHH", 0, 1, 0, 1)
    return bof + dims + cell + struct.pack("<HH", 0x000A, 0)


# --------------------------------------------------------------------------------------------------
# valid workbooks (openpyxl), made deterministic


def _determinise(raw: bytes) -> Members:
    members = []
    for name, data in unzip(raw):
        if name == "docProps/core.xml":
            data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2024-01-01T12:00:00Z", data)
        members.append((name, data))
    return members


def openpyxl_workbook(*, big: bool = False, template: bool = False) -> Members:
    from openpyxl import Workbook
    from openpyxl.worksheet.table import Table

    wb = Workbook()
    wb.properties.creator = "salesxl corpus"
    wb.properties.created = FIXED_NOW
    ws = wb.active
    ws.title = "Reporting"
    ws.append(["Date d'action", "Société", "Interlocuteur", "Fonction", "Action", "Résultat"])
    ws.append([dt.date(2003, 4, 4), "Alpha", "Mr. X", "Acheteur", "Négociation", "Revoir la proposition"])
    ws.append([dt.date(2003, 4, 3), "Bêta", "Mr. Y", "Directeur", "Visite", "Pas de besoin"])
    ws.append([dt.date(2003, 4, 3), "Gamma", "Mme. Z", "Ingénieur", "Visite", "Proposition"])
    ws.add_table(Table(displayName="tblReporting", ref="A1:F4"))
    ws2 = wb.create_sheet("Pipeline")
    ws2.append(["Ref", "Rep", "Company", "Amount", "Probability", "Status"])
    rng = random.Random(7)
    n = 30_000 if big else 60
    for i in range(1, n + 1):
        if big:
            company = f"Société {rng.choice(['Alpha', 'Bêta', 'Gamma', 'Delta'])} n° {i:06d}"
        else:
            company = f"Company {i}"
        ws2.append([f"P-{i:05d}", f"Rep {i % 7}", company, round(rng.uniform(1e3, 1e5), 2),
                    round(rng.random(), 2), rng.choice(["Open", "Won", "Lost"])])
    ws2.add_table(Table(displayName="tblPipeline", ref=f"A1:F{n + 1}"))
    for name in ("Planning", "Objectives"):
        wb.create_sheet(name).append(["Rep", "Period start", "Period end"])
    wb.template = template
    buf = io.BytesIO()
    wb.save(buf)
    return to_shared_strings(_determinise(buf.getvalue()))


_INLINE = re.compile(rb'<c r="([A-Z]+[0-9]+)"( s="[0-9]+")? t="inlineStr"><is><t(?: xml:space="preserve")?>'
                     rb'(.*?)</t></is></c>', re.S)


def to_shared_strings(members: Members) -> Members:
    """openpyxl 3.1 writes inline strings; Excel writes a shared-string table. Convert, as Excel would."""
    table: dict[bytes, int] = {}
    uses = 0

    def sub(m: re.Match) -> bytes:
        nonlocal uses
        uses += 1
        idx = table.setdefault(m.group(3), len(table))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (m.group(1), m.group(2) or b"", idx)

    out = [(n, _INLINE.sub(sub, d) if n.startswith("xl/worksheets/sheet") else d) for n, d in members]
    sst = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           b'<sst xmlns="%s" count="%d" uniqueCount="%d">' % (SML_NS.encode(), uses, len(table))
           + b"".join(b'<si><t xml:space="preserve">%s</t></si>' % t for t in table)
           + b"</sst>")
    ct = get(out, "[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
    rels = get(out, "xl/_rels/workbook.xml.rels").replace(b"</Relationships>", (
        b'<Relationship Id="rIdSST" Type="%s/sharedStrings" Target="sharedStrings.xml"/>'
        b"</Relationships>" % REL_NS.encode()))
    out = replace(out, "[Content_Types].xml", ct)
    out = replace(out, "xl/_rels/workbook.xml.rels", rels)
    return replace(out, SST, sst)


def xlsm_from(members: Members) -> Members:
    ct = get(members, "[Content_Types].xml").decode()
    ct = ct.replace(CT_XLSX, CT_XLSM)
    ct = ct.replace("</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    rels = get(members, "xl/_rels/workbook.xml.rels").decode()
    rels = rels.replace("</Relationships>", '<Relationship Id="rIdVBA" '
                        'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
                        'Target="vbaProject.bin"/></Relationships>')
    members = replace(members, "[Content_Types].xml", ct.encode())
    members = replace(members, "xl/_rels/workbook.xml.rels", rels.encode())
    vba = cfb_bytes({"dir": b"\x01\x00" * 16, "PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\n'})
    return replace(members, "xl/vbaProject.bin", vba)


def insert_prolog(xml: bytes, prolog: bytes) -> bytes:
    """Insert `prolog` after the XML declaration (or at the start)."""
    m = re.match(rb"<\?xml[^>]*\?>", xml)
    return xml[:m.end()] + prolog + xml[m.end():] if m else prolog + xml


def strict_from(members: Members) -> Members:
    out = []
    for name, data in members:
        if name.startswith("xl/") or name.endswith(".rels"):
            data = data.replace(SML_NS.encode(), STRICT_NS.encode())
            data = data.replace(REL_NS.encode(), STRICT_REL_NS.encode())
        out.append((name, data))
    return out


def opc_package(main_part: str, main_ct: str, body: bytes) -> Members:
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          f'<Override PartName="/{main_part}" ContentType="{main_ct}"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/officeDocument" Target="{main_part}"/></Relationships>')
    return [("[Content_Types].xml", ct.encode()), ("_rels/.rels", rels.encode()), (main_part, body)]


def zip_streamed(members: Members, big_name: str, head: bytes, filler: bytes, total: int, tail: bytes) -> bytes:
    """A zip with one extra member of `total` bytes, written in chunks (never all in memory)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
        zi = zipfile.ZipInfo(big_name, date_time=ZIP_TIME)
        zi.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(zi, "w") as w:
            w.write(head)
            left = total - len(head) - len(tail)
            block = filler * (1024 * 1024 // len(filler))
            while left > 0:
                w.write(block[:left])
                left -= len(block)
            w.write(tail)
    return buf.getvalue()


def encrypted_workbook(xlsx: bytes) -> bytes | None:
    """A real password-protected workbook (ECMA-376 agile) via msoffcrypto-tool, made deterministic."""
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
        from msoffcrypto.method import ecma376_agile
        from msoffcrypto.method.container import ecma376_encrypted
    except ImportError:
        return None
    rng = random.Random(1234)

    class _FixedDatetime(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2024, 1, 1, 12, 0, 0)

    saved = (ecma376_agile._random_buffer, ecma376_encrypted.datetime)
    ecma376_agile._random_buffer = lambda n: rng.randbytes(n)
    ecma376_encrypted.datetime = _FixedDatetime
    try:
        out = io.BytesIO()
        OOXMLFile(io.BytesIO(xlsx)).encrypt("secret", out)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - fall back to the hand-built container
        return None
    finally:
        ecma376_agile._random_buffer, ecma376_encrypted.datetime = saved


# --------------------------------------------------------------------------------------------------
# the corpus

BILLION_LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%s;" % (str(i - 1).encode() if i > 1 else b"")) * 10)
                             for i in range(1, 10))
                  + b"]>")
XXE = b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def build_corpus(out_dir) -> dict[str, str | None]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str | None] = {}

    def put(name: str, data: bytes, code: str | None) -> None:
        (out / name).write_bytes(data)
        expected[name] = code

    base = openpyxl_workbook()
    good = zip_bytes(base)
    big = openpyxl_workbook(big=True)

    # ---- good files: must pass
    put("good_openpyxl.xlsx", good, None)
    put("good_macro.xlsm", zip_bytes(xlsm_from(base)), None)
    put("good_template.xltx", zip_bytes(openpyxl_workbook(template=True)), None)
    put("good_big_sharedstrings.xlsx", zip_bytes(big), None)
    note = ("Relance suite à la proposition commerciale envoyée : le client attend l'arbitrage budgétaire "
            "de sa direction financière avant de signer ; rappeler l'acheteur et proposer une démonstration "
            "sur site avec l'équipe technique. ") * 4
    sst = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="%s">' % SML_NS.encode()
           + b"".join(b"<si><t>%s %06d</t></si>" % (note.encode(), i) for i in range(4000)) + b"</sst>")
    put("good_sharedstrings_ratio_100.xlsx", zip_bytes(replace(base, SST, get(base, SST).replace(
        b"</sst>", sst.split(b'">', 1)[1]))), None)
    put("good_prolog_comment.xlsx", zip_bytes(replace(base, SST, insert_prolog(
        get(base, SST), b"<!-- exported from CRM; not an <!DOCTYPE html> page -->\n"))), None)
    try:
        for link in ("good_symlink.xlsx", "dangling_symlink.xlsx"):
            if os.path.lexists(out / link):
                os.unlink(out / link)
        os.symlink("good_openpyxl.xlsx", out / "good_symlink.xlsx")
        expected["good_symlink.xlsx"] = None
        os.symlink("no_such_target.xlsx", out / "dangling_symlink.xlsx")
        expected["dangling_symlink.xlsx"] = "FILE_NOT_FOUND"
    except (OSError, NotImplementedError):  # pragma: no cover - no symlinks on this platform
        pass

    # ---- not there / not a file / empty
    expected["does_not_exist.xlsx"] = "FILE_NOT_FOUND"
    (out / "folder.xlsx").mkdir(exist_ok=True)
    expected["folder.xlsx"] = "FILE_NOT_FOUND"
    put("empty.xlsx", b"", "FILE_EMPTY")

    # ---- not a workbook at all
    put("csv_renamed.xlsx", b"Date,Company,Action,Result\n2003-04-04,Alpha,Negotiation,Revise proposal\n"
                            b"2003-04-03,Beta,Visit,No need\n", "NOT_XLSX")
    put("csv_fr_semicolon.xlsx", "\ufeffDate d'action;Société;Action;Résultat\r\n04/04/2003;Alpha;Négociation;"
                                 "Revoir la proposition\r\n03/04/2003;Bêta;Visite;Pas de besoin\r\n".encode(), "NOT_XLSX")
    put("text_utf16_tabs.xlsx", "Société\tMontant\r\nAlpha\t1 234,56\r\nBêta\t99\r\n".encode("utf-16"), "NOT_XLSX")
    put("html_table.xlsx", '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8">'
                           "</head><body><table><tr><th>Société</th><th>Montant</th></tr>"
                           "<tr><td>Alpha</td><td>1200</td></tr></table></body></html>".encode(), "NOT_XLSX")
    put("xml_spreadsheet_2003.xlsx", b'<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>'
                                     b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
                                     b'<Worksheet ss:Name="Sheet1" xmlns:ss="urn:schemas-microsoft-com:office:'
                                     b'spreadsheet"><Table/></Worksheet></Workbook>', "NOT_XLSX")
    put("pdf_renamed.xlsx", b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
        "NOT_XLSX")
    put("random_bytes.xlsx", b"\x00\x13" + random.Random(42).randbytes(4094), "NOT_XLSX")
    put("zip_not_ooxml.xlsx", zip_bytes([("data.csv", b"a,b\n1,2\n"), ("readme.txt", b"hello")]), "NOT_XLSX")
    put("ods_renamed.xlsx", zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                                       ("content.xml", b'<?xml version="1.0"?><office:document-content '
                                                       b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
                                                       b'office:1.0"/>'),
                                       ("META-INF/manifest.xml", b"<manifest/>")],
                                      overrides={"mimetype": zipfile.ZIP_STORED}), "NOT_XLSX")
    put("empty_zip.xlsx", b"PK\x05\x06" + b"\0" * 18, "NOT_XLSX")
    put("word97_renamed.xlsx", cfb_bytes({"WordDocument": b"\xec\xa5" + b"\0" * 30, "1Table": b"\0" * 64}),
        "NOT_XLSX")

    # ---- legacy and encrypted (OLE2 compound files)
    put("legacy_biff8.xls", cfb_bytes({"Workbook": biff_workbook_stream(),
                                       "\x05SummaryInformation": b"\xfe\xff" + b"\0" * 46}), "LEGACY_XLS")
    put("legacy_biff5_renamed.xlsx", cfb_bytes({"Book": biff_workbook_stream(biff8=False)}), "LEGACY_XLS")
    for v in (2, 3, 4):                                 # Excel 2.x-4.0: bare BIFF streams, no OLE2
        put(f"legacy_biff{v}.xls", biff_bare_stream(v), "LEGACY_XLS")
    put("legacy_biff8_bare_stream.xls", biff_workbook_stream() + b"\0" * 64, "LEGACY_XLS")
    # other spreadsheet kinds under their own names: one clear NOT_XLSX each
    put("pipeline.csv", b"Ref,Rep,Company,Amount\nP1,Claire,Alpha,1200\n", "NOT_XLSX")
    put("pipeline.ods", zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                                   ("content.xml", b'<?xml version="1.0"?><office:document-content '
                                                   b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
                                                   b'office:1.0"/>')],
                                  overrides={"mimetype": zipfile.ZIP_STORED}), "NOT_XLSX")
    enc = encrypted_workbook(good)
    if enc is not None:
        put("encrypted_agile.xlsx", enc, "ENCRYPTED")
    info = b"\x04\x00\x04\x00\x40\x00\x00\x00" + b'<?xml version="1.0"?><encryption/>'
    put("encrypted_cfb_v3.xlsx", cfb_bytes({"EncryptionInfo": info, "EncryptedPackage":
                                            struct.pack("<Q", len(good)) + random.Random(3).randbytes(8192)}),
        "ENCRYPTED")
    put("encrypted_cfb_v4.xlsx", cfb_bytes({"EncryptedPackage": struct.pack("<Q", 4096) + b"\x55" * 4096,
                                            "EncryptionInfo": info}, version=4), "ENCRYPTED")

    # ---- damaged archives
    for label, cut in (("4_bytes", 4), ("10pct", len(good) // 10), ("50pct", len(good) // 2),
                       ("90pct", len(good) * 9 // 10), ("eocd", len(good) - 10)):
        put(f"truncated_{label}.xlsx", good[:cut], "CORRUPT_ZIP")
    for label, member in (("sheet", "xl/worksheets/sheet2.xml"), ("sharedstrings", SST)):
        start, length = _data_span(good, member)
        b = bytearray(good)
        for k in range(3):
            b[start + length // 2 + k] ^= 0xFF
        put(f"bitflip_{label}.xlsx", bytes(b), "CORRUPT_ZIP")
    put("bad_crc.xlsx", patch_member(good, SHEET1, crc_xor=1), "CORRUPT_ZIP")
    put("declared_size_mismatch.xlsx", patch_member(good, SHEET2, size=_infos(good)[SHEET2].file_size - 100),
        "CORRUPT_ZIP")
    b = bytearray(good)
    b[_infos(good)["[Content_Types].xml"].header_offset] ^= 0xFF     # first byte of the local header
    put("bad_local_header.xlsx", bytes(b), "CORRUPT_ZIP")
    put("workbook_part_missing.xlsx", zip_bytes(replace(base, "xl/workbook.xml", None)), "CORRUPT_ZIP")
    put("duplicate_member.xlsx", zip_bytes(base + [(SHEET1, get(base, SHEET1))]), "CORRUPT_ZIP")
    put("bzip2_member.xlsx", zip_bytes(base, overrides={SHEET2: zipfile.ZIP_BZIP2}), "CORRUPT_ZIP")
    put("zip_encrypted_member.xlsx", patch_member(good, SHEET1, flag_or=0x1), "ENCRYPTED")

    # ---- Office, but not a transitional SpreadsheetML workbook
    put("word.docx", zip_bytes(opc_package(
        "word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body/>'
        b"</w:document>")), "NOT_SPREADSHEETML")
    put("docx_renamed.xlsx", (out / "word.docx").read_bytes(), "NOT_SPREADSHEETML")
    put("slides_renamed.xlsx", zip_bytes(opc_package(
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        b'<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>')),
        "NOT_SPREADSHEETML")
    put("binary_workbook.xlsb", zip_bytes(opc_package(
        "xl/workbook.bin", "application/vnd.ms-excel.sheet.binary.macroEnabled.main",
        b"\x83\x01\x00\x84\x01\x00")), "NOT_XLSX")
    put("strict_ooxml.xlsx", zip_bytes(strict_from(base)), "UNSUPPORTED_STRICT")

    # ---- unsafe XML
    put("billion_laughs_sharedstrings.xlsx", zip_bytes(replace(base, SST, insert_prolog(
        get(base, SST), BILLION_LAUGHS).replace(b">Alpha</t>", b">&lol9;</t>"))), "UNSAFE_XML")
    put("xxe_sheet1.xlsx", zip_bytes(replace(base, SHEET1, insert_prolog(get(base, SHEET1), XXE).replace(
        b"<sheetData>", b'<sheetData><row r="100"><c r="A100" t="inlineStr"><is><t>&xxe;</t></is></c></row>',
        1))), "UNSAFE_XML")
    put("doctype_workbook.xlsx", zip_bytes(replace(base, "xl/workbook.xml", insert_prolog(
        get(base, "xl/workbook.xml"), b"<!DOCTYPE workbook>"))), "UNSAFE_XML")
    put("doctype_content_types.xlsx", zip_bytes(replace(base, "[Content_Types].xml", insert_prolog(
        get(base, "[Content_Types].xml"), b'<!DOCTYPE Types [<!ENTITY e "x">]>'))), "UNSAFE_XML")
    put("entity_in_docprops.xlsx", zip_bytes(replace(base, "docProps/app.xml", insert_prolog(
        get(base, "docProps/app.xml"), BILLION_LAUGHS))), "UNSAFE_XML")
    put("xxe_in_rels.xlsx", zip_bytes(replace(base, "xl/_rels/workbook.xml.rels", insert_prolog(
        get(base, "xl/_rels/workbook.xml.rels"), b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://evil.test/">]>'))),
        "UNSAFE_XML")
    put("doctype_after_padding.xlsx", zip_bytes(replace(base, SHEET2, insert_prolog(
        get(base, SHEET2), b"<!--" + b" padding " * 4000 + b"-->" + XXE))), "UNSAFE_XML")
    put("prolog_too_long.xlsx", zip_bytes(replace(base, SHEET2, insert_prolog(
        get(base, SHEET2), b"\n" * (200 * 1024)))), "UNSAFE_XML")

    # ---- too large / zip bombs
    ws_head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="%s"><sheetData>' % SML_NS.encode()
    ws_tail = b"</sheetData></worksheet>"
    put("zip_bomb_ratio.xlsx", zip_streamed(base, "xl/worksheets/sheet9.xml", ws_head, b" ", 20 * 1024 * 1024,
                                            ws_tail), "TOO_LARGE")
    bomb = zip_streamed(base, "xl/worksheets/sheet9.xml", b"", b"\0", 20 * 1024 * 1024, b"")
    put("zip_bomb_lying_size.xlsx", patch_member(bomb, "xl/worksheets/sheet9.xml", size=1000), "TOO_LARGE")
    rng = random.Random(5)
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (r, r, rng.randrange(1000))
                    for r in range(1, 30_001))
    low = zip_bytes(base + [("xl/worksheets/sheet9.xml", ws_head + rows + ws_tail)])
    put("zip_bomb_lying_size_low_ratio.xlsx", patch_member(low, "xl/worksheets/sheet9.xml", size=1000),
        "TOO_LARGE")
    put("zip_bomb_declared_2gb.xlsx", patch_member(good, SHEET1, size=2_000_000_000), "TOO_LARGE")
    put("members_overlap.xlsx", duplicate_cd_entry(good, SHEET1, "xl/worksheets/sheetX.xml"), "CORRUPT_ZIP")
    overlap_bomb = patch_member(bomb, "xl/worksheets/sheet9.xml", size=200 * 1024 * 1024)
    for k in range(5):
        overlap_bomb = duplicate_cd_entry(overlap_bomb, "xl/worksheets/sheet9.xml", f"xl/worksheets/bomb{k:02d}.xml")
    put("zip_bomb_overlap.xlsx", overlap_bomb, "TOO_LARGE")
    put("too_many_members.xlsx", zip_bytes(base + [(f"x/{i}", b"") for i in range(10_001)],
                                           compression=zipfile.ZIP_STORED), "TOO_LARGE")
    return expected


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    expected = build_corpus(argv[1])
    width = max(map(len, expected))
    for name, code in expected.items():
        print(f"{name:<{width}}  {code or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
