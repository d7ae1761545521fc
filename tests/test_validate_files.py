"""Validation of real .xlsx files written to disk and read back (SPEC §2, §3).

Every rule must fire at the right Excel row and with the header as found; clean rows raise nothing;
headers are matched in English or French whatever their case, accents form or surrounding spaces;
the source file is never modified.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata

import openpyxl
import pytest

from conftest import (HANDBOOK_AS_OF, HANDBOOK_REP, HANDBOOK_ROWS, make_handbook_workbook,
                      make_workbook)
from salesxl import contract
from salesxl.i18n import MESSAGES
from salesxl.io.read_xlsx import validate_file
from salesxl.io.template import build_template

D = dt.date
AS_OF = D(2003, 4, 30)
A, Z = D(2003, 4, 1), D(2003, 4, 30)
E, W = "error", "warning"


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def located(issues):
    return {(i.code, i.severity, i.sheet, i.row, i.column) for i in issues}


# ---------------------------------------------------------------------------------------------
# (a) the handbook's example, in French, validates clean
def test_handbook_example_validates_clean(tmp_path):
    path = make_handbook_workbook(tmp_path)
    v = validate_file(path, as_of=HANDBOOK_AS_OF)
    assert v.lang == "fr"
    assert v.issues == [], [i.message for i in v.issues]
    rep = v.tables["reporting"]
    assert rep.rows == [2, 3, 4]
    assert rep["date"] == [D(2003, 4, 4), D(2003, 4, 3), D(2003, 4, 3)]
    assert rep["company"] == ["Alpha", "Bêta", "Gamma"]
    assert rep["contact"] == ["Mr. X", "Mr. Y", "Mme. Z"]
    assert rep["job_title"] == ["Acheteur", "Directeur", "Ingénieur"]
    # coded values are read to their canonical key, whatever the language typed
    assert rep["action"] == ["Negotiation", "Visit", "Visit"]
    assert rep["result"] == ["Revise proposal", "No need", "Proposal"]
    assert set(rep["rep"]) == {HANDBOOK_REP}


def test_handbook_dates_stay_text_in_the_file(tmp_path):
    """The dates are typed as text, exactly as in the handbook: nothing converts them in the file."""
    path = make_handbook_workbook(tmp_path)
    ws = openpyxl.load_workbook(path)["Reporting"]
    assert [ws.cell(row=r, column=1).value for r in (2, 3, 4)] == [r[0] for r in HANDBOOK_ROWS]
    assert ws["A1"].value == "Date d'action" and ws["C1"].value == "Société"


def test_handbook_as_of_from_settings(tmp_path):
    """Without --as-of, the as-of date comes from the Settings sheet ('Date d'arrêté')."""
    v = validate_file(make_handbook_workbook(tmp_path))
    assert v.as_of == HANDBOOK_AS_OF
    assert v.issues == []


# ---------------------------------------------------------------------------------------------
# (b) one messy workbook: each rule fires at the right place
def _report(date, company="Alpha", action="Visit", result="Proposal", **kw):
    return dict(date=date, rep="Ann", company=company, action=action, result=result, **kw)


def _proposal(ref, **kw):
    row = dict(ref=ref, rep="Ann", company="Co " + ref, amount=1000, probability=0.5, status="Open",
               decision_date=D(2003, 5, 10))
    row.update(kw)
    return row


MESSY_ROWS = {
    "reps": [{"rep": "Ann"}, {"rep": "Bob"}],
    "objectives": [
        dict(rep="Ann", period_start=A, period_end=Z, revenue_objective=10000),            # 2 clean
        dict(rep="Ann", period_start=D(2003, 4, 15), period_end=D(2003, 5, 15),
             revenue_objective=5000),                                                      # 3 overlap
        dict(rep="Bob", period_start=A, period_end=Z),                                     # 4 missing
    ],
    "planning": [
        dict(rep="Ann", period_start=A, period_end=Z, action="Visit", planned=4),          # 2 clean
        dict(rep="Ann", period_start=A, period_end=Z, action="Call", planned=10),          # 3 clean
        dict(rep="Ann", period_start=A, period_end=Z, action="Call", planned=10),          # 4 duplicate
        dict(rep="Zed", period_start=A, period_end=Z, action="Visit", planned=3),          # 5 unknown rep
        dict(rep="Ann", period_start="31/02/2003", period_end=Z, action="Demo", planned=1),  # 6 bad date
    ],
    "reporting": [
        _report(D(2003, 4, 3), proposal_ref="P1"),                          # 2 clean
        _report(D(2003, 4, 3), proposal_ref="P1"),                          # 3 duplicate row
        _report("04/25/2003", company="Gamma"),                             # 4 month-first date
        _report(D(2003, 5, 5), company="Delta"),                            # 5 after as-of
        _report(D(2003, 3, 10), company="Epsilon"),                         # 6 outside every period
        _report(D(2003, 4, 7), company="Zeta", action="Dance"),             # 7 unknown action
        _report(D(2003, 4, 8), company="Eta", result="No need", reason="Weather"),  # 8 unlisted reason
        _report(D(2003, 4, 9), company=None),                               # 9 missing company
        _report(D(2003, 4, 10), company="Theta", proposal_ref="P999"),      # 10 ref not in pipeline
        _report(D(2003, 4, 11), company="Iota"),                            # 11 clean
        _report(D(2003, 4, 12), company="Kappa"),                           # 12 -> #N/A error cell
        _report(D(2003, 4, 13), company="Lambda", comment="merged"),        # 13 -> formula, merged J13:J14
        _report(D(2003, 4, 14), company="Mu"),                              # 14 (under the merge)
        _report("16/04/2003", company="Nu", action="Appel", result="Rendez-vous obtenu",
                proposal_ref="p2"),                                         # 15 clean (text date, FR labels)
    ],
    "pipeline": [
        _proposal("P1"),                                                    # 2 clean
        _proposal("P2", amount="1 234,56"),                                 # 3 number as text
        _proposal("P3", amount="abc"),                                      # 4 bad number
        _proposal("P4", amount=-500),                                       # 5 negative
        _proposal("P5", probability=150),                                   # 6 out of range
        _proposal("P6", probability="70 %"),                                # 7 percent as text
        _proposal("P7", probability=None, stage="Negotiation"),             # 8 defaulted from stage
        _proposal("P8", probability=0, status="Won"),                       # 9 won at 0 %
        _proposal("P9", probability=1, status="Lost", loss_reason="Price"),  # 10 lost at 100 %
        _proposal("P10", decision_date=D(2003, 4, 10)),                     # 11 overdue
        _proposal("P1", company="Dup"),                                     # 12 duplicate ref
        _proposal("P12", probability=None, decision_date=None),             # 13 open, missing prob + date
        _proposal("P13", probability=0.8, status="Won", decision_date=D(2003, 4, 20)),  # 14 clean
        _proposal("P14", probability=0, status="Lost", loss_reason="Autre"),  # 15 clean: lost at 0 %
    ],
}

MESSY_EXPECTED = {
    ("DUPLICATE_ROW", W, "Planning", 4, None),
    ("UNKNOWN_REP", E, "Planning", 5, "Rep"),
    ("BAD_DATE", E, "Planning", 6, "Period start"),
    ("PERIOD_OVERLAP", E, "Objectives", 3, "Period start"),
    ("MISSING_VALUE", E, "Objectives", 4, "Revenue objective"),
    ("DUPLICATE_ROW", W, "Reporting", 3, None),
    ("BAD_DATE", E, "Reporting", 4, "Date"),
    ("FUTURE_DATE", W, "Reporting", 5, "Date"),
    ("DATE_OUT_OF_PERIOD", W, "Reporting", 6, "Date"),
    ("UNKNOWN_VALUE", E, "Reporting", 7, "Action"),
    ("UNKNOWN_VALUE", W, "Reporting", 8, "Reason"),
    ("MISSING_VALUE", E, "Reporting", 9, "Company"),
    ("PROPOSAL_NOT_IN_PIPELINE", W, "Reporting", 10, "Proposal ref"),
    ("CELL_ERROR", E, "Reporting", 12, "Company"),
    ("MISSING_CACHED_VALUE", E, "Reporting", 13, "Company"),
    ("MERGED_CELL", W, "Reporting", 13, "Comment"),
    ("NUMBER_NORMALISED", W, "Pipeline", 3, "Amount"),
    ("BAD_NUMBER", E, "Pipeline", 4, "Amount"),
    ("NEGATIVE_AMOUNT", E, "Pipeline", 5, "Amount"),
    ("PROBABILITY_RANGE", E, "Pipeline", 6, "Probability"),
    ("PROBABILITY_NORMALISED", W, "Pipeline", 7, "Probability"),
    ("PROBABILITY_DEFAULTED", W, "Pipeline", 8, "Probability"),
    ("STATUS_PROBABILITY_MISMATCH", W, "Pipeline", 9, "Probability"),
    ("STATUS_PROBABILITY_MISMATCH", W, "Pipeline", 10, "Probability"),
    ("OVERDUE_PROPOSAL", W, "Pipeline", 11, "Decision date"),
    ("DUPLICATE_REF", E, "Pipeline", 12, "Ref"),
    ("MISSING_VALUE", E, "Pipeline", 13, "Probability"),
    ("MISSING_VALUE", E, "Pipeline", 13, "Decision date"),
}

CLEAN_ROWS = {"Objectives": {2}, "Planning": {2, 3}, "Reporting": {2, 11, 14, 15}, "Pipeline": {2, 14, 15}}


def _messy_edit(wb):
    ws = wb["Reporting"]
    cell = ws["C12"]                       # an error value, as Excel saves #N/A
    cell.value = "#N/A"
    cell.data_type = "e"
    ws["C13"] = '=UPPER("lambda")'         # a formula saved without its result (openpyxl has none)
    ws.merge_cells("J13:J14")              # Comment merged over two data rows


@pytest.fixture
def messy(tmp_path):
    return make_workbook(tmp_path, "en", MESSY_ROWS, name="messy.xlsx", edit=_messy_edit,
                         settings={"as_of": AS_OF})


def test_messy_workbook_every_rule_at_its_place(messy):
    v = validate_file(messy, as_of=AS_OF)
    found = located(v.issues)
    assert found == MESSY_EXPECTED, (
        f"missing: {sorted(MESSY_EXPECTED - found, key=str)}\nunexpected: {sorted(found - MESSY_EXPECTED, key=str)}")
    assert len(v.issues) == len(MESSY_EXPECTED)           # each reported once
    assert all(i.file == str(messy) for i in v.issues)
    for i in v.issues:
        assert i.message and "{" not in i.message, i.message


def test_messy_clean_rows_raise_nothing(messy):
    v = validate_file(messy, as_of=AS_OF)
    for i in v.issues:
        assert i.row not in CLEAN_ROWS.get(i.sheet, set()), i
    rep = v.tables["reporting"].to_frame().set_index("_row")
    assert rep.loc[15, "date"] == D(2003, 4, 16)
    assert (rep.loc[15, "action"], rep.loc[15, "result"]) == ("Call", "Meeting set")


def test_messy_values_and_messages(messy):
    v = validate_file(messy, as_of=AS_OF)
    by = {(i.code, i.sheet, i.row, i.column): i for i in v.issues}
    assert by[("BAD_DATE", "Reporting", 4, "Date")].value == "04/25/2003"
    assert "month-first" in by[("BAD_DATE", "Reporting", 4, "Date")].message
    assert by[("UNKNOWN_VALUE", "Reporting", 7, "Action")].value == "Dance"
    assert by[("UNKNOWN_VALUE", "Reporting", 8, "Reason")].value == "Weather"
    assert by[("CELL_ERROR", "Reporting", 12, "Company")].value == "#N/A"
    assert by[("MERGED_CELL", "Reporting", 13, "Comment")].value == "J13:J14"
    assert by[("NUMBER_NORMALISED", "Pipeline", 3, "Amount")].value == "1 234,56"
    assert "1,234.56" in by[("NUMBER_NORMALISED", "Pipeline", 3, "Amount")].message
    assert "70%" in by[("PROBABILITY_DEFAULTED", "Pipeline", 8, "Probability")].message
    assert "P10" in by[("OVERDUE_PROPOSAL", "Pipeline", 11, "Decision date")].message
    assert "20 days" in by[("OVERDUE_PROPOSAL", "Pipeline", 11, "Decision date")].message
    assert "row 2" in by[("DUPLICATE_REF", "Pipeline", 12, "Ref")].message
    assert "row 3" in by[("DUPLICATE_ROW", "Planning", 4, None)].message
    assert "row 2" in by[("PERIOD_OVERLAP", "Objectives", 3, "Period start")].message
    # typed frames: what could not be read is None, what could is typed; nothing is replaced by 0
    pipe = v.tables["pipeline"].to_frame().set_index("_row")
    assert pipe.loc[3, "amount"] == pytest.approx(1234.56)
    assert pipe.loc[4, "amount"] is None and pipe.loc[5, "amount"] is None
    assert pipe.loc[6, "probability"] is None
    assert pipe.loc[7, "probability"] == pytest.approx(0.7)
    assert pipe.loc[8, "probability"] == pytest.approx(0.7)            # the stage's default
    assert pipe.loc[9, "probability"] == 0.0                           # a real 0 %, kept
    assert pipe.loc[13, "probability"] is None


def test_structure_header_mismatch_and_sheet_not_found(tmp_path):
    def edit(wb):
        del wb["Pipeline"]
        wb["Objectives"]["D1"] = "Target"                # 'Revenue objective' renamed
    path = make_workbook(tmp_path, "en", {}, name="structure.xlsx", edit=edit)
    v = validate_file(path, as_of=AS_OF)
    assert located(v.issues) == {
        ("SHEET_NOT_FOUND", E, "Pipeline", None, None),
        ("HEADER_MISMATCH", E, "Objectives", 1, "Revenue objective"),
    }
    by = {i.code: i for i in v.issues}
    for name in ("Instructions", "Settings", "Reps", "Planning", "Objectives", "Reporting", "Lists"):
        assert name in by["SHEET_NOT_FOUND"].message
    assert "Target" in by["HEADER_MISMATCH"].message


def test_sheet_not_found_names_the_sheets_found_fr(tmp_path):
    def edit(wb):
        del wb["Carnet commercial"]
        del wb["Planning"]
    v = validate_file(make_workbook(tmp_path, "fr", {}, edit=edit), as_of=AS_OF)
    assert sorted((i.code, i.sheet) for i in v.issues) == [("SHEET_NOT_FOUND", "Carnet commercial"),
                                                           ("SHEET_NOT_FOUND", "Planning")]
    for i in v.issues:
        assert i.severity == E
        assert "Objectifs" in i.message and "Reporting" in i.message and "Paramètres" in i.message
        assert i.message.startswith("Feuille")


def test_plain_sheet_without_header_is_header_mismatch(tmp_path):
    def edit(wb):
        del wb["Reporting"]
        ws = wb.create_sheet("Reporting")
        ws["A1"] = "notes"
        ws["A2"] = "something else entirely"
    v = validate_file(make_workbook(tmp_path, "en", {}, edit=edit), as_of=AS_OF)
    mism = [i for i in v.issues if i.code == "HEADER_MISMATCH"]
    assert {i.column for i in mism} == {"Date", "Rep", "Company", "Action", "Result"}
    assert all(i.sheet == "Reporting" and i.severity == E for i in mism)
    assert {i.code for i in v.issues} == {"HEADER_MISMATCH"}


def test_calamine_engine_same_issues(messy):
    # python-calamine returns '' for error cells: the reader puts the error text back from the sheet XML
    a = validate_file(messy, as_of=AS_OF)
    b = validate_file(messy, as_of=AS_OF, engine="calamine")
    assert located(b.issues) == located(a.issues)


def test_calamine_engine_same_issues_without_error_cells(tmp_path):
    def edit(wb):
        _messy_edit(wb)
        wb["Reporting"]["C12"].value = "Kappa"
        wb["Reporting"]["C12"].data_type = "s"
    path = make_workbook(tmp_path, "en", MESSY_ROWS, edit=edit)
    a = validate_file(path, as_of=AS_OF)
    b = validate_file(path, as_of=AS_OF, engine="calamine")
    assert located(b.issues) == located(a.issues) == MESSY_EXPECTED - {("CELL_ERROR", E, "Reporting", 12, "Company")}


# ---------------------------------------------------------------------------------------------
# (c) header variants
PIPE_ROWS = {"pipeline": [_proposal("P1"), _proposal("P2", company=None)],
             "reporting": [_report(D(2003, 4, 3)), _report(D(2003, 4, 4), result=None)]}


def _rename_headers(wb, lang: str, fn):
    for t in (contract.PLANNING, contract.OBJECTIVES, contract.REPORTING, contract.PIPELINE):
        ws = wb[t.sheet(lang)]
        for j, c in enumerate(t.columns, start=1):
            ws.cell(row=1, column=j).value = fn(c.label(lang))


@pytest.mark.parametrize("lang, variant", [
    ("en", "upper"), ("en", "spaces"), ("fr", "upper"), ("fr", "spaces"), ("fr", "nfd"), ("fr", "nfd_upper"),
])
def test_header_variants_in_tables(tmp_path, lang, variant):
    fn = {"upper": str.upper, "spaces": lambda s: f"  {s}\u00a0 ",
          "nfd": lambda s: unicodedata.normalize("NFD", s),
          "nfd_upper": lambda s: unicodedata.normalize("NFD", s.upper())}[variant]
    path = make_workbook(tmp_path, lang, PIPE_ROWS, edit=lambda wb: _rename_headers(wb, lang, fn))
    v = validate_file(path, as_of=AS_OF)
    t_pipe, t_rep = contract.PIPELINE, contract.REPORTING
    expected = {("MISSING_VALUE", t_pipe.sheet(lang), 3, fn(t_pipe.column("company").label(lang))),
                ("MISSING_VALUE", t_rep.sheet(lang), 3, fn(t_rep.column("result").label(lang)))}
    assert {(i.code, i.sheet, i.row, i.column) for i in v.issues} == expected   # header as found
    assert v.tables["pipeline"]["ref"] == ["P1", "P2"]
    assert v.tables["pipeline"]["amount"] == [1000.0, 1000.0]
    assert v.tables["reporting"]["date"] == [D(2003, 4, 3), D(2003, 4, 4)]


def test_french_headers_on_english_sheet_names(tmp_path):
    """Readers accept both languages: French headers on the English-named sheets still match."""
    path = make_workbook(tmp_path, "en", PIPE_ROWS, edit=_french_headers)
    v = validate_file(path, as_of=AS_OF)
    assert {(i.code, i.sheet, i.row, i.column) for i in v.issues} == {
        ("MISSING_VALUE", "Pipeline", 3, "Société"), ("MISSING_VALUE", "Reporting", 3, "Résultat")}


def _french_headers(wb):
    for t in (contract.PLANNING, contract.OBJECTIVES, contract.REPORTING, contract.PIPELINE):
        ws = wb[t.sheet("en")]
        for j, c in enumerate(t.columns, start=1):
            ws.cell(row=1, column=j).value = c.fr


def test_plain_sheets_header_not_on_row_one(tmp_path):
    """No Excel tables: data pasted into plain sheets, under a title, with variant headers."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    nfd = lambda s: unicodedata.normalize("NFD", s)          # noqa: E731

    ws = wb.create_sheet("Carnet commercial")
    ws["A1"] = "Mon carnet — avril 2003"
    ws.append([])
    ws.append([])
    # header on row 4, starting in column B, in a shuffled order with variants
    ws.append([None, " RÉF. ", nfd("Société"), "commercial", "MONTANT", "probabilité ", "statut",
               nfd("Date de décision prévue"), "Notes perso"])
    ws.append([None, "P1", "Alpha", "Ann", "1 000", "70 %", "En cours", "10/05/2003", "x"])   # row 5
    ws.append([])                                                                           # row 6 blank
    ws.append([None, "P2", None, "Ann", 2000, 0.4, "en cours", D(2003, 5, 20), None])        # row 7
    ws.append([None, "P3", "Gamma", "Ann", 500, 1, "Gagné", "15 avril 2003"])               # row 8

    ws = wb.create_sheet("REPORTING")
    ws["A1"] = "Reporting de Ann"
    ws.append([])
    ws.append(["date d'action", "COMMERCIAL", "société", "Interlocuteur", "fonction", "ACTION", "résultat"])
    ws.append(["4 avril 2003", "Ann", "Alpha", "Mr. X", "Acheteur", "Négociation", "Revoir la proposition"])
    ws.append(["3 avril 2003", "Ann", "Bêta", "Mr. Y", "Directeur", "Visite", None])         # row 5

    for name, headers in (("Planning", ["Commercial", "Début de période", "Fin de période", "Action", "Prévu"]),
                          ("Objectifs", ["Commercial", "Début de période", "Fin de période", "Objectif de CA"])):
        ws = wb.create_sheet(name)
        ws.append(headers)
    path = tmp_path / "plain.xlsx"
    wb.save(path)

    v = validate_file(path, as_of=AS_OF)
    assert v.lang == "fr"
    assert {(i.code, i.sheet, i.row, i.column) for i in v.issues} == {
        ("NUMBER_NORMALISED", "Carnet commercial", 5, "MONTANT"),
        ("PROBABILITY_NORMALISED", "Carnet commercial", 5, "probabilité "),
        ("MISSING_VALUE", "Carnet commercial", 7, nfd("Société")),
        ("MISSING_VALUE", "REPORTING", 5, "résultat"),
    }
    pipe = v.tables["pipeline"]
    assert pipe.rows == [5, 7, 8]                 # real Excel rows, blank row skipped
    assert pipe["ref"] == ["P1", "P2", "P3"]
    assert pipe["amount"] == [1000.0, 2000.0, 500.0]
    assert pipe["status"] == ["Open", "Open", "Won"]
    assert pipe["decision_date"] == [D(2003, 5, 10), D(2003, 5, 20), D(2003, 4, 15)]
    rep = v.tables["reporting"]
    assert rep.rows == [4, 5]
    assert rep["action"] == ["Negotiation", "Visit"]


# ---------------------------------------------------------------------------------------------
# (d) validation never touches the source file
def test_source_file_unchanged(messy, tmp_path):
    handbook = make_handbook_workbook(tmp_path)
    before = {p: (sha256(p), p.stat().st_mtime_ns) for p in (messy, handbook)}
    for p in (messy, handbook):
        validate_file(p, as_of=AS_OF)
        validate_file(p, as_of=AS_OF, engine="calamine")
        validate_file(p, lang="fr")
    assert {p: (sha256(p), p.stat().st_mtime_ns) for p in (messy, handbook)} == before
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted({messy.name, handbook.name})


# ---------------------------------------------------------------------------------------------
# (e) messages in both languages
def test_messages_in_both_languages(messy):
    en = validate_file(messy, as_of=AS_OF, lang="en")
    fr = validate_file(messy, as_of=AS_OF, lang="fr")
    assert located(en.issues) == located(fr.issues) == MESSY_EXPECTED     # same findings, same places
    en_msg = {(i.code, i.sheet, i.row, i.column): i.message for i in en.issues}
    fr_msg = {(i.code, i.sheet, i.row, i.column): i.message for i in fr.issues}
    for key, m in en_msg.items():
        assert fr_msg[key] != m, key
        assert "{" not in fr_msg[key] and "{" not in m
    assert fr_msg[("MISSING_VALUE", "Reporting", 9, "Company")] == "Company est obligatoire et n'est pas renseigné."
    assert en_msg[("MISSING_VALUE", "Reporting", 9, "Company")] == "Company is required and is empty."
    assert "Négociation" in fr_msg[("UNKNOWN_VALUE", "Reporting", 7, "Action")]         # allowed, in French
    assert "Negotiation" in en_msg[("UNKNOWN_VALUE", "Reporting", 7, "Action")]
    assert "70 %" in fr_msg[("PROBABILITY_NORMALISED", "Pipeline", 7, "Probability")]
    assert "Gagné" in fr_msg[("STATUS_PROBABILITY_MISMATCH", "Pipeline", 9, "Probability")]
    # every French message follows its French template
    for i in fr.issues:
        pattern = re.escape(MESSAGES[i.code]["fr"])
        pattern = re.sub(r"\\\{[a-z_]+\\\}", ".*", pattern)
        assert re.fullmatch(pattern, i.message, flags=re.S), (i.code, i.message)


def test_every_message_has_both_languages():
    from salesxl.issues import SEVERITY
    for code in SEVERITY:
        assert set(MESSAGES[code]) == {"en", "fr"}, code
        assert MESSAGES[code]["en"] != MESSAGES[code]["fr"], code


@pytest.mark.parametrize("engine", ["openpyxl", "calamine", "live"])
def test_a_sheet_name_typed_without_accents_or_in_capitals_is_found(tmp_path, engine):
    """One name-matching rule for the files and the open workbook: "Parametres" is the Settings sheet
    "Paramètres", "CARNET COMMERCIAL" the Pipeline — also without their Excel tables (found by name)."""
    from salesxl import actions
    try:
        from tests.xlwings_remote import book_from_json, book_json_from_xlsx
    except ImportError:  # tests/ not a package
        from xlwings_remote import book_from_json, book_json_from_xlsx  # type: ignore[no-redef]

    rows = {"pipeline": [{"ref": "P1", "rep": "Claire", "company": "Alpha", "amount": 1000.0, "probability": 0.5,
                          "decision_date": dt.datetime(2026, 11, 25), "status": "En cours"}]}
    wb = build_template("fr", rows=rows, settings={"as_of": dt.date(2026, 11, 20), "currency": "CHF"})
    for ws in wb.worksheets:
        for name in list(ws.tables):
            del ws.tables[name]
    wb[contract.SETTINGS.sheet("fr")].title = "Parametres"
    pipeline = wb[contract.PIPELINE.sheet("fr")]
    pipeline.title = "x"                   # (openpyxl refuses a title equal to the sheet's own but for case)
    pipeline.title = "CARNET COMMERCIAL"
    path = tmp_path / "sans_accents.xlsx"
    wb.save(path)
    if engine == "live":
        book = book_from_json(book_json_from_xlsx(path))
        try:
            live_book = actions.load(book)
            settings, v = live_book.settings, live_book.validate()
        finally:
            book.close()
    else:
        v = validate_file(path, engine=engine)
        settings = v.settings
    assert settings.get("currency") == "CHF" and v.as_of == dt.date(2026, 11, 20)
    assert v.tables["pipeline"]["ref"] == ["P1"] and v.tables["pipeline"].sheet == "CARNET COMMERCIAL"
    assert not [i for i in v.issues if i.code == "SHEET_NOT_FOUND"]


@pytest.mark.parametrize("lang, messages", [
    ("en", ["'150' for On-track threshold is outside 0%–100%: 100% is used instead.",
            "'0.8' for At-risk threshold is outside 0% up to the on-track threshold: 50% is used instead."]),
    ("fr", ["« 150 » pour Seuil « en bonne voie » est hors de 0\u00a0%–100\u00a0% : 100\u00a0% est utilisé à la place.",
            "« 0.8 » pour Seuil « à risque » est hors de 0\u00a0% jusqu'au seuil « en bonne voie » : 50\u00a0% est "
            "utilisé à la place."])])
def test_a_threshold_out_of_range_names_its_percentages_as_every_message(lang, messages):
    """The Settings thresholds' ranges are percentages written as text (values.format_percent)."""
    from salesxl.rules import settings_issues
    from salesxl.tables import TableData
    on, at = {"en": ("On-track threshold", "At-risk threshold"), "fr": ("Seuil « en bonne voie »", "Seuil « à risque »")}[lang]
    said = []
    for keys, values in (([on], ["150"]), ([on, at], ["0.5", "0.8"])):
        rt = TableData("settings", {"key": keys, "value": values}, [2, 3][:len(keys)], sheet="Settings",
                       headers={"key": "Key", "value": "Value"})
        said += [i.message for i in settings_issues("x.xlsx", lang, rt)]
    assert said == messages
