"""`salesxl new-period TEAM.xlsx` (the New period button, headless) and `salesxl template --team`:
the rollover rules of salesxl.rollover, rows appended to the team workbook file, the reps' workbooks
in the outbox, never a rep's file written over."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from salesxl import contract, schemas
from salesxl.cli import app
from salesxl.io.read_xlsx import validate_file
from salesxl.io.template import write_template
from salesxl.rollover import NextPeriod, new_rows, next_period, plan_rollover, rep_workbook_name, replace_rep_rows
from salesxl.tables import TableData

D = dt.date
AS_OF = D(2026, 11, 20)
runner = CliRunner()
REPS = [("Ann Lee", "junior", D(2026, 11, 16), D(2026, 11, 22), 5000.0),
        ("Bob Roy", "confirmed", D(2026, 11, 1), D(2026, 11, 30), 60000.0),
        ("Cid Dupont", "senior", D(2026, 10, 1), D(2026, 12, 31), 400000.0)]
ACTIONS = [a.en for a in contract.ACTIONS.items]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def team_rows() -> dict:
    rows = {"reps": [], "objectives": [], "planning": [], "pipeline": []}
    for name, seniority, s, e, objective in REPS:
        rows["reps"].append({"rep": name, "seniority": seniority, "manager": "Nadia Roche"})
        rows["objectives"].append({"rep": name, "period_start": s, "period_end": e, "revenue_objective": objective,
                                   "deals_objective": 5})
        rows["planning"] += [{"rep": name, "period_start": s, "period_end": e, "action": a, "planned": 10 + j}
                             for j, a in enumerate(ACTIONS)]
        rows["pipeline"] += [
            {"ref": f"{name[:3]}-1", "rep": name, "company": "Alpha", "amount": 1000.0, "probability": 0.5,
             "decision_date": e, "status": "Open"},
            {"ref": f"{name[:3]}-2", "rep": name, "company": "Beta", "amount": 2000.0, "probability": 1.0,
             "decision_date": s, "status": "Won"}]
    return rows


@pytest.fixture
def team(tmp_path) -> Path:
    return write_template(tmp_path / "team.xlsx", "en", rows=team_rows(),
                          settings={"as_of": AS_OF, "inbox": "inbox", "outbox": "outbox"},
                          blank_rows={"objectives": 1, "planning": 5})


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------ core rules
def test_rollover_rules_in_the_core(team):
    v = validate_file(team)
    plan = plan_rollover(v.tables, AS_OF, "fr")
    assert [(r.rep, r.period_start, r.period_end) for r in plan.reps] == [
        ("Ann Lee", D(2026, 11, 23), D(2026, 11, 29)),            # junior: a week
        ("Bob Roy", D(2026, 12, 1), D(2026, 12, 31)),             # confirmed: a month
        ("Cid Dupont", D(2027, 1, 1), D(2027, 3, 31))]            # senior: a quarter
    ann = plan.reps[0]
    assert ann.objectives == [{"rep": "Ann Lee", "period_start": D(2026, 11, 23), "period_end": D(2026, 11, 29),
                               "revenue_objective": 5000.0, "deals_objective": 5}]
    assert [(p["action"], p["planned"]) for p in ann.planning] == [
        ("Appel", 10), ("Visite", 11), ("Négociation", 12), ("Proposition", 13), ("Relance", 14),
        ("Démonstration", 15)]                                    # labels in the language asked
    assert ann.rep_row == {"rep": "Ann Lee", "seniority": "junior", "manager": "Nadia Roche"}
    assert [p["ref"] for p in ann.open_proposals] == ["Ann-1"]     # open proposals only
    assert rep_workbook_name("A/B: C?", D(2026, 1, 5)) == "A-B- C- 2026-01-05.xlsx"
    assert next_period(None, None, AS_OF) is None


def test_next_period_names_the_current_and_the_next_period():
    planning = TableData("planning", {"rep": ["Ann", "Ann"], "period_start": [D(2026, 11, 9), D(2026, 11, 16)],
                                      "period_end": [D(2026, 11, 15), D(2026, 11, 22)]}, None)
    assert next_period(None, planning, AS_OF, "junior") == NextPeriod(D(2026, 11, 16), D(2026, 11, 22),
                                                                      D(2026, 11, 23), D(2026, 11, 29))
    # the rep's own Period length wins over the seniority's; past every period: the latest is the current
    assert next_period(None, planning, D(2026, 12, 5), "junior", "2w") == NextPeriod(
        D(2026, 11, 16), D(2026, 11, 22), D(2026, 11, 23), D(2026, 12, 6))


def test_merge_rules_in_the_core():
    current = [{"rep": "Ann", "ref": "1"}, {"rep": "Bob", "ref": "2"}, {"rep": " ann ", "ref": "3"}]
    assert replace_rep_rows(current, [{"rep": "ANN", "ref": "9"}]) == [{"rep": "Bob", "ref": "2"},
                                                                       {"rep": "ANN", "ref": "9"}]
    existing = [{"rep": "Ann", "period_start": dt.datetime(2026, 1, 1)}]
    imported = [{"rep": "ann", "period_start": D(2026, 1, 1)}, {"rep": "Bob", "period_start": D(2026, 1, 1)},
                {"rep": "bob", "period_start": D(2026, 1, 1)}]
    assert new_rows(existing, imported, ("rep", "period_start")) == [imported[1]]


def test_rows_without_a_rep_are_merged_never_dropped_nor_doubled():
    """A row a rep left without a rep is imported (the batch writes it too); it belongs to no rep, so an
    import replaces it only with the same row imported again: importing the same files twice adds
    nothing, and another file's row without a rep stays."""
    day = dt.datetime(2026, 11, 20)
    mine = [{"rep": "Ann", "ref": "1"}, {"company": "Nameless", "ref": "2", "date": day}]
    theirs = {"company": "Other", "ref": "7"}
    once = replace_rep_rows([{"rep": "Bob", "ref": "5"}, theirs], mine)
    assert once == [{"rep": "Bob", "ref": "5"}, theirs, *mine]
    # the same import again: the row without a rep read back from the book (a date, text as typed)
    again = replace_rep_rows(once[:-1] + [{"company": " nameless ", "ref": "2", "date": D(2026, 11, 20)}], mine)
    assert again == once
    twice = [*mine, dict(mine[1])]                                  # typed twice: both kept, once each
    assert replace_rep_rows(replace_rep_rows([], twice), twice) == twice
    # manager-owned rows missing part of their key are compared whole
    cols = ("rep", "period_start", "period_end", "action")
    nameless = {"period_start": D(2026, 11, 16), "period_end": D(2026, 11, 22), "action": "Call", "planned": 3}
    other = dict(nameless, planned=4)
    assert new_rows([], [nameless, other, dict(nameless)], cols) == [nameless, other]
    assert new_rows([nameless], [nameless, other], cols) == [other]


def test_table_rows_as_the_team_tables_take_them():
    """The one conversion of a typed table into rows (add-in's Consolidate, rollover): labels in the
    language asked (the workbook's Lists first), empty cells left out, what was typed kept where a value
    could not be read (`kept=False`: the interpreted values only), `mask` selects rows."""
    from salesxl.rollover import table_rows
    from salesxl.tables import TableData
    td = TableData("reporting", {"date": [D(2026, 11, 2), None], "rep": ["Ann", None], "action": ["Call", "Visit"],
                                 "company": [None, "Co"]}, [2, 3], kept={"date": {1: "31/02/2026"}})
    assert table_rows("reporting", td, "fr") == [
        {"date": D(2026, 11, 2), "rep": "Ann", "action": "Appel"},
        {"date": "31/02/2026", "action": "Visite", "company": "Co"}]
    assert table_rows("reporting", td, "en", kept=False, mask=[False, True]) == [{"action": "Visit", "company": "Co"}]
    renamed = dict(contract.LISTS, actions=contract.ListSpec(       # a Lists sheet relabelling Call in French
        "actions", "tblActions", "Actions", "Actions",
        tuple(contract.Item(it.en, "Téléphone" if it.en == "Call" else it.fr) for it in contract.ACTIONS.items)))
    assert table_rows("reporting", td, "fr", lists=renamed)[0]["action"] == "Téléphone"
    assert table_rows("reporting", None, "en") == []


# ------------------------------------------------------------------------------------ the command
def test_new_period_adds_rows_and_writes_rep_workbooks(team, tmp_path):
    before_notes = {ws.title: sum(1 for row in ws.iter_rows() for c in row if c.comment)
                    for ws in openpyxl.load_workbook(team).worksheets}
    r = run("new-period", team)
    assert r.exit_code == 0, r.output
    outbox = tmp_path / "outbox"
    assert r.stdout.splitlines() == [
        "Ann Lee: 2026-11-23..2026-11-29 (1 objective, 6 planning rows)",
        "Bob Roy: 2026-12-01..2026-12-31 (1 objective, 6 planning rows)",
        "Cid Dupont: 2027-01-01..2027-03-31 (1 objective, 6 planning rows)",
        f"wrote {team} (21 rows added)",
        f"wrote 3 rep workbooks in {outbox}"]
    v = validate_file(team)
    assert not [i for i in v.issues if i.severity == "error"]
    obj = v.tables["objectives"]
    assert len(obj) == 6 and obj["period_end"][-3:] == [D(2026, 11, 29), D(2026, 12, 31), D(2027, 3, 31)]
    plan = v.tables["planning"]
    assert len(plan) == 36 and plan["planned"][-6:] == [10, 11, 12, 13, 14, 15]
    wb = openpyxl.load_workbook(team)
    notes = {ws.title: sum(1 for row in ws.iter_rows() for c in row if c.comment) for ws in wb.worksheets}
    assert notes == before_notes                          # the template's cell notes kept
    ws = wb["Objectives"]
    (table,) = ws.tables.values()
    assert table.ref.endswith("7")                        # header + 6 rows: the table grew past its blank row
    assert str(ws["F7"].value).startswith("=") and "7" in ws["F7"].value   # the formula followed, on its row
    assert ws["B7"].number_format == ws["B2"].number_format
    files = sorted(p.name for p in outbox.iterdir())
    assert files == ["Ann Lee 2026-11-23.xlsx", "Bob Roy 2026-12-01.xlsx", "Cid Dupont 2027-01-01.xlsx"]
    rep = validate_file(outbox / files[0], as_of=D(2026, 11, 24))
    assert len(rep.tables["objectives"]) == 1 and len(rep.tables["planning"]) == 6
    assert rep.tables["pipeline"]["ref"] == ["Ann-1"]
    # again: everyone is planned, nothing changes, no file written over
    before = {p: sha(p) for p in [team, *outbox.iterdir()]}
    r = run("new-period", team, "--json")
    data = json.loads(r.stdout)
    assert r.exit_code == 0 and not list(schemas.validator("new-period").iter_errors(data))
    assert data["reps"] == [] and [s["reason"] for s in data["skipped"]] == ["already_planned"] * 3
    assert data["output"] is None and data["written"] == []
    assert {p: sha(p) for p in before} == before


def typed_formats(path: Path) -> dict:
    """Sheet -> (kind, what, column) -> [rows covered]: each data validation (its type, list and input
    message) and conditional format of the Objectives and Planning sheets, per column it covers."""
    from openpyxl.utils.cell import range_boundaries
    wb, out = openpyxl.load_workbook(path), {}
    for sheet in ("Objectives", "Planning"):
        ws, got = wb[sheet], {}
        items = [(("dv", dv.type, dv.formula1, dv.prompt), dv.sqref) for dv in ws.data_validations.dataValidation]
        items += [(("cf", tuple(tuple(r.formula) for r in rules)), cf.sqref)
                  for cf, rules in ws.conditional_formatting._cf_rules.items()]
        for what, sqref in items:
            for ref in str(sqref).split():
                c1, r1, c2, r2 = range_boundaries(ref)
                for c in range(c1, c2 + 1):
                    got.setdefault((*what, c), set()).update(range(r1, r2 + 1))
        out[sheet] = got
    return out


@pytest.mark.libreoffice
def test_new_period_extends_drop_downs_and_formats_to_the_new_rows(team, tmp_path, recalc):
    before = typed_formats(team)
    out = tmp_path / "next.xlsx"
    r = run("new-period", team, "-o", out)
    assert r.exit_code == 0, r.output
    after = typed_formats(out)
    wb = openpyxl.load_workbook(out)
    for sheet, rows_added in (("Objectives", 3), ("Planning", 18)):
        ws = wb[sheet]
        (table,) = ws.tables.values()
        end = ws.max_row
        assert table.ref.endswith(str(end)) and end > max(max(rows) for rows in before[sheet].values())
        headers = {c.column: c.value for c in ws[1]}
        assert {headers[k[-1]] for k in before[sheet] if k[0] == "dv"} >= {"Rep", "Period start", "Period end"}
        assert after[sheet].keys() == before[sheet].keys()          # the same validations and formats
        for what, rows in before[sheet].items():
            assert after[sheet][what] == rows | set(range(max(rows) + 1, end + 1)), (sheet, what, headers[what[-1]])
            assert all(ws.cell(r, what[-1]).value is not None or what[0] == "cf"
                       for r in range(end - rows_added + 1, end + 1))
    assert {k[1:3] for k in after["Planning"] if k[0] == "dv" and k[-1] == 4} == {("list", "lstActions")}
    assert any(k[0] == "cf" for k in after["Planning"])           # the Planning status colours too
    lo = recalc(out, tmp_path / "lo")                              # LibreOffice opens it, and keeps them
    assert not [i for i in validate_file(lo).issues if i.severity == "error"]
    kept = typed_formats(lo)
    for sheet in after:
        for (kind, *_, col), rows in after[sheet].items():
            if kind == "dv":
                covered = set().union(*(v for k, v in kept[sheet].items() if k[0] == "dv" and k[-1] == col))
                assert covered >= rows


def test_new_period_never_writes_over_a_rep_workbook(team, tmp_path):
    outbox = tmp_path / "elsewhere"
    outbox.mkdir()
    theirs = outbox / "Bob Roy 2026-12-01.xlsx"
    shutil.copy(team, theirs)                             # a workbook Bob already has
    before = sha(theirs)
    out = tmp_path / "next.xlsx"
    r = run("new-period", team, "--outbox", outbox, "-o", out, "--json")
    data = json.loads(r.stdout)
    assert r.exit_code == 0 and not list(schemas.validator("new-period").iter_errors(data))
    assert data["existing"] == [str(theirs)] and sha(theirs) == before
    assert sorted(Path(p).name for p in data["written"]) == ["Ann Lee 2026-11-23.xlsx", "Cid Dupont 2027-01-01.xlsx"]
    assert data["output"] == str(out) and out.exists()
    assert len(validate_file(team).tables["objectives"]) == 3         # -o: the team workbook itself untouched


@pytest.mark.parametrize("case", ["missing", "outbox_is_inbox", "cells_without_reference"])
def test_new_period_refusals(team, tmp_path, case):
    if case == "missing":
        args, line = [tmp_path / "nope.xlsx"], (f"error: {tmp_path / 'nope.xlsx'} is not a file: give the team "
                                                 f"workbook (salesxl template --team makes one) (see: salesxl new-period -h)")
    elif case == "cells_without_reference":            # valid OOXML (cells in order), a layout not patched
        import re
        import zipfile
        with zipfile.ZipFile(team) as z:
            parts = {i: z.read(i) for i in z.infolist()}
        with zipfile.ZipFile(team, "w", zipfile.ZIP_DEFLATED) as z:         # Planning and Objectives
            for info, data in parts.items():
                typed = info.filename.startswith("xl/worksheets/sheet") and b">Period start<" in data
                z.writestr(info, re.sub(rb'<c r="[A-Z]+[0-9]+"', b"<c", data) if typed else data)
        assert validate_file(team).tables["objectives"]["rep"] == ["Ann Lee", "Bob Roy", "Cid Dupont"]
        args, line = [team], (f"error: {team} cannot take the new rows (a cell without its reference): use the New "
                              f"period button in Excel (see: salesxl new-period -h)")
    else:
        args, line = [team, "--outbox", tmp_path / "inbox"], (
            f"error: the outbox {tmp_path / 'inbox'} is the inbox, where reps' workbooks arrive: choose another "
            f"--outbox (see: salesxl new-period -h)")
    before = sha(team) if team.exists() else None
    r = run("new-period", *args)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [line]
    assert sha(team) == before and not (tmp_path / "outbox").exists()


def test_folder_rules_in_the_core(tmp_path):
    """Settings' Inbox/Outbox: a relative folder is in the team workbook's folder (asked only then), and
    the outbox is refused when it is the inbox however it is written."""
    from salesxl.folders import outbox_is_inbox, setting_folder

    def no_folder():
        raise LookupError("the workbook has no folder")

    assert setting_folder(" inbox ", lambda: tmp_path) == tmp_path / "inbox"
    assert setting_folder(str(tmp_path / "abs"), no_folder) == tmp_path / "abs"      # absolute: no folder asked
    assert setting_folder("~/x", no_folder) == Path.home() / "x"
    assert setting_folder(None, no_folder) is None and setting_folder("  ", no_folder) is None
    with pytest.raises(LookupError):
        setting_folder("inbox", no_folder)
    (tmp_path / "inbox").mkdir()
    assert outbox_is_inbox(tmp_path / "sub" / ".." / "inbox", tmp_path / "inbox")
    assert not outbox_is_inbox(tmp_path / "outbox", tmp_path / "inbox")
    assert not outbox_is_inbox(None, tmp_path / "inbox") and not outbox_is_inbox(tmp_path / "inbox", None)
    assert outbox_is_inbox(tmp_path / "INBOX", tmp_path / "inbox")     # the workbook goes to Windows and macOS


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_new_period_refuses_a_settings_outbox_that_is_the_inbox(tmp_path, lang):
    """The Outbox setting written otherwise than the Inbox (a relative path through another folder) is
    still the inbox: refused, nothing written."""
    team = write_template(tmp_path / "team.xlsx", "en", rows=team_rows(),
                          settings={"as_of": AS_OF, "inbox": str(tmp_path / "inbox"), "outbox": "sub/../inbox"})
    (tmp_path / "inbox").mkdir()
    before = sha(team)
    r = run("new-period", team, "--lang", lang)
    assert r.exit_code == 2 and r.stdout == ""
    assert str(tmp_path / "sub" / ".." / "inbox") in r.stderr
    assert ("is the inbox" if lang == "en" else "réception") in r.stderr
    assert sha(team) == before and list((tmp_path / "inbox").iterdir()) == []


@pytest.mark.libreoffice
def test_new_period_keeps_charts_byte_for_byte(team, tmp_path, recalc):
    """Rows are added by patching the package: a chart (its drawing, its part) comes through untouched."""
    import zipfile
    from openpyxl.chart import BarChart, Reference
    wb = openpyxl.load_workbook(team)
    chart = BarChart()
    chart.add_data(Reference(wb["Objectives"], min_col=4, min_row=1, max_row=4), titles_from_data=True)
    wb["Objectives"].add_chart(chart, "K2")
    wb.save(team)
    with zipfile.ZipFile(team) as z:
        before = {n: z.read(n) for n in z.namelist()}
    assert any(n.startswith("xl/charts/chart") for n in before)
    r = run("new-period", team, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["output"] == str(team)
    with zipfile.ZipFile(team) as z:
        after = {n: z.read(n) for n in z.namelist()}
    assert list(after) == list(before)                                    # no part lost or added
    changed = {n for n in before if after[n] != before[n]}
    sheets = {n for n in changed if n.startswith("xl/worksheets/sheet")}
    tables = {n for n in changed if n.startswith("xl/tables/")}
    assert len(sheets) == 2 and len(tables) == 2                          # Objectives and Planning, grown
    assert changed - sheets - tables <= {"xl/workbook.xml", "xl/styles.xml"}
    kept = [n for n in before if n.startswith(("xl/charts/", "xl/drawings/"))]
    assert any(n.startswith("xl/drawings/drawing") for n in kept)
    assert all(after[n] == before[n] for n in kept)                       # the chart and its drawing, byte for byte
    v = validate_file(team)
    assert not [i for i in v.issues if i.severity == "error"]
    assert len(v.tables["objectives"]) == 6 and len(v.tables["planning"]) == 36
    assert v.tables["objectives"]["period_start"][-3:] == [D(2026, 11, 23), D(2026, 12, 1), D(2027, 1, 1)]
    lo = openpyxl.load_workbook(recalc(team, tmp_path / "lo"))          # LibreOffice opens it, the chart there
    assert len(lo["Objectives"]._charts) == 1
    assert lo["Objectives"]["F7"].value is not None


def _share_formulas(team: Path) -> None:
    """Objectives' Won column as Excel saves a filled-down formula: one shared formula, F2 holding it."""
    import re
    import zipfile
    with zipfile.ZipFile(team) as z:
        parts = {i: z.read(i) for i in z.infolist()}
    with zipfile.ZipFile(team, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts.items():
            if info.filename.startswith("xl/worksheets/sheet") and b">Revenue objective<" in data:
                data = re.sub(rb'(<c r="F2"[^>]*>)<f>', rb'\1<f t="shared" ref="F2:F4" si="0">', data)
                data = re.sub(rb'(<c r="F[34]"[^>]*>)<f>[^<]*</f>', rb'\1<f t="shared" si="0"/>', data)
            z.writestr(info, data)


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", ["saved_by_libreoffice", "shared_formulas"])
def test_new_period_on_workbooks_saved_elsewhere(team, tmp_path, recalc, case):
    """A team workbook as LibreOffice saves it (shared strings, &quot; in formulas) or with Excel's shared
    formulas: the new rows get their formulas, on their row, and LibreOffice computes them."""
    if case == "saved_by_libreoffice":
        team = recalc(team, tmp_path / "lo_in")
    else:
        _share_formulas(team)
        assert openpyxl.load_workbook(team)["Objectives"]["F4"].value.startswith("=IF(OR(A4=")
    r = run("new-period", team, "--outbox", tmp_path / "box")
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(team)["Objectives"]
    for row in (5, 6, 7):
        assert ws[f"F{row}"].value == ws["F4"].value.replace("4", str(row)), row     # F4's formula on its row
    v = validate_file(team)
    assert not [i for i in v.issues if i.severity == "error"]
    assert len(v.tables["objectives"]) == 6 and len(v.tables["planning"]) == 36
    lo = openpyxl.load_workbook(recalc(team, tmp_path / "lo_out"), data_only=True)["Objectives"]
    assert [lo[f"F{row}"].value for row in (2, 5, 6, 7)] == [2000, 0, 0, 0]    # computed, no error


# ------------------------------------------------------------------------------------ template --team
@pytest.mark.parametrize("lang, folders", [("en", ("inbox", "outbox")), ("fr", ("reception", "envoi"))])
def test_template_team(tmp_path, lang, folders):
    out = tmp_path / "team.xlsx"
    r = run("template", "--team", "--lang", lang, "--reps", "Ann Lee, Bob Roy", "-o", out)
    assert r.exit_code == 0, r.output
    inbox, outbox = (tmp_path / f for f in folders)
    assert r.stdout == (f"wrote {out} (2 reps; inbox {inbox}, outbox {outbox})\n" if lang == "en" else
                        f"écrit : {out} (2 commerciaux ; dossier de réception {inbox}, dossier d'envoi {outbox})\n")
    assert inbox.is_dir() and outbox.is_dir()
    v = validate_file(out)
    assert v.tables["reps"]["rep"] == ["Ann Lee", "Bob Roy"]
    assert (v.settings["inbox"], v.settings["outbox"]) == folders
    assert not [i for i in v.issues if i.severity == "error"]


@pytest.mark.parametrize("args, line", [
    (["--reps", "Ann,,Bob"], "error: Invalid value for --reps: name 2 of 3 is empty (two commas in a row?) "
                             "(see: salesxl template -h)"),
    (["--reps", "Ann,ann "], "error: Invalid value for --reps: 'ann' is listed twice (as 'Ann') (see: salesxl template -h)"),
    (["--rep", "Ann"], "error: --team makes the team workbook: --rep, --seniority and the period are for a rep's "
                       "(see: salesxl template -h)"),
    (["--inbox", "x", "--outbox", "X"], "error: --inbox and --outbox must be two folders (reps' files arrive in the "
                                        "inbox) (see: salesxl template -h)"),
    # the same folder written two ways (salesxl.folders.outbox_is_inbox: the Settings' rule, not the texts)
    (["--inbox", "box", "--outbox", "sub/../box/"], "error: --inbox and --outbox must be two folders (reps' files "
                                                   "arrive in the inbox) (see: salesxl template -h)"),
])
def test_template_team_checks_its_arguments(tmp_path, args, line):
    r = run("template", "--team", "-o", tmp_path / "t.xlsx", *args)
    assert r.exit_code == 2 and r.stderr.splitlines() == [line]
    assert not (tmp_path / "t.xlsx").exists()
    r = run("template", "--reps", "Ann", "-o", tmp_path / "t.xlsx")
    assert r.exit_code == 2 and r.stderr.splitlines() == [
        "error: --reps, --inbox and --outbox go with --team (see: salesxl template -h)"]


def _totals_team(tmp_path: Path, blank: int) -> tuple[Path, int]:
    """A team workbook whose Planning table has a totals row, as Excel's Total Row makes one: a label,
    a custom SUBTOTAL over the column's rows (in the cell and the table), a structured SUBTOTAL, and a
    formula on the totals row itself. (The workbook, the totals row.)"""
    from openpyxl.worksheet.table import TableFormula
    team = write_template(tmp_path / "team.xlsx", "en", rows=team_rows(),
                          settings={"as_of": AS_OF, "inbox": "inbox", "outbox": "outbox"},
                          blank_rows={"objectives": 1, "planning": blank})
    wb = openpyxl.load_workbook(team)
    ws = wb["Planning"]
    (table,) = ws.tables.values()
    total = int(table.ref.split(":")[1][1:]) + 1
    ws[f"A{total}"] = "Total"
    ws[f"E{total}"] = f"=SUBTOTAL(109,E2:E{total - 1})"
    ws[f"F{total}"] = f"=SUBTOTAL(109,{table.displayName}[Done])"
    ws[f"G{total}"] = f'=IF(E{total}=0,"",F{total}/E{total})'
    table.ref = f"A1:G{total}"
    table.totalsRowCount = 1
    table.tableColumns[0].totalsRowLabel = "Total"
    table.tableColumns[4].totalsRowFunction = "custom"
    table.tableColumns[4].totalsRowFormula = TableFormula(attr_text=f"SUBTOTAL(109,E2:E{total - 1})")
    table.tableColumns[5].totalsRowFunction = "sum"
    wb.save(team)
    v = validate_file(team)
    assert len(v.tables["planning"]) == 18 and not v.issues         # the totals row is not data
    return team, total


@pytest.mark.libreoffice
@pytest.mark.parametrize("blank", [18, 20, 40])   # rows: filled, 2 spare, room for all
def test_new_period_above_a_totals_row(tmp_path, recalc, blank):
    """The new rows go inside the table, above its totals row, which moves down (its SUBTOTAL over the
    grown rows); the table, its filter and its drop-downs end where they should; LibreOffice computes it."""
    team, total = _totals_team(tmp_path, blank)
    r = run("new-period", team, "--outbox", tmp_path / "box")
    assert r.exit_code == 0, r.output
    moved = max(total, 18 + 18 + 2)             # 18 rows + 18 new + header: below them, or where it was
    ws = openpyxl.load_workbook(team)["Planning"]
    (table,) = ws.tables.values()
    assert (table.ref, table.autoFilter.ref, table.totalsRowCount) == (f"A1:G{moved}", f"A1:G{moved - 1}", 1)
    assert [c.value for c in ws[moved]] == ["Total", None, None, None, f"=SUBTOTAL(109,E2:E{moved - 1})",
                                            f"=SUBTOTAL(109,{table.displayName}[Done])",
                                            f'=IF(E{moved}=0,"",F{moved}/E{moved})']
    assert table.tableColumns[4].totalsRowFormula.attr_text == f"SUBTOTAL(109,E2:E{moved - 1})"
    assert [ws[f"E{row}"].value for row in range(32, 38)] == [10, 11, 12, 13, 14, 15]   # Cid's new rows
    assert all(ws[f"A{row}"].value is None for row in range(38, moved))
    for dv in ws.data_validations.dataValidation:               # the drop-downs reach the last data row
        assert max(rg.max_row for rg in dv.sqref.ranges) == moved - 1, dv.sqref
    v = validate_file(team)
    assert not v.issues
    plan = v.tables["planning"]
    assert len(plan) == 36 and plan.rows[-1] == 37 and plan["planned"][-6:] == [10, 11, 12, 13, 14, 15]
    lo = openpyxl.load_workbook(recalc(team, tmp_path / "lo"), data_only=True)["Planning"]
    (table,) = lo.tables.values()
    assert table.ref == f"A1:G{moved}"
    assert [lo[f"{c}{moved}"].value for c in "AEFG"] == ["Total", sum(plan["planned"]), 0, 0]


@pytest.mark.parametrize("where", ["below", "in_the_way", "summary", "chart", "name", "format", "own_format",
                                   "validation", "link", "location_link"])
def test_new_period_refuses_to_move_a_totals_row_onto_cells(tmp_path, where):
    """Something typed below the totals row (read as the table's, or where the new rows would go), or a
    formula elsewhere using the total by its address: the totals row is not moved, one line says why,
    nothing is written."""
    team, total = _totals_team(tmp_path, 18)
    wb = openpyxl.load_workbook(team)
    if where == "summary":
        wb.create_sheet("Summary")["A1"] = f"=Planning!E{total}*2"
    elif where == "chart":
        from openpyxl.chart import BarChart, Reference
        chart = BarChart()
        chart.add_data(Reference(wb["Planning"], min_col=5, min_row=total, max_col=6), titles_from_data=False)
        wb["Objectives"].add_chart(chart, "K2")
    elif where == "name":
        from openpyxl.workbook.defined_name import DefinedName
        wb.defined_names["teamTotal"] = DefinedName("teamTotal", attr_text=f"Planning!$E${total}")
    elif where in ("format", "own_format"):
        from openpyxl.formatting.rule import FormulaRule
        from openpyxl.styles import PatternFill
        ws = wb["Planning" if where == "own_format" else wb.create_sheet("Summary").title]
        ws.conditional_formatting.add("E2:E10", FormulaRule(formula=[f"Planning!$E2>Planning!$E${total}/10"],
                                                            fill=PatternFill("solid", bgColor="FFC7CE")))
    elif where == "validation":
        from openpyxl.worksheet.datavalidation import DataValidation
        dv = DataValidation(type="whole", operator="lessThan", formula1=f"Planning!$E${total}")
        dv.add("B2")
        wb.create_sheet("Summary").add_data_validation(dv)
    elif where == "link":                   # kept as a relationship "#Planning!E19"
        wb.create_sheet("Summary")["A1"].hyperlink = f"#Planning!E{total}"
    elif where == "location_link":          # kept in the link's location attribute, as Excel does
        from openpyxl.worksheet.hyperlink import Hyperlink
        wb.create_sheet("Summary")["A1"].hyperlink = Hyperlink(ref="A1", location=f"'Planning'!E{total}")
    else:
        wb["Planning"][f"B{total + (1 if where == 'below' else 10)}"] = "keep me"
    wb.save(team)
    before = sha(team)
    r = run("new-period", team)
    why = {"below": "rows typed below the totals row of table tblPlanning",
           "in_the_way": "cells below the totals row of table tblPlanning, where the new rows go",
           "summary": "Summary!A1 refers to the totals row of table tblPlanning by its address",
           "chart": "a chart refers to the totals row of table tblPlanning by its address",
           "name": "teamTotal refers to the totals row of table tblPlanning by its address",
           "format": "a conditional format on Summary refers to the totals row of table tblPlanning by its address",
           "own_format": "a conditional format on Planning refers to the totals row of table tblPlanning by its "
                         "address",
           "validation": "a data validation on Summary refers to the totals row of table tblPlanning by its address",
           "link": "the link in Summary!A1 refers to the totals row of table tblPlanning by its address",
           "location_link": "the link in Summary!A1 refers to the totals row of table tblPlanning by its address"}[where]
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [f"error: {team} cannot take the new rows ({why}): use the New period button "
                                     f"in Excel (see: salesxl new-period -h)"]
    assert sha(team) == before and not (tmp_path / "outbox").exists()
    r = run("new-period", team, "--lang", "fr")                     # the reason too, in French
    (line,) = r.stderr.splitlines()
    assert r.exit_code == 2 and line.startswith(f"erreur : {team} ne peut pas recevoir les nouvelles lignes (")
    assert ("sous la ligne de total du tableau tblPlanning" if where in ("below", "in_the_way") else
            "utilise la ligne de total du tableau tblPlanning par son adresse") in line, line
    assert sha(team) == before


@pytest.mark.libreoffice
def test_new_period_on_a_macro_enabled_team_workbook(team, tmp_path, recalc):
    """A team workbook saved as .xlsm (the manager's own macros in it): the new rows go in, the file
    stays an .xlsm, its VBA project comes through byte for byte and oletools still reads its macros."""
    import zipfile
    from oletools.olevba import VBA_Parser
    from salesxl.addin_build import build_addin

    with zipfile.ZipFile(build_addin(tmp_path / "addin")) as z:
        vba = z.read("xl/vbaProject.bin")
    xlsm = tmp_path / "team.xlsm"
    with zipfile.ZipFile(team) as src, zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
                data = data.replace(b"</Types>", b'<Override PartName="/xl/vbaProject.bin" '
                                    b'ContentType="application/vnd.ms-office.vbaProject"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.'
                                    b'com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
                                    b"</Relationships>")
            dst.writestr(info, data)
        dst.writestr("xl/vbaProject.bin", vba)
    with zipfile.ZipFile(xlsm) as z:
        types_before = z.read("[Content_Types].xml")
    r = run("new-period", xlsm, "--outbox", tmp_path / "box")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".xlsx", ".xlsm")) == ["team.xlsm", "team.xlsx"]
    with zipfile.ZipFile(xlsm) as z:
        assert z.read("xl/vbaProject.bin") == vba
        assert z.read("[Content_Types].xml") == types_before
    parser = VBA_Parser(str(xlsm))
    try:
        assert parser.detect_vba_macros()
        assert any("Sub " in code for *_, code in parser.extract_macros())
    finally:
        parser.close()
    v = validate_file(xlsm)
    assert not [i for i in v.issues if i.severity == "error"]
    assert len(v.tables["objectives"]) == 6 and len(v.tables["planning"]) == 36
    written = [p.name for p in (tmp_path / "box").iterdir()]
    assert len(written) == 3 and all(n.endswith(".xlsx") for n in written)        # rep workbooks: plain .xlsx
    lo = openpyxl.load_workbook(recalc(xlsm, tmp_path / "lo"))
    assert lo["Objectives"].max_row >= 7


def test_new_period_exit_1_line_follows_lang(team, tmp_path):
    """The line that closes a run with errors is in the run's language (--lang), as its other lines,
    not in the workbook's."""
    wb = openpyxl.load_workbook(team)
    ws = wb["Pipeline"]
    ws.cell(row=2, column=6).value = "not an amount"      # Amount: BAD_NUMBER, an error
    wb.save(team)
    for lang, start in (("fr", "code 1 : 1 erreur dans 1 sur 1 fichier"), ("en", "exit 1: 1 error in 1 of 1 file")):
        r = run("new-period", team, "--outbox", tmp_path / f"box_{lang}", "--lang", lang)
        assert r.exit_code == 1, r.output
        assert r.stderr.splitlines()[-1] == start, r.stderr
