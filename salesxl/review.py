"""One rep's end-of-period review, built once as data: a list of neutral blocks (title, fields, grids,
charts, talking points). The file writer and the live-workbook writer both render these blocks."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from salesxl import contract
from salesxl.forecast import (AT_RISK, DEFAULT_SIMULATIONS, HISTORY, MOTIVATION, OFF_TRACK, ON_TRACK, PACE_TRAINING,
                              TRAINING, RepForecast, TeamForecast)
from salesxl.i18n import pick
from salesxl.layout import (AMOUNT, DATE, INT, PERCENT, RATIO, TEXT, Cell, Chart, Fields, Grid,  # noqa: F401
                            Points, Title)
from salesxl.layout import sheet_name as _valid_sheet_name
from salesxl.layout import sheet_text  # noqa: F401 - the rule review sheet names follow
from salesxl.review_text import TEXTS, counted_text, text_of
from salesxl.values import format_amount, format_date_long, format_percent

# cell styles
STYLE_RISK = {ON_TRACK: "good", AT_RISK: "warn", OFF_TRACK: "bad"}
TOP_PROPOSALS = 15                 # open proposals listed one by one; the rest in one line
TOP_SLIPPING = 8


@dataclass(frozen=True)
class Review:
    rep: str
    sheet_name: str
    lang: str
    blocks: tuple
    risk: str | None = None
    back_sheet: str | None = None      # the sheet the review links back to (the team Forecast sheet)

    def grid(self, gid: str) -> Grid:
        return next(b for b in self.blocks if isinstance(b, Grid) and b.id == gid)


def pct(x: float | None, lang: str) -> str:
    """A percentage as the cells show it (one decimal, the PERCENT number format)."""
    return "—" if x is None else format_percent(x, lang, 1)


def sheet_name(rep: str, lang: str, taken: set[str] | None = None) -> str:
    """'Review – <rep>' / 'Entretien – <rep>', at most 31 characters, unique among `taken` (the
    sheet-name rule of salesxl.layout)."""
    return _valid_sheet_name(contract.SHEETS["review"][lang].format(rep=sheet_text(rep) or "?"), taken)


def _label(list_key: str, key: str | None, lang: str) -> str:
    if key is None:
        return ""
    label = contract.LISTS[list_key].label_of(key, lang)
    return key if label is None else label


def risk_label(risk: str | None, lang: str) -> str:
    return text_of(risk, lang) if risk else text_of("no_objective", lang)


def basis_label(basis: str | None, reason: str | None, lang: str) -> str:
    """'History', or 'Declared — <why>' (SPEC §4b)."""
    if basis == HISTORY:
        return text_of("basis_history", lang)
    why = TEXTS.get(f"basis_{reason}") if reason else None
    return text_of("basis_declared", lang) + (f" — {pick(why, lang)}" if why else "")


def expected_point(rf: RepForecast, as_of: dt.date, lang: str) -> str | None:
    """One talking point saying in plain words why the history's expected differs from the declared
    forecast (SPEC §4b), or None when the basis is declared or they differ by less than 5 %."""
    pred = rf.history
    if rf.basis != HISTORY or pred is None or rf.expected is None or pred.declared is None:
        return None
    diff = rf.expected - rf.forecast
    if abs(diff) < 0.05 * max(rf.forecast, rf.objective or 0.0, 1.0):
        return None

    def amount(x):
        return format_amount(x, lang)

    a, p, q, w, pushes = pred.amounts, pred.declared, pred.q, pred.window, pred.pushes
    declared = np.where(w <= 1, a * p, 0.0)          # due by the period end (overdue ones of the period count)
    delta = a * q - declared
    pushed, overdue = pushes >= 2, (w == 0) & (pushes < 2)
    kw = {"expected": amount(rf.expected), "forecast": amount(rf.forecast)}
    if diff < 0:
        groups = {"pushed": float(delta[pushed].sum()), "overdue": float(delta[overdue].sum()),
                  "lower": float(delta[~pushed & ~overdue].sum())}
        worst = min(groups, key=groups.get)
        if worst == "pushed":
            return counted_text("tp_expected_pushed", int(pushed.sum()), lang, **kw)
        if worst == "overdue":
            days = max(0, (rf.period_end - as_of).days) if rf.period_end else 0
            return counted_text("tp_expected_overdue", int(overdue.sum()), lang, in_days=counted_text("in_days_left", days, lang), **kw)
        return text_of("tp_expected_lower", lang, **kw)
    new = text_of("tp_expected_new", lang, new=amount(pred.new_business)) if pred.new_business > 0.3 * diff else ""
    return text_of("tp_expected_higher", lang, new=new, **kw)


# ---------------------------------------------------------------------------------------------
def build_review(rf: RepForecast, as_of: dt.date, lang: str = "en", *, currency: str = contract.DEFAULT_CURRENCY,
                 taken: set[str] | None = None, simulations: int = DEFAULT_SIMULATIONS,
                 back_sheet: str | None = None) -> Review:
    """The review of one rep as blocks, in page order; the same content in English and French.
    `back_sheet`: the sheet the review links back to (the team Forecast sheet), if any."""
    blocks: list = [Title(text_of("title", lang, rep=rf.rep), text_of("subtitle", lang), text_of("back_to_forecast", lang))]
    blocks.append(Fields(text_of("header_title", lang), (
        (text_of("rep", lang), Cell(rf.rep, TEXT, "bold")),
        (text_of("seniority", lang), Cell(_label("seniority", rf.seniority, lang) or "—")),
        (text_of("period_start", lang), Cell(format_date_long(rf.period_start, lang))),
        (text_of("period_end", lang), Cell(format_date_long(rf.period_end, lang))),
        (text_of("as_of", lang), Cell(format_date_long(as_of, lang))),
        (text_of("elapsed", lang), Cell(rf.elapsed, PERCENT)),
    ), id="header"))
    method = (text_of("method_exact", lang) if rf.method == "exact"
              else text_of("method_monte_carlo", lang, n=format_amount(simulations, lang)))
    blocks.append(Fields("", (
        (text_of("risk", lang), Cell(risk_label(rf.risk, lang), TEXT, STYLE_RISK.get(rf.risk, "muted"))),
        (text_of("p_reach", lang), Cell(rf.p_reach, PERCENT, "bold")),
        (text_of("method", lang), Cell(method, TEXT, "muted")),
    ), id="status"))
    kpis = [
        (text_of("objective", lang) + f" ({currency})", Cell(rf.objective, AMOUNT, "bold")),
        (text_of("won", lang), Cell(rf.won, AMOUNT)),
        (text_of("weighted_open", lang), Cell(rf.weighted_open, AMOUNT)),
        (text_of("forecast", lang), Cell(rf.forecast, AMOUNT, "bold")),
    ]
    kpis += [
        (text_of("expected", lang), Cell(rf.expected if rf.expected is not None else rf.forecast, AMOUNT, "bold")),
        (text_of("basis", lang), Cell(basis_label(rf.basis, rf.basis_reason, lang))),
        *(((text_of("p_reach_declared", lang), Cell(rf.p_reach_declared, PERCENT)),) if rf.basis == HISTORY else ()),
        (text_of("attainment", lang), Cell(rf.attainment, PERCENT)),
        (text_of("p10", lang), Cell(rf.p10, AMOUNT)),
        (text_of("p50", lang), Cell(rf.p50, AMOUNT)),
        (text_of("p90", lang), Cell(rf.p90, AMOUNT)),
        (text_of("coverage", lang), Cell(rf.coverage, RATIO)),
        (text_of("required_coverage", lang), Cell(rf.required_coverage, RATIO)),
    ]
    if rf.calibrated_forecast is not None:
        kpis.append((text_of("calibrated_forecast", lang), Cell(rf.calibrated_forecast, AMOUNT)))
    blocks.append(Fields(text_of("kpis", lang), tuple(kpis), id="kpis"))

    # the range chart's numbers: objective, won, P10, P50, P90, and with the history basis what the
    # history expects by the period end
    expected = ((text_of("fc_expected", lang), rf.expected),) if rf.basis == HISTORY and rf.expected is not None else ()
    blocks.append(Grid("range", text_of("chart_forecast", lang), ("", text_of("amount", lang)), tuple(
        (Cell(lbl), Cell(v, AMOUNT)) for lbl, v in (
            (text_of("objective", lang), rf.objective), (text_of("won", lang), rf.won), ("P10", rf.p10), ("P50", rf.p50),
            ("P90", rf.p90), *expected))))
    blocks.append(Chart("bullet", text_of("chart_forecast", lang), "range", 0, (1,)))

    blocks.append(Points(text_of("points_title", lang), tuple(talking_points(rf, as_of, lang))))

    # plan vs done, with its chart
    plan_rows = tuple((Cell(_label("actions", p.action, lang)), Cell(p.planned, INT), Cell(p.prorated, RATIO),
                       Cell(p.done, INT), Cell(p.pace, PERCENT, _pace_style(p.pace))) for p in rf.plan)
    blocks.append(Grid("plan", text_of("plan_title", lang),
                       (text_of("action", lang), text_of("planned", lang), text_of("prorated", lang), text_of("done", lang), text_of("pace", lang)),
                       plan_rows, text_of("none", lang)))
    if plan_rows:
        blocks.append(Chart("column", text_of("chart_plan", lang), "plan", 0, (2, 3)))

    # results by action type and outcome class
    order = [it.key for it in contract.ACTIONS.items]
    res_rows = tuple(
        (Cell(_label("actions", a, lang)), Cell(c.get(contract.POSITIVE, 0), INT),
         Cell(c.get(contract.NEUTRAL, 0), INT), Cell(c.get(contract.NEGATIVE, 0), INT),
         Cell(rf.conversion.get(a), PERCENT))
        for a, c in sorted(rf.results.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
    blocks.append(Grid("results", text_of("results_title", lang),
                       (text_of("action", lang), text_of("positive", lang), text_of("neutral", lang), text_of("negative", lang),
                        text_of("conversion", lang)),
                       res_rows, text_of("none", lang)))

    # failure reasons vs team
    blocks.append(Grid("reasons", text_of("reasons_title", lang),
                       (text_of("reason", lang), text_of("count", lang), text_of("share", lang), text_of("team_share", lang), text_of("over", lang)),
                       tuple((Cell(_label("reasons", r.reason, lang)), Cell(r.count, INT), Cell(r.share, PERCENT),
                              Cell(r.team_share, PERCENT), Cell(text_of("yes", lang) if r.over_represented else "",
                                                                 TEXT, "warn" if r.over_represented else None))
                             for r in rf.reasons), text_of("none", lang)))

    # the open proposals that matter most (by weighted amount, overdue marked), then one line for the rest
    top, rest = rf.proposals[:TOP_PROPOSALS], rf.proposals[TOP_PROPOSALS:]
    footer = ""
    if rest:
        footer = counted_text("more_line", len(rest), lang, k=len(rest), amount=format_amount(sum(p.amount for p in rest), lang),
                    weighted=format_amount(sum(p.weighted for p in rest), lang),
                    sheet=contract.PIPELINE.sheet(lang))
    blocks.append(Grid("proposals", text_of("proposals_title", lang),
                       (text_of("company", lang), text_of("ref", lang), text_of("amount", lang), text_of("probability", lang),
                        text_of("weighted", lang), text_of("decision_date", lang), text_of("overdue", lang)),
                       tuple((Cell(p.company), Cell(p.ref), Cell(p.amount, AMOUNT), Cell(p.probability, PERCENT),
                              Cell(p.weighted, AMOUNT), Cell(p.decision_date, DATE, "bad" if p.overdue else None),
                              Cell(text_of("overdue_days", lang, d=p.days_overdue) if p.overdue else "", TEXT,
                                   "bad" if p.overdue else None))
                             for p in top), text_of("none", lang), footer))

    # slipping: proposals whose decision date was pushed at least once
    slipping = _slipping(rf)
    if slipping:
        blocks.append(Grid("slippage", text_of("slippage_title", lang),
                           (text_of("ref", lang), text_of("pushes", lang), text_of("days_pushed", lang), text_of("days_in_stage", lang)),
                           tuple((Cell(s.get("ref")), Cell(s.get("pushes"), INT), Cell(s.get("days_pushed"), INT),
                                  Cell(s.get("days_in_stage"), INT)) for s in slipping)))

    # track record from the history
    track = getattr(rf, "track", None) or []
    blocks.append(Grid("track", text_of("track_title", lang),
                       (text_of("track_period", lang), text_of("objective", lang), text_of("won", lang), text_of("attainment", lang),
                        text_of("track_mid", lang), text_of("track_gap", lang)),
                       tuple((Cell(f"{format_date_long(tr.start, lang)} → {format_date_long(tr.end, lang)}"),
                              Cell(tr.objective, AMOUNT), Cell(tr.won, AMOUNT), Cell(tr.attainment, PERCENT),
                              Cell(tr.forecast_mid, AMOUNT),
                              Cell(None if tr.forecast_mid is None else tr.won - tr.forecast_mid, AMOUNT))
                             for tr in track), text_of("track_none", lang)))

    # calibration when available
    if rf.calibration is not None:
        cal = rf.calibration
        blocks.append(Grid("calibration", text_of("calibration_title", lang),
                           (text_of("bin", lang), text_of("closed", lang), text_of("mean_declared", lang), text_of("realised", lang)),
                           tuple((Cell(f"{format_percent(b.lower, lang, 0)}–{format_percent(b.upper, lang, 0)}"),
                                  Cell(b.n, INT), Cell(b.mean_declared, PERCENT), Cell(b.realised, PERCENT))
                                 for b in cal.bins if b.n), "",
                           text_of("brier", lang, value=format_amount(cal.brier, lang, 3))))
    return Review(rf.rep, sheet_name(rf.rep, lang, taken), lang, tuple(blocks), rf.risk, back_sheet)


def _slipping(rf: RepForecast) -> list[dict]:
    """Open proposals pushed at least once, most days pushed first (at most TOP_SLIPPING)."""
    rows = [s for s in rf.slippage or () if (s.get("pushes") or 0) >= 1]
    rows.sort(key=lambda s: (-(s.get("days_pushed") or 0), str(s.get("ref"))))
    return rows[:TOP_SLIPPING]


def _pace_style(pace):
    if pace is None:
        return None
    return "good" if pace >= 0.9 else ("warn" if pace >= 0.6 else "bad")


# ---------------------------------------------------------------------------------------------
def talking_points(rf: RepForecast, as_of: dt.date, lang: str) -> list[str]:
    """3–6 points phrased to help, not judge: which lever, which actions close the gap in the days left,
    what to chase. Every number is written as its cell shows it (amounts rounded to the unit,
    percentages to one decimal)."""

    def amount(x):
        return format_amount(x, lang)

    def percent(x):
        return pct(x, lang)

    pts: list[str] = []
    gap = (rf.objective - rf.forecast) if rf.objective else None
    days_left = max(0, (rf.period_end - as_of).days) if rf.period_end else 0
    in_days = counted_text("in_days_left", days_left, lang)
    if not rf.objective:
        pts.append(text_of("tp_no_objective", lang))
    elif rf.risk == ON_TRACK:
        pts.append(text_of("tp_on_track", lang, forecast=amount(rf.forecast), objective=amount(rf.objective),
                     p=percent(rf.p_reach)))
    elif rf.risk == AT_RISK and (gap is None or gap <= 0):
        pts.append(text_of("tp_at_risk_covered", lang, forecast=amount(rf.forecast), objective=amount(rf.objective),
                     p=percent(rf.p_reach), in_days=in_days))
    elif rf.risk == AT_RISK:
        pts.append(text_of("tp_at_risk", lang, objective=amount(rf.objective), p=percent(rf.p_reach),
                     gap=amount(max(gap or 0, 0)), in_days=in_days))
    else:
        pts.append(text_of("tp_off_track", lang, objective=amount(rf.objective), p=percent(rf.p_reach),
                     gap=amount(max(gap or 0, 0))))

    why = expected_point(rf, as_of, lang)       # why the history expects otherwise than declared (SPEC §4b)
    if why:
        pts.append(why)

    if rf.lever == TRAINING:
        topic = text_of("tp_topic", lang, reason=_label("reasons", rf.training_topic, lang)) if rf.training_topic else ""
        pts.append(text_of("tp_training", lang, pace=percent(rf.pace), topic=topic))
    elif rf.lever == MOTIVATION:
        behind = sorted((p for p in rf.plan if p.pace is not None and p.pace < 0.9),
                        key=lambda p: p.done - p.prorated)[:2]
        txt = ", ".join(f"{max(0, math.ceil(p.prorated - p.done))} × {_label('actions', p.action, lang)}"
                        for p in behind)
        pts.append(text_of("tp_motivation", lang, pace=percent(rf.pace),
                     behind=text_of("tp_behind", lang, actions=txt) if txt else ""))
    elif rf.risk == ON_TRACK and rf.pace is not None and rf.pace < PACE_TRAINING:
        pts.append(text_of("tp_on_track_pace", lang, pace=percent(rf.pace)))
    elif not rf.plan:
        pts.append(text_of("tp_no_plan", lang))

    more = _extra_actions(rf, gap, as_of, days_left)
    if more is not None:
        pts.append(text_of("tp_actions" if more.feasible else "tp_actions_not_enough", lang, n=more.n,
                           action=_label("actions", more.action, lang), rate=percent(more.rate),
                           win=percent(rf.win_rate), deal=amount(rf.avg_deal), gap=amount(gap), in_days=in_days,
                           per_day=format_amount(more.per_day, lang, 1),
                           current=format_amount(more.current, lang, 1)))
    if rf.coverage is not None and rf.required_coverage is not None and rf.coverage < rf.required_coverage \
            and rf.risk != ON_TRACK:
        pts.append(text_of("tp_coverage", lang, cov=format_amount(rf.coverage, lang, 2) + "×",
                     req=format_amount(rf.required_coverage, lang, 2) + "×"))

    overdue = [p for p in rf.proposals if p.overdue]
    if rf.proposals:
        chase = sorted(rf.proposals, key=lambda p: (not p.overdue, -p.weighted))[:3]
        items = "; ".join(
            f"{p.ref or '—'} {p.company or ''} ({amount(p.amount)}, {percent(p.probability)}"
            + (", " + text_of("overdue_days", lang, d=p.days_overdue) if p.overdue else "") + ")" for p in chase)
        pts.append(text_of("tp_chase", lang, list=items))
    if len(overdue) >= 2:
        pts.append(counted_text("tp_overdue", len(overdue), lang))
    over = [r for r in rf.reasons if r.over_represented]
    if over:
        r = over[0]
        pts.append(text_of("tp_reason", lang, reason=_label("reasons", r.reason, lang), share=percent(r.share),
                     team=percent(r.team_share)))
    if rf.calibrated_forecast is not None and rf.forecast:
        ratio = rf.calibrated_forecast / rf.forecast
        if ratio < 0.9:
            pts.append(text_of("tp_calibration_high", lang, cal=amount(rf.calibrated_forecast), fc=amount(rf.forecast)))
        elif ratio > 1.1:
            pts.append(text_of("tp_calibration_low", lang, cal=amount(rf.calibrated_forecast), fc=amount(rf.forecast)))
    if len(pts) < 3:
        pts.append(text_of("tp_next", lang))
    if len(pts) < 3 and not rf.plan:
        pts.append(text_of("tp_no_plan", lang))
    return pts[:6]


@dataclass(frozen=True)
class ExtraActions:
    """The actions that would close the gap: `n` more `action` at the rep's own positive `rate`, `per_day`
    needed in the days left against `current` a day so far, and whether that is `feasible`."""

    n: int
    action: str
    rate: float
    per_day: float
    current: float
    feasible: bool


def _extra_actions(rf: RepForecast, gap, as_of, days_left: int) -> ExtraActions | None:
    """The action type that brings the most at the rep's own rates (ExtraActions), or None. Feasible when
    the actions needed per day in the days left are at most twice the rep's pace of that action so far
    (at least one a day)."""
    if not (gap and gap > 0 and rf.win_rate and rf.avg_deal and rf.conversion):
        return None
    action, rate = max(rf.conversion.items(), key=lambda kv: (kv[1], kv[0]))
    value = rate * rf.win_rate * rf.avg_deal
    if value <= 0:
        return None
    n = math.ceil(gap / value)
    elapsed_days = max(1, (as_of - rf.period_start).days + 1) if rf.period_start else 1
    done = next((p.done for p in rf.plan if p.action == action), None)
    if done is None:
        done = sum((rf.results.get(action) or {}).values()) if rf.period_start is None else 0
    current = done / elapsed_days
    per_day = n / days_left if days_left > 0 else float(n)
    feasible = days_left > 0 and per_day <= max(1.0, 2 * current)
    return ExtraActions(n, action, rate, per_day, current, feasible)
