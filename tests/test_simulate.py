"""Outcome distribution (SPEC §4): exact known answers, exact vs Monte Carlo, properties."""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesxl.simulate import (
    DEFAULT_SEED,
    Outcome,
    outcome_distribution,
    outcome_from_draws,
    sample_totals,
)

# Hypothesis runs derandomized: the examples (and so the Monte Carlo seeds) are fixed, the
# 4-standard-error bounds can't flake from one run to the next.
PROPS = settings(max_examples=60, deadline=None, derandomize=True)


def exact(won, amounts, probs, objective=None):
    out = outcome_distribution(won, amounts, probs, objective)
    assert out.method == "exact"
    return out


def mc(won, amounts, probs, objective=None, **kw):
    out = outcome_distribution(won, amounts, probs, objective, exact_max=0, **kw)
    uncertain = any(0 < p < 1 and a != 0 for a, p in zip(amounts, probs))
    assert out.method == ("monte_carlo" if uncertain else "exact")
    return out


# ----------------------------------------------------------------------------- known answers

def test_two_equal_chances_by_hand():
    # won = 0, amounts [100, 200], both at 50 %: four equally likely totals
    #   neither 0 (.25) | only 100 → 100 (.25) | only 200 → 200 (.25) | both → 300 (.25)
    # CDF: F(0)=.25, F(100)=.50, F(200)=.75, F(300)=1.
    # Lower inverse CDF Q(q) = min{x : F(x) ≥ q}:
    #   Q(.1) = 0 (F(0)=.25 ≥ .1); Q(.5) = 100 (F(0)=.25 < .5 ≤ F(100)=.5); Q(.9) = 300 (F(200)=.75 < .9).
    # P(total ≥ 200) = P(200) + P(300) = .5; mean = 100·.5 + 200·.5 = 150.
    out = exact(0, [100, 200], [0.5, 0.5], 200)
    assert out == Outcome("exact", 0.0, 150.0, 0.0, 100.0, 300.0, 0.5, 0, None, 0.0)


def test_asymmetric_by_hand():
    # won = 1000, amounts [100, 300] at [20 %, 70 %]:
    #   neither: .8·.3 = .24 → 1000 | only 100: .2·.3 = .06 → 1100
    #   only 300: .8·.7 = .56 → 1300 | both: .2·.7 = .14 → 1400
    # CDF: .24, .30, .86, 1 → Q(.1)=1000, Q(.5)=1300, Q(.9)=1400.
    # P(≥ 1300) = .56 + .14 = .70; P(≥ 1100.5) = .70 too; P(≥ 1100) = .76.
    # mean = 1000 + 100·.2 + 300·.7 = 1230.
    out = exact(1000, [100, 300], [0.2, 0.7], 1300)
    assert (out.p10, out.p50, out.p90) == (1000, 1300, 1400)
    assert out.p_reach == pytest.approx(0.70, abs=1e-15)
    assert out.mean == pytest.approx(1230, abs=1e-9)
    assert exact(1000, [100, 300], [0.2, 0.7], 1100.5).p_reach == pytest.approx(0.70, abs=1e-15)
    assert exact(1000, [100, 300], [0.2, 0.7], 1100).p_reach == pytest.approx(0.76, abs=1e-15)
    assert out.won == 1000 and out.draws == 0 and out.seed is None and out.stderr == 0


def test_colliding_sums_are_merged():
    # [100, 100, 200] all at 50 %: 8 equally likely combinations, sums
    #   0 (1/8) | 100 (2/8) | 200 (2/8: 100+100 or 200) | 300 (2/8) | 400 (1/8)
    # CDF .125, .375, .625, .875, 1 → Q(.1)=0, Q(.5)=200, Q(.9)=400; P(≥ 300) = 3/8.
    out = exact(0, [100, 100, 200], [0.5, 0.5, 0.5], 300)
    assert (out.p10, out.p50, out.p90) == (0, 200, 400)
    assert out.p_reach == 3 / 8
    assert out.mean == 200


def test_cdf_exactly_at_quantile_level():
    # [100, 200] at [10 %, 90 %]:
    #   0: .9·.1 = .09 | 100: .1·.1 = .01 | 200: .9·.9 = .81 | 300: .1·.9 = .09
    # CDF .09, .10, .91, 1. F(100) = .10 exactly, so Q(.1) = 100 — in floating point the
    # cumulative sum is 0.09999999999999998, the 1e-12 tolerance keeps the exact answer.
    # Q(.5) = 200, Q(.9) = 200 (F(200) = .91 ≥ .9).
    out = exact(0, [100, 200], [0.1, 0.9], None)
    assert (out.p10, out.p50, out.p90) == (100, 200, 200)
    # F(0) = 1 − .1 = .9 exactly: Q(.9) = 0 for a single 10 % proposal.
    assert exact(0, [100], [0.1]).p90 == 0


def test_certain_and_hopeless_proposals():
    # p = 1 is certain (always in the total), p = 0 never: totals 50 or 150, each 50 %.
    out = exact(0, [50, 100, 70], [1, 0.5, 0], 150)
    assert (out.p10, out.p50, out.p90, out.p_reach, out.mean) == (50, 50, 150, 0.5, 100)
    assert out.won == 0                      # won is reported as given
    same = mc(0, [50, 100, 70], [1, 0.5, 0], 150, simulations=1000)
    assert {same.p10, same.p90} == {50, 150}


def test_empty_pipeline_is_won_only():
    out = exact(1234.5, [], [], 1000)
    assert (out.mean, out.p10, out.p50, out.p90, out.p_reach) == (1234.5,) * 4 + (1.0,)
    assert exact(1234.5, [], [], 2000).p_reach == 0.0
    # Nothing uncertain: exact even when Monte Carlo is asked for (exact_max = 0 ≥ 0 proposals).
    assert outcome_distribution(1234.5, [], [], 2000, exact_max=0).method == "exact"
    draws = sample_totals(1234.5, [], [], 10, np.random.default_rng(0))
    assert np.array_equal(draws, np.full(10, 1234.5))


def test_float_noise_does_not_miss_the_objective():
    # 0.7 + 0.1 is 0.7999999999999999 in floating point: it still reaches 0.8.
    assert exact(0, [0.7, 0.1], [0.5, 0.5], 0.8).p_reach == 0.25
    assert exact(0.7, [0.1], [0.5], 0.8).p_reach == 0.5
    assert mc(0.7, [0.1], [0.5], 0.8, simulations=20_000).p_reach == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("objective", [None, 0, 0.0, -5, float("nan"), pd.NA, np.nan])
def test_no_objective_no_p_reach(objective):
    assert exact(0, [100], [0.5], objective).p_reach is None
    assert mc(0, [100], [0.5], objective, simulations=10).p_reach is None


def test_mc_quantile_definition_on_a_known_sample():
    # N = 10 draws 1..10: Q(q) = x_(⌈qN⌉): Q(.1) = x_(1) = 1, Q(.5) = x_(5) = 5, Q(.9) = x_(9) = 9.
    out = outcome_from_draws([7, 3, 10, 1, 5, 9, 2, 8, 6, 4], 8)
    assert (out.p10, out.p50, out.p90) == (1, 5, 9)
    assert out.p_reach == 0.3 and out.mean == 5.5 and out.draws == 10
    assert out.stderr == pytest.approx(np.std(np.arange(1, 11), ddof=1) / math.sqrt(10))


def test_method_choice_counts_uncertain_proposals():
    # 20 rows but only 16 uncertain (4 at 0 % or 100 %): exact.
    amounts = list(range(1, 21))
    probs = [0.5] * 16 + [0, 1, 0, 1]
    assert outcome_distribution(0, amounts, probs, None).method == "exact"
    assert outcome_distribution(0, amounts, [0.5] * 20, None).method == "monte_carlo"
    assert outcome_distribution(0, amounts, [0.5] * 20, None, exact_max=20).method == "exact"


def test_to_dict():
    d = exact(0, [100, 200], [0.5, 0.5], 200).to_dict()
    assert d == {"method": "exact", "won": 0.0, "mean": 150.0, "p10": 0.0, "p50": 100.0,
                 "p90": 300.0, "p_reach": 0.5, "draws": 0, "seed": None, "stderr": 0.0}
    m = mc(0, [100, 200], [0.5, 0.5], 200, simulations=100).to_dict()
    assert m["seed"] == DEFAULT_SEED and m["draws"] == 100 and type(m["p_reach"]) is float


# ----------------------------------------------------------------------------- exact vs Monte Carlo

def test_mc_agrees_with_exact_by_hand_case():
    # Quantile levels .1/.5/.9 lie well inside CDF steps (.24, .30, .86): MC must find the same atoms.
    ex = exact(1000, [100, 300], [0.2, 0.7], 1300)
    m = mc(1000, [100, 300], [0.2, 0.7], 1300, simulations=200_000)
    assert (m.p10, m.p50, m.p90) == (ex.p10, ex.p50, ex.p90)
    assert abs(m.p_reach - ex.p_reach) < 4 * math.sqrt(0.7 * 0.3 / 200_000)
    assert abs(m.mean - ex.mean) < 4 * m.stderr


def test_mc_agrees_with_exact_random_pipeline():
    rng = np.random.default_rng(7)
    amounts = rng.integers(1, 50, 14) * 1000.0
    probs = rng.choice([0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9], 14)
    ex = exact(5000, amounts, probs, 200_000)
    n = 200_000
    m = mc(5000, amounts, probs, 200_000, simulations=n)
    assert abs(m.p_reach - ex.p_reach) < 4 * math.sqrt(ex.p_reach * (1 - ex.p_reach) / n) + 1e-9
    assert abs(m.mean - ex.mean) < 4 * m.stderr
    # A sample quantile sits between the exact quantiles at q ± 0.01 (≫ 4·sqrt(q(1−q)/n) ≈ 0.0027).
    for q, got in ((0.1, m.p10), (0.5, m.p50), (0.9, m.p90)):
        lo = exact_quantile(5000, amounts, probs, q - 0.01)
        hi = exact_quantile(5000, amounts, probs, q + 0.01)
        assert lo <= got <= hi


def exact_quantile(won, amounts, probs, q):
    """Brute-force lower inverse CDF by enumerating all 2**n outcomes (test oracle)."""
    a = np.asarray(amounts, float)
    p = np.asarray(probs, float)
    n = a.size
    bits = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
    totals = won + bits @ a
    weights = np.prod(np.where(bits, p, 1 - p), axis=1)
    order = np.argsort(totals, kind="stable")
    cdf = np.cumsum(weights[order])
    return totals[order][np.searchsorted(cdf, q - 1e-12)]


def test_exact_matches_brute_force_enumeration():
    rng = np.random.default_rng(3)
    amounts = rng.integers(1, 20, 10) * 10.0          # integer amounts: many colliding sums
    probs = rng.uniform(0.05, 0.95, 10).round(2)
    out = exact(0, amounts, probs, 600)
    for q, got in ((0.1, out.p10), (0.5, out.p50), (0.9, out.p90)):
        assert got == exact_quantile(0, amounts, probs, q)
    bits = ((np.arange(2**10)[:, None] >> np.arange(10)) & 1).astype(bool)
    weights = np.prod(np.where(bits, probs, 1 - probs), axis=1)
    assert out.p_reach == pytest.approx(weights[bits @ amounts >= 600].sum(), abs=1e-12)


# ----------------------------------------------------------------------------- properties

amount_st = st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
prob_st = st.floats(0, 1, allow_nan=False)


@st.composite
def pipelines(draw, min_size=0, max_size=24):
    n = draw(st.integers(min_size, max_size))
    amounts = draw(st.lists(amount_st, min_size=n, max_size=n))
    probs = draw(st.lists(prob_st, min_size=n, max_size=n))
    won = draw(st.floats(0, 1e6, allow_nan=False))
    return won, amounts, probs


def forecast_and_se(won, amounts, probs, draws):
    a, p = np.asarray(amounts, float), np.asarray(probs, float)
    return won + float(a @ p), math.sqrt(float((a**2 * p * (1 - p)).sum()) / draws)


@st.composite
def clt_pipelines(draw):
    # The 4-standard-error bound relies on the sample mean being close to normal: keep the
    # uncertain probabilities in [5 %, 95 %] (≥ 100 expected wins or losses in 2,000 draws);
    # 0 and 1 stay possible. A 1-in-100,000 chance drawn 2,000 times is far from normal.
    n = draw(st.integers(1, 40))
    amounts = draw(st.lists(amount_st, min_size=n, max_size=n))
    probs = draw(st.lists(st.one_of(st.floats(0.05, 0.95), st.sampled_from([0.0, 1.0])),
                          min_size=n, max_size=n))
    return draw(st.floats(0, 1e6, allow_nan=False)), amounts, probs


@PROPS
@given(clt_pipelines(), st.integers(0, 2**32))
def test_mc_mean_within_4_standard_errors(pipe, seed):
    won, amounts, probs = pipe
    out = mc(won, amounts, probs, None, simulations=2000, seed=seed)
    expected, se = forecast_and_se(won, amounts, probs, 2000)
    assert abs(out.mean - expected) <= 4 * se + 1e-9 * max(1.0, expected)
    assert out.stderr == pytest.approx(se, rel=0.5, abs=1e-6 * max(1.0, expected)) or se < 1e-6


@PROPS
@given(pipelines(max_size=16))
def test_exact_mean_is_the_forecast(pipe):
    won, amounts, probs = pipe
    expected, _ = forecast_and_se(won, amounts, probs, 1)
    assert exact(won, amounts, probs, None).mean == pytest.approx(expected, rel=1e-12, abs=1e-9)


@PROPS
@given(pipelines(max_size=30), st.floats(1, 3e7), st.floats(0, 3e7), st.booleans())
def test_p_reach_non_increasing_in_objective(pipe, o1, extra, use_mc):
    won, amounts, probs = pipe
    kw = {"exact_max": 0, "simulations": 500} if use_mc else {}
    low = outcome_distribution(won, amounts, probs, o1, **kw).p_reach
    high = outcome_distribution(won, amounts, probs, o1 + extra, **kw).p_reach
    assert 0 <= high <= low <= 1


@PROPS
@given(pipelines(max_size=30), st.booleans())
def test_quantiles_ordered_and_within_range(pipe, use_mc):
    won, amounts, probs = pipe
    kw = {"exact_max": 0, "simulations": 300} if use_mc else {}
    out = outcome_distribution(won, amounts, probs, None, **kw)
    a, p = np.asarray(amounts, float), np.asarray(probs, float)
    floor = won + a[p == 1].sum()
    ceiling = won + a[p > 0].sum()
    tol = 1e-9 * max(1.0, ceiling)
    assert floor - tol <= out.p10 <= out.p50 <= out.p90 <= ceiling + tol


@PROPS
@given(pipelines(min_size=1, max_size=30), st.data())
def test_permutation_invariance(pipe, data):
    won, amounts, probs = pipe
    perm = data.draw(st.permutations(range(len(amounts))))
    a2 = [amounts[i] for i in perm]
    p2 = [probs[i] for i in perm]
    # Exact and Monte Carlo alike: inputs are put in canonical order before anything is computed.
    assert outcome_distribution(won, amounts, probs, 1e6) == outcome_distribution(won, a2, p2, 1e6)
    kw = {"exact_max": 0, "simulations": 300, "seed": 11}
    assert outcome_distribution(won, amounts, probs, 1e6, **kw) == outcome_distribution(won, a2, p2, 1e6, **kw)


def test_row_order_does_not_change_mc_results():
    rng = np.random.default_rng(0)
    amounts = rng.uniform(100, 10_000, 300).round(2)
    probs = rng.uniform(0, 1, 300).round(2)
    perm = rng.permutation(300)
    assert mc(0, amounts, probs, 1e6) == mc(0, amounts[perm], probs[perm], 1e6)
    s1 = sample_totals(0, amounts, probs, 500, np.random.default_rng(5))
    s2 = sample_totals(0, amounts[perm], probs[perm], 500, np.random.default_rng(5))
    assert np.array_equal(s1, s2)


def test_seed_reproducibility():
    rng = np.random.default_rng(1)
    amounts, probs = rng.uniform(1, 100, 50), rng.uniform(0, 1, 50)
    a = outcome_distribution(10, amounts, probs, 2000, seed=42)
    assert a == outcome_distribution(10, amounts, probs, 2000, seed=42)
    assert a.seed == 42 and a.method == "monte_carlo" and a.draws == 10_000
    assert a != outcome_distribution(10, amounts, probs, 2000, seed=43)
    assert outcome_distribution(10, amounts, probs, 2000).seed == DEFAULT_SEED


def test_sample_totals_matches_outcome_distribution():
    rng = np.random.default_rng(2)
    amounts, probs = rng.uniform(1, 100, 40), rng.uniform(0, 1, 40)
    draws = sample_totals(5, amounts, probs, 3000, np.random.default_rng(9))
    assert draws.shape == (3000,) and draws.dtype == np.float64
    out = outcome_distribution(5, amounts, probs, 1000, simulations=3000, seed=9)
    assert out == outcome_from_draws(draws, 1000, won=5, seed=9)


def test_other_bit_generators_are_supported():
    amounts, probs = [100.0] * 30, [0.3] * 30
    draws = sample_totals(0, amounts, probs, 20_000, np.random.Generator(np.random.MT19937(1)))
    # 30 × 100 × .3 = 900; sd of the mean = 100·sqrt(30·.21/20000) ≈ 1.8
    assert abs(draws.mean() - 900) < 4 * 1.8


def test_bernoulli_probability_is_exact_to_32_bits():
    # Probabilities near a multiple of 1/256 exercise the tie path of the 8 + 24-bit comparison.
    for p in (0.5, 1 / 256, 0.5 + 1e-4, 0.999, 0.001):
        n = 400_000
        draws = sample_totals(0, [1.0], [p], n, np.random.default_rng(123))
        assert abs(draws.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_memory_is_bounded_for_large_pipelines():
    rng = np.random.default_rng(4)
    amounts, probs = rng.uniform(1e3, 1e5, 5000), rng.uniform(0, 1, 5000)
    tracemalloc.start()
    try:
        out = outcome_distribution(0, amounts, probs, 1e8, simulations=10_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6                      # 10,000 × 5,000 draws, drawn in small chunks
    expected, se = forecast_and_se(0, amounts, probs, 10_000)
    assert abs(out.mean - expected) < 4 * se


# ----------------------------------------------------------------------------- invalid input

@pytest.mark.parametrize("amounts, probs", [
    ([100, float("nan")], [0.5, 0.5]),
    ([100, None], [0.5, 0.5]),
    ([100, 200], [0.5, float("nan")]),
    ([100, 200], [0.5, None]),
    (pd.Series([100, None]), pd.Series([0.5, 0.5])),
    (pd.Series([100, pd.NA], dtype="Float64"), pd.Series([0.5, 0.5])),
    (pd.Series([100, 200]), pd.Series([0.5, pd.NA], dtype="Float64")),
    (np.array([100, np.inf]), [0.5, 0.5]),
    (["100", "200"], [0.5, 0.5]),
    ([100, 200], [0.5, 1.5]),
    ([100, 200], [-0.1, 0.5]),
    ([100, 200], [0.5]),
    ([[100]], [[0.5]]),
])
def test_invalid_input_raises(amounts, probs):
    with pytest.raises(ValueError):
        outcome_distribution(0, amounts, probs, 100)
    with pytest.raises(ValueError):
        outcome_distribution(0, amounts, probs, 100, exact_max=0)
    with pytest.raises(ValueError):
        sample_totals(0, amounts, probs, 10, np.random.default_rng(0))


@pytest.mark.parametrize("kw", [{"simulations": 0}, {"simulations": 2.5}, {"seed": -1},
                                {"seed": None}, {"exact_max": 21}, {"exact_max": -1}])
def test_invalid_options_raise(kw):
    with pytest.raises(ValueError):
        outcome_distribution(0, [100], [0.5], 100, **kw)


@pytest.mark.parametrize("won", [float("nan"), None, "100", float("inf")])
def test_invalid_won_raises(won):
    with pytest.raises(ValueError):
        outcome_distribution(won, [100], [0.5], 100)


def test_invalid_objective_raises():
    with pytest.raises(ValueError):
        outcome_distribution(0, [100], [0.5], "100")
    with pytest.raises(ValueError):
        outcome_distribution(0, [100], [0.5], float("inf"))


def test_pandas_inputs_accepted():
    a = pd.Series([100, 200], dtype="Int64")
    p = pd.Series([0.5, 0.5], dtype="Float64")
    assert outcome_distribution(0, a, p, 200) == exact(0, [100, 200], [0.5, 0.5], 200)
