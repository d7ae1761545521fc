"""The generated template (SPEC §2): sheets, tables, drop-downs, validations, formats, formulas."""
from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
import pytest

from salesxl import contract, i18n
from salesxl.contract import AMOUNT, CODE, DATE, INTEGER, PERCENT
from salesxl.io.read_xlsx import col_letters, validate_file
from salesxl.io.template import AS_OF_NAME, LIST_COLUMNS, list_name, write_template

SHEETS = {
    "en": ["Instructions", "Settings", "Reps", "Planning", "Objectives", "Reporting", "Pipeline", "Lists"],
    "fr": ["Mode d'emploi", "Paramètres", "Commerciaux", "Planning", "Objectifs", "Reporting",
           "Carnet commercial", "Listes"],
}
DATA = (contract.REPS, contract.PLANNING, contract.OBJECTIVES, contract.REPORTING, contract.PIPELINE)
NATIVE_FUNCTIONS_LO_LACKS = ("XLOOKUP", "FILTER(", "LET(", "LAMBDA(", "SORTBY", "UNIQUE(", "SEQUENCE(")


@pytest.fixture(scope="module", params=["en", "fr"])
def tpl(request, tmp_path_factory):
    lang = request.param
    path = write_template(tmp_path_factory.mktemp("tpl") / f"t_{lang}.xlsx", lang)
    return lang, path, openpyxl.load_workbook(path)


def _dv_for(ws, cell: str):
    return [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]


def test_sheets_in_order(tpl):
    lang, _, wb = tpl
    assert wb.sheetnames == SHEETS[lang]
    assert wb.active.title == SHEETS[lang][0]


def test_tables_names_and_headers(tpl):
    lang, _, wb = tpl
    for t in (contract.SETTINGS,) + DATA:
        ws = wb[t.sheet(lang)]
        assert t.name in ws.tables, (t.name, list(ws.tables))
        xt = ws.tables[t.name]
        labels = [c.label(lang) for c in t.columns]
        assert [c.name for c in xt.tableColumns] == labels
        assert [ws.cell(row=1, column=j).value for j in range(1, len(labels) + 1)] == labels
        assert xt.ref.startswith("A1:" + col_letters(len(labels)))
    lists = wb[contract.SHEETS["lists"][lang]]
    for key, lt in contract.LIST_TABLES.items():
        assert lt.name in lists.tables
        assert [c.name for c in lists.tables[lt.name].tableColumns] == [c.label(lang) for c in lt.columns]


def test_lists_sheet_holds_both_labels(tpl):
    lang, _, wb = tpl
    ws = wb[contract.SHEETS["lists"][lang]]
    for key, col in LIST_COLUMNS.items():
        spec = contract.LISTS[key]
        got = [(ws.cell(row=i, column=col).value, ws.cell(row=i, column=col + 1).value)
               for i in range(2, len(spec.items) + 2)]
        assert got == [(it.en, it.fr) for it in spec.items]
    stages = LIST_COLUMNS["stages"]
    assert [ws.cell(row=i, column=stages + 2).value for i in range(2, 7)] == [0.1, 0.25, 0.5, 0.7, 0.9]
    results = LIST_COLUMNS["results"]
    outcome = {"en": "positive", "fr": "positif"}[lang]
    assert ws.cell(row=2, column=results + 2).value == outcome


def test_list_names_point_at_the_language_column(tpl):
    lang, _, wb = tpl
    lists = contract.SHEETS["lists"][lang]
    for key, col in LIST_COLUMNS.items():
        text = wb.defined_names[list_name(key)].attr_text
        letter = col_letters(col + (1 if lang == "fr" else 0))
        assert f"!${letter}$2" in text and lists.split("'")[0] in text, text
    assert "$F$2" in wb.defined_names[AS_OF_NAME].attr_text


def test_dropdown_on_every_coded_column(tpl):
    lang, _, wb = tpl
    for t in DATA:
        ws = wb[t.sheet(lang)]
        for j, c in enumerate(t.columns, start=1):
            if c.kind != CODE:
                continue
            last_row = int(re.sub(r"[A-Z]", "", ws.tables[t.name].ref.split(":")[1]))
            top, bottom = f"{col_letters(j)}2", f"{col_letters(j)}{last_row}"
            dvs = _dv_for(ws, top)
            assert len(dvs) == 1, (t.key, c.key)
            dv = dvs[0]
            assert dv.type == "list"
            assert dv.formula1.lstrip("=") == list_name(c.codes)
            assert bottom in dv.sqref
            assert dv.showErrorMessage
            # an unlisted reason is information: a warning, not a stop
            assert dv.errorStyle == ("warning" if c.codes == "reasons" else "stop")


def test_date_percent_amount_count_validations(tpl):
    lang, _, wb = tpl
    for t in DATA:
        ws = wb[t.sheet(lang)]
        for j, c in enumerate(t.columns, start=1):
            dvs = _dv_for(ws, f"{col_letters(j)}2")
            if c.kind == DATE:
                assert [(d.type, d.operator) for d in dvs] == [("date", "between")], (t.key, c.key)
                lo, hi = int(dvs[0].formula1), int(dvs[0].formula2)
                assert lo <= 36526 and hi >= 54789          # 2000-01-01 .. 2049-12-31 at least
                assert dvs[0].error == i18n.label("date_error", lang)
            elif c.kind == PERCENT:
                assert [(d.type, d.operator, d.formula1, d.formula2) for d in dvs] == [("decimal", "between", "0", "1")]
                assert dvs[0].error == i18n.label("percent_error", lang)
            elif c.kind == AMOUNT:
                assert [(d.type, d.operator, d.formula1) for d in dvs] == [("decimal", "greaterThanOrEqual", "0")]
            elif c.kind == INTEGER:
                assert [(d.type, d.operator, d.formula1) for d in dvs] == [("whole", "greaterThanOrEqual", "0")]
            elif c.computed:
                assert dvs == [], (t.key, c.key)
            elif c.kind != CODE:          # free text: an input message, no check
                assert [(d.type, d.showErrorMessage, d.showInputMessage) for d in dvs] == [(None, False, True)]


def test_number_formats(tpl):
    lang, _, wb = tpl
    date_fmt = {"en": "yyyy-mm-dd", "fr": "dd/mm/yyyy"}[lang]
    ws = wb[contract.PIPELINE.sheet(lang)]
    letters = {c.key: col_letters(j) for j, c in enumerate(contract.PIPELINE.columns, start=1)}
    for r in (2, 151):
        assert ws[f"{letters['amount']}{r}"].number_format == "#,##0.00"
        assert ws[f"{letters['weighted']}{r}"].number_format == "#,##0.00"
        assert ws[f"{letters['probability']}{r}"].number_format == "0%"
        assert ws[f"{letters['decision_date']}{r}"].number_format == date_fmt
        assert ws[f"{letters['sent_on']}{r}"].number_format == date_fmt
    ws = wb[contract.REPORTING.sheet(lang)]
    assert ws["A2"].number_format == date_fmt and ws["A301"].number_format == date_fmt
    ws = wb[contract.PLANNING.sheet(lang)]
    assert (ws["B2"].number_format, ws["E2"].number_format, ws["G2"].number_format) == (date_fmt, "0", "0%")
    ws = wb[contract.OBJECTIVES.sheet(lang)]
    assert (ws["D2"].number_format, ws["H2"].number_format, ws["I2"].number_format) == ("#,##0.00", "#,##0.00", "0%")


def test_native_formulas(tpl):
    lang, _, wb = tpl
    ws = wb[contract.PIPELINE.sheet(lang)]
    for r in (2, 77, 151):
        is_open = f'OR(K{r}="Open",K{r}="En cours")'        # either language's label
        assert ws[f"M{r}"].value == f'=IF(OR(F{r}="",G{r}="",NOT({is_open})),"",IFERROR(F{r}*G{r},""))'
    assert ws["M152"].value is None
    plan = wb[contract.PLANNING.sheet(lang)]
    assert plan["F2"].value.startswith("=") and "COUNTIFS(" in plan["F2"].value and AS_OF_NAME in plan["F2"].value
    assert plan["G2"].value == '=IF(OR(F2="",N(E2)=0),"",F2/E2)'
    obj = wb[contract.OBJECTIVES.sheet(lang)]
    won_label = {"en": "Won", "fr": "Gagné"}[lang]
    assert "SUMIFS(" in obj["F2"].value and f'"{won_label}"' in obj["F2"].value
    assert "SUMIFS(" in obj["G2"].value and '"Open"' in obj["G2"].value
    assert obj["H2"].value == '=IF(OR(A2="",B2="",C2=""),"",F2+G2)'
    settings = wb[contract.SETTINGS.sheet(lang)]
    assert settings["F2"].value == '=IF(B4="",TODAY(),B4)'
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    up = c.value.upper()
                    assert not any(f in up for f in NATIVE_FUNCTIONS_LO_LACKS), (ws.title, c.coordinate)


def test_input_cells_are_empty(tpl):
    """Nothing pre-typed in input columns: an empty template holds no data rows."""
    lang, _, wb = tpl
    for t in DATA:
        ws = wb[t.sheet(lang)]
        for j, c in enumerate(t.columns, start=1):
            if c.computed:
                continue
            assert all(ws.cell(row=r, column=j).value is None for r in range(2, ws.max_row + 1)), (t.key, c.key)


def test_conditional_formatting_overdue(tpl):
    lang, _, wb = tpl
    ws = wb[contract.PIPELINE.sheet(lang)]
    ranges = [(str(cf.sqref), [r.formula for r in cf.rules]) for cf in ws.conditional_formatting]
    assert len(ranges) == 1
    sqref, rules = ranges[0]
    assert sqref == "A2:M151"
    (formula,), = rules
    assert '$K2="Open"' in formula and '$K2="En cours"' in formula
    assert "$J2<" + AS_OF_NAME in formula


def test_frozen_panes(tpl):
    lang, _, wb = tpl
    for name in SHEETS[lang][1:]:
        assert wb[name].freeze_panes == "A2", name


def test_print_setup(tpl):
    lang, _, wb = tpl
    for t in DATA:
        ws = wb[t.sheet(lang)]
        assert ws.page_setup.orientation == "landscape", t.key
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows.replace("$", "") == "1:1"


def test_instructions_in_the_language(tpl):
    lang, _, wb = tpl
    ws = wb[SHEETS[lang][0]]
    texts = [ws.cell(row=r, column=1).value for r in range(1, ws.max_row + 1)]
    assert texts == [t for _, t in i18n.INSTRUCTIONS[lang]]
    words = {"en": ("Planning", "Reporting", "Pipeline", "review"), "fr": ("Planning", "Reporting", "Carnet", "Entretien")}
    joined = " ".join(texts)
    assert all(w in joined for w in words[lang])
    other = "fr" if lang == "en" else "en"
    assert i18n.INSTRUCTIONS[other][1][1] not in texts


def test_settings_defaults(tpl):
    lang, _, wb = tpl
    ws = wb[contract.SETTINGS.sheet(lang)]
    keys = [ws.cell(row=r, column=1).value for r in range(2, len(contract.SETTINGS_KEYS) + 2)]
    assert keys == [s.fr if lang == "fr" else s.en for s in contract.SETTINGS_KEYS]
    assert ws["B2"].value == lang
    assert ws["B4"].value is None                      # as-of blank = today


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_empty_template_validates_clean(tmp_path, lang):
    path = write_template(tmp_path / f"t_{lang}.xlsx", lang)
    v = validate_file(path)
    assert v.issues == []
    assert v.lang == lang
    assert all(len(v.tables[k]) == 0 for k in ("planning", "objectives", "reporting", "pipeline"))


def test_prefilled_rep_template_validates_clean(tmp_path):
    path = write_template(tmp_path / "claire.xlsx", "fr", rep="Claire Martin", period_start=dt.date(2026, 12, 1),
                          period_end=dt.date(2026, 12, 31), seniority="junior")
    v = validate_file(path, as_of=dt.date(2026, 12, 15))
    # only what the manager still has to type: the revenue objective (the pre-filled Planning rows left
    # without a Planned figure are actions not planned this period, not errors)
    assert [(i.code, i.sheet, i.column) for i in v.issues] == [("MISSING_VALUE", "Objectifs", "Objectif de CA")]
    assert v.tables["planning"]["action"] == [it.en for it in contract.ACTIONS.items]
    ws = openpyxl.load_workbook(path)["Planning"]
    assert ws["D2"].value == "Appel"                     # coded value shown in the workbook's language


def test_text_stays_text(tmp_path):
    """A company typed as a formula is stored as text, never as a formula (SPEC §3)."""
    path = write_template(tmp_path / "t.xlsx", "en", rows={"reporting": [
        {"date": dt.date(2003, 4, 4), "rep": "Ann", "company": '=HYPERLINK("http://x","y")',
         "action": "Visit", "result": "Proposal"}]})
    ws = openpyxl.load_workbook(path)["Reporting"]
    assert ws["C2"].data_type == "s" and ws["C2"].value == '=HYPERLINK("http://x","y")'
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet6.xml").decode()
    assert not re.search(r'<c r="C2"[^>]*><f>', xml)


def test_formula_rows_of_a_table_laid_out_as_the_template(tmp_path):
    """What the add-in writes into the rows it adds to a table: the template's own formulas, decided here
    (io.template.formula_rows), only for a table laid out as the template lays it out."""
    import copy
    from salesxl.io.template import formula_rows, laid_out_as_template, native_formulas
    v = validate_file(write_template(tmp_path / "t.xlsx", "fr"))
    pipe = v.tables["pipeline"]
    assert laid_out_as_template(pipe)
    computed = [j for j, c in enumerate(contract.PIPELINE.columns, start=1) if c.computed]
    sheets = {k: t.sheet for k, t in v.tables.items()}
    c0, rows = formula_rows(pipe, "fr", 40, 41, sheets)
    expected = native_formulas(contract.PIPELINE, "fr", 40, {t.key: t.sheet("fr") for t in contract.TABLES.values()})
    assert c0 == computed[0] and len(rows) == 2
    assert rows[1] == [expected.get((41, j)) for j in range(c0, computed[-1] + 1)]
    assert any(f and f.startswith("=") for f in rows[0])
    assert formula_rows(pipe, "fr", 41, 40, sheets) is None                     # no row asked
    moved = copy.copy(pipe)
    moved.header_row = 3                                                         # not where the template puts it
    assert not laid_out_as_template(moved) and formula_rows(moved, "fr", 40, 41, sheets) is None
    assert formula_rows(v.tables["reps"], "fr", 5, 6, sheets) is None           # no computed column
