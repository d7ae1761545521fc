"""The team's rules for a new period and for merging rep rows: what the New period button, the
Consolidate button and `salesxl new-period` share. Core: typed tables in, plain rows out; the
callers write them (into the open workbook through xlwings, or into the team workbook file).

* Rollover (:func:`plan_rollover`): for each rep, the period holding the as-of date (else the
  latest one) is the current one; the next starts the day after it ends and lasts the rep's *Period
  length* (else the seniority's default: junior 1 week, confirmed 1 month, senior 3 months). Its
  Objectives row and Planning rows copy the current period's objective and planned counts. A rep
  whose next period overlaps a period already there is skipped (`already_planned`), so rolling
  twice adds nothing; a rep with no period at all is skipped (`no_period`).
* Merge (:func:`table_rows`, :func:`replace_rep_rows`, :func:`new_rows`): every row a file gives is
  taken, as the batch takes it (a row without a rep too). Reporting and Pipeline rows belong to the
  rep — an imported rep's rows replace that rep's previous ones (a row without a rep, the same row
  imported before); Reps, Objectives and Planning rows belong to the manager — an imported row is
  added only when its key is new (a row missing part of its key: when the same row is not there).
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from salesxl import contract
from salesxl.contract import CODE
from salesxl.forecast import split_by_rep, select_period
from salesxl.tables import TableData
from salesxl.values import add_period, clean_text, is_blank, label_key, parse_period_length

__all__ = ["MANAGER_OWNED", "REP_OWNED", "NextPeriod", "RepRollover", "Rollover", "next_period", "new_rows", "period_length",
           "plan_rollover", "rep_workbook_name", "replace_rep_rows", "row_key", "table_rows"]

REP_OWNED = ("reporting", "pipeline")       # rows of an imported rep replace the rep's previous rows
MANAGER_OWNED = {"reps": ("rep",), "objectives": ("rep", "period_start", "period_end"),
                 "planning": ("rep", "period_start", "period_end", "action")}   # rows added when new
_UNSAFE_FILE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def period_length(seniority: str | None, length: str | None) -> tuple[str, int]:
    """The rep's Period length (the Reps table's "1w", "2w", "1m", "3m"…), else the seniority's default
    (a seniority code: contract.DEFAULT_PERIOD), else one month; as (unit, count): ("weeks", 1)."""
    return (parse_period_length(length)
            or parse_period_length(contract.DEFAULT_PERIOD.get(seniority or "", ""))
            or ("months", 1))


@dataclass(frozen=True)
class NextPeriod:
    """A rep's current period and the next one (next_period)."""
    current_start: dt.date
    current_end: dt.date
    start: dt.date
    end: dt.date


def next_period(rep_objectives: TableData | None, rep_planning: TableData | None, as_of: dt.date,
                seniority: str | None = None, length: str | None = None) -> NextPeriod | None:
    """A rep's current period and the next one (None: the rep has no period): the current period holds
    the as-of date (else it is the latest one); the next starts the day after it ends and lasts the
    rep's Period length (else the seniority's default: junior 1w, confirmed 1m, senior 3m)."""
    cur = select_period(rep_objectives, rep_planning, as_of)
    if cur is not None:
        cur_start, cur_end = cur.start, cur.end
    else:
        ends = []
        for td in (rep_objectives, rep_planning):
            if td is not None and len(td):
                ends += [(e, s) for s, e in zip(td["period_start"], td["period_end"]) if s is not None and e is not None]
        if not ends:
            return None
        cur_end, cur_start = max(ends)
    start = cur_end + dt.timedelta(days=1)
    return NextPeriod(cur_start, cur_end, start, add_period(start, period_length(seniority, length)))


def table_rows(key: str, td: TableData | None, lang: str, *, lists: Mapping[str, contract.ListSpec] | None = None,
               mask: Sequence[bool] | None = None, kept: bool = True) -> list[dict]:
    """The rows of a typed table as {column key: value}, as the team tables take them: the input
    columns, empty cells left out, codes as their label in `lang` (`lists`: the workbook's Lists, default
    the contract's), and where a value could not be interpreted, what was typed there
    (`TableData.output`: nothing typed is lost; `kept=False`: the interpreted values only). `mask`:
    the rows to give (default all). The one conversion of the add-in's Consolidate (imported rows, the
    team's own rows) and of the rollover."""
    if td is None or not len(td):
        return []
    lists = lists if lists is not None else contract.LISTS
    cols = [c for c in contract.TABLES[key].input_columns if c.key in td]
    values = {c.key: (td.output(c.key) if kept else td[c.key]) for c in cols}
    out = []
    for i in range(len(td)):
        if mask is not None and not mask[i]:
            continue
        rec = {}
        for c in cols:
            v = values[c.key][i]
            if is_blank(v) or (isinstance(v, float) and v != v):
                continue
            if c.kind == CODE and isinstance(v, str):
                v = lists[c.codes].label_of(v, lang) or v
            rec[c.key] = v
        out.append(rec)
    return out


@dataclass
class RepRollover:
    """One rep's next period: the rows to add to the team's tables, and what the rep's own workbook
    for the period holds (`rep_row`, the open proposals)."""

    rep: str
    key: str
    period_start: dt.date
    period_end: dt.date
    objectives: list[dict]
    planning: list[dict]
    rep_row: dict
    open_proposals: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"rep": self.rep, "period_start": self.period_start.isoformat(),
                "period_end": self.period_end.isoformat(), "objectives": len(self.objectives),
                "planning": len(self.planning)}


@dataclass
class Rollover:
    as_of: dt.date
    reps: list[RepRollover]
    skipped: list[dict]

    def rows(self, key: str) -> list[dict]:
        """Every rep's new rows of table `key` ("objectives" or "planning")."""
        return [r for rep in self.reps for r in getattr(rep, key)]


def plan_rollover(tables: Mapping[str, TableData], as_of: dt.date, lang: str) -> Rollover:
    """Each rep's next period from the team's typed tables (see the module's rules)."""
    objectives, planning = split_by_rep(tables.get("objectives")), split_by_rep(tables.get("planning"))
    pipeline = split_by_rep(tables.get("pipeline"))
    reps: dict[str, dict[str, Any]] = {}
    typed = tables.get("reps")
    if typed is not None and len(typed):
        for rec, (name, seniority, length) in zip(table_rows("reps", typed, lang, kept=False),
                                                  zip(typed["rep"], typed["seniority"], typed.column("period_length"))):
            if clean_text(name):
                reps.setdefault(label_key(clean_text(name)), {"row": rec, "seniority": seniority, "length": length})
    for groups in (objectives, planning):
        for k, g in groups.items():
            if k is not None and k not in reps:
                reps[k] = {"row": {"rep": clean_text(g["rep"][0])}, "seniority": None, "length": None}

    out, skipped = [], []
    for k, info in reps.items():
        name = clean_text(info["row"]["rep"])
        o, p = objectives.get(k), planning.get(k)
        nxt = next_period(o, p, as_of, info["seniority"], info["length"])
        if nxt is None:
            skipped.append({"rep": name, "reason": "no_period"})
            continue
        cs, ce, ns, ne = nxt.current_start, nxt.current_end, nxt.start, nxt.end
        if any(s is not None and e is not None and s <= ne and ns <= e
               for td in (o, p) if td is not None for s, e in zip(td["period_start"], td["period_end"])):
            skipped.append({"rep": name, "reason": "already_planned", "period_start": ns.isoformat()})
            continue
        obj_rows = []
        if o is not None:
            for r, s, e, obj, deals in zip(o["rep"], o["period_start"], o["period_end"], o["revenue_objective"],
                                           o["deals_objective"]):
                if (s, e) != (cs, ce):
                    continue
                obj_rows.append({"rep": r, "period_start": ns, "period_end": ne, "revenue_objective": obj,
                                 "deals_objective": deals})
        plan_rows = []
        if p is not None:
            for r, s, e, action, planned in zip(p["rep"], p["period_start"], p["period_end"], p["action"],
                                                p["planned"]):
                if (s, e) != (cs, ce):
                    continue
                label = contract.ACTIONS.label_of(action, lang) if isinstance(action, str) else None
                plan_rows.append({"rep": r, "period_start": ns, "period_end": ne, "action": label or action,
                                  "planned": int(planned) if planned is not None and planned == planned else None})
        g = pipeline.get(k)
        proposals = (table_rows("pipeline", g, lang, mask=[st == contract.OPEN for st in g["status"]], kept=False)
                     if g is not None else [])
        out.append(RepRollover(name, k, ns, ne, obj_rows, plan_rows, dict(info["row"]), proposals))
    return Rollover(as_of, out, skipped)


def rep_workbook_name(rep: str, start: dt.date) -> str:
    """The file name of a rep's workbook for the period starting `start`: "<rep> <start>.xlsx"."""
    name = _UNSAFE_FILE.sub("-", rep).strip(" .") or "rep"
    return f"{name} {start.isoformat()}.xlsx"


# ---------------------------------------------------------------------------------------------
# Merging imported rows into the team's tables


def row_key(rec: Mapping[str, Any], cols: Sequence[str]) -> tuple[Any, ...]:
    """A row's identity over `cols`: text compared as labels (case, accents, spaces), dates as days."""
    out = []
    for c in cols:
        v = rec.get(c)
        if isinstance(v, dt.datetime):
            v = v.date()
        out.append(label_key(v) if isinstance(v, str) else v)
    return tuple(out)


def _rep(rec: Mapping[str, Any]) -> str | None:
    name = clean_text(rec.get("rep"))
    return label_key(name) if name else None


def _identity(rec: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A whole row's identity: every cell filled, compared as `row_key` compares them."""
    cols = sorted(k for k, v in rec.items() if not is_blank(v))
    return tuple(zip(cols, row_key(rec, cols)))


def replace_rep_rows(current: Iterable[Mapping[str, Any]], imported: Sequence[Mapping[str, Any]]) -> list:
    """A rep-owned table after an import: the current rows kept, then every imported row (nothing a rep
    typed is left out, a row without a rep included). The rows of an imported rep replace that rep's
    previous rows; a current row without a rep belongs to no rep: it is replaced only by the same row
    imported again (once per copy imported), so importing the same files twice adds nothing."""
    reps = {k for r in imported if (k := _rep(r)) is not None}
    again = Counter(_identity(r) for r in imported if _rep(r) is None)
    kept = []
    for r in current:
        k = _rep(r)
        if k is None:
            ident = _identity(r)
            if again[ident] > 0:
                again[ident] -= 1
                continue
            kept.append(r)
        elif k not in reps:
            kept.append(r)
    return kept + list(imported)


def new_rows(existing: Iterable[Mapping[str, Any]], imported: Iterable[Mapping[str, Any]],
             cols: Sequence[str]) -> list:
    """The imported rows of a manager-owned table whose key (`cols`) is not there yet, each once. A row
    missing part of its key (no rep, no period) is compared whole: added unless the same row is there."""
    def key(r: Mapping[str, Any]) -> tuple:
        k = row_key(r, cols)
        return k if not any(is_blank(v) for v in k) else ("row", _identity(r))

    seen = {key(r) for r in existing}
    out = []
    for r in imported:
        k = key(r)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out
