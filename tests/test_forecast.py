"""Forecast computations (SPEC §4): known answers pinned from public references, hand-enumerated
distributions, and properties (row order, None is never 0)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesxl import contract
from salesxl.calibrate import required_coverage, win_rate
from salesxl.forecast import (AT_RISK, MOTIVATION, OFF_TRACK, ON_TRACK, TRAINING, Period, coverage,
                              elapsed_fraction, lever, reason_comparison, risk_status, select_period,
                              weighted_amount)
from salesxl.tables import TableData

from conftest import compute

D = dt.date
AS_OF = D(2026, 11, 20)


def test_weighted_amount_known_answers():
    # Odoo's prorated revenue: expected revenue 10,000 at 70 % → 7,000.00
    assert round(weighted_amount(10_000, 0.70), 2) == 7_000.00
    # Pipedrive's weighted value example: 4,245.74 at 50 % → 2,122.87
    assert round(weighted_amount(4_245.74, 0.50), 2) == 2_122.87
    assert weighted_amount(None, 0.5) is None and weighted_amount(100, None) is None


def test_coverage_and_required_coverage():
    assert required_coverage(win_rate(1, 3)) == pytest.approx(4.0)      # 1 / 0.25
    assert coverage(40_000, 20_000, 10_000) == pytest.approx(4.0)
    assert coverage(40_000, 20_000, 20_000) is None                     # won ≥ objective
    assert coverage(40_000, None, 0) is None


def test_elapsed_fraction_and_risk_and_lever():
    assert elapsed_fraction(D(2026, 11, 1), D(2026, 11, 30), D(2026, 11, 15)) == pytest.approx(15 / 30)
    assert elapsed_fraction(D(2026, 11, 1), D(2026, 11, 30), D(2026, 10, 1)) == 0.0
    assert elapsed_fraction(D(2026, 11, 1), D(2026, 11, 30), D(2027, 1, 1)) == 1.0
    assert risk_status(0.7) == ON_TRACK and risk_status(0.69) == AT_RISK and risk_status(0.29) == OFF_TRACK
    assert risk_status(0.5, on_track=0.4) == ON_TRACK
    assert lever(AT_RISK, 0.95) == TRAINING and lever(OFF_TRACK, 0.5) == MOTIVATION
    assert lever(ON_TRACK, 0.2) is None


def frames(pipeline=(), objectives=(), planning=(), reporting=(), reps=()):
    def df(rows, table):
        cols = [c.key for c in contract.TABLES[table].input_columns]
        return TableData(table, {c: [r.get(c) for r in rows] for c in cols}, range(2, len(rows) + 2))
    return {"pipeline": df(pipeline, "pipeline"), "objectives": df(objectives, "objectives"),
            "planning": df(planning, "planning"), "reporting": df(reporting, "reporting"),
            "reps": df(reps, "reps")}


OBJ = [{"rep": "Ana", "period_start": D(2026, 11, 1), "period_end": D(2026, 11, 30), "revenue_objective": 300.0}]


def open_(ref, amount, p, day=D(2026, 11, 25), rep="Ana"):
    return {"ref": ref, "rep": rep, "company": "X", "amount": amount, "probability": p, "decision_date": day,
            "status": "Open"}


def test_small_pipeline_hand_enumerated():
    # won 100 (in period) + two open proposals 100 @ 50 %, 200 @ 50 %; objective 300.
    # Outcomes (each 1/4): 100, 200, 300, 400 → P(total ≥ 300) = 1/2; lower quantiles: P10 = 100,
    # P50 = 200 (P(X ≤ 200) = 0.5 ≥ 0.5), P90 = 400.
    pipe = [open_("A", 100.0, 0.5), open_("B", 200.0, 0.5),
            {"ref": "W", "rep": "Ana", "company": "Y", "amount": 100.0, "probability": 0.9,
             "decision_date": D(2026, 11, 3), "status": "Won"}]
    fc = compute(frames(pipe, OBJ), None, AS_OF)
    r = fc.reps[0]
    assert (r.won, r.weighted_open, r.forecast) == (100.0, 150.0, 250.0)
    assert r.method == "exact"
    assert r.p_reach == pytest.approx(0.5)
    assert (r.p10, r.p50, r.p90) == (100.0, 200.0, 400.0)
    assert r.coverage == pytest.approx(300 / 200)
    assert r.attainment == pytest.approx(250 / 300)
    assert r.risk == AT_RISK


def test_three_proposals_enumerated_against_brute_force():
    amounts, probs = [50.0, 120.0, 200.0], [0.2, 0.6, 0.9]
    pipe = [open_(str(i), a, p) for i, (a, p) in enumerate(zip(amounts, probs))]
    fc = compute(frames(pipe, OBJ), None, AS_OF)
    p_reach = 0.0
    for bits in itertools.product((0, 1), repeat=3):
        pr = 1.0
        for b, p in zip(bits, probs):
            pr *= p if b else 1 - p
        if sum(a * b for a, b in zip(amounts, bits)) >= 300:
            p_reach += pr
    assert fc.reps[0].p_reach == pytest.approx(p_reach)          # 0.6*0.9 + 0.2*0.6*0.9 … by brute force


def test_overdue_open_counts_and_none_is_never_zero():
    base = [open_("A", 100.0, 0.5), open_("LATE", 80.0, 0.5, day=D(2026, 11, 10))]
    fc = compute(frames(base, OBJ), None, AS_OF)
    r = fc.reps[0]
    assert r.weighted_open == pytest.approx(90.0)                # overdue in-period proposal counts
    assert [p.ref for p in r.proposals if p.overdue] == ["LATE"]
    # a proposal with no probability (or no amount) is left out — not counted as a 0 % or 0 amount
    more = base + [open_("NOP", 1000.0, None), open_("NOA", None, 0.5)]
    r2 = compute(frames(more, OBJ), None, AS_OF).reps[0]
    assert r2.open_amount == r.open_amount == 180.0
    assert r2.coverage == r.coverage
    assert [p.ref for p in r2.proposals] == [p.ref for p in r.proposals]
    # a real 0 % is an estimate and is kept
    r3 = compute(frames(base + [open_("ZERO", 1000.0, 0.0)], OBJ), None, AS_OF).reps[0]
    assert r3.open_amount == 1180.0


def test_period_selection_prefers_objectives_then_planning():
    obj = TableData("objectives", {"period_start": [D(2026, 10, 1), D(2026, 11, 1)],
                                   "period_end": [D(2026, 10, 31), D(2026, 11, 30)],
                                   "revenue_objective": [1.0, 2.0], "deals_objective": [None, None]}, [2, 3])
    assert select_period(obj, None, AS_OF) == Period(D(2026, 11, 1), D(2026, 11, 30), 2.0, None)
    plan = TableData("planning", {"period_start": [D(2026, 11, 16)], "period_end": [D(2026, 11, 22)]}, [2])
    assert select_period(None, plan, AS_OF) == Period(D(2026, 11, 16), D(2026, 11, 22))
    assert select_period(obj.take(range(1)), None, AS_OF) is None
    assert select_period(obj.take([1]), plan, AS_OF).revenue_objective == 2.0   # Objectives first


def test_plan_vs_done_prorated_pace():
    planning = [{"rep": "Ana", "period_start": D(2026, 11, 1), "period_end": D(2026, 11, 30), "action": "Call",
                 "planned": 30.0}]
    reporting = ([{"date": D(2026, 11, d), "rep": "Ana", "company": "C", "action": "Call", "result": "Follow up"}
                  for d in range(1, 11)]
                 + [{"date": D(2026, 11, 25), "rep": "Ana", "company": "C", "action": "Call", "result": "Order"}]
                 + [{"date": D(2026, 10, 25), "rep": "Ana", "company": "C", "action": "Call", "result": "Order"}])
    r = compute(frames([], OBJ, planning, reporting), None, AS_OF).reps[0]
    (line,) = r.plan
    assert line.planned == 30 and line.done == 10                 # after the as-of date / before the period: out
    assert line.prorated == pytest.approx(30 * 20 / 30)
    assert line.pace == pytest.approx(10 / 20)


def test_reasons_over_representation():
    rows = reason_comparison({"Price": 6, "Timing": 1}, {"Price": 8, "Timing": 10, "Competitor": 12})
    price = next(r for r in rows if r.reason == "Price")
    assert price.over_represented and price.count == 6
    assert not next(r for r in rows if r.reason == "Timing").over_represented


pipelines = st.lists(st.tuples(st.floats(1, 1e5), st.floats(0, 1), st.integers(1, 30)), min_size=0, max_size=25)


@settings(max_examples=40, deadline=None)
@given(pipelines, st.randoms(use_true_random=False))
def test_results_unchanged_by_row_order(rows, rnd):
    pipe = [open_(f"R{i}", a, p, D(2026, 11, d)) for i, (a, p, d) in enumerate(rows)]
    shuffled = list(pipe)
    rnd.shuffle(shuffled)
    a = compute(frames(pipe, OBJ), None, AS_OF).to_dict()
    b = compute(frames(shuffled, OBJ), None, AS_OF).to_dict()
    for k in ("won", "weighted_open", "forecast", "p10", "p50", "p90", "p_reach", "coverage"):
        assert a["reps"][0][k] == pytest.approx(b["reps"][0][k], rel=1e-9, abs=1e-6), k


@settings(max_examples=30, deadline=None)
@given(pipelines)
def test_quantiles_ordered_and_p_reach_non_increasing_in_objective(rows):
    pipe = [open_(f"R{i}", a, p, D(2026, 11, d)) for i, (a, p, d) in enumerate(rows)]
    prev = 1.0
    for objective in (1.0, 1e3, 1e4, 1e5, 1e6):
        obj = [dict(OBJ[0], revenue_objective=objective)]
        r = compute(frames(pipe, obj), None, AS_OF).reps[0]
        assert r.p10 <= r.p50 <= r.p90
        assert r.p_reach <= prev + 1e-12
        prev = r.p_reach


def test_team_adds_reps_own_periods():
    objectives = OBJ + [{"rep": "Ben", "period_start": D(2026, 10, 1), "period_end": D(2026, 12, 31),
                         "revenue_objective": 1000.0}]
    pipe = [open_("A", 100.0, 0.5), open_("B", 400.0, 0.25, D(2026, 12, 20), rep="Ben"),
            open_("C", 400.0, 0.25, D(2026, 12, 20), rep="Ana")]              # outside Ana's period
    fc = compute(frames(pipe, objectives), None, AS_OF)
    assert [r.rep for r in fc.reps] == ["Ana", "Ben"]
    assert fc.team["objective"] == 1300.0
    assert fc.team["weighted_open"] == pytest.approx(50.0 + 100.0)
    assert fc.team["forecast"] == pytest.approx(sum(r.forecast for r in fc.reps))
