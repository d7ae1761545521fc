"""One rep's end-of-period review, built once as data: a list of neutral blocks (title, fields, grids,
charts, talking points). The file writer and the live-workbook writer both render these blocks."""
from __future__ import annotations

import math
import re

import numpy as np
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

from salesxl import contract
from salesxl.forecast import (AT_RISK, DEFAULT_SIMULATIONS, HISTORY, MOTIVATION, OFF_TRACK, ON_TRACK, TRAINING,
                              RepForecast, TeamForecast)
from salesxl.i18n import pick
from salesxl.review_text import T
from salesxl.values import format_amount, format_percent

# value formats understood by every renderer
TEXT, AMOUNT, PERCENT, DATE, INT, RATIO = "text", "amount", "percent", "date", "int", "ratio"
# cell styles
STYLE_RISK = {ON_TRACK: "good", AT_RISK: "warn", OFF_TRACK: "bad"}


class Cell(NamedTuple):
    value: Any
    fmt: str = TEXT
    style: str | None = None           # good | warn | bad | bold | muted


@dataclass(frozen=True)
class Title:
    text: str
    subtitle: str


@dataclass(frozen=True)
class Fields:
    title: str
    rows: tuple[tuple[str, Cell], ...]


@dataclass(frozen=True)
class Grid:
    id: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str = ""


@dataclass(frozen=True)
class Chart:
    kind: str                          # column | bar
    title: str
    source: str                        # Grid id
    categories: int                    # column index in the grid
    series: tuple[int, ...]            # column indexes


@dataclass(frozen=True)
class Points:
    title: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Review:
    rep: str
    sheet_name: str
    lang: str
    blocks: tuple
    risk: str | None = None

    def grid(self, gid: str) -> Grid:
        return next(b for b in self.blocks if isinstance(b, Grid) and b.id == gid)


def t(key: str, lang: str, **kw) -> str:
    s = pick(T[key], lang)
    return s.format(**kw) if kw else s


_ILLEGAL_SHEET = re.compile(r"[\[\]:*?/\\]")
_X_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")          # how Excel stores a control character in a text
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")


def _utf16_cut(s: str, units: int) -> str:
    """The longest start of `s` within `units` UTF-16 code units (Excel's length), a pair never split."""
    out, n = [], 0
    for ch in s:
        n += 2 if ord(ch) > 0xFFFF else 1
        if n > units:
            break
        out.append(ch)
    return "".join(out)


def sheet_text(text: str) -> str:
    """A name made fit for a sheet tab: `_x0007_` escapes decoded; line breaks and the characters Excel
    forbids in a sheet name replaced by spaces, other control characters removed, spaces collapsed."""
    s = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), str(text))
    s = _UNPRINTABLE.sub("", _ILLEGAL_SHEET.sub(" ", _BREAKS.sub(" ", s)))
    return " ".join(s.split())


def sheet_name(rep: str, lang: str, taken: set[str] | None = None) -> str:
    """'Review – <rep>' / 'Entretien – <rep>', at most 31 characters (UTF-16 units, as Excel counts),
    free of control characters and line breaks, unique among `taken` whatever the case."""
    taken = taken if taken is not None else set()
    base = contract.SHEETS["review"][lang].format(rep=sheet_text(rep) or "?")
    name = _utf16_cut(base, contract.REVIEW_SHEET_MAX).rstrip().strip("'")
    i = 2
    folded = {n.casefold() for n in taken}
    while name.casefold() in folded:
        suffix = f" ({i})"
        name = _utf16_cut(base, contract.REVIEW_SHEET_MAX - len(suffix)).rstrip().strip("'") + suffix
        i += 1
    taken.add(name)
    return name


def _label(list_key: str, key: str | None, lang: str) -> str:
    if key is None:
        return ""
    label = contract.LISTS[list_key].label_of(key, lang)
    return key if label is None else label


def risk_label(risk: str | None, lang: str) -> str:
    return t(risk, lang) if risk else t("no_objective", lang)


def basis_label(basis: str | None, reason: str | None, lang: str) -> str:
    """'History', or 'Declared — <why>' (SPEC §4b)."""
    if basis == HISTORY:
        return t("basis_history", lang)
    why = T.get(f"basis_{reason}") if reason else None
    return t("basis_declared", lang) + (f" — {pick(why, lang)}" if why else "")


def expected_point(rf: RepForecast, as_of, lang: str) -> str | None:
    """One talking point saying in plain words why the history's expected differs from the declared
    forecast (SPEC §4b), or None when the basis is declared or they differ by less than 5 %."""
    pred = rf.history
    if rf.basis != HISTORY or pred is None or rf.expected is None or pred.declared is None:
        return None
    diff = rf.expected - rf.forecast
    if abs(diff) < 0.05 * max(rf.forecast, rf.objective or 0.0, 1.0):
        return None
    A = lambda x: format_amount(x, lang)  # noqa: E731
    a, p, q, w, pushes = pred.amounts, pred.declared, pred.q, pred.window, pred.pushes
    declared = np.where(w <= 1, a * p, 0.0)          # due by the period end (overdue ones of the period count)
    delta = a * q - declared
    pushed, overdue = pushes >= 2, (w == 0) & (pushes < 2)
    kw = {"expected": A(rf.expected), "forecast": A(rf.forecast)}
    if diff < 0:
        groups = {"pushed": float(delta[pushed].sum()), "overdue": float(delta[overdue].sum()),
                  "lower": float(delta[~pushed & ~overdue].sum())}
        worst = min(groups, key=groups.get)
        if worst == "pushed":
            return t("tp_expected_pushed", lang, n=int(pushed.sum()), **kw)
        if worst == "overdue":
            days = max(0, (rf.period_end - as_of).days) if rf.period_end else 0
            return t("tp_expected_overdue", lang, n=int(overdue.sum()), days=days, **kw)
        return t("tp_expected_lower", lang, **kw)
    new = t("tp_expected_new", lang, new=A(pred.new_business)) if pred.new_business > 0.3 * diff else ""
    return t("tp_expected_higher", lang, new=new, **kw)


# ---------------------------------------------------------------------------------------------
def build_review(rf: RepForecast, as_of, lang: str = "en", *, currency: str = "EUR",
                 taken: set[str] | None = None, simulations: int = DEFAULT_SIMULATIONS) -> Review:
    """The review of one rep as blocks; the same content in English and French."""
    L = lang
    blocks: list = [Title(t("title", L, rep=rf.rep), t("subtitle", L))]
    period = f"{_d(rf.period_start, L)} → {_d(rf.period_end, L)}"
    blocks.append(Fields("", (
        (t("rep", L), Cell(rf.rep, TEXT, "bold")),
        (t("seniority", L), Cell(_label("seniority", rf.seniority, L) or "—")),
        (t("period", L), Cell(period)),
        (t("as_of", L), Cell(as_of, DATE)),
        (t("elapsed", L), Cell(rf.elapsed, PERCENT)),
    )))
    method = (t("method_exact", L) if rf.method == "exact"
              else t("method_monte_carlo", L, n=format_amount(simulations, L)))
    kpis = [
        (t("objective", L) + f" ({currency})", Cell(rf.objective, AMOUNT, "bold")),
        (t("won", L), Cell(rf.won, AMOUNT)),
        (t("weighted_open", L), Cell(rf.weighted_open, AMOUNT)),
        (t("forecast", L), Cell(rf.forecast, AMOUNT, "bold")),
        (t("expected", L), Cell(rf.expected if rf.expected is not None else rf.forecast, AMOUNT, "bold")),
        (t("basis", L), Cell(basis_label(rf.basis, rf.basis_reason, L))),
        (t("attainment", L), Cell(rf.attainment, PERCENT)),
        (t("p_reach", L) + f" — {method}", Cell(rf.p_reach, PERCENT, "bold")),
        (t("risk", L), Cell(risk_label(rf.risk, L), TEXT, STYLE_RISK.get(rf.risk, "muted"))),
        *(((t("p_reach_declared", L), Cell(rf.p_reach_declared, PERCENT)),) if rf.basis == HISTORY else ()),
        (t("coverage", L), Cell(rf.coverage, RATIO)),
        (t("required_coverage", L), Cell(rf.required_coverage, RATIO)),
    ]
    if rf.calibrated_forecast is not None:
        kpis.append((t("calibrated_forecast", L), Cell(rf.calibrated_forecast, AMOUNT)))
    blocks.append(Fields(t("kpis", L), tuple(kpis)))

    # forecast range, with its chart
    blocks.append(Grid("range", t("chart_forecast", L), ("", t("amount", L)), tuple(
        (Cell(lbl), Cell(v, AMOUNT)) for lbl, v in (
            (t("objective", L), rf.objective), (t("won", L), rf.won), ("P10", rf.p10), ("P50", rf.p50),
            ("P90", rf.p90), (t("forecast", L).split(" (")[0], rf.forecast),
            *(((t("expected", L).split(" (")[0], rf.expected),) if rf.basis == HISTORY else ())))))
    blocks.append(Chart("bar", t("chart_forecast", L), "range", 0, (1,)))

    # plan vs done, with its chart
    plan_rows = tuple((Cell(_label("actions", p.action, L)), Cell(p.planned, INT), Cell(p.prorated, RATIO),
                       Cell(p.done, INT), Cell(p.pace, PERCENT, _pace_style(p.pace))) for p in rf.plan)
    blocks.append(Grid("plan", t("plan_title", L),
                       (t("action", L), t("planned", L), t("prorated", L), t("done", L), t("pace", L)),
                       plan_rows, t("none", L)))
    if plan_rows:
        blocks.append(Chart("column", t("chart_plan", L), "plan", 0, (2, 3)))

    # results by action type and outcome class
    order = [it.key for it in contract.ACTIONS.items]
    res_rows = tuple(
        (Cell(_label("actions", a, L)), Cell(c.get(contract.POSITIVE, 0), INT), Cell(c.get(contract.NEUTRAL, 0), INT),
         Cell(c.get(contract.NEGATIVE, 0), INT), Cell(rf.conversion.get(a), PERCENT))
        for a, c in sorted(rf.results.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
    blocks.append(Grid("results", t("results_title", L),
                       (t("action", L), t("positive", L), t("neutral", L), t("negative", L), t("conversion", L)),
                       res_rows, t("none", L)))

    # failure reasons vs team
    blocks.append(Grid("reasons", t("reasons_title", L),
                       (t("reason", L), t("count", L), t("share", L), t("team_share", L), t("over", L)),
                       tuple((Cell(_label("reasons", r.reason, L)), Cell(r.count, INT), Cell(r.share, PERCENT),
                              Cell(r.team_share, PERCENT), Cell(t("yes", L) if r.over_represented else "",
                                                                 TEXT, "warn" if r.over_represented else None))
                             for r in rf.reasons), t("none", L)))

    # open proposals by weighted amount, overdue marked
    blocks.append(Grid("proposals", t("proposals_title", L),
                       (t("ref", L), t("company", L), t("amount", L), t("probability", L), t("weighted", L),
                        t("decision_date", L), t("overdue", L)),
                       tuple((Cell(p.ref), Cell(p.company), Cell(p.amount, AMOUNT), Cell(p.probability, PERCENT),
                              Cell(p.weighted, AMOUNT), Cell(p.decision_date, DATE, "bad" if p.overdue else None),
                              Cell(t("overdue_days", L, d=p.days_overdue) if p.overdue else "", TEXT,
                                   "bad" if p.overdue else None))
                             for p in rf.proposals), t("none", L)))

    # calibration when available
    if rf.calibration is not None:
        cal = rf.calibration
        blocks.append(Grid("calibration", t("calibration_title", L) + f" — {t('brier', L)}: {cal.brier:.3f}",
                           (t("bin", L), t("closed", L), t("mean_declared", L), t("realised", L)),
                           tuple((Cell(f"{b.lower:.0%}–{b.upper:.0%}"), Cell(b.n, INT),
                                  Cell(b.mean_declared, PERCENT), Cell(b.realised, PERCENT))
                                 for b in cal.bins if b.n)))
    if rf.slippage:
        rows = sorted(rf.slippage, key=lambda s: (-(s.get("days_pushed") or 0), str(s.get("ref"))))[:10]
        rows = [s for s in rows if (s.get("pushes") or 0) > 0 or (s.get("days_in_stage") or 0) > 30]
        if rows:
            blocks.append(Grid("slippage", t("slippage_title", L),
                               (t("ref", L), t("pushes", L), t("days_pushed", L), t("days_in_stage", L)),
                               tuple((Cell(s.get("ref")), Cell(s.get("pushes"), INT), Cell(s.get("days_pushed"), INT),
                                      Cell(s.get("days_in_stage"), INT)) for s in rows)))

    blocks.append(Points(t("points_title", L), tuple(talking_points(rf, as_of, L))))
    return Review(rf.rep, sheet_name(rf.rep, L, taken), L, tuple(blocks), rf.risk)


def build_reviews(fc: TeamForecast, lang: str = "en", currency: str = "EUR") -> list[Review]:
    return list(iter_reviews(fc, lang, currency))


def iter_reviews(fc: TeamForecast, lang: str = "en", currency: str = "EUR") -> Iterator[Review]:
    """The reviews of `build_reviews`, built one at a time (a writer renders and drops each in turn)."""
    taken: set[str] = set()
    for r in fc.reps:
        yield build_review(r, fc.as_of, lang, currency=currency, taken=taken, simulations=fc.simulations)


def _pace_style(pace):
    if pace is None:
        return None
    return "good" if pace >= 0.9 else ("warn" if pace >= 0.6 else "bad")


def _d(d, lang):
    if d is None:
        return "—"
    return d.strftime("%d/%m/%Y") if lang == "fr" else d.isoformat()


# ---------------------------------------------------------------------------------------------
def talking_points(rf: RepForecast, as_of, lang: str) -> list[str]:
    """3–6 points phrased to help, not judge: which lever, which actions close the gap, what to chase."""
    L = lang
    A = lambda x: format_amount(x, L)  # noqa: E731
    P = lambda x: format_percent(x, L) if x is not None else "—"  # noqa: E731
    pts: list[str] = []
    gap = (rf.objective - rf.forecast) if rf.objective else None
    days_left = max(0, (rf.period_end - as_of).days) if rf.period_end else 0
    if not rf.objective:
        pts.append(t("tp_no_objective", L))
    elif rf.risk == ON_TRACK:
        pts.append(t("tp_on_track", L, forecast=A(rf.forecast), objective=A(rf.objective), p=P(rf.p_reach)))
    elif rf.risk == AT_RISK and (gap is None or gap <= 0):
        pts.append(t("tp_at_risk_covered", L, forecast=A(rf.forecast), objective=A(rf.objective),
                     p=P(rf.p_reach), days=days_left))
    elif rf.risk == AT_RISK:
        pts.append(t("tp_at_risk", L, objective=A(rf.objective), p=P(rf.p_reach), gap=A(max(gap or 0, 0)),
                     days=days_left))
    else:
        pts.append(t("tp_off_track", L, objective=A(rf.objective), p=P(rf.p_reach), gap=A(max(gap or 0, 0))))

    why = expected_point(rf, as_of, L)       # why the history expects otherwise than declared (SPEC §4b)
    if why:
        pts.append(why)

    if rf.lever == TRAINING:
        topic = t("tp_topic", L, reason=_label("reasons", rf.training_topic, L)) if rf.training_topic else ""
        pts.append(t("tp_training", L, pace=P(rf.pace), topic=topic))
    elif rf.lever == MOTIVATION:
        behind = sorted((p for p in rf.plan if p.pace is not None and p.pace < 0.9),
                        key=lambda p: p.done - p.prorated)[:2]
        txt = ", ".join(f"{max(0, math.ceil(p.prorated - p.done))} × {_label('actions', p.action, L)}"
                        for p in behind)
        pts.append(t("tp_motivation", L, pace=P(rf.pace), behind=t("tp_behind", L, actions=txt) if txt else ""))
    elif not rf.plan:
        pts.append(t("tp_no_plan", L))

    if gap and gap > 0 and rf.win_rate and rf.avg_deal and rf.conversion:
        best = max(rf.conversion.items(), key=lambda kv: (kv[1], kv[0]))
        value = best[1] * rf.win_rate * rf.avg_deal
        if value > 0:
            n = math.ceil(gap / value)
            pts.append(t("tp_actions", L, n=n, action=_label("actions", best[0], L), rate=P(best[1]),
                         win=P(rf.win_rate), deal=A(rf.avg_deal), gap=A(gap)))
    if rf.coverage is not None and rf.required_coverage is not None and rf.coverage < rf.required_coverage \
            and rf.risk != ON_TRACK:
        pts.append(t("tp_coverage", L, cov=format_amount(rf.coverage, L, 1) + "×",
                     req=format_amount(rf.required_coverage, L, 1) + "×"))

    overdue = [p for p in rf.proposals if p.overdue]
    if rf.proposals:
        chase = sorted(rf.proposals, key=lambda p: (not p.overdue, -p.weighted))[:3]
        items = "; ".join(
            f"{p.ref or '—'} {p.company or ''} ({A(p.amount)}, {P(p.probability)}"
            + (", " + t("overdue_days", L, d=p.days_overdue) if p.overdue else "") + ")" for p in chase)
        pts.append(t("tp_chase", L, list=items))
    if len(overdue) >= 2:
        pts.append(t("tp_overdue", L, n=len(overdue)))
    over = [r for r in rf.reasons if r.over_represented]
    if over:
        r = over[0]
        pts.append(t("tp_reason", L, reason=_label("reasons", r.reason, L), share=P(r.share), team=P(r.team_share)))
    if rf.calibrated_forecast is not None and rf.forecast:
        ratio = rf.calibrated_forecast / rf.forecast
        if ratio < 0.9:
            pts.append(t("tp_calibration_high", L, cal=A(rf.calibrated_forecast), fc=A(rf.forecast)))
        elif ratio > 1.1:
            pts.append(t("tp_calibration_low", L, cal=A(rf.calibrated_forecast), fc=A(rf.forecast)))
    if len(pts) < 3:
        pts.append(t("tp_next", L))
    if len(pts) < 3 and not rf.plan:
        pts.append(t("tp_no_plan", L))
    return pts[:6]
