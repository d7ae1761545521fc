"""What the history store says about a rep beside today's forecast: the change since the previous
collection, the pipeline's movement since then, and the rep's track record. Pure core.

Definitions (a *collection* is one as-of date of the history store; the previous collection is the
latest one before today's as-of date):

- **Pipeline movement** since the previous collection, by proposal (rep, ref) — `new`: in today's
  snapshot, not in the previous one; `won` / `lost`: Open then, Won / Lost now; `pushed`: Open then and
  now, decision date later now; `changed`: Open then and now, amount different (`changed_amount` is the
  sum of the differences). Counts and amounts (today's amount; the previous one for lost).
- **Change since the previous collection**: won, forecast (won + weighted open) and P(reach) of the rep's
  *current* period computed from the previous collection's snapshot exactly as today's (SPEC §4, the
  same objective, the same seed), and the risk then; `None` when the previous collection holds nothing
  for the rep.
- **Track record**: the rep's last periods before the current one (Objectives rows): objective, won
  (Won proposals of today's pipeline with a decision date in the period), attainment, and the forecast
  made mid-period (won + weighted open for that period in the last collection at or before the
  period's middle day), when the history has such a collection.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from salesxl import contract
from salesxl.tables import TableData

__all__ = ["Movement", "Change", "TrackPeriod", "Collections", "pipeline_movement", "period_figures", "track_record",
           "snapshots_by_rep"]

TRACK_PERIODS = 4


@dataclass
class Movement:
    new: int = 0
    new_amount: float = 0.0
    won: int = 0
    won_amount: float = 0.0
    lost: int = 0
    lost_amount: float = 0.0
    pushed: int = 0
    pushed_amount: float = 0.0
    changed: int = 0
    changed_amount: float = 0.0

    def add(self, other: "Movement") -> None:
        for f in self.__dataclass_fields__:
            setattr(self, f, getattr(self, f) + getattr(other, f))


@dataclass
class Change:
    previous_as_of: dt.date
    won: float | None = None
    forecast: float | None = None
    p_reach: float | None = None
    risk: str | None = None
    movement: Movement = field(default_factory=Movement)


@dataclass
class TrackPeriod:
    start: dt.date
    end: dt.date
    objective: float | None
    won: float
    attainment: float | None
    forecast_mid: float | None


Snapshot = Mapping[str, tuple]        # ref key -> (amount, probability, status, decision date)


def pipeline_movement(before: Snapshot, now: Snapshot) -> Movement:
    m = Movement()
    for ref, (amount, _, status, decision) in now.items():
        amount = amount or 0.0
        old = before.get(ref)
        if old is None:
            m.new += 1
            m.new_amount += amount
            continue
        old_amount, _, old_status, old_decision = old
        if old_status != contract.OPEN:
            continue
        if status == contract.WON:
            m.won += 1
            m.won_amount += amount
        elif status == contract.LOST:
            m.lost += 1
            m.lost_amount += old_amount or 0.0
        elif status == contract.OPEN:
            if decision is not None and old_decision is not None and decision > old_decision:
                m.pushed += 1
                m.pushed_amount += amount
            if old_amount is not None and abs(amount - old_amount) > 1e-9:
                m.changed += 1
                m.changed_amount += amount - old_amount
    return m


def period_figures(snap: Snapshot, start: dt.date, end: dt.date) -> tuple[float, list[float], list[float]]:
    """(won, open amounts, their probabilities) of a snapshot for the period [start, end]."""
    won, amounts, probs = 0.0, [], []
    for amount, prob, status, decision in snap.values():
        if decision is None or amount is None or not (start <= decision <= end):
            continue
        if status == contract.WON:
            won += amount
        elif status == contract.OPEN and prob is not None:
            amounts.append(amount)
            probs.append(prob)
    return won, amounts, probs


def track_record(objectives: TableData | None, pipeline: TableData | None,
                 current_start: dt.date | None, snapshots: Mapping[dt.date, Snapshot],
                 n: int = TRACK_PERIODS) -> list[TrackPeriod]:
    """The rep's last `n` periods ending before `current_start`, oldest first."""
    if not objectives or current_start is None:
        return []
    periods = {}
    for s, e, obj in zip(objectives.get("period_start", ()), objectives.get("period_end", ()),
                         objectives.get("revenue_objective", ())):
        if isinstance(s, dt.date) and isinstance(e, dt.date) and e < current_start and s <= e:
            periods.setdefault((s, e), obj if isinstance(obj, (int, float)) and not isinstance(obj, bool) else None)
    chosen = sorted(periods)[-n:]
    out = []
    days = sorted(snapshots)
    for s, e in chosen:
        won = 0.0
        if pipeline:
            for amount, status, decision in zip(pipeline.get("amount", ()), pipeline.get("status", ()),
                                                pipeline.get("decision_date", ())):
                if status == contract.WON and isinstance(decision, dt.date) and s <= decision <= e \
                        and isinstance(amount, (int, float)):
                    won += amount
        mid = s + (e - s) / 2
        at = [d for d in days if s <= d <= mid]
        forecast_mid = None
        if at:
            w, amounts, probs = period_figures(snapshots[at[-1]], s, e)
            forecast_mid = w + sum(a * p for a, p in zip(amounts, probs))
        obj = periods[(s, e)]
        out.append(TrackPeriod(s, e, obj, won, (won / obj) if obj else None, forecast_mid))
    return out


@dataclass
class Collections:
    """What the history store holds for the dashboard: today's and the previous collection's snapshot
    of every rep, and the snapshots of the collections a track record may need, by rep key."""
    as_of: dt.date
    previous_as_of: dt.date | None
    before: dict[str, dict[str, tuple]] = field(default_factory=dict)
    now: dict[str, dict[str, tuple]] = field(default_factory=dict)
    history: dict[str, dict[dt.date, dict[str, tuple]]] = field(default_factory=dict)

    def change(self, rep_key: str, start: dt.date | None, end: dt.date | None, objective: float | None, *,
               seed: int, simulations: int, on_track: float, at_risk: float) -> Change | None:
        if self.previous_as_of is None:
            return None
        before = self.before.get(rep_key)
        if before is None:
            return None
        ch = Change(self.previous_as_of, movement=pipeline_movement(before, self.now.get(rep_key, {})))
        if start is not None and end is not None:
            from salesxl.forecast import risk_status
            from salesxl.simulate import outcome_distribution
            won, amounts, probs = period_figures(before, start, end)
            ch.won = won
            ch.forecast = won + sum(a * p for a, p in zip(amounts, probs))
            if objective:
                out = outcome_distribution(won, amounts, probs, objective, simulations=simulations, seed=seed)
                ch.p_reach = out.p_reach
                ch.risk = risk_status(out.p_reach, on_track, at_risk)
        return ch


def snapshots_by_rep(rows: Iterable[tuple]) -> dict[str, dict[dt.date, dict[str, tuple]]]:
    """(rep key, ref key, as_of, amount, probability, status, decision date) rows -> rep key -> day ->
    ref key -> (amount, probability, status, decision date); ISO texts turned into dates."""
    out: dict[str, dict[dt.date, dict[str, tuple]]] = {}
    for rep_key, ref, day, amount, prob, status, decision in rows:
        d = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
        dec = decision if isinstance(decision, dt.date) or decision is None else dt.date.fromisoformat(decision)
        out.setdefault(rep_key, {}).setdefault(d, {})[ref] = (amount, prob, status, dec)
    return out
