"""Every file accounted for, one engine, no rep dropped (issue 11 item 3 and folder depth).

- every file of a folder input gets a status: .xls of every BIFF version LEGACY_XLS, .xlsb/.ods/.csv
  NOT_XLSX with a hint to save as .xlsx, lock files a note, system files ignored; a folder is read one
  level deep unless `recursive`;
- one default engine for every command (calamine when installed), and a file one engine cannot read
  is read by the other: a workbook with an Excel 4.0 macro sheet (calamine refuses it), a shared-strings
  part stored as `xl/SharedStrings.xml` (openpyxl misses it), styles openpyxl rejects;
- READ_FAILED, when no engine can read a file, says what happened and what to do, in English and
  French, and keeps the readers' own errors apart (the issue's value).
"""
from __future__ import annotations

import datetime as dt
import re
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from salesxl import consolidate as cons
from salesxl.cli import app
from salesxl.io import read_xlsx
from salesxl.io.read_xlsx import read_workbook, validate_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))

from make_corpus import (biff_bare_stream, biff_workbook_stream, cfb_bytes, opc_package,  # noqa: E402
                         to_shared_strings, zip_bytes)
from make_workbooks import write_rep_workbook  # noqa: E402

AS_OF = dt.date(2026, 6, 15)


def members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def patched(ms, name: str, fn) -> list[tuple[str, bytes]]:
    return [(n, fn(d) if n == name else d) for n, d in ms]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return write_rep_workbook(tmp_path_factory.mktemp("inputs") / "base.xlsx", 1, rows=80, as_of=AS_OF)


def macro_sheet(ms):
    """An Excel 4.0 macro sheet (xl/macrosheets/), as Excel saves one in an .xlsm."""
    ms = patched(ms, "[Content_Types].xml", lambda d: d.replace(
        b"</Types>", b'<Override PartName="/xl/macrosheets/sheet1.xml" '
                     b'ContentType="application/vnd.ms-excel.macrosheet+xml"/></Types>'))
    ms = patched(ms, "xl/workbook.xml", lambda d: d.replace(
        b"</sheets>", b'<sheet name="Macro1" sheetId="99" r:id="rIdM1"/></sheets>'))
    ms = patched(ms, "xl/_rels/workbook.xml.rels", lambda d: d.replace(
        b"</Relationships>", b'<Relationship Id="rIdM1" Type="http://schemas.microsoft.com/office/2006/'
                             b'relationships/xlMacrosheet" Target="macrosheets/sheet1.xml"/></Relationships>'))
    return ms + [("xl/macrosheets/sheet1.xml",
                  b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xm:macrosheet '
                  b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                  b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData><row r="1">'
                  b'<c r="A1"><f>RETURN()</f></c></row></sheetData></xm:macrosheet>')]


def shared_strings_other_case(ms):
    """Shared strings stored as xl/SharedStrings.xml while the package names xl/sharedStrings.xml (a
    Windows tool: zip names are case-sensitive, its file system is not)."""
    ms = to_shared_strings(ms)
    assert "xl/sharedStrings.xml" in dict(ms)
    return [("xl/SharedStrings.xml" if n == "xl/sharedStrings.xml" else n, d) for n, d in ms]


def styles_openpyxl_rejects(ms):
    """A number format whose id is not a number: openpyxl refuses the whole stylesheet."""
    def bad(d: bytes) -> bytes:
        if b"<numFmts" in d:
            return re.sub(rb'numFmtId="(\d+)" formatCode', b'numFmtId="x" formatCode', d, count=1)
        return d.replace(b"<fonts", b'<numFmts count="1"><numFmt numFmtId="x" formatCode="0.0"/></numFmts><fonts', 1)
    return patched(ms, "xl/styles.xml", bad)


def both_fail(ms):
    """A table whose range is not a range: neither engine can place it."""
    return patched(ms, "xl/tables/table5.xml", lambda d: re.sub(rb'ref="[^"]+"', b'ref="ZZZZ"', d, count=2))


@pytest.mark.parametrize("make, fails", [(macro_sheet, "calamine"), (shared_strings_other_case, "openpyxl"),
                                         (styles_openpyxl_rejects, "openpyxl")])
def test_a_file_one_engine_cannot_read_is_read_by_the_other(base, tmp_path, make, fails):
    path = tmp_path / f"{make.__name__}.xlsx"
    path.write_bytes(zip_bytes(make(members(base))))
    with pytest.raises(Exception):                   # the engine alone does fail on this file …
        read_xlsx._read(str(path), fails, None)
    expected = validate_file(base, engine="openpyxl", as_of=AS_OF)
    for engine in ("calamine", "openpyxl", None):       # … and every command still reads it
        v = validate_file(path, engine=engine, as_of=AS_OF)
        assert [i.code for i in v.issues if i.code == "READ_FAILED"] == []
        for key, table in expected.tables.items():
            assert v.tables[key] == table, key
    r = cons.consolidate([path], tmp_path / "team.xlsx", as_of=AS_OF, workers=1, history=False, simulations=200)
    assert [f.status for f in r.files] != ["unreadable"] and len(r.forecast.reps) == 1


def test_read_failed_says_what_to_do_in_english_and_french(base, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(zip_bytes(both_fail(members(base))))
    for lang, hint in (("en", "save it as .xlsx again"), ("fr", "enregistrez-le à nouveau en .xlsx")):
        wb = read_workbook(path, lang=lang)
        (issue,) = wb.issues
        assert issue.code == "READ_FAILED" and issue.severity == "error" and not wb.readable
        assert hint in issue.message
        assert "Error" not in issue.message and "ZZZZ" not in issue.message   # no raw Python error …
        assert "calamine:" in issue.value and "openpyxl:" in issue.value       # … which is kept apart
        assert "ZZZZ" in issue.value
    r = cons.consolidate([path, base], tmp_path / "team.xlsx", as_of=AS_OF, workers=1, history=False,
                         simulations=200, lang="fr")
    assert [f.status for f in r.files] == ["unreadable", "ok"] and r.exit_code == 1
    assert "enregistrez-le à nouveau en .xlsx" in r.files[0].issues[0].message


def test_every_command_defaults_to_the_same_engine(base, tmp_path, monkeypatch):
    used = []
    real = read_xlsx._read
    monkeypatch.setattr(read_xlsx, "_read", lambda path, engine, *a, **k: used.append(engine) or real(path, engine, *a, **k))
    assert read_xlsx.default_engine() == cons.default_engine() == "calamine"
    runner = CliRunner()
    for cmd in (["validate", str(base)], ["forecast", str(base)], ["review", str(base), "-o", str(tmp_path / "r.xlsx")],
                ["consolidate", str(base), "-o", str(tmp_path / "t.xlsx"), "--workers", "0"]):
        used.clear()
        r = runner.invoke(app, cmd + ["--as-of", AS_OF.isoformat()])
        assert r.exit_code in (0, 1), r.output
        assert used == ["calamine"], cmd
        used.clear()
        runner.invoke(app, cmd + ["--as-of", AS_OF.isoformat(), "--engine", "openpyxl"])
        assert used == ["openpyxl"], cmd


# ------------------------------------------------------------------------------------ folders
def inbox(root: Path, base: Path) -> Path:
    d = root / "inbox"
    d.mkdir()
    (d / "claire.xlsx").write_bytes(base.read_bytes())
    (d / "old97.xls").write_bytes(cfb_bytes({"Workbook": biff_workbook_stream()}))
    (d / "old95.xls").write_bytes(cfb_bytes({"Book": biff_workbook_stream(biff8=False)}))
    for v in (2, 3, 4):
        (d / f"excel{v}.xls").write_bytes(biff_bare_stream(v))
    (d / "binary.xlsb").write_bytes(zip_bytes(opc_package(
        "xl/workbook.bin", "application/vnd.ms-excel.sheet.binary.macroEnabled.main", b"\x83\x01\x00")))
    (d / "calc.ods").write_bytes(zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                                            ("content.xml", b"<office:document-content/>")],
                                           overrides={"mimetype": zipfile.ZIP_STORED}))
    (d / "export.csv").write_bytes(b"Ref,Rep,Company,Amount\nP1,Claire,Alpha,1200\n")
    (d / "~$claire.xlsx").write_bytes(b"\x0cClaire Martin" + b"\0" * 40)
    (d / ".~lock.claire.xlsx#").write_text("Claire,host,claire,05.12.2026 09:00,file:///home/claire;")
    (d / ".DS_Store").write_bytes(b"\0\0\0\1Bud1" + b"\0" * 30)
    (d / "Thumbs.db").write_bytes(cfb_bytes({"Catalog": b"\0" * 64}))
    (d / "desktop.ini").write_text("[.ShellClassInfo]\r\n")
    (d / "archive").mkdir()
    (d / "archive" / "claire_old.xlsx").write_bytes(base.read_bytes())
    return d


def test_validate_reads_the_files_as_consolidate_reads_them(base, tmp_path, monkeypatch):
    """`salesxl validate` expands its inputs and reads the files as the other commands do
    (`consolidate.input_paths`, `read_files`): reader processes for several files, this process for one
    (no process to start); each file gets the status and issues `salesxl consolidate` gives it."""
    import json
    calls = []
    real = cons.read_files
    monkeypatch.setattr(cons, "read_files", lambda paths, opts: calls.append((list(paths), opts.workers))
                        or real(paths, opts))
    d = inbox(tmp_path, base)
    runner = CliRunner()
    r = runner.invoke(app, ["validate", str(d), "--json", "--as-of", AS_OF.isoformat()])
    assert r.exit_code == 1, r.output
    files = json.loads(r.stdout)["files"]
    assert len(calls) == 1 and calls[0][1] is None and len(calls[0][0]) == len(files) > 1     # reader processes
    batch = cons.consolidate([d], tmp_path / "team.xlsx", as_of=AS_OF, workers=0, history=False, simulations=200)
    assert [(f["path"], f["status"], [i["code"] for i in f["issues"]]) for f in files] == \
        [(f.path, f.status, [i.code for i in f.issues]) for f in batch.files]
    calls.clear()
    r = runner.invoke(app, ["validate", str(base), "--as-of", AS_OF.isoformat()])
    assert calls == [([str(base)], 0)]                                                    # this process
    assert r.stdout.splitlines()[-2:] == [f"{base}: ok", "0 erreur, 0 avertissement dans 1 fichier"]   # French


def test_every_file_of_a_folder_gets_a_status(base, tmp_path):
    d = inbox(tmp_path, base)
    r = cons.consolidate([d], tmp_path / "team.xlsx", as_of=AS_OF, workers=0, history=False, simulations=200)
    got = {Path(f.path).name: (f.status, [i.code for i in f.issues if i.code in cons.FILE_LEVEL_CODES])
           for f in r.files}
    assert got == {"binary.xlsb": ("unreadable", ["NOT_XLSX"]), "calc.ods": ("unreadable", ["NOT_XLSX"]),
                   "claire.xlsx": ("ok", []), "excel2.xls": ("unreadable", ["LEGACY_XLS"]),
                   "excel3.xls": ("unreadable", ["LEGACY_XLS"]), "excel4.xls": ("unreadable", ["LEGACY_XLS"]),
                   "export.csv": ("unreadable", ["NOT_XLSX"]), "old95.xls": ("unreadable", ["LEGACY_XLS"]),
                   "old97.xls": ("unreadable", ["LEGACY_XLS"])}
    for f in r.files:
        if f.status == "unreadable":          # each says to save it as .xlsx
            assert ".xlsx" in f.issues[0].message, f.issues[0].message
    biff = {Path(f.path).name: f.issues[0].message for f in r.files if "excel" in f.path}
    assert "BIFF2" in biff["excel2.xls"] and "BIFF3" in biff["excel3.xls"] and "BIFF4" in biff["excel4.xls"]
    notes = sorted((i.code, Path(i.file).name) for i in r.notes)
    assert notes == [("LOCK_FILE_SKIPPED", ".~lock.claire.xlsx#"), ("LOCK_FILE_SKIPPED", "~$claire.xlsx"),
                     ("SUBFOLDER_SKIPPED", "archive")]
    # read one level deeper when asked
    r = cons.consolidate([d], tmp_path / "team2.xlsx", as_of=AS_OF, workers=0, history=False, simulations=200,
                         recursive=True)
    assert "claire_old.xlsx" in {Path(f.path).name for f in r.files}
    assert "SUBFOLDER_SKIPPED" not in {i.code for i in r.notes}


def test_a_link_back_up_the_tree_is_read_once(base, tmp_path):
    from salesxl.io.inputs import expand_inputs
    d = inbox(tmp_path, base)
    (d / "archive" / "loop").symlink_to(d, target_is_directory=True)
    paths, _ = expand_inputs([d], recursive=True)
    assert len(paths) == len({p.resolve() for p in paths})
    assert sum(p.name == "claire_old.xlsx" for p in paths) == 1


@pytest.mark.parametrize("name, data, what", [
    ("p.slk", b"ID;PWXL;N;E\r\nC;Y1;X1;K\"Ref\"\r\nE\r\n", "SYLK"),
    ("p.dif", b'TABLE\r\n0,1\r\n"EXCEL"\r\nVECTORS\r\n0,2\r\n""\r\n', "DIF"),
    ("p.wk1", b"\x00\x00\x02\x00\x06\x04\x06\x00\x08\x00" + b"\x00" * 30, "Lotus 1-2-3"),
    ("p.wb2", b"\x00\x00\x02\x00\x02\x10\xc9\x00\x02\x00" + b"\x00" * 30, "Quattro Pro"),
    ("p.dbf", b"\x03\x7a\x0b\x05" + b"\x02\x00\x00\x00" + b"\x41\x00" + b"\x0b\x00" + b"\x00" * 20
     + b"REF" + b"\x00" * 8 + b"C" + b"\x00" * 20 + b"\x0d", "dBase"),
    ("p.numbers", zip_bytes([("Index/Document.iwa", b"\x00" * 16), ("Metadata/Properties.plist", b"x")]), "Numbers"),
    ("p.qpw", cfb_bytes({"NativeContent_MAIN": b"\x00" * 64}), "Quattro Pro"),
])
def test_other_spreadsheet_kinds_are_named_with_a_hint(tmp_path, name, data, what):
    from salesxl.io.guard import inspect_file
    path = tmp_path / name
    path.write_bytes(data)
    code, detail = inspect_file(path)
    assert code == "NOT_XLSX" and what in detail and ".xlsx" in detail, detail


def test_a_workbook_part_outside_xl_is_found(base, tmp_path):
    """The package names its workbook part in _rels/.rels: it need not be xl/workbook.xml."""
    ms = members(base)
    moved = []
    for n, d in ms:
        if n.startswith("xl/"):
            n = "book/" + n[3:]
        if n == "[Content_Types].xml" or n.endswith(".rels"):
            d = d.replace(b"/xl/", b"/book/").replace(b'Target="xl/', b'Target="book/')
        moved.append((n, d))
    path = tmp_path / "moved.xlsx"
    path.write_bytes(zip_bytes(moved))
    expected = validate_file(base, engine="openpyxl", as_of=AS_OF)
    for engine in ("calamine", "openpyxl"):
        v = validate_file(path, engine=engine, as_of=AS_OF)
        assert sorted(v.tables) == sorted(expected.tables)
        assert all(v.tables[k] == t for k, t in expected.tables.items())
