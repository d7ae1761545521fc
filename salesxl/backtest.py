"""Backtest (SPEC §4b): replay each past collection of the history store as if it were today, forecast
each rep's period with only what was known then, and compare with what the later collections show
was won — the declared model (SPEC §4) and the history-based one (salesxl.learn) side by side.

Definitions (pure core; the store is read by salesxl.io.history):

* A *case* is (rep, collection day T) where the rep's period holding T is known (the Objectives row of
  that collection, else a Planning period) and has ended by the store's last collection L (so that the
  outcome is known).
* **Actual** = Σ amount of the rep's proposals whose last snapshot (as of L) is Won with a decision date
  in the period.
* **Declared** on T: Won on T (snapshots of T, Won, decision date in the period) + Σ amount ×
  probability of the proposals Open on T with a decision date in the period; P10/P90/P(reach) from
  salesxl.simulate (independent proposals), as the forecast computes them.
* **History** on T: salesxl.learn fitted with the snapshots up to T only; `expected`, P10/P90/P(reach)
  from its draws. When the history of T is too thin its basis is `declared` and its figures are the
  declared ones (what the product shows then).
* Per model, over its cases: ``mae`` = mean |forecast − actual|, ``bias`` = mean (forecast − actual),
  ``error`` = Σ |forecast − actual| / Σ actual, ``brier`` = mean (P(reach) − reached)² over the cases with
  an objective (reached = actual ≥ objective), ``coverage`` = share of cases with P10 ≤ actual ≤ P90.
* The team's case of day T adds the reps' cases of T (their own periods), their draws summed.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from salesxl.learn import History, OpenProposals, draw_totals, team_normals
from salesxl.simulate import DEFAULT_SEED, outcome_distribution, outcome_from_draws, sample_totals
from salesxl.values import json_number

__all__ = ["DEFAULT_SIMULATIONS", "MODELS", "Backtest", "Case", "backtest", "metrics"]

DEFAULT_SIMULATIONS = 2000
MODELS = ("declared", "history")


@dataclass
class Case:
    rep: str
    as_of: dt.date
    period_start: dt.date
    period_end: dt.date
    objective: float | None
    actual: float
    basis: str
    reason: str | None
    declared: dict[str, float | None]          # forecast, p10, p50, p90, p_reach
    history: dict[str, float | None]

    def to_dict(self) -> dict:
        return {"rep": self.rep, "as_of": self.as_of.isoformat(), "period_start": self.period_start.isoformat(),
                "period_end": self.period_end.isoformat(), "objective": json_number(self.objective),
                "actual": json_number(self.actual), "basis": self.basis, "reason": self.reason,
                "declared": {k: json_number(v) for k, v in self.declared.items()},
                "history": {k: json_number(v) for k, v in self.history.items()}}


@dataclass
class Backtest:
    collections: int
    cases: list[Case]
    team_cases: list[Case]
    reps: dict[str, dict[str, dict]] = field(default_factory=dict)      # rep -> model -> metrics
    team: dict[str, dict] = field(default_factory=dict)                 # model -> metrics
    overall: dict[str, dict] = field(default_factory=dict)              # model -> metrics over rep cases

    def to_dict(self) -> dict:
        return {"collections": self.collections, "cases": len(self.cases),
                "history_cases": sum(c.basis == "history" for c in self.cases),
                "overall": self.overall, "team": self.team, "reps": self.reps,
                "rep_cases": [c.to_dict() for c in self.cases], "team_cases": [c.to_dict() for c in self.team_cases]}


def metrics(cases: Sequence[Case], model: str) -> dict[str, Any]:
    """Error, bias, Brier of P(reach) and P10–P90 coverage of `model` over `cases` (module docstring)."""
    n = len(cases)
    if not n:
        return {"n": 0, "mae": None, "bias": None, "error": None, "brier": None, "coverage": None}
    f = np.array([getattr(c, model)["forecast"] for c in cases], dtype=float)
    a = np.array([c.actual for c in cases], dtype=float)
    tot = float(a.sum())
    with_obj = [c for c in cases if c.objective and getattr(c, model)["p_reach"] is not None]
    brier = (math.fsum((getattr(c, model)["p_reach"] - (c.actual >= c.objective)) ** 2 for c in with_obj)
             / len(with_obj)) if with_obj else None
    cov = sum(1 for c in cases if getattr(c, model)["p10"] <= c.actual <= getattr(c, model)["p90"]) / n
    return {"n": n, "mae": json_number(float(np.abs(f - a).mean())), "bias": json_number(float((f - a).mean())),
            "error": json_number(float(np.abs(f - a).sum()) / tot) if tot > 0 else None, "brier": json_number(brier),
            "coverage": json_number(cov)}


def _periods(period_rows: Mapping[str, Sequence[Any]]) -> dict[tuple[str, dt.date], list[tuple]]:
    out: dict[tuple[str, dt.date], list[tuple]] = {}
    for rep_key, rep, day, s, e, obj in zip(*(period_rows.get(c) or () for c in
                                              ("rep_key", "rep", "as_of", "period_start", "period_end", "objective"))):
        out.setdefault((rep_key, _date(day)), []).append((rep, _date(s), _date(e), obj))
    return out


def _date(v) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])


def _pick(periods: list[tuple], day: dt.date) -> tuple | None:
    """The period holding `day`: one with an objective first (Objectives), else any (Planning)."""
    holding = [p for p in periods if p[1] <= day <= p[2]]
    with_obj = [p for p in holding if p[3] is not None]
    return (with_obj or holding or [None])[0]


def backtest(rows: Mapping[str, Sequence[Any]], period_rows: Mapping[str, Sequence[Any]], *,
             simulations: int = DEFAULT_SIMULATIONS, seed: int = DEFAULT_SEED) -> Backtest:
    """Replay every collection of the store (rows: io.history.learning_rows; period_rows:
    io.history.period_rows) and compare both models with what was won (module docstring)."""
    from salesxl.forecast import rep_seed
    h = History(rows)
    per = _periods(period_rows)
    days = sorted({d for _, d in per} | {dt.date.fromordinal(int(t)) for t in h.collections()})
    if not days:
        return Backtest(0, [], [])
    last_day = days[-1]
    last, won, dec = h.final_state(last_day.toordinal())
    amt_final = np.zeros(h.n_props)
    ok = last >= 0
    amt_final[ok] = np.nan_to_num(h.amount[last[ok]])
    prop_rep = np.zeros(h.n_props, dtype=np.int64)
    prop_rep[h.prop] = h.rep
    cases: list[Case] = []
    team_cases: list[Case] = []
    for day in days:
        z = team_normals(seed, simulations)
        day_cases, dec_draws, hist_draws = [], [], []
        for (rep_key, collected), plist in sorted(per.items(), key=lambda kv: kv[0]):
            if collected != day:
                continue
            p = _pick(plist, day)
            if p is None or p[2] > last_day:
                continue
            name, s, e, objective = p
            r = h.rep_codes.get(rep_key)
            s_o, e_o = s.toordinal(), e.toordinal()
            actual = 0.0
            if r is not None:
                m = won & (prop_rep == r) & (dec >= s_o) & (dec <= e_o)
                actual = math.fsum(amt_final[m].tolist())
            # what the rep's file showed that day
            won_t, a_dec, p_dec, open_ = 0.0, [], [], []
            if r is not None:
                idx = np.flatnonzero((h.rep == r) & (h.t == day.toordinal()))
                for i in idx.tolist():
                    a, pr, st, dd = h.amount[i], h.p[i], h.status[i], h.decision[i]
                    if not math.isfinite(a) or dd == -(1 << 40):
                        continue
                    if st == 1 and s_o <= dd <= e_o:
                        won_t += a
                    elif st == 0 and math.isfinite(pr) and 0 <= pr <= 1:
                        if s_o <= dd <= e_o:
                            a_dec.append(a)
                            p_dec.append(pr)
                        if a > 0:
                            open_.append(i)
            rs = rep_seed(seed, name)
            obj = float(objective) if objective else None
            out = outcome_distribution(won_t, a_dec, p_dec, obj, simulations=simulations, seed=rs)
            declared = {"forecast": math.fsum([won_t, *(x * y for x, y in zip(a_dec, p_dec))]),
                        "p10": out.p10, "p50": out.p50, "p90": out.p90, "p_reach": out.p_reach}
            ddraws = sample_totals(won_t, a_dec, p_dec, simulations, np.random.default_rng(rs))
            keys = {v: k for k, v in h.prop_keys.items()}
            props = OpenProposals(
                amounts=[float(h.amount[i]) for i in open_], probabilities=[float(h.p[i]) for i in open_],
                decisions=[dt.date.fromordinal(int(h.decision[i])) for i in open_],
                refs=[keys[int(h.prop[i])][1] for i in open_],
                stages=[_stage_name(h, int(h.stage[i])) for i in open_],
                sent_on=[dt.date.fromordinal(int(h.sent[i])) if h.sent[i] > 0 else None for i in open_])
            pred = h.predict(rep_key, day, e, props)
            if pred.basis == "history":
                hd = draw_totals(won_t, pred, z, np.random.default_rng(rs + 1))
                ho = outcome_from_draws(hd, obj, won=won_t)
                history = {"forecast": pred.expected(won_t), "p10": ho.p10, "p50": ho.p50, "p90": ho.p90,
                           "p_reach": ho.p_reach}
            else:
                hd = ddraws
                history = dict(declared)
            c = Case(name, day, s, e, obj, actual, pred.basis, pred.reason, declared, history)
            day_cases.append(c)
            dec_draws.append(ddraws)
            hist_draws.append(hd)
        cases += day_cases
        if day_cases:
            objs = [c.objective for c in day_cases]
            tobj = math.fsum(objs) if all(objs) else None
            models = {}
            for model, draws in (("declared", dec_draws), ("history", hist_draws)):
                total = np.sum(draws, axis=0)
                o = outcome_from_draws(total, tobj)
                models[model] = {"forecast": math.fsum(getattr(c, model)["forecast"] for c in day_cases),
                                 "p10": o.p10, "p50": o.p50, "p90": o.p90, "p_reach": o.p_reach}
            basis = "history" if all(c.basis == "history" for c in day_cases) else "declared"
            team_cases.append(Case("team", day, min(c.period_start for c in day_cases),
                                   max(c.period_end for c in day_cases), tobj,
                                   math.fsum(c.actual for c in day_cases), basis, None, models["declared"],
                                   models["history"]))
    bt = Backtest(len(days), cases, team_cases)
    bt.overall = {m: metrics(cases, m) for m in MODELS}
    bt.team = {m: metrics(team_cases, m) for m in MODELS}
    for rep in dict.fromkeys(c.rep for c in cases):
        mine = [c for c in cases if c.rep == rep]
        bt.reps[rep] = {m: metrics(mine, m) for m in MODELS}
    return bt


def _stage_name(h: History, code: int) -> str | None:
    for k, v in h.stage_codes.items():
        if v == code:
            return k or None
    return None
