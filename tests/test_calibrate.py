"""Calibration of declared probabilities (SPEC §4): Brier score, bins, calibrated forecast."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesxl.calibrate import (
    FADE,
    MIN_CLOSED,
    PRIOR_STRENGTH,
    Bin,
    Calibration,
    calibrated_forecast,
    calibrated_probabilities,
    calibration,
    required_coverage,
    win_rate,
)

PROPS = settings(max_examples=100, deadline=None, derandomize=True)


def calibrated(cal: Calibration, p: float, **kw) -> float:
    """calibrated(p) of the model (salesxl.calibrate's docstring) for one declared probability."""
    (value,) = calibrated_probabilities(cal, [p], **kw)
    return float(value)


# ----------------------------------------------------------------------------- Brier / bins

def test_brier_perfect_forecaster():
    # declared 100 % and won, 0 % and lost: every error is 0.
    cal = calibration([1, 0] * 5, [1, 0] * 5)
    assert cal.brier == 0 and cal.n == 10 and cal.win_rate == 0.5


def test_brier_coin_flip():
    # declared 50 % every time, 5 of 10 won: every squared error is .25.
    cal = calibration([0.5] * 10, [True, False] * 5)
    assert cal.brier == 0.25 and cal.win_rate == 0.5


def test_brier_overconfident():
    # declared 80 %, 6 of 10 won: (6·.2² + 4·.8²) / 10 = (.24 + 2.56) / 10 = .28
    cal = calibration([0.8] * 10, [1] * 6 + [0] * 4)
    assert cal.brier == pytest.approx(0.28, abs=1e-15)
    assert cal.bins[4] == Bin(0.8, 1.0, 10, pytest.approx(0.8), 0.6)


def test_none_below_min_closed():
    assert MIN_CLOSED == 10
    assert calibration([0.5] * 9, [1] * 9) is None
    assert calibration([], []) is None
    assert isinstance(calibration([0.5] * 10, [1] * 10), Calibration)


def test_bins_by_hand():
    # bins [0, .2) [.2, .4) [.4, .6) [.6, .8) [.8, 1]: edges go to the bin above, 1.0 to the last.
    probs = [0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 1.0, 1.0, 0.19999]
    won = [0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0]
    cal = calibration(probs, won)
    assert [b.n for b in cal.bins] == [3, 2, 1, 2, 3]
    assert [(b.lower, b.upper) for b in cal.bins] == [(0, .2), (.2, .4), (.4, .6), (.6, .8), (.8, 1)]
    b0 = cal.bins[0]                          # 0, .1, .19999 — none won
    assert b0.mean_declared == pytest.approx((0 + 0.1 + 0.19999) / 3) and b0.realised == 0
    b1 = cal.bins[1]                          # .2 won, .3 lost
    assert b1.mean_declared == pytest.approx(0.25) and b1.realised == 0.5
    b4 = cal.bins[4]                          # .8, 1, 1 — all won
    assert b4.mean_declared == pytest.approx(2.8 / 3) and b4.realised == 1


def test_float_noise_at_bin_edges():
    # 0.1 + 0.2 + 0.3 = 0.6000000000000001 and 0.7 − 0.1 = 0.6 − 1e-16: both are "60 %".
    cal = calibration([0.1 + 0.2 + 0.3, 0.7 - 0.1] + [0.9] * 8, [1] * 10)
    assert cal.bins[3].n == 2


def test_empty_bins_have_no_rate():
    cal = calibration([0.5] * 10, [1] * 10)
    assert [b.n for b in cal.bins] == [0, 0, 10, 0, 0]
    assert cal.bins[0].mean_declared is None and cal.bins[0].realised is None


def test_to_dict_is_json_serialisable():
    d = calibration([0.5] * 10, [1, 0] * 5).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["bins"][2] == {"lower": 0.4, "upper": 0.6, "n": 10, "mean_declared": 0.5, "realised": 0.5}


@PROPS
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=0, max_size=60))
def test_bins_partition_the_closed_proposals(rows):
    cal = calibration([p for p, _ in rows], [w for _, w in rows])
    if len(rows) < MIN_CLOSED:
        assert cal is None
        return
    assert sum(b.n for b in cal.bins) == cal.n == len(rows)
    assert 0 <= cal.brier <= 1 and 0 <= cal.win_rate <= 1
    for b in cal.bins:
        if b.n:
            assert b.lower - 1e-9 <= b.mean_declared <= b.upper
            assert 0 <= b.realised <= 1
            assert b.realised * b.n == pytest.approx(round(b.realised * b.n))


# ----------------------------------------------------------------------------- calibrated probability

def test_calibrated_probability_by_hand():
    # 10 closed at 50 %, 8 won: anchor (m = .5, 8 wins of 10); k = 4 →
    # calibrated(.5) = (8 + 4·.5) / (10 + 4) = 10/14.
    assert PRIOR_STRENGTH == 4 and FADE == 0.2
    cal = calibration([0.5] * 10, [1] * 8 + [0] * 2)
    assert calibrated(cal, 0.5) == pytest.approx(10 / 14)
    # .6 is half the reach away: a = .5 → (.5·8 + 4·.6) / (.5·10 + 4) = 6.4 / 9
    assert calibrated(cal, 0.6) == pytest.approx(6.4 / 9)
    # beyond the reach (.2) of the only anchor: the declared value, exactly
    assert calibrated(cal, 0.9) == 0.9
    assert calibrated(cal, 0.0) == 0.0
    assert calibrated(cal, 0.3) == pytest.approx(0.3)


def test_never_extrapolates_far_from_closed_proposals():
    # issue 10: 20 closed at 50 % (all won, say) turned a new 10 % proposal into 52 %; it stays 10 %
    cal = calibration([0.5] * 20, [1] * 20)
    assert calibrated(cal, 0.10) == pytest.approx(0.10, abs=1e-12)
    assert calibrated(cal, 0.25) == pytest.approx(0.25, abs=1e-12)
    # and fades in as the declared value nears what was observed: .35 → a = .25: (5 + 1.4) / (5 + 4)
    assert calibrated(cal, 0.35) == pytest.approx(6.4 / 9)
    ps = (0.31, 0.35, 0.4, 0.45, 0.5)
    near = [calibrated(cal, p) for p in ps]
    assert near == sorted(near) and all(c > p for c, p in zip(near, ps))


def test_between_anchors():
    # 10 at 20 % with 0 wins (anchor .2), 10 at 60 % with 10 wins (anchor .6).
    # At .4 (halfway, .2 from both): no anchor reaches → declared .4.
    cal = calibration([0.2] * 10 + [0.6] * 10, [0] * 10 + [1] * 10)
    assert calibrated(cal, 0.4) == pytest.approx(0.4)
    assert calibrated(cal, 0.2) == pytest.approx((0 + 4 * 0.2) / 14)
    assert calibrated(cal, 0.6) == pytest.approx((10 + 4 * 0.6) / 14)
    # .5: a = .5 from .6 only: (5 + 2) / (5 + 4)
    assert calibrated(cal, 0.5) == pytest.approx(7 / 9)
    # continuous across the 40 % bin edge
    assert calibrated(cal, 0.4 - 1e-12) == pytest.approx(calibrated(cal, 0.4))


def test_prior_strength_limits():
    cal = calibration([0.5] * 10, [1] * 8 + [0] * 2)
    assert calibrated(cal, 0.5, k=1e9) == pytest.approx(0.5, abs=1e-6)   # declared
    assert calibrated(cal, 0.5, k=1e-9) == pytest.approx(0.8, abs=1e-6)  # realised


def test_all_at_once_matches_one_at_a_time():
    rng = np.random.default_rng(0)
    cal = calibration(rng.uniform(0, 1, 50), rng.uniform(0, 1, 50) < 0.4)
    ps = np.linspace(0, 1, 41)
    vec = calibrated_probabilities(cal, ps)
    assert vec.shape == ps.shape
    assert np.allclose(vec, [calibrated(cal, float(p)) for p in ps], rtol=0, atol=1e-15)
    assert ((vec >= 0) & (vec <= 1)).all()


@st.composite
def closed_history(draw):
    n = draw(st.integers(MIN_CLOSED, 80))
    probs = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    won = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return probs, won


@PROPS
@given(closed_history(), st.floats(0, 1))
def test_calibrated_between_declared_and_realised_within_reach(hist, p):
    cal = calibration(*hist)
    c = calibrated(cal, p)
    reached = [b.realised for b in cal.bins if b.n and abs(p - b.mean_declared) < FADE]
    lo, hi = min([p, *reached]), max([p, *reached])
    assert lo - 1e-12 <= c <= hi + 1e-12
    if not reached:
        assert c == pytest.approx(p, abs=1e-12)


@PROPS
@given(st.floats(0.8, 1.0), st.integers(0, 12), st.integers(MIN_CLOSED, 12), st.floats(0, 1))
def test_calibrated_between_declared_and_realised_single_bin(declared, wins, n, p):
    # All history in one bin: the realised rate is the same for every p, and the calibrated
    # value is a weighted average of the declared p and that rate.
    wins = min(wins, n)
    cal = calibration([declared] * n, [1] * wins + [0] * (n - wins))
    c = calibrated(cal, p)
    lo, hi = sorted((p, wins / n))
    assert lo - 1e-12 <= c <= hi + 1e-12


def test_calibrated_forecast():
    # anchor (.5: 8 won of 10): calibrated(.5) = 10/14; .9 is out of its reach: .9
    cal = calibration([0.5] * 10, [1] * 8 + [0] * 2)
    got = calibrated_forecast(1000, [700, 1400], [0.5, 0.9], cal)
    assert got == pytest.approx(1000 + 700 * 10 / 14 + 1400 * 0.9)
    assert calibrated_forecast(1000, [], [], cal) == 1000
    assert calibrated_forecast(0, pd.Series([700.0]), pd.Series([0.5]), cal) == pytest.approx(500)


def test_perfectly_calibrated_history_changes_little():
    rng = np.random.default_rng(1)
    probs = rng.uniform(0, 1, 5000)
    won = rng.uniform(0, 1, 5000) < probs
    cal = calibration(probs, won)
    ps = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    assert np.allclose(calibrated_probabilities(cal, ps), ps, atol=0.03)


# ----------------------------------------------------------------------------- invalid input

@pytest.mark.parametrize("probs, won", [
    ([0.5] * 9 + [float("nan")], [1] * 10),
    ([0.5] * 9 + [None], [1] * 10),
    ([0.5] * 10, [1] * 9 + [None]),
    ([0.5] * 10, [1] * 9 + [float("nan")]),
    ([0.5] * 10, [1] * 9 + [2]),
    ([0.5] * 9 + [1.5], [1] * 10),
    ([0.5] * 10, [1] * 9),
    (pd.Series([0.5] * 9 + [pd.NA], dtype="Float64"), [1] * 10),
])
def test_invalid_history_raises(probs, won):
    with pytest.raises(ValueError):
        calibration(probs, won)


def test_invalid_forecast_input_raises():
    cal = calibration([0.5] * 10, [1] * 10)
    with pytest.raises(ValueError):
        calibrated_forecast(0, [100, float("nan")], [0.5, 0.5], cal)
    with pytest.raises(ValueError):
        calibrated_forecast(0, [100, 200], [0.5, None], cal)
    with pytest.raises(ValueError):
        calibrated_forecast(float("nan"), [100], [0.5], cal)
    with pytest.raises(ValueError):
        calibrated(cal, float("nan"))
    with pytest.raises(ValueError):
        calibrated(cal, None)
    with pytest.raises(ValueError):
        calibrated(cal, 0.5, k=0)


# ----------------------------------------------------------------------------- win rate / coverage

def test_win_rate():
    assert win_rate(3, 1) == 0.75
    assert win_rate(0, 5) == 0.0
    assert win_rate(0, 0) is None
    for bad in [(-1, 2), (1.5, 2), (None, 2), (float("nan"), 1)]:
        with pytest.raises(ValueError):
            win_rate(*bad)


def test_required_coverage():
    assert required_coverage(0.25) == 4.0
    assert required_coverage(win_rate(3, 1)) == pytest.approx(4 / 3)
    assert required_coverage(1.0) == 1.0
    assert required_coverage(None) is None
    assert required_coverage(0) is None
    assert required_coverage(win_rate(0, 4)) is None
    assert required_coverage(float("nan")) is None
    with pytest.raises(ValueError):
        required_coverage(1.5)
    with pytest.raises(ValueError):
        required_coverage(-0.1)
