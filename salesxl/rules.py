"""Validation: tables as read -> typed tables + issues. Rules are an immutable table of pure functions.

Nothing here changes or deletes what a rep typed: a value that cannot be interpreted becomes None in
the typed table (left out of the computations) and an issue says where and why.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from salesxl import contract
from salesxl.contract import AMOUNT, CODE, DATE, INTEGER, NUMBER, PERCENT, TEXT, ListSpec, Table
from salesxl.issue_codes import CODES
from salesxl.issues import ERROR, Issue, make_issue
from salesxl.i18n import detail
from salesxl.tables import TableData
from salesxl.values import (BAD, NORMALISED, clean_text, format_amount, format_date_long, format_percent,
                            is_blank, is_cell_error, label_key, may_hold_cell_errors, parse_date, parse_integer,
                            parse_number, parse_probability)

__all__ = ["Context", "RULES", "Validated", "blank_indexes", "parse_table", "resolve_as_of", "resolve_lists",
           "settings_issues", "stage_probability", "untouched_planning_rows", "validate_tables"]


@dataclass
class Validated:
    """Typed tables (None where a value is missing or uninterpretable, what was typed there kept in
    `TableData.kept`) and every issue found."""
    path: str
    lang: str
    as_of: dt.date
    tables: dict[str, TableData]
    issues: list[Issue]
    lists: Mapping[str, ListSpec]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == ERROR)


@dataclass(frozen=True)
class Context:
    path: str
    lang: str
    as_of: dt.date
    raw: Mapping[str, TableData]                    # the tables as read
    typed: Mapping[str, TableData]                  # the same, typed
    lists: Mapping[str, ListSpec]
    has_reps_sheet: bool

    def issue(self, code: str, table: str, row: int | None, column_key: str | None, value: Any = None,
              severity: str | None = None, **params: Any) -> Issue:
        rt = self.raw[table]
        header = rt.headers.get(column_key) if column_key else None
        if column_key and header is None:
            header = contract.TABLES[table].column(column_key).label(self.lang)
        return make_issue(code, lang=self.lang, file=self.path, sheet=rt.sheet, row=row, column=header,
                          value=value, severity=severity, **params)


# ---------------------------------------------------------------------------------------------
# Lists: the workbook's own (Lists sheet) when present, else the defaults.
def resolve_lists(raw_lists: Mapping[str, TableData] | None = None) -> dict[str, ListSpec]:
    out = dict(contract.LISTS)
    for key, td in (raw_lists or {}).items():
        spec = contract.LISTS.get(key)
        if spec is None or td is None or not len(td):
            continue
        items = []
        for en_raw, fr_raw, attr in zip(td.column("en"), td.column("fr"), td.column("attr")):
            en, fr = clean_text(en_raw), clean_text(fr_raw)
            if not en and not fr:
                continue
            en, fr = en or fr, fr or en
            default = next((it.attr for it in spec.items if label_key(it.en) == label_key(en)), None)
            if key == "stages":
                p = parse_probability(attr)
                attr = p.value if p.value is not None else default
            elif key == "results":
                a = label_key(str(attr)) if not is_blank(attr) else ""
                attr = next((k for k, v in contract.OUTCOME_LABELS.items()
                             if a in (label_key(v["en"]), label_key(v["fr"]))), default or contract.NEUTRAL)
            elif key == "seniority":
                attr = clean_text(attr) or default
            else:
                attr = None
            items.append(contract.Item(en, fr, attr))
        if items:
            out[key] = ListSpec(spec.key, spec.table, spec.title_en, spec.title_fr, tuple(items),
                                spec.attr_en, spec.attr_fr)
    return out


# ---------------------------------------------------------------------------------------------
# Cell parsing: one function per column kind.
_SLOW = object()          # a cell left to the full parser
_UNKNOWN = object()       # a code outside the list


def _code(text: str, lookup) -> Any:
    """The canonical key of a code typed as `text` (str): None when blank, _UNKNOWN when not listed."""
    if not text.strip():
        return None
    it = lookup.get(label_key(text))
    return _UNKNOWN if it is None else it.key


def _parse_column(ctx_lang: str, table: Table, key: str, values: list, lists) -> tuple[list, list]:
    """Typed values and (row_index, code, params) findings for one column."""
    col = table.column(key)
    kind = col.kind
    typed, findings = [], []
    if kind == TEXT:
        # clean_text, inlined for plain text (this runs on every text cell): str.strip() removes every
        # Unicode space, so an empty result is exactly is_blank
        types = set(map(type, values))
        if types <= _STR_OR_NONE:
            typed = list(map(str.strip, values)) if _NONE_TYPE not in types else \
                [v.strip() if v is not None else None for v in values]
            if "" in typed:
                typed = [s or None for s in typed]
            if "\u00a0" in "\x00".join(filter(None, typed)):
                typed = [s.replace("\u00a0", " ") if s is not None else None for s in typed]
            return typed, findings
        typed = [(s.replace("\u00a0", " ") if (s := v.strip()) else None) if type(v) is str else clean_text(v)
                 for v in values]
        return typed, findings
    if kind == CODE:
        spec = lists[col.codes]
        lookup = spec.lookup()
        memo: dict[str, Any] = {}          # the same few codes on every row: each text looked up once
        for i, v in enumerate(values):
            if type(v) is str:
                k = memo.get(v, _SLOW)
                if k is _SLOW:
                    k = memo[v] = _code(v, lookup)
            elif v is None or is_blank(v):
                k = None
            else:
                it = lookup.get(label_key(str(v)))
                k = _UNKNOWN if it is None else it.key
            if k is _UNKNOWN:
                typed.append(None)
                allowed = ", ".join(x.label(ctx_lang) for x in spec.items)
                findings.append((i, "UNKNOWN_VALUE", {"allowed": allowed}))
            else:
                typed.append(k)
        return typed, findings
    # fast paths, column-wise, for the common case (the cell already holds a value of the right type, or
    # nothing), with the same results as the parsers; every other cell goes through its parser below
    big = 2 ** 53
    if kind == DATE:
        typed = [None if v is None else v.date() if type(v) is dt.datetime else _SLOW for v in values]
    elif kind in (AMOUNT, NUMBER):
        typed = [None if v is None else float(v) if (type(v) is float and 0 <= v < math.inf) or
                 (type(v) is int and 0 <= v <= big) else _SLOW for v in values]
    elif kind == INTEGER:
        typed = [None if v is None else float(v) if type(v) is int and 0 <= v <= big else _SLOW for v in values]
    elif kind == PERCENT:
        typed = [None if v is None else round(float(v), 12) if (type(v) is float or type(v) is int) and 0 <= v <= 1
                 else _SLOW for v in values]
    else:  # pragma: no cover - formula columns are never parsed
        typed = [None] * len(values)
    for i in [i for i, t in enumerate(typed) if t is _SLOW]:
        v = values[i]
        if kind == DATE:
            p = parse_date(v)
            if p.status == BAD:
                findings.append((i, "BAD_DATE", {"reason": detail(p.detail, ctx_lang)}))
        elif kind in (AMOUNT, NUMBER):
            p = parse_number(v, ctx_lang)
            if p.status == BAD:
                findings.append((i, "BAD_NUMBER", {}))
            elif p.status == NORMALISED:
                findings.append((i, "NUMBER_NORMALISED", {"number": format_amount(p.value, ctx_lang, 2)}))
            if kind == AMOUNT and p.value is not None and p.value < 0:
                findings.append((i, "NEGATIVE_AMOUNT", {}))
                p = p._replace(value=None)
        elif kind == INTEGER:
            p = parse_integer(v, ctx_lang)
            if p.status == BAD:
                findings.append((i, "BAD_NUMBER", {}))
            elif p.status == NORMALISED:
                findings.append((i, "NUMBER_NORMALISED", {"number": format_amount(p.value, ctx_lang)}))
            if p.value is not None and p.value < 0:
                findings.append((i, "BAD_NUMBER", {}))
                p = p._replace(value=None)
        else:  # PERCENT
            p = parse_probability(v, ctx_lang)
            if p.status == BAD:
                findings.append((i, "BAD_NUMBER", {}))
            elif p.status == "range":
                findings.append((i, "PROBABILITY_RANGE", {}))
            elif p.status == NORMALISED:
                findings.append((i, "PROBABILITY_NORMALISED", {"percent": format_percent(p.value, ctx_lang)}))
        typed[i] = p.value
    return typed, findings


def parse_table(path: str, lang: str, raw: TableData, lists: Mapping[str, ListSpec],
                flagged: set[tuple[int, str]]) -> tuple[TableData, list[Issue]]:
    """One table typed, with the cell-level issues (values, required cells). Every input column of the
    contract is there (None where the table has not got it); `kept` holds what was typed where a value
    could not be interpreted."""
    table = contract.TABLES[raw.key]
    rows = raw.rows
    out = {}
    kept: dict[str, dict[int, Any]] = {}
    issues: list[Issue] = []
    for col in table.input_columns:
        if col.key not in raw:
            out[col.key] = [None] * len(rows)
            continue
        values = raw_values = raw[col.key]
        if may_hold_cell_errors(values):
            values = [None if type(v) is str and "#" in v and is_cell_error(v) else v for v in values]
        typed, findings = _parse_column(lang, table, col.key, values, lists)
        out[col.key] = typed
        if None in typed:
            lost = {i: r for i, (t, r) in enumerate(zip(typed, raw_values)) if t is None and not is_blank(r)}
            if lost:
                kept[col.key] = lost
        header = raw.headers.get(col.key, col.label(lang))
        for i, code, params in findings:
            sev = CODES[code].severity_in(col.codes)
            issues.append(make_issue(code, lang=lang, file=path, sheet=raw.sheet, row=rows[i], column=header,
                                     value=values[i], severity=sev, **params))
        for i in _too_long(values):
            issues.append(make_issue("TEXT_TRUNCATED", lang=lang, file=path, sheet=raw.sheet, row=rows[i],
                                     column=header, value=values[i][:100] + "…", length=_utf16_len(values[i])))
        if col.required:
            for i in blank_indexes(values):
                if (rows[i], col.key) not in flagged:
                    issues.append(make_issue("MISSING_VALUE", lang=lang, file=path, sheet=raw.sheet,
                                             row=rows[i], column=header))
    return TableData(raw.key, out, rows, sheet=raw.sheet, headers=raw.headers, header_row=raw.header_row,
                     columns_at=raw.columns_at, extra_headers=raw.extra_headers, kept=kept), issues


def untouched_planning_rows(typed: TableData, raw: TableData, lists: Mapping[str, ListSpec]) -> set[int]:
    """Excel rows of Planning left as the workbook pre-filled them: Planned empty, the rep, period and
    action given, in a period whose rows name every action of the Lists exactly once (the block a rep
    workbook is made with: one row per action). Such a row is an action not planned this period: no
    MISSING_VALUE. A row the rep added (a second row for an action, a period that does not list every
    action) still needs its Planned figure."""
    planned = raw.column("planned")
    blocks: dict[tuple, list[Any]] = {}
    keys = list(zip(typed["rep"], typed["period_start"], typed["period_end"], typed["action"]))
    for rep, start, end, action in keys:
        if rep is not None and start is not None and end is not None:
            blocks.setdefault((label_key(rep), start, end), []).append(action)
    every = {it.key for it in lists["actions"].items}
    out = set()
    for i, (rep, start, end, action) in enumerate(keys):
        if action is None or rep is None or start is None or end is None or not is_blank(planned[i]):
            continue
        block = blocks[(label_key(rep), start, end)]
        if block.count(action) == 1 and every <= set(block):
            out.add(typed.rows[i])
    return out


MAX_CELL_TEXT = 32767          # what an Excel cell holds, in UTF-16 code units


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _too_long(values: list) -> list[int]:
    """Indexes of the texts longer than an Excel cell holds (a file written by another program)."""
    return [i for i, v in enumerate(values) if type(v) is str and len(v) > MAX_CELL_TEXT // 2
            and _utf16_len(v) > MAX_CELL_TEXT]


def blank_indexes(values: list) -> list[int]:
    """Indexes of the blank values (`is_blank`), with fast paths for the common cell types."""
    if None not in values:
        types = set(map(type, values))
        if types <= _NEVER_BLANK or (types == _STR and "" not in values and not any(map(str.isspace, values))):
            return []
    return [i for i, v in enumerate(values)
            if v is None or (not v.strip() if type(v) is str else
                             type(v) is not int and type(v) is not dt.datetime and is_blank(v))]


_NEVER_BLANK = frozenset({int, bool, dt.datetime, dt.date})
_STR = {str}
_NONE_TYPE = type(None)
_STR_OR_NONE = frozenset({str, _NONE_TYPE})


# ---------------------------------------------------------------------------------------------
# Row and cross-table rules. Each takes the context and returns issues.
def _iter(td: TableData, *cols):
    return zip(td.rows, *(td[c] for c in cols))


def stage_probability(stage: str | None, stages: ListSpec) -> float | None:
    """The default probability of a stage (its canonical key) in the Lists' stages, None when the stage
    is not listed or has none: what an open proposal without a probability takes (the rule below, the
    SXL_PERIOD_FORECAST function)."""
    item = next((it for it in stages.items if it.key == stage), None)
    return float(item.attr) if item is not None and item.attr is not None else None


def rule_pipeline_open_fields(ctx: Context) -> list[Issue]:
    """Open proposals need a probability (else the stage's default, with a warning) and a decision date."""
    if "pipeline" not in ctx.typed:
        return []
    df = ctx.typed["pipeline"]
    raw = ctx.raw["pipeline"]
    stages = ctx.lists["stages"]
    issues = []
    prob_raw = raw.column("probability")
    dec_raw = raw.column("decision_date")
    probs = list(df["probability"])
    for i, (row, status, p, stage, decision) in enumerate(_iter(df, "status", "probability", "stage", "decision_date")):
        if status != contract.OPEN:
            continue
        if p is None and is_blank(prob_raw[i]):
            default = stage_probability(stage, stages)
            if default is not None:
                probs[i] = default
                issues.append(ctx.issue("PROBABILITY_DEFAULTED", "pipeline", row, "probability",
                                        stage=stages.label_of(stage, ctx.lang),
                                        percent=format_percent(default, ctx.lang)))
            else:
                issues.append(ctx.issue("MISSING_VALUE", "pipeline", row, "probability"))
        if decision is None and is_blank(dec_raw[i]):
            issues.append(ctx.issue("MISSING_VALUE", "pipeline", row, "decision_date"))
    df.set("probability", probs)
    return issues


def rule_status_probability(ctx: Context) -> list[Issue]:
    if "pipeline" not in ctx.typed:
        return []
    issues = []
    statuses = ctx.lists["statuses"]
    for row, status, p in _iter(ctx.typed["pipeline"], "status", "probability"):
        if p is None:
            continue
        if (status == contract.WON and p == 0) or (status == contract.LOST and p == 1):
            label = next(it.label(ctx.lang) for it in statuses.items if it.key == status)
            issues.append(ctx.issue("STATUS_PROBABILITY_MISMATCH", "pipeline", row, "probability", p,
                                    status=label, percent=format_percent(p, ctx.lang)))
    return issues


_DAYS_AGO = {"en": ("{n} day ago", "{n} days ago"), "fr": ("il y a {n} jour", "il y a {n} jours")}


def rule_overdue(ctx: Context) -> list[Issue]:
    if "pipeline" not in ctx.typed:
        return []
    issues = []
    for row, status, ref, decision in _iter(ctx.typed["pipeline"], "status", "ref", "decision_date"):
        if status == contract.OPEN and decision is not None and decision < ctx.as_of:
            days = (ctx.as_of - decision).days
            issues.append(ctx.issue("OVERDUE_PROPOSAL", "pipeline", row, "decision_date", decision,
                                    ref=ref or "", days=days, date=format_date_long(decision, ctx.lang),
                                    ago=_DAYS_AGO[ctx.lang if ctx.lang in _DAYS_AGO else "en"][days != 1].format(n=days)))
    return issues


def rule_duplicate_ref(ctx: Context) -> list[Issue]:
    if "pipeline" not in ctx.typed:
        return []
    seen: dict[str, int] = {}
    issues = []
    for row, ref in _iter(ctx.typed["pipeline"], "ref"):
        if ref is None:
            continue
        k = label_key(ref)
        if k in seen:
            issues.append(ctx.issue("DUPLICATE_REF", "pipeline", row, "ref", ref, other_row=seen[k]))
        else:
            seen[k] = row
    return issues


def _duplicate_rows(ctx: Context, key: str) -> list[Issue]:
    if key not in ctx.raw:
        return []
    df = ctx.raw[key]
    seen: dict[tuple, int] = {}
    issues = []
    keyed = [list(map(label_key, col)) if set(map(type, col)) == _STR else
             [label_key(v) if type(v) is str else label_key(str(v)) if isinstance(v, str) else v for v in col]
             for col in (df[c] for c in df.columns)]
    for row, k in zip(df.rows, zip(*keyed)):
        if k in seen:
            issues.append(ctx.issue("DUPLICATE_ROW", key, row, None, other_row=seen[k]))
        else:
            seen[k] = row
    return issues


def rule_duplicate_rows(ctx: Context) -> list[Issue]:
    return _duplicate_rows(ctx, "reporting") + _duplicate_rows(ctx, "planning")


def rule_proposal_in_pipeline(ctx: Context) -> list[Issue]:
    if "reporting" not in ctx.typed or "pipeline" not in ctx.typed:
        return []
    refs = {label_key(r) for r in ctx.typed["pipeline"]["ref"] if r is not None}
    return [ctx.issue("PROPOSAL_NOT_IN_PIPELINE", "reporting", row, "proposal_ref", ref)
            for row, ref in _iter(ctx.typed["reporting"], "proposal_ref")
            if ref is not None and label_key(ref) not in refs]


def rule_unknown_rep(ctx: Context) -> list[Issue]:
    if not ctx.has_reps_sheet or "reps" not in ctx.typed:
        return []
    known = {label_key(r) for r in ctx.typed["reps"]["rep"] if r is not None}
    if not known:          # an empty Reps sheet lists nobody: nothing to check against
        return []
    issues = []
    for key in ("planning", "objectives", "reporting", "pipeline"):
        if key not in ctx.typed:
            continue
        for row, rep in _iter(ctx.typed[key], "rep"):
            if rep is not None and label_key(rep) not in known:
                issues.append(ctx.issue("UNKNOWN_REP", key, row, "rep", rep))
    return issues


def rule_periods(ctx: Context) -> list[Issue]:
    """End before start; overlapping periods of one rep (identical Planning periods are one period)."""
    issues = []
    for key in ("objectives", "planning"):
        if key not in ctx.typed:
            continue
        periods: dict[str, list[tuple[dt.date, dt.date, int]]] = {}
        for row, rep, start, end in _iter(ctx.typed[key], "rep", "period_start", "period_end"):
            if start is None or end is None or rep is None:
                continue
            if end < start:
                issues.append(ctx.issue("BAD_PERIOD", key, row, "period_end", end, start=start.isoformat()))
                continue
            for (s, e, r) in periods.get(label_key(rep), []):
                same = (s, e) == (start, end)
                if start <= e and s <= end and not (same and key == "planning"):
                    issues.append(ctx.issue("PERIOD_OVERLAP", key, row, "period_start",
                                            f"{start.isoformat()} → {end.isoformat()}", other_row=r, rep=rep))
                    break
            periods.setdefault(label_key(rep), []).append((start, end, row))
    return issues


def rule_reporting_dates(ctx: Context) -> list[Issue]:
    """A date after the as-of date, or outside every period of the rep: a warning, maybe a late entry."""
    if "reporting" not in ctx.typed:
        return []
    periods: dict[str, list[tuple[dt.date, dt.date]]] = {}
    for key in ("objectives", "planning"):
        if key not in ctx.typed:
            continue
        for _, rep, s, e in _iter(ctx.typed[key], "rep", "period_start", "period_end"):
            if rep is not None and s is not None and e is not None:
                periods.setdefault(label_key(rep), []).append((s, e))
    issues = []
    for row, rep, d in _iter(ctx.typed["reporting"], "rep", "date"):
        if d is None:
            continue
        if d > ctx.as_of:
            issues.append(ctx.issue("FUTURE_DATE", "reporting", row, "date", d, as_of=ctx.as_of.isoformat()))
        ps = periods.get(label_key(rep)) if rep else None
        if ps and not any(s <= d <= e for s, e in ps):
            issues.append(ctx.issue("DATE_OUT_OF_PERIOD", "reporting", row, "date", d, rep=rep))
    return issues


# The order matters only for the first rule, which fills default probabilities used by the others.
RULES: tuple[Callable[[Context], list[Issue]], ...] = (
    rule_pipeline_open_fields,
    rule_status_probability,
    rule_overdue,
    rule_duplicate_ref,
    rule_duplicate_rows,
    rule_proposal_in_pipeline,
    rule_unknown_rep,
    rule_periods,
    rule_reporting_dates,
)


def resolve_as_of(as_of: dt.date | None, settings: Mapping[str, Any], today: dt.date | None = None) -> dt.date:
    if as_of is not None:
        return as_of
    p = parse_date(settings.get("as_of"))
    if p.value is not None:
        return p.value
    return today or dt.date.today()


def validate_tables(path: str, raw: Mapping[str, TableData], *, lang: str = "en", as_of: dt.date | None = None,
                    settings: Mapping[str, Any] | None = None, raw_lists: Mapping[str, TableData] | None = None,
                    flagged: set | None = None, reader_issues: Iterable[Issue] = ()) -> Validated:
    """Parse every table (raw cell values, as a reader found them) and run every rule; all issues are
    collected, none stops the others. `flagged`: (table key, Excel row, column key) a reader already
    reported."""
    settings = dict(settings or {})
    as_of_d = resolve_as_of(as_of, settings)
    lists = resolve_lists(raw_lists)
    issues: list[Issue] = list(reader_issues)
    typed: dict[str, TableData] = {}
    for key, rt in raw.items():
        if key not in contract.TABLES or key == "settings":
            continue
        df, iss = parse_table(path, lang, rt, lists, {(r, k) for (t, r, k) in (flagged or set()) if t == key})
        if key == "planning":
            untouched = untouched_planning_rows(df, rt, lists)
            iss = [i for i in iss if not (i.code == "MISSING_VALUE" and i.row in untouched
                                          and i.column == rt.headers.get("planned"))]
        typed[key] = df
        issues.extend(iss)
    ctx = Context(path, lang, as_of_d, raw, typed, lists, "reps" in raw)
    for rule in RULES:
        issues.extend(rule(ctx))
    issues.extend(settings_issues(path, lang, raw.get("settings")))
    issues.sort(key=lambda i: (_sheet_order(i.sheet), i.row or 0, i.column or "", i.code))
    return Validated(path, lang, as_of_d, typed, issues, lists, settings)


_PERCENTS = {lang: (format_percent(0.0, lang), format_percent(1.0, lang)) for lang in ("en", "fr")}
_ALLOWED = {"simulations": ("100–100,000", "100–100 000"),
            "on_track": tuple("{}–{}".format(*_PERCENTS[lang]) for lang in ("en", "fr")),
            "at_risk": tuple("{}–{}".format(*_PERCENTS[lang]) for lang in ("en", "fr")),
            "seed": ("whole numbers from 0", "les entiers à partir de 0")}
_ALLOWED_ORDER = (f"{_PERCENTS['en'][0]} up to the on-track threshold",
                  f"{_PERCENTS['fr'][0]} jusqu'au seuil « en bonne voie »")


def settings_issues(path: str, lang: str, table: TableData | None) -> list[Issue]:
    """SETTING_OUT_OF_RANGE for each Settings value that drives a computation (contract.SETTING_LIMITS)
    and is out of its range or not a number: the value the computations use instead is named."""
    if table is None:
        return []
    found: dict[str, tuple[Any, int, str]] = {}
    for k, v, r in zip(table.column("key"), table.column("value"), table.rows):
        st = None if is_blank(k) else contract.SETTING_BY_LABEL.get(label_key(str(k)))
        if st is not None and st.key in contract.SETTING_LIMITS:
            found.setdefault(st.key, (v, r, str(k).strip()))
    values = {k: v for k, (v, _, _) in found.items()}
    out = []
    fr = lang == "fr"
    for key, (v, r, label) in found.items():
        sv = contract.setting_value(values, key)
        if sv.problem is None:
            continue
        allowed = (_ALLOWED_ORDER if sv.problem == "order" else _ALLOWED[key])[fr]
        used = format_percent(sv.value, lang) if key in ("on_track", "at_risk") else \
            format_amount(sv.value, lang)
        out.append(make_issue("SETTING_OUT_OF_RANGE", lang=lang, file=path, sheet=table.sheet, row=r,
                              column=table.headers.get("value") or contract.SETTINGS.column("value").label(lang),
                              value=v, setting=label, allowed=allowed, used=used))
    return out


def _sheet_order(sheet: str | None) -> int:
    if sheet is None:
        return -1
    for i, t in enumerate(contract.TABLES.values()):
        if label_key(sheet) in (label_key(t.sheet_en), label_key(t.sheet_fr)):
            return i
    return 99
