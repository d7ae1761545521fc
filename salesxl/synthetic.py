"""A seeded synthetic sales world with known truth, for the tests and the benchmarks of the
history-based forecast (salesxl.learn) and of the backtest.

Each rep has a true win skill, a pace of new proposals, a deal size, a period length (monthly or
quarterly) and objectives. Day by day:

* proposals are created (Poisson arrivals), each with its true chance ``π`` of being won and a
  decision date 15–75 days later; the rep declares ``p`` — the truth times the rep's *confidence*
  (1.8 or 1.5: over-confident, 0.8: under-confident, 1.0: calibrated), plus noise, rounded to 5 %;
* on its decision date a proposal is either decided or, with the world's *slip* chance, pushed by
  14–45 days; each push makes it less likely to be won (its true ``π`` times ``stall``); a lazy rep
  updates the decision date in their file only some days later (the proposal shows overdue meanwhile);
* when decided it is won with ``π × f_month × f_rep,month`` (good and bad months: factors of mean 1 and
  log-sd ``month_sd`` for the team, ``rep_month_sd`` for each rep), and its decision date becomes the day
  it was decided.

A collection every month on ``collection_day``: each rep's pipeline as their file shows it that day
(open proposals, and those closed in the last 120 days) and their periods with objectives —
`submissions` gives them as salesxl.io.history.import_submission takes them, `rep_rows` as a rep's
workbook rows (salesxl.io.template.write_template). Pure python: no file is written here.

Two presets: `slipping_world` (over- and under-confident reps, slippage, lazy updates) and
`calibrated_world` (declared probabilities are the truth, decisions on time, never pushed).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from dataclasses import dataclass, field
from typing import Iterator

from salesxl.tables import TableData

__all__ = ["Proposal", "Rep", "World", "WorldSpec", "calibrated_world", "slipping_world", "world"]

STAGE_BY_P = ((0.3, "Qualified"), (0.6, "Proposal sent"), (0.85, "Negotiation"), (1.01, "Verbal agreement"))
KEEP_CLOSED_DAYS = 120


@dataclass(frozen=True)
class WorldSpec:
    reps: int = 12
    months: int = 14
    start: dt.date = dt.date(2025, 1, 1)
    collection_day: int = 20
    seed: int = 7
    confidences: tuple[float, ...] = (1.8, 1.5, 1.2, 0.8)   # cycled over the reps
    slip: float = 0.4                 # chance that a due proposal is pushed rather than decided
    stall: float = 0.6                # its true chance is multiplied by this at each push
    lazy: float = 0.5                 # chance that a push shows in the file only days later
    month_sd: float = 0.3             # team's good and bad months (log-sd of the factor)
    rep_month_sd: float = 0.2
    noise: float = 0.05               # noise of the declared probability


@dataclass
class Proposal:
    ref: str
    rep: str
    amount: float
    created: dt.date
    pi: float                                      # true chance when created
    p: float                                       # declared probability
    decisions: list[tuple[dt.date, dt.date]]       # (shown in the file from, decision date)
    closed_on: dt.date | None = None
    won: bool = False

    def decision_shown(self, day: dt.date) -> dt.date:
        return [d for since, d in self.decisions if since <= day][-1]

    def stage(self) -> str:
        return next(s for edge, s in STAGE_BY_P if self.p < edge)


@dataclass
class Rep:
    name: str
    period_months: int
    confidence: float
    skill: float
    pace: float                                    # proposals per working day
    deal: float                                    # average amount
    periods: list[tuple[dt.date, dt.date, float]] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)


@dataclass
class World:
    spec: WorldSpec
    reps: list[Rep]
    collections: list[dt.date]
    end: dt.date

    def pipeline(self, rep: Rep, day: dt.date) -> list[dict]:
        """The rep's pipeline rows as their file shows them on `day`."""
        rows = []
        for x in rep.proposals:
            if x.created > day:
                continue
            closed = x.closed_on is not None and x.closed_on <= day
            if closed and (day - x.closed_on).days > KEEP_CLOSED_DAYS:
                continue
            rows.append({"ref": x.ref, "rep": rep.name, "company": f"Company {x.ref}", "amount": x.amount,
                         "probability": x.p, "stage": x.stage(), "sent_on": x.created,
                         "decision_date": x.closed_on if closed else x.decision_shown(day),
                         "status": ("Won" if x.won else "Lost") if closed else "Open"})
        return rows

    def periods_at(self, rep: Rep, day: dt.date) -> list[tuple[dt.date, dt.date, float]]:
        return [p for p in rep.periods if p[0] <= day]


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.month - 1 + n
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def world(spec: WorldSpec = WorldSpec()) -> World:
    """Simulate the world of `spec` (deterministic for a given spec)."""
    rng = random.Random(spec.seed)
    end = _add_months(spec.start, spec.months)
    months = [_add_months(spec.start, i) for i in range(spec.months + 1)]
    team_f = {m: math.exp(rng.gauss(0, spec.month_sd) - spec.month_sd ** 2 / 2) for m in months}
    reps = []
    n_ref = 0
    for i in range(spec.reps):
        rep = Rep(name=f"Rep {i + 1:02d}", period_months=1 if i % 2 == 0 else 3,
                  confidence=spec.confidences[i % len(spec.confidences)], skill=rng.uniform(0.2, 0.45),
                  pace=rng.uniform(0.35, 0.7), deal=round(rng.uniform(4000, 20000), -2))
        rep_f = {m: math.exp(rng.gauss(0, spec.rep_month_sd) - spec.rep_month_sd ** 2 / 2) for m in months}
        s = spec.start
        while s < end + dt.timedelta(days=93):
            e = _add_months(s, rep.period_months) - dt.timedelta(days=1)
            days = (e - s).days + 1
            objective = round(rep.pace * 5 / 7 * days * rep.deal * rep.skill * rng.uniform(0.8, 1.3), -3)
            rep.periods.append((s, e, float(objective)))
            s = e + dt.timedelta(days=1)
        day = spec.start
        open_: list[Proposal] = []
        due: dict[int, dt.date] = {}
        while day <= end:
            if day.weekday() < 5:
                k = _poisson(rng, rep.pace)
                for _ in range(k):
                    n_ref += 1
                    pi = min(0.95, max(0.02, rep.skill * math.exp(rng.gauss(0, 0.5))))
                    p = _declare(rng, pi, rep.confidence, spec.noise)
                    if rep.confidence == 1.0 and spec.noise == 0:
                        pi = p                                   # the declared probability is the truth
                    amount = round(rep.deal * math.exp(rng.gauss(0, 0.5)) / 50) * 50
                    decision = day + dt.timedelta(days=rng.randint(15, 75))
                    x = Proposal(f"S{n_ref:05d}", rep.name, float(amount), day, pi, p, [(day, decision)])
                    rep.proposals.append(x)
                    open_.append(x)
                    due[id(x)] = decision
            still = []
            for x in open_:
                if due[id(x)] > day:
                    still.append(x)
                    continue
                if rng.random() < spec.slip and len(x.decisions) < 6:
                    new = day + dt.timedelta(days=rng.randint(14, 45))
                    shown = day + dt.timedelta(days=rng.randint(3, 25) if rng.random() < spec.lazy else 0)
                    x.decisions.append((min(shown, new), new))
                    x.pi *= spec.stall
                    due[id(x)] = new
                    still.append(x)
                    continue
                m = dt.date(day.year, day.month, 1)
                chance = min(0.98, x.pi * team_f[m] * rep_f[m])
                x.won = rng.random() < chance
                x.closed_on = day
            open_ = still
            day += dt.timedelta(days=1)
        reps.append(rep)
    collections = []
    for m in months[1:]:
        d = dt.date(m.year, m.month, min(spec.collection_day, 28))
        if d <= end:
            collections.append(d)
    return World(spec, reps, collections, end)


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _declare(rng: random.Random, pi: float, confidence: float, noise: float) -> float:
    p = pi * confidence + (rng.gauss(0, noise) if noise else 0.0)
    return min(0.95, max(0.05, round(p * 20) / 20))


def slipping_world(seed: int = 7, reps: int = 12, months: int = 14) -> World:
    """Over- and under-confident reps whose deals stall and get pushed, good and bad months."""
    return world(WorldSpec(reps=reps, months=months, seed=seed))


def calibrated_world(seed: int = 7, reps: int = 12, months: int = 14) -> World:
    """Declared probabilities are the truth, decisions come on the declared date, nothing is pushed
    (good and bad months remain: they are nobody's fault)."""
    return world(WorldSpec(reps=reps, months=months, seed=seed, confidences=(1.0,), slip=0.0, lazy=0.0,
                           noise=0.0))


def submissions(world: World) -> Iterator[dict]:
    """Each collection of each rep, as keyword arguments of io.history.import_submission (pipeline and
    periods as typed columns)."""
    for day in world.collections:
        for rep in world.reps:
            rows = world.pipeline(rep, day)
            cols = ("ref", "rep", "amount", "probability", "stage", "status", "decision_date", "sent_on")
            pipeline = TableData("pipeline", {c: [r[c] for r in rows] for c in cols}, range(2, len(rows) + 2))
            per = world.periods_at(rep, day)
            periods = {"rep": [rep.name] * len(per), "period_start": [p[0] for p in per],
                       "period_end": [p[1] for p in per], "revenue_objective": [p[2] for p in per]}
            fp = hashlib.sha256(f"{world.spec}|{rep.name}|{day}".encode()).hexdigest()
            yield {"sha256": fp, "fingerprint": fp, "as_of": day, "path": f"{rep.name}.xlsx",
                   "pipeline": pipeline, "periods": periods}


def rep_rows(w: World, rep: Rep, day: dt.date) -> dict[str, list[dict]]:
    """The rows of the rep's workbook on `day` (Reps, Objectives, Pipeline), for write_template."""
    per = w.periods_at(rep, day)
    return {"reps": [{"rep": rep.name, "seniority": "confirmed" if rep.period_months == 1 else "senior",
                      "period_length": f"{rep.period_months}m"}],
            "objectives": [{"rep": rep.name, "period_start": s, "period_end": e, "revenue_objective": o}
                           for s, e, o in per],
            "pipeline": w.pipeline(rep, day)}
