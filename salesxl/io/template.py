"""Build the rep/team workbook from the contract, with openpyxl.

Everything a rep needs without Python: Excel Tables, drop-downs from the Lists sheet on every coded
column, date / percentage / amount validation, number formats, the native Weighted formula, Planning
progress by COUNTIFS over Reporting, a native forecast per objective row (SUMIFS), conditional
formatting of overdue proposals, frozen header rows and an Instructions sheet in the user's language.
Native formulas use only functions LibreOffice computes as well.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table as XlTable
from openpyxl.worksheet.table import TableStyleInfo

from salesxl import contract, i18n
from salesxl.contract import AMOUNT, CODE, DATE, INTEGER, PERCENT, Table
from salesxl.io.cells import AMOUNT_FORMAT, DATE_FORMAT, FIXED_TIME, PERCENT_FORMAT, atomic_write, put, put_formula
from salesxl.io.read_xlsx import col_letters
from salesxl.layout import (AHEAD_FILL, BAD, COMPUTED_HEADER, GOOD, HEADER_COLOUR, INTEGER_FORMAT, OPTIONAL_HEADER,
                            WHITE, rgb_hex)
from salesxl.values import add_period, parse_period_length

BLANK_ROWS = {"reps": 20, "planning": 60, "objectives": 20, "reporting": 300, "pipeline": 150}
HEADER_FILL = PatternFill("solid", fgColor=rgb_hex(HEADER_COLOUR))      # required columns (and plain headers)
OPTIONAL_FILL = PatternFill("solid", fgColor=rgb_hex(OPTIONAL_HEADER))  # optional columns
COMPUTED_FILL = PatternFill("solid", fgColor=rgb_hex(COMPUTED_HEADER))  # native formulas, never typed
# conditional formats: Excel's "light red fill with dark red text" for overdue proposals and Planning rows
# behind pace, light green on pace, light blue ahead (salesxl.layout's palette)


def _solid(colour: str) -> PatternFill:
    return PatternFill("solid", fgColor=rgb_hex(colour), bgColor=rgb_hex(colour))


OVERDUE_FILL = _solid(BAD[0])
OVERDUE_FONT = Font(color=rgb_hex(BAD[1]))
PACE_FILLS = {"behind": _solid(BAD[0]), "on_pace": _solid(GOOD[0]), "ahead": _solid(AHEAD_FILL)}
# Progress / elapsed share of the period: below PACE_ON is behind, at or above PACE_AHEAD ahead (the
# review's plan table calls a pace of 0.9 or more good)
PACE_ON, PACE_AHEAD = 0.9, 1.1
AS_OF_NAME = "sxlAsOf"
REPS_NAME = "lstReps"
NOTE_AUTHOR = "salesxl"
LIST_ROWS = 200

# Lists sheet layout: each list table starts at this column, side by side with a blank column between.
def _list_layout() -> dict[str, int]:
    out, col = {}, 1
    for key, t in contract.LIST_TABLES.items():
        out[key] = col
        col += len(t.columns) + 1
    return out


LIST_COLUMNS = _list_layout()


def list_name(key: str) -> str:
    return "lst" + key.capitalize()


def _ref(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'" if any(ch in sheet for ch in " -–'éèàç") else sheet


def _letter(table: Table, key: str) -> str:
    return col_letters([c.key for c in table.columns].index(key) + 1)


def _status_labels(key: str) -> list[str]:
    it = next(i for i in contract.STATUSES.items if i.key == key)
    return [it.en] if it.en == it.fr else [it.en, it.fr]


# ---------------------------------------------------------------------------------------------
def build_template(lang: str = "en", *, rep: str | None = None, period_start: dt.date | None = None,
                   period_end: dt.date | None = None, seniority: str | None = None,
                   rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                   settings: Mapping[str, Any] | None = None, blank_rows: Mapping[str, int] | None = None
                   ) -> Workbook:
    """The salesxl workbook in `lang`; `rows` (by table key, values by column key) pre-fill tables."""
    if lang not in i18n.LANGS:
        raise ValueError(f"unknown language {lang!r}")
    rows = {k: list(v) for k, v in (rows or {}).items()}
    if rep:
        rows = _prefill_rep(rows, rep, period_start, period_end, seniority)
    rep_list = bool(rows.get("reps"))           # a rep (or team) workbook: Rep columns offer the Reps table
    blanks = dict(BLANK_ROWS, **(blank_rows or {}))
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "salesxl"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    sheets = {t.key: t.sheet(lang) for t in contract.TABLES.values()}
    lists_sheet = contract.SHEETS["lists"][lang]

    _instructions(wb.create_sheet(contract.SHEETS["instructions"][lang]), lang)
    _settings(wb.create_sheet(sheets["settings"]), lang, settings or {})
    for t in (contract.REPS, contract.PLANNING, contract.OBJECTIVES, contract.REPORTING, contract.PIPELINE):
        ws = wb.create_sheet(sheets[t.key])
        n = max(len(rows.get(t.key, [])), blanks.get(t.key, 20))
        _table(ws, t, lang, rows.get(t.key, []), n)
    _lists(wb.create_sheet(lists_sheet), lang)

    # names: effective as-of date and one list per coded column
    wb.defined_names[AS_OF_NAME] = DefinedName(AS_OF_NAME, attr_text=f"{_ref(sheets['settings'])}!$F$2")
    for key, col in LIST_COLUMNS.items():
        letter = col_letters(col + (1 if lang == "fr" else 0))
        s = _ref(lists_sheet)
        wb.defined_names[list_name(key)] = DefinedName(
            list_name(key),
            attr_text=f"OFFSET({s}!${letter}$2,0,0,MAX(1,COUNTA({s}!${letter}$2:${letter}${LIST_ROWS + 1})),1)")
    r = _ref(sheets["reps"])
    n_reps = max(len(rows.get("reps", [])), blanks.get("reps", 20)) + 1
    wb.defined_names[REPS_NAME] = DefinedName(
        REPS_NAME, attr_text=f"OFFSET({r}!$A$2,0,0,MAX(1,COUNTA({r}!$A$2:$A${n_reps})),1)")
    for t in (contract.REPS, contract.PLANNING, contract.OBJECTIVES, contract.REPORTING, contract.PIPELINE):
        ws = wb[sheets[t.key]]
        n = max(len(rows.get(t.key, [])), blanks.get(t.key, 20))
        _validations(ws, t, lang, n, rep_list=rep_list and t.key != "reps")
        _formulas(ws, t, lang, n, sheets)
    wb.active = 0
    return wb


def write_template(path: str | os.PathLike[str], lang: str = "en", **kwargs: Any) -> Path:
    wb = build_template(lang, **kwargs)
    return atomic_write(path, lambda tmp: wb.save(tmp))


def _prefill_rep(rows, rep, start, end, seniority):
    """The rep's row in Reps (seniority as given, else inferred from the period's length; the period
    length from the period when there is one, else the seniority's default) and, for a period, the
    Objectives row and one Planning row per action (Planned left for the manager to type)."""
    rows = dict(rows)
    if start and end:
        seniority = seniority or infer_seniority(start, end)
        length = period_length_label(start, end)
    else:
        length = contract.DEFAULT_PERIOD.get(seniority) if seniority else None
    rows.setdefault("reps", [{"rep": rep, "seniority": seniority, "period_length": length}])
    if start and end:
        rows.setdefault("objectives", [{"rep": rep, "period_start": start, "period_end": end}])
        rows.setdefault("planning", [{"rep": rep, "period_start": start, "period_end": end, "action": a.en}
                                     for a in contract.ACTIONS.items])
    return rows


def _days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def infer_seniority(start: dt.date, end: dt.date) -> str:
    """The seniority whose default period (junior 1w, confirmed 1m, senior 3m) is nearest in length to
    the period start..end (a tie goes to the longer period)."""
    days = _days(start, end)
    lengths = {s: _days(start, add_period(start, parse_period_length(p)))
               for s, p in contract.DEFAULT_PERIOD.items()}
    return min(lengths, key=lambda s: (abs(lengths[s] - days), -lengths[s]))


def period_length_label(start: dt.date, end: dt.date) -> str:
    """The period start..end as a Period length: 1w, 2w, 1m, 3m… when it is whole weeks or months, else days."""
    for unit, tag, counts in (("months", "m", (1, 2, 3, 4, 6, 12)), ("weeks", "w", (1, 2, 3, 4))):
        for n in counts:
            if add_period(start, (unit, n)) == end:
                return f"{n}{tag}"
    return f"{_days(start, end)}d"


# ---------------------------------------------------------------------------------------------
def _header(ws, labels: Sequence[str], row: int = 1, col: int = 1, fills: Sequence[PatternFill] = ()) -> None:
    for j, text in enumerate(labels):
        c = ws.cell(row=row, column=col + j)
        put(c, text)
        c.font = Font(name="Calibri", size=11, bold=True, color=rgb_hex(WHITE))
        c.fill = fills[j] if j < len(fills) else HEADER_FILL
        c.alignment = Alignment(vertical="center", wrap_text=True)


def _column_class(table: Table, c) -> str:
    """required, required_open (Pipeline's Probability and Decision date), computed or optional."""
    if c.computed:
        return "computed"
    if c.required:
        return "required"
    if table.key == "pipeline" and c.key in ("probability", "decision_date"):
        return "required_open"
    return "optional"


_CLASS_FILL = {"required": HEADER_FILL, "required_open": HEADER_FILL, "computed": COMPUTED_FILL,
               "optional": OPTIONAL_FILL}


def _add_table(ws, name: str, ref: str) -> None:
    t = XlTable(displayName=name, ref=ref)
    t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(t)


def _table(ws, table: Table, lang: str, rows: Sequence[Mapping[str, Any]], n: int) -> None:
    cols = table.columns
    classes = [_column_class(table, c) for c in cols]
    _header(ws, [c.label(lang) for c in cols], fills=[_CLASS_FILL[k] for k in classes])
    for j, k in enumerate(classes, start=1):      # required, computed: a note on the header says so
        if k != "optional":
            note = Comment(i18n.pick(i18n.HEADER_NOTES[k], lang), NOTE_AUTHOR, height=60, width=220)
            ws.cell(row=1, column=j).comment = note
    for j, c in enumerate(cols, start=1):
        ws.column_dimensions[col_letters(j)].width = c.width
    for i, values in enumerate(rows, start=2):
        for j, c in enumerate(cols, start=1):
            if c.computed:
                continue
            v = values.get(c.key)
            if v is None:
                continue
            if c.kind == CODE and isinstance(v, str):
                v = _code_label(c, v, lang)
            put(ws.cell(row=i, column=j), v)
    centred = Alignment(horizontal="center")     # dates and % never run into the next column's text
    for j, c in enumerate(cols, start=1):
        fmt = _format(c, lang)
        if fmt:
            centre = c.kind in (DATE, PERCENT)
            for r in range(2, n + 2):
                ws.cell(row=r, column=j).number_format = fmt
                if centre:
                    ws.cell(row=r, column=j).alignment = centred
    _add_table(ws, table.name, f"A1:{col_letters(len(cols))}{n + 1}")
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 30
    _print_setup(ws)


def _print_setup(ws) -> None:
    """A4 landscape, fit to one page wide (as many pages tall as needed), header row on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def _code_label(col, value: str, lang: str) -> str:
    """A canonical (English) key typed by a generator is shown in the workbook's language."""
    from salesxl.values import label_key
    it = contract.LISTS[col.codes].lookup().get(label_key(value))
    return value if it is None else it.label(lang)


def _format(c, lang: str) -> str | None:
    if c.kind == DATE:
        return DATE_FORMAT[lang]
    if c.kind == AMOUNT or c.key in ("won", "weighted_open", "forecast", "weighted"):
        return AMOUNT_FORMAT
    if c.kind == PERCENT or c.key in ("progress", "attainment"):
        return PERCENT_FORMAT
    if c.kind == INTEGER or c.key == "done":
        return INTEGER_FORMAT
    return None


def _validations(ws, table: Table, lang: str, n: int, rep_list: bool = False) -> None:
    """Data validation of every typed column, each with its input message (title: the column and
    whether it is required); Rep columns offer the Reps table when `rep_list`."""
    last = n + 1
    for j, c in enumerate(table.columns, start=1):
        if c.computed:
            continue
        rng = f"{col_letters(j)}2:{col_letters(j)}{last}"
        help_key = c.key
        if c.key == "rep" and rep_list:
            dv = DataValidation(type="list", formula1=REPS_NAME, allow_blank=True, errorStyle="stop",
                                error=i18n.label("rep_error", lang))
            help_key = "rep_list"
        elif c.kind == CODE:
            is_reason = c.codes == "reasons"
            dv = DataValidation(type="list", formula1=list_name(c.codes), allow_blank=True,
                                errorStyle="warning" if is_reason else "stop",
                                error=i18n.label("reason_warning" if is_reason else "list_error", lang))
        elif c.kind == DATE:
            dv = DataValidation(type="date", operator="between", formula1="36526", formula2="73415",
                                allow_blank=True, error=i18n.label("date_error", lang))
        elif c.kind == PERCENT:
            dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1",
                                allow_blank=True, error=i18n.label("percent_error", lang))
        elif c.kind == AMOUNT:
            dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                allow_blank=True, error=i18n.label("amount_error", lang))
        elif c.kind == INTEGER:
            dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                                allow_blank=True, error=i18n.label("count_error", lang))
        else:                           # free text: no check, the input message only
            dv = DataValidation(allow_blank=True)
        dv.showErrorMessage = dv.type is not None
        dv.promptTitle = i18n.pick(i18n.INPUT_TITLES[_column_class(table, c)], lang)
        dv.prompt = i18n.input_help(table.key, help_key, lang)[:255]
        dv.showInputMessage = True
        dv.add(rng)
        ws.add_data_validation(dv)


def _formulas(ws, table: Table, lang: str, n: int, sheets: Mapping[str, str]) -> None:
    """Native formulas of computed columns (COUNTIFS / SUMIFS / IFERROR only)."""
    if table.key == "pipeline":
        a, p, w = (_letter(table, k) for k in ("amount", "probability", "weighted"))
        st, dd = _letter(table, "status"), _letter(table, "decision_date")

        def is_open(r):
            return "OR(" + ",".join(f'{st}{r}="{s}"' for s in _status_labels(contract.OPEN)) + ")"
        for r in range(2, n + 2):       # a weighted amount only while the proposal is open
            put_formula(ws[f"{w}{r}"],
                        f'=IF(OR({a}{r}="",{p}{r}="",NOT({is_open(r)})),"",IFERROR({a}{r}*{p}{r},""))')
        open_test = is_open(2).replace(f"{st}2", f"${st}2")
        ws.conditional_formatting.add(
            f"A2:{col_letters(len(table.columns))}{n + 1}",
            FormulaRule(formula=[f"AND({open_test},ISNUMBER(${dd}2),${dd}2<{AS_OF_NAME})"], fill=OVERDUE_FILL,
                        font=OVERDUE_FONT))
    elif table.key == "planning":
        rep_, s_, e_, act, plan, done, prog = (_letter(table, k) for k in (
            "rep", "period_start", "period_end", "action", "planned", "done", "progress"))
        reporting = _ref(sheets["reporting"])
        rr, rd, ra = (_letter(contract.REPORTING, k) for k in ("rep", "date", "action"))
        for r in range(2, n + 2):
            put_formula(ws[f"{done}{r}"], (
                f'=IF(OR({rep_}{r}="",{s_}{r}="",{e_}{r}="",{act}{r}=""),"",'
                f'COUNTIFS({reporting}!${rr}:${rr},{rep_}{r},{reporting}!${ra}:${ra},{act}{r},'
                f'{reporting}!${rd}:${rd},">="&{s_}{r},{reporting}!${rd}:${rd},"<="&MIN({e_}{r},{AS_OF_NAME})))'))
            put_formula(ws[f"{prog}{r}"], f'=IF(OR({done}{r}="",N({plan}{r})=0),"",{done}{r}/{plan}{r})')
        # progress against the share of the period elapsed at the as-of date
        elapsed = f"MIN(1,MAX(0,({AS_OF_NAME}-${s_}2+1)/(${e_}2-${s_}2+1)))"
        has = f"ISNUMBER(${prog}2),ISNUMBER(${s_}2),ISNUMBER(${e_}2),${e_}2>=${s_}2"
        rules = {"behind": f"AND({has},${prog}2<{PACE_ON}*{elapsed})",
                 "on_pace": f"AND({has},${prog}2>={PACE_ON}*{elapsed},${prog}2<{PACE_AHEAD}*{elapsed})",
                 "ahead": f"AND({has},${prog}2>0,${prog}2>={PACE_AHEAD}*{elapsed})"}
        for k, formula in rules.items():
            ws.conditional_formatting.add(f"{prog}2:{prog}{n + 1}", FormulaRule(formula=[formula], fill=PACE_FILLS[k]))
    elif table.key == "objectives":
        rep_, s_, e_, obj, won, wo, fc, att = (_letter(table, k) for k in (
            "rep", "period_start", "period_end", "revenue_objective", "won", "weighted_open", "forecast",
            "attainment"))
        pipeline = _ref(sheets["pipeline"])
        pa, pr, ps, pd_, pw = (_letter(contract.PIPELINE, k)
                               for k in ("amount", "rep", "status", "decision_date", "weighted"))

        def sumifs(col, status):
            return "+".join(
                f'SUMIFS({pipeline}!${col}:${col},{pipeline}!${pr}:${pr},{rep_}{{r}},{pipeline}!${ps}:${ps},"{lab}",'
                f'{pipeline}!${pd_}:${pd_},">="&{s_}{{r}},{pipeline}!${pd_}:${pd_},"<="&{e_}{{r}})'
                for lab in _status_labels(status))
        won_f, open_f = sumifs(pa, contract.WON), sumifs(pw, contract.OPEN)
        for r in range(2, n + 2):
            guard = f'OR({rep_}{r}="",{s_}{r}="",{e_}{r}="")'
            put_formula(ws[f"{won}{r}"], f'=IF({guard},"",{won_f.format(r=r)})')
            put_formula(ws[f"{wo}{r}"], f'=IF({guard},"",{open_f.format(r=r)})')
            put_formula(ws[f"{fc}{r}"], f'=IF({guard},"",{won}{r}+{wo}{r})')
            put_formula(ws[f"{att}{r}"], f'=IF(OR({fc}{r}="",N({obj}{r})=0),"",{fc}{r}/{obj}{r})')


def _settings(ws, lang: str, values: Mapping[str, Any]) -> None:
    t = contract.SETTINGS
    _header(ws, [c.label(lang) for c in t.columns] + [i18n.pick({"en": "Help", "fr": "Aide"}, lang)])
    for i, s in enumerate(contract.SETTINGS_KEYS, start=2):
        put(ws.cell(row=i, column=1), s.fr if lang == "fr" else s.en)
        v = values.get(s.key, lang if s.key == "language" else s.default)
        if v is not None and v != "":
            put(ws.cell(row=i, column=2), v)
        put(ws.cell(row=i, column=3), s.help_fr if lang == "fr" else s.help_en)
        if s.key in ("on_track", "at_risk"):
            ws.cell(row=i, column=2).number_format = PERCENT_FORMAT
        if s.key == "as_of":
            ws.cell(row=i, column=2).number_format = DATE_FORMAT[lang]
            as_of_row = i
    _add_table(ws, t.name, f"A1:B{len(contract.SETTINGS_KEYS) + 1}")
    _header(ws, [i18n.label("effective_as_of", lang)], row=1, col=6)
    put_formula(ws["F2"], f'=IF(B{as_of_row}="",TODAY(),B{as_of_row})', DATE_FORMAT[lang])
    for letter, w in zip("ABCDEF", (30, 22, 60, 2, 2, 24)):
        ws.column_dimensions[letter].width = w
    ws.freeze_panes = "A2"


def _lists(ws, lang: str) -> None:
    for key, col in LIST_COLUMNS.items():
        t = contract.LIST_TABLES[key]
        spec = contract.LISTS[key]
        _header(ws, [c.label(lang) for c in t.columns], col=col)
        for i, it in enumerate(spec.items, start=2):
            put(ws.cell(row=i, column=col), it.en)
            put(ws.cell(row=i, column=col + 1), it.fr)
            if len(t.columns) > 2:
                attr = it.attr
                if key == "results":
                    attr = contract.OUTCOME_LABELS[attr][lang]
                c = ws.cell(row=i, column=col + 2)
                put(c, attr)
                if key == "stages":
                    c.number_format = PERCENT_FORMAT
        for j, c in enumerate(t.columns):
            ws.column_dimensions[col_letters(col + j)].width = c.width
        _add_table(ws, t.name, f"{col_letters(col)}1:{col_letters(col + len(t.columns) - 1)}{len(spec.items) + 1}")
    ws.freeze_panes = "A2"


def _instructions(ws, lang: str) -> None:
    ws.column_dimensions["A"].width = 110
    for i, (kind, text) in enumerate(i18n.INSTRUCTIONS[lang], start=1):
        c = ws.cell(row=i, column=1)
        put(c, text)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        if kind == "title":
            c.font = Font(name="Calibri", bold=True, size=16, color=rgb_hex(HEADER_COLOUR))
        elif kind == "h":
            c.font = Font(name="Calibri", bold=True, size=12, color=rgb_hex(HEADER_COLOUR))
        else:
            ws.row_dimensions[i].height = 15 * (1 + len(text) // 120)
    ws.sheet_view.showGridLines = False


class _FormulaRecorder:
    """Stands for a worksheet in `_formulas`: records the formulas, ignores the rest."""

    class _Cell:
        __slots__ = ("value", "number_format")

        def __init__(self):
            self.value = None
            self.number_format = None

    class _Ignored:
        def add(self, *args, **kwargs) -> None:
            pass

    def __init__(self):
        self.cells: dict[str, _FormulaRecorder._Cell] = {}
        self.conditional_formatting = self._Ignored()

    def __getitem__(self, ref: str) -> "_FormulaRecorder._Cell":
        return self.cells.setdefault(ref, self._Cell())


def native_formulas(table: Table, lang: str, rows: int, sheets: Mapping[str, str]) -> dict[tuple[int, int], str]:
    """The template's native formulas of `table`'s computed columns for `rows` data rows (Excel rows 2 to
    rows + 1), as {(row, column number): formula}; `sheets` names each table's sheet. The add-in fills
    the rows it adds to a table with them."""
    recorder = _FormulaRecorder()
    _formulas(recorder, table, lang, rows, sheets)
    out = {}
    for ref, cell in recorder.cells.items():
        if cell.value:
            letters, row = coordinate_from_string(ref)
            out[(row, column_index_from_string(letters))] = cell.value
    return out

