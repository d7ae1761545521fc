"""SalesXL user functions for Excel (xlwings UDFs, prefixed ``SXL_``).

Each function is a few lines over the core (``values.parse_*``, ``forecast``, ``simulate``,
``rules``). Ranges arrive as lists, or lists of lists: they are flattened row by row. An empty cell
is ``None`` and is never read as 0: a proposal with an empty amount or probability is left out, not
counted as zero. A value that cannot be read (text that is not a number, a probability outside
0–100 %) raises ``ValueError``, which Excel shows as ``#VALUE!``; its message is in English, then in French
(i18n.UDF_ERRORS: a function does not know its workbook's language).

Classic xlwings (Windows): the add-in's config sheet names this module (``UDF Modules =
salesxl.udfs``); *Import Functions* registers them. ``@xw.func`` returns the function itself, so
every function here is also a plain Python callable (the tests call them with lists).
The xlwings Lite script (``addin/lite/main.py``) wraps the same functions with Lite's ``@func``.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

import xlwings as xw

from salesxl import contract, forecast, simulate
from salesxl.i18n import udf_error
from salesxl.rules import stage_probability
from salesxl.tables import TableData
from salesxl.values import (BAD, clean_text, is_blank, label_key, parse_date, parse_number,
                            parse_probability)

__all__ = ["SXL_COVERAGE", "SXL_FORECAST_QUANTILE", "SXL_PACE", "SXL_PERIOD_FORECAST", "SXL_P_REACH",
           "SXL_ROW_CHECK", "SXL_WEIGHTED_SUM"]


# ---------------------------------------------------------------------------------------------
# argument helpers


def flatten(values: Any) -> list[Any]:
    """A cell, a row, a column or a 2-D range -> a flat list, row by row (``None`` for no argument:
    an empty list)."""
    if values is None:
        return []
    if isinstance(values, (list, tuple)):
        out: list[Any] = []
        for v in values:
            if isinstance(v, (list, tuple)):
                out.extend(flatten(v))
            else:
                out.append(v)
        return out
    if hasattr(values, "tolist"):            # numpy array / pandas object
        return flatten(values.tolist())
    return [values]


def _error(key: str, /, **params: Any) -> Exception:
    """The error of a function (i18n.UDF_ERRORS), in English then French: a function does not know its
    workbook's language. A ValueError: #VALUE! in the cell."""
    return ValueError(udf_error(key, **params))


def _number(v: Any, what: str) -> float | None:
    p = parse_number(v)
    if p.status == BAD:
        raise _error("not_a_number", what=what, value=v)
    return p.value


def _probability(v: Any) -> float | None:
    p = parse_probability(v)
    if p.value is None and p.status != "empty":
        raise _error("not_a_probability", value=v)
    return p.value


def _date(v: Any, what: str) -> dt.date | None:
    p = parse_date(v)
    if p.status == BAD:
        raise _error("not_a_date", what=what, value=v)
    return p.value


def _scalar(v: Any) -> Any:
    """A single-cell argument (a one-cell range may arrive as [[x]])."""
    flat = flatten(v)
    if len(flat) > 1:
        raise _error("single_cell")
    return flat[0] if flat else None


def _same_length(*columns: list) -> None:
    if len({len(c) for c in columns}) > 1:
        raise _error("same_length")


def _pipeline(amounts: Any, probabilities: Any) -> tuple[list[float], list[float]]:
    """(amounts, probabilities) of the complete rows: a row with an empty amount or probability is
    left out (never taken as 0)."""
    a, p = flatten(amounts), flatten(probabilities)
    _same_length(a, p)
    out_a, out_p = [], []
    for x, q in zip(a, p):
        amount, prob = _number(x, "amount"), _probability(q)
        if amount is None or prob is None:
            continue
        out_a.append(amount)
        out_p.append(prob)
    return out_a, out_p


def _won(won: Any) -> float:
    """Won: a number, or a range of won amounts (summed); empty is 0 won (nothing won yet)."""
    return math.fsum(x for x in (_number(v, "won") for v in flatten(won)) if x is not None)


def _int(v: Any, default: int, what: str) -> int:
    x = _number(_scalar(v), what)
    if x is None:
        return default
    if not float(x).is_integer():
        raise _error("not_whole", what=what, value=v)
    return int(x)


def _simulations(v: Any) -> int:
    """Monte Carlo draws asked of a function: at most the Settings' bound (1e9 would exhaust memory)."""
    return min(_int(v, forecast.DEFAULT_SIMULATIONS, "simulations"), contract.SETTING_LIMITS["simulations"][1])


def _statuses(labels: Iterable[Any]) -> set[str]:
    return {label_key(str(x)) for x in labels if not is_blank(x)}


_STATUS = {it.key: it for it in contract.STATUSES.items}
_WON_LABELS = _statuses((_STATUS[contract.WON].en, _STATUS[contract.WON].fr))
_OPEN_LABELS = _statuses((_STATUS[contract.OPEN].en, _STATUS[contract.OPEN].fr))


# ---------------------------------------------------------------------------------------------
# the functions


@xw.func
def SXL_WEIGHTED_SUM(amounts, probabilities):
    """Σ Amount × Probability of the rows where both are filled (an empty cell is left out, never 0)."""
    a, p = _pipeline(amounts, probabilities)
    return math.fsum(forecast.weighted_amount(x, q) for x, q in zip(a, p))


@xw.func
def SXL_PERIOD_FORECAST(amounts, probabilities, statuses, decision_dates, period_start, period_end,
                        won_statuses=None, stages=None):
    """Forecast of a period = Won (Σ Amount of won proposals decided in the period) + Weighted open
    (Σ Amount × Probability of open proposals decided in the period): `forecast.period_pipeline`, the
    Forecast sheet's own figures. Statuses in English or French; ``won_statuses`` (optional) lists more
    labels that count as won; ``stages`` (optional): an open proposal with an empty probability takes its
    stage's default probability, as the Forecast sheet gives it (else it is left out)."""
    a, p, s, d = (flatten(x) for x in (amounts, probabilities, statuses, decision_dates))
    st = flatten(stages) if stages is not None else [None] * len(a)
    _same_length(a, p, s, d, st)
    start, end = _date(_scalar(period_start), "period start"), _date(_scalar(period_end), "period end")
    if start is None or end is None:
        raise _error("period_required")
    won_labels = _WON_LABELS | _statuses(flatten(won_statuses))
    cols: dict[str, list] = {"amount": [], "probability": [], "status": [], "decision_date": []}
    for amount, prob, status, decision, stage in zip(a, p, s, d, st):
        day = _date(decision, "decision date")
        key = label_key(str(status)) if not is_blank(status) else None
        code = contract.WON if key in won_labels else contract.OPEN if key in _OPEN_LABELS else None
        amount = _number(amount, "amount")
        if code == contract.OPEN and day is not None and amount is not None and start <= day <= end:
            prob = _probability(prob)          # read where it counts: an open proposal of the period
            if prob is None:
                prob = _stage_probability(stage)
        else:
            prob = None
        for c, v in zip(cols.values(), (amount, prob, code, day)):
            c.append(v)
    return forecast.period_pipeline(TableData("pipeline", cols, None), start, end).forecast


def _stage_probability(stage: Any) -> float | None:
    """The default probability of a stage typed in English or French (the contract's Lists)."""
    item = contract.STAGES.lookup().get(label_key(str(stage))) if not is_blank(stage) else None
    return stage_probability(item.key, contract.STAGES) if item is not None else None


def _outcome(objective, won, amounts, probabilities, simulations, seed) -> simulate.Outcome:
    a, p = _pipeline(amounts, probabilities)
    return simulate.outcome_distribution(
        _won(won), a, p, _number(_scalar(objective), "objective"),
        simulations=_simulations(simulations),
        seed=_int(seed, forecast.DEFAULT_SEED, "seed"))


@xw.func
def SXL_P_REACH(objective, won, amounts, probabilities, simulations=None, seed=None):
    """P(Won + the open proposals won reach the objective): each proposal won independently with its
    probability; exact for a few proposals, seeded Monte Carlo otherwise (default 10,000 draws)."""
    return _outcome(objective, won, amounts, probabilities, simulations, seed).p_reach


@xw.func
def SXL_FORECAST_QUANTILE(q, won, amounts, probabilities, simulations=None, seed=None):
    """The q-quantile of Won + open proposals won (q = 0.1, 0.5, 0.9 give P10, P50, P90 as in the
    Forecast sheet; 10, 50, 90 and "P10"… are accepted)."""
    text = clean_text(_scalar(q))
    if text and text.upper().startswith("P"):
        text = text[1:]
    level = _number(text, "q")
    if level is None:
        raise _error("q_required")
    if level > 1:
        level /= 100.0
    if not 0 < level < 1:
        raise _error("q_range", value=q)
    out = _outcome(None, won, amounts, probabilities, simulations, seed)
    for name, at in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        if abs(level - at) < 1e-12:
            return getattr(out, name)
    # another level: the same lower inverse CDF over Monte Carlo draws
    import numpy as np

    a, p = _pipeline(amounts, probabilities)
    draws = simulate.sample_totals(_won(won), a, p, _simulations(simulations),
                                   np.random.default_rng(_int(seed, forecast.DEFAULT_SEED, "seed")))
    k = min(draws.size, max(1, math.ceil(level * draws.size - 1e-9))) - 1
    return float(np.partition(draws, k)[k])


@xw.func
def SXL_COVERAGE(open_amount, objective, won):
    """Open amount / (Objective − Won); empty once Won reaches the objective (or without objective).
    ``open_amount`` may be a range of open amounts (summed)."""
    amounts = [x for x in (_number(v, "open amount") for v in flatten(open_amount)) if x is not None]
    return forecast.coverage(math.fsum(amounts), _number(_scalar(objective), "objective"), _won(won))


@xw.func
def SXL_PACE(done, planned, period_start, period_end, as_of=None):
    """Done / (Planned × elapsed fraction of the period at the as-of date); empty when nothing was
    due yet. ``done`` and ``planned`` may be ranges (summed); as-of defaults to today."""
    d = [x for x in (_number(v, "done") for v in flatten(done)) if x is not None]
    p = [x for x in (_number(v, "planned") for v in flatten(planned)) if x is not None]
    start, end = _date(_scalar(period_start), "period start"), _date(_scalar(period_end), "period end")
    day = _date(_scalar(as_of), "as-of date") or dt.date.today()
    if start is None or end is None or not p:
        return None
    prorated = math.fsum(p) * forecast.elapsed_fraction(start, end, day)
    return math.fsum(d) / prorated if prorated > 0 else None


@xw.func
def SXL_ROW_CHECK(header_range, row_range, table=None):
    """The issues of one row, as text (messages joined by '; '; '' when the row is clean).

    ``header_range`` is the table's header row, ``row_range`` the row to check (same width);
    ``table`` names the table (tblPipeline, Pipeline, Carnet commercial…) and is guessed from the
    headers when left out. The row is checked alone: rules that need other rows or tables (duplicates,
    unknown rep, proposal not in the pipeline) are the Validate button's job."""
    from salesxl.rules import validate_tables
    from salesxl.tables import TableData

    headers, values = flatten(header_range), flatten(row_range)
    _same_length(headers, values)
    t = _table_for(headers, table)
    lookup = contract.header_lookup(t)
    cols: dict[str, tuple[str, Any]] = {}
    fr = en = 0
    for h, v in zip(headers, values):
        if is_blank(h):
            continue
        col = lookup.get(label_key(str(h)))
        if col is None or col.key in cols or col.computed:
            continue
        cols[col.key] = (str(h), v)
        fr += label_key(str(h)) == label_key(col.fr) and col.fr != col.en
        en += label_key(str(h)) == label_key(col.en) and col.fr != col.en
    if all(is_blank(v) for _, v in cols.values()):
        return ""
    lang = "fr" if fr > en else "en"
    row = TableData(t.key, {k: [v] for k, (_, v) in cols.items()}, [2], sheet=t.sheet(lang),
                    headers={k: h for k, (h, _) in cols.items()})
    v = validate_tables("", {t.key: row}, lang=lang)
    return "; ".join(i.message for i in v.issues)


def _table_for(headers: list, table: Any) -> contract.Table:
    name = clean_text(_scalar(table)) if table is not None else None
    candidates = [t for t in contract.TABLES.values() if t.key != "settings"]
    if name:
        k = label_key(name)
        for t in candidates:
            if k in (label_key(t.name), label_key(t.key), label_key(t.sheet_en), label_key(t.sheet_fr)):
                return t
        raise _error("unknown_table", name=name)
    keys = {label_key(str(h)) for h in headers if not is_blank(h)}
    best = max(candidates, key=lambda t: (len(keys & set(contract.header_lookup(t))), -len(t.columns)))
    if not keys & set(contract.header_lookup(best)):
        raise _error("no_table")
    return best
