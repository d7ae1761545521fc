"""`salesxl validate --annotate OUTDIR` (issue 14 item 5): a copy of each rep workbook with every issue
marked as the add-in's Validate marks it (fill and note per cell, an Issues sheet), the original never
written, every table, validation, conditional format and formula of the original kept (parts compared),
and the copy opened by LibreOffice."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from conftest import make_workbook
from salesxl import contract, i18n
from salesxl.cli import app
from salesxl.io.annotate import ERROR_RGB, WARNING_RGB, annotate_validated
from salesxl.io.read_xlsx import validate_file
from salesxl.issues import ERROR
from salesxl.layout import ISSUE_COLUMNS, ISSUE_MESSAGE_COL, issues_in_order

D = dt.date
AS_OF = D(2026, 12, 15)



def annotate_files(paths, outdir, *, lang=None, as_of=None):
    """What a script does with the library: validate the files here, then annotate what was validated."""
    from salesxl.io.read_xlsx import validate_file
    return annotate_validated([validate_file(p, lang=lang, as_of=as_of) for p in paths], outdir)

def _bad_rows(wb):
    """A rep workbook with errors and warnings in several sheets, some on empty cells, one a row issue."""
    lang = "fr" if "Carnet commercial" in wb.sheetnames else "en"
    wb[contract.PLANNING.sheet(lang)]["E3"] = "abc"                    # BAD_NUMBER
    ws = wb["Reporting"]
    for r in (2, 3):                                                   # DUPLICATE_ROW (row issue)
        for col, v in zip("ABCDEFG", (dt.datetime(2026, 12, 2), "Ann", "Acme", None, None,
                                      contract.ACTIONS.items[1].label(lang), "Bogus")):   # UNKNOWN_VALUE
            ws[f"{col}{r}"] = v
    ws["C10"] = "lonely"                                               # MISSING_VALUE on empty cells
    pipe = wb[contract.PIPELINE.sheet(lang)]
    for col, v in zip("ABCFGJK", ("P1", "Ann", "Client", 1000, 0.5, dt.datetime(2026, 12, 1),
                                  contract.STATUSES.items[0].label(lang))):             # OVERDUE_PROPOSAL
        pipe[f"{col}2"] = v


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


_KEPT_ELEMENTS = ("dataValidations", "conditionalFormatting", "tableParts", "mergeCells", "cols", "sheetViews",
                  "pageSetup", "printOptions", "pageMargins", "sheetPr", "extLst", "autoFilter", "hyperlinks")


def _elements(xml: str, tag: str) -> list[str]:
    return re.findall(rf"<(?:\w+:)?{tag}\b(?:[^>]*/>|.*?</(?:\w+:)?{tag}>)", xml, re.S)


def _cells(xml: str) -> dict[str, tuple[str, str]]:
    """Cell reference -> (attributes but the style, content) of every cell element."""
    out = {}
    for m in re.finditer(r"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", xml, re.S):
        attrs = m.group(1)
        ref = re.search(r'\br="([A-Z]+\d+)"', attrs).group(1)
        out[ref] = (re.sub(r'\s(s)="\d+"', "", attrs).strip(), m.group(2) or "")
    return out


def assert_copy_keeps_original(src: Path, copy: Path) -> set[str]:
    """Every part of the original is in the copy; the parts that differ are only those the annotation
    patches, and in them every table reference, validation, conditional format, formula and cell value
    is as it was. Returns the names of the patched parts."""
    a, b = _parts(src), _parts(copy)
    assert set(a) <= set(b), set(a) - set(b)
    changed = {n for n in a if a[n] != b[n]}
    allowed = re.compile(r"xl/worksheets/[^/]+\.xml|xl/worksheets/_rels/.*|xl/styles\.xml|xl/workbook\.xml|"
                         r"xl/_rels/workbook\.xml\.rels|\[Content_Types\]\.xml|xl/comments.*\.xml|"
                         r"xl/drawings/.*\.vml")
    assert all(allowed.fullmatch(n) for n in changed), changed
    for n in changed:
        old, new = a[n].decode(), b[n].decode()
        if n.startswith("xl/worksheets/") and n.endswith(".xml"):
            for tag in _KEPT_ELEMENTS:
                assert _elements(old, tag) == _elements(new, tag), (n, tag)
            assert re.findall(r"<(?:\w+:)?f\b.*?</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>", old, re.S) == \
                re.findall(r"<(?:\w+:)?f\b.*?</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>", new, re.S), n
            oc, nc = _cells(old), _cells(new)
            assert all(nc[ref] == v for ref, v in oc.items()), n       # every cell: same type, value, formula
            assert all(v == ("r=\"%s\"" % ref, "") for ref, v in nc.items() if ref not in oc), n   # new: empty
        elif n == "xl/workbook.xml":
            assert _elements(old, "definedNames") == _elements(new, "definedNames")
            assert _elements(old, "calcPr") == _elements(new, "calcPr")
            assert [s for s in _elements(new, "sheet") if s not in _elements(old, "sheet")] and \
                all(s in _elements(new, "sheet") for s in _elements(old, "sheet"))
        elif n == "xl/styles.xml":           # formats only appended: every existing index means the same
            for block, tag in (("cellXfs", "xf"), ("fills", "fill"), ("fonts", "font")):
                ob, nb = (_elements(_elements(x, block)[0], tag) for x in (old, new))
                assert nb[:len(ob)] == ob, block
            for block in ("numFmts", "borders", "cellStyleXfs", "cellStyles", "dxfs"):
                assert _elements(old, block) == _elements(new, block), block
        elif n.endswith(".rels") or n == "[Content_Types].xml":
            for el in re.findall(r"<(?:\w+:)?(?:Relationship|Override|Default)\b[^>]*>", old):
                assert el in new, (n, el)
        else:                                # notes: the originals kept, ours appended
            for el in _elements(old, "comment") + _elements(old, "v:shape"):
                assert el in new, (n, el[:80])
    return changed


@pytest.fixture(params=["en", "fr"])
def bad_book(request, tmp_path):
    lang = request.param
    src = make_workbook(_dir(tmp_path / "in"), lang, None, name=f"ann_{lang}.xlsx", rep="Ann",
                        period_start=D(2026, 12, 1), period_end=D(2026, 12, 31), edit=_bad_rows,
                        settings={"as_of": AS_OF})
    return lang, src


def test_annotated_copy_marks_every_issue_and_keeps_the_original(bad_book, tmp_path):
    lang, src = bad_book
    before, mtime = _sha(src), src.stat().st_mtime_ns
    [res] = annotate_files([str(src)], tmp_path / "out")
    assert _sha(src) == before and src.stat().st_mtime_ns == mtime          # the original never written
    copy = Path(res.output)
    assert copy.parent == tmp_path / "out" and copy.name == src.name
    changed = assert_copy_keeps_original(src, copy)
    assert any(n.startswith("xl/worksheets/") for n in changed)

    v = validate_file(src)
    codes = {i.code for i in v.issues}
    assert {"BAD_NUMBER", "DUPLICATE_ROW", "UNKNOWN_VALUE", "MISSING_VALUE", "OVERDUE_PROPOSAL"} <= codes
    # the copy reads exactly as the original: same rows, same issues
    w = validate_file(copy)
    key = lambda i: (i.code, i.sheet, i.row, i.column, i.message)     # noqa: E731
    assert [key(i) for i in w.issues] == [key(i) for i in v.issues]

    wb = openpyxl.load_workbook(copy)
    marked = 0
    for i in v.issues:
        if i.column is None or i.row is None:
            continue
        ws = wb[i.sheet]
        col = next(c for c in range(1, ws.max_column + 1) if ws.cell(row=1, column=c).value == i.column)
        cell = ws.cell(row=i.row, column=col)
        want = ERROR_RGB if any(j.severity == ERROR for j in v.issues
                                if (j.sheet, j.row, j.column) == (i.sheet, i.row, i.column)) else WARNING_RGB
        assert cell.fill.fgColor.rgb == want, (i.code, cell.coordinate)
        assert cell.comment is not None and i.message in cell.comment.text, (i.code, cell.coordinate)
        marked += 1
    assert marked >= 8
    # the duplicated row is coloured across the table, its note on the first cell
    dup = next(i for i in v.issues if i.code == "DUPLICATE_ROW")
    ws = wb["Reporting"]
    assert all(ws.cell(row=dup.row, column=c).fill.fgColor.rgb in (ERROR_RGB, WARNING_RGB) for c in range(1, 11))
    assert dup.message in ws.cell(row=dup.row, column=1).comment.text
    # number formats kept under the fill, header notes of the template kept
    assert ws["A10"].number_format == openpyxl.load_workbook(src)["Reporting"]["A10"].number_format
    assert ws["A1"].comment.text == i18n.pick(i18n.HEADER_NOTES["required"], lang)
    # the Issues sheet: one row per issue, as the add-in writes it
    issues_ws = wb[contract.SHEETS["issues"][lang]]
    rows = list(issues_ws.iter_rows(values_only=True))
    assert rows[0][:2] == (("Severity", "Code") if lang == "en" else ("Gravité", "Code"))
    assert [(r[1], r[3], r[4], r[5], r[7]) for r in rows[1:]] == [
        (i.code, i.sheet, i.row, i.column, i.message) for i in issues_in_order(v.issues)]   # errors first
    assert res.cells >= marked and res.notes >= 1 and res.issues == len(v.issues)


def test_plain_sheets_without_notes_get_a_comments_part(tmp_path):
    """A workbook whose tables were pasted into plain sheets (no ListObject, no notes, no styles of ours)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for t in (contract.PLANNING, contract.OBJECTIVES, contract.REPORTING, contract.PIPELINE):
        ws = wb.create_sheet(t.sheet("en"))
        ws.append([c.en for c in t.columns])
    wb["Reporting"].append([dt.datetime(2026, 12, 2), "Ann", "Acme", None, None, "Visit", "Nope"])
    wb["Reporting"]["C5"] = "alone"
    src = tmp_path / "plain.xlsx"
    wb.save(src)
    before = _sha(src)
    [res] = annotate_files([str(src)], tmp_path / "out", as_of=AS_OF)
    assert _sha(src) == before
    copy = Path(res.output)
    changed = assert_copy_keeps_original(src, copy)
    assert any(n.startswith("xl/comments/") for n in _parts(copy)) and "[Content_Types].xml" in changed
    ws = openpyxl.load_workbook(copy)["Reporting"]
    assert ws["G2"].fill.fgColor.rgb == ERROR_RGB and "Nope" in ws["G2"].comment.text
    assert ws["A5"].fill.fgColor.rgb == ERROR_RGB and ws["A5"].comment is not None    # a cell created
    assert [(i.code, i.row, i.column) for i in validate_file(copy).issues] == \
        [(i.code, i.row, i.column) for i in validate_file(src).issues]


@pytest.mark.libreoffice
def test_libreoffice_opens_the_copy_and_shows_the_marks(tmp_path, recalc, lo_export):
    src = make_workbook(_dir(tmp_path / "in"), "en", None, name="ann.xlsx", rep="Ann", period_start=D(2026, 12, 1),
                        period_end=D(2026, 12, 31), edit=_bad_rows, settings={"as_of": AS_OF})
    # a workbook LibreOffice saved (its own XML flavour: shared strings, its styles) is annotated as well
    lo_src = recalc(src, tmp_path / "lo_src")
    for n, source in enumerate((src, lo_src)):
        [res] = annotate_files([str(source)], tmp_path / f"out{n}")
        assert_copy_keeps_original(source, Path(res.output))
        out = recalc(res.output, tmp_path / f"lo{n}")               # opened and saved by LibreOffice
        wb = openpyxl.load_workbook(out)
        assert "Issues" in wb.sheetnames
        assert wb["Reporting"]["G2"].comment is not None and "Bogus" in wb["Reporting"]["G2"].comment.text
        assert {t for ws in wb for t in ws.tables} >= {t.name for t in contract.TABLES.values()}
        html = lo_export(res.output, tmp_path / f"html{n}", "html").read_text(encoding="utf-8", errors="replace")
        reporting = html[html.index("<em>Reporting</em>"):html.index("<em>Pipeline</em>")]
        cells = re.findall(r"<td\b([^>]*)>((?:(?!</td>).)*)</td>", reporting, re.S)
        bogus = [attrs for attrs, body in cells if ">Bogus</font>" in body]
        assert len(bogus) == 2 and all('bgcolor="#FFC7CE"' in a for a in bogus)          # the errors shown red
        assert all("<comment>" in body for _, body in cells if ">Bogus</font>" in body)   # with their notes
        assert 'bgcolor="#FFEB9C"' in reporting                                    # the duplicated row amber
        assert validate_file(res.output).errors == validate_file(source).errors


def test_cli_annotate(tmp_path):
    src = make_workbook(_dir(tmp_path / "in"), "en", None, name="ann.xlsx", rep="Ann", period_start=D(2026, 12, 1),
                        period_end=D(2026, 12, 31), edit=_bad_rows, settings={"as_of": AS_OF})
    junk = tmp_path / "in" / "broken.xlsx"
    junk.write_bytes(b"not a zip")
    before = _sha(src)
    r = CliRunner().invoke(app, ["validate", str(tmp_path / "in"), "--annotate", str(tmp_path / "out"), "--json"])
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    [a] = data["annotated"]                       # the broken file gets its issue, no copy; the run goes on
    assert a["path"] == str(src) and Path(a["output"]).exists() and a["cells"] > 0
    assert _sha(src) == before and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ann.xlsx"]
    # the copies never go beside the originals
    r = CliRunner().invoke(app, ["validate", str(src), "--annotate", str(tmp_path / "in")])
    assert r.exit_code == 2 and "--annotate" in r.output
    assert _sha(src) == before


def _count_reads(monkeypatch) -> list[str]:
    """The files read by read_workbook in this process (the reader processes are not this one)."""
    import salesxl.io.read_xlsx as rx
    calls: list[str] = []
    read = rx.read_workbook
    monkeypatch.setattr(rx, "read_workbook", lambda path, **kw: calls.append(str(path)) or read(path, **kw))
    return calls


def test_cli_annotate_copies_what_the_readers_read(tmp_path, monkeypatch):
    """`validate --annotate` marks the issues the reader processes found: no file is read a second time in
    this process, and the copies are those `annotate_files` makes reading the files itself."""
    srcs = [make_workbook(_dir(tmp_path / "in"), lang, None, name=f"ann_{lang}.xlsx", rep="Ann",
                          period_start=D(2026, 12, 1), period_end=D(2026, 12, 31), edit=_bad_rows,
                          settings={"as_of": AS_OF}) for lang in ("en", "fr")]
    calls = _count_reads(monkeypatch)
    r = CliRunner().invoke(app, ["validate", *map(str, srcs), "--annotate", str(tmp_path / "out"), "--json"])
    assert r.exit_code == 1, r.output
    assert calls == []                              # read by the reader processes only
    done = json.loads(r.stdout)["annotated"]
    assert [a["path"] for a in done] == [str(p) for p in srcs] and all(a["cells"] > 0 for a in done)
    for src, a in zip(srcs, annotate_files([str(p) for p in srcs], tmp_path / "again", lang="en")):
        assert _parts(tmp_path / "out" / src.name) == _parts(Path(a.output)), src.name
    assert len(calls) == 2                          # (annotate_files reads here, as a script would)


def test_cli_annotate_never_reads_again_a_file_the_readers_gave_up_on(tmp_path, monkeypatch):
    """A file whose reader process ran out of time (READ_TIMEOUT) gets no annotated copy, and is not read
    again in this process, where no time limit would stop a reader that hangs."""
    import salesxl.io.pool as pool_mod
    srcs = [make_workbook(_dir(tmp_path / "in"), "en", None, name=f"{n}.xlsx", rep=n, edit=_bad_rows,
                          settings={"as_of": AS_OF}) for n in ("Ann", "Bob")]
    monkeypatch.setattr(pool_mod, "DEFAULT_TIMEOUT", 0.0005)
    calls = _count_reads(monkeypatch)
    r = CliRunner().invoke(app, ["validate", *map(str, srcs), "--annotate", str(tmp_path / "out"), "--json"])
    data = json.loads(r.stdout)
    assert [i["code"] for f in data["files"] for i in f["issues"]] == ["READ_TIMEOUT", "READ_TIMEOUT"]
    assert r.exit_code == 2 and data["annotated"] == [] and calls == []
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_annotate_validated_takes_the_typed_results(bad_book, tmp_path):
    """The add-in or a script holding `Validated` results annotates them without a reader."""
    lang, src = bad_book
    v = validate_file(src)
    [res] = annotate_validated([v], tmp_path / "out")
    assert res.issues == len(v.issues) and res.cells > 0 and Path(res.output).name == src.name


def test_no_issue_no_mark(tmp_path):
    src = make_workbook(tmp_path, "fr", {"reps": [{"rep": "Ann"}]}, name="clean.xlsx")
    [res] = annotate_files([str(src)], tmp_path / "out")
    assert res.cells == 0 and res.issues == 0
    changed = assert_copy_keeps_original(src, Path(res.output))
    assert not any(n.startswith("xl/worksheets/sheet") and n in changed for n in _parts(src))
    rows = list(openpyxl.load_workbook(res.output)["Anomalies"].iter_rows(values_only=True))
    assert rows[1][ISSUE_MESSAGE_COL] == "Aucune anomalie." and len(rows[0]) == len(ISSUE_COLUMNS)


def _columns(ws) -> list[tuple]:
    """Each column of a sheet read back: header, width, and how its data cells are aligned."""
    widths = {j: d.width for d in ws.column_dimensions.values() if d.min for j in range(d.min, d.max + 1)}
    return [(ws.cell(row=1, column=j).value, widths.get(j),
             ws.cell(row=2, column=j).alignment.wrap_text, ws.cell(row=2, column=j).alignment.vertical)
            for j in range(1, ws.max_column + 1)]


def test_the_issues_sheet_has_the_file_writers_columns(bad_book, tmp_path):
    """The annotated copy's Issues sheet and the team workbook's (io/write_xlsx.py) are laid out by the
    same declaration (layout.ISSUE_COLUMNS): the same headers in the same order, Effect included, the
    same widths, wrapped columns and row heights, the same rows (the copy names the workbook by its file
    name)."""
    from salesxl.io.write_xlsx import write_team_workbook
    lang, src = bad_book
    [res] = annotate_files([str(src)], tmp_path / "out")
    v = validate_file(src)
    team = write_team_workbook(tmp_path / "team.xlsx", files=[], issues=v.issues, lang=lang)
    name = contract.SHEETS["issues"][lang]
    ours, theirs = openpyxl.load_workbook(res.output)[name], openpyxl.load_workbook(team)[name]
    assert _columns(ours) == _columns(theirs)
    assert [h for h, *_ in _columns(ours)] == [lab[lang] for _, lab, *_ in ISSUE_COLUMNS]
    assert [h for h, *_ in _columns(ours)][-1] == {"en": "Effect", "fr": "Effet"}[lang]
    assert ours.freeze_panes == theirs.freeze_panes == "A2"
    file_col = [k for k, *_ in ISSUE_COLUMNS].index("file")

    def row(r):          # (a date value: a date cell in the team workbook, its ISO text in the copy)
        vals = [v.date().isoformat() if isinstance(v, dt.datetime) else None if v == "" else v for v in r]
        vals[file_col] = Path(vals[file_col]).name if vals[file_col] else vals[file_col]
        return vals
    got = [row(r) for r in ours.iter_rows(values_only=True)]
    want = [row(r) for r in theirs.iter_rows(values_only=True)]
    assert got == want and len(got) == len(v.issues) + 1
    assert any(r[-1] for r in got[1:])                                          # Effects said
    heights = lambda ws: [ws.row_dimensions[r].height for r in range(1, ws.max_row + 1)]   # noqa: E731
    assert heights(ours) == heights(theirs) and any(h and h > 15 for h in heights(ours)[1:])


def test_annotating_a_copy_again_replaces_its_marks(tmp_path):
    """A copy sent back, one error corrected in it: the new copy's Issues sheet is rewritten (not doubled),
    the previous marks recorded in the hidden marks sheet are removed (the corrected cell loses its fill
    and note), the remaining ones are marked afresh, one note per cell."""
    from salesxl.io import live
    from salesxl.io.annotate import MARKS_SHEET
    assert MARKS_SHEET == live.MARKS_SHEET          # the add-in's Validate clears these marks too
    src = make_workbook(_dir(tmp_path / "in"), "en", None, name="ann.xlsx", rep="Ann", period_start=D(2026, 12, 1),
                        period_end=D(2026, 12, 31), edit=_bad_rows, settings={"as_of": AS_OF})
    [first] = annotate_files([str(src)], tmp_path / "once")
    wb = openpyxl.load_workbook(first.output)
    marks = wb[MARKS_SHEET]
    assert marks.sheet_state == "hidden"
    rows = list(marks.iter_rows(values_only=True))
    assert rows[0] == ("sheet", "kind", "address") and ("Reporting", "note", "G2") in rows
    assert ("Reporting", "fill", "J3") in rows                       # the duplicated row, across the table
    wb["Reporting"]["G2"] = "Order"                                  # the rep corrects one cell
    fixed = _dir(tmp_path / "back") / "ann.xlsx"
    wb.save(fixed)
    [second] = annotate_files([str(fixed)], tmp_path / "twice")
    out = openpyxl.load_workbook(second.output)
    assert out.sheetnames.count("Issues") == 1 and out.sheetnames.count(MARKS_SHEET) == 1
    ws = out["Reporting"]
    assert ws["G2"].comment is None and ws["G2"].fill.fgColor.rgb in (None, "00000000")
    assert ws["J3"].fill.fgColor.rgb in (None, "00000000")             # no more duplicated row
    assert ws["G3"].fill.fgColor.rgb == ERROR_RGB and ws["G3"].comment.text.count("Bogus") == 1
    assert ws["A1"].comment is not None                               # the template's header note stays
    assert second.notes_kept == 0
    assert [r[1] for r in out["Issues"].iter_rows(min_row=2, values_only=True)] == \
        [i.code for i in issues_in_order(validate_file(fixed).issues)]
    assert "DUPLICATE_ROW" not in {i.code for i in validate_file(fixed).issues}


def test_every_patch_refusal_is_declared_in_both_languages():
    """Why a package cannot be patched (AnnotateError) is said in EN and FR, with the same placeholders,
    and every reason raised in the io modules is declared."""
    import re
    import string
    from pathlib import Path

    from salesxl.i18n import PATCH_REFUSALS
    from salesxl.io.annotate import AnnotateError

    def fields(template):
        return sorted(f for _, f, _, _ in string.Formatter().parse(template) if f is not None)

    for key, texts in PATCH_REFUSALS.items():
        assert set(texts) == {"en", "fr"} and texts["en"].strip() and texts["fr"].strip(), key
        assert fields(texts["en"]) == fields(texts["fr"]), key
    io = Path(__file__).resolve().parents[1] / "salesxl" / "io"
    source = "\n".join(p.read_text(encoding="utf-8") for p in io.glob("*.py"))
    raised = set(re.findall(r'AnnotateError\(\s*"(\w+)"', source)) | set(re.findall(r'"(totals_used_by_\w+)"', source))
    assert raised == set(PATCH_REFUSALS)
    exc = AnnotateError("rows_below_totals", table="tblPlanning")
    assert str(exc) == "rows typed below the totals row of table tblPlanning"
    assert exc.say("fr") == "des lignes saisies sous la ligne de total du tableau tblPlanning"
