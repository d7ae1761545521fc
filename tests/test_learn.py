"""The history-based forecast (SPEC §4b, salesxl.learn): the model as its docstring states it, reproduced
by hand on small histories; what it refuses; the synthetic world it is measured on."""
from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import numpy as np
import pytest

from salesxl import learn, synthetic
from salesxl.io import history as hist
from salesxl.learn import History, OpenProposals, draw_totals, team_normals
from conftest import merged_tables

D0 = dt.date(2026, 1, 31)


def _rows(snaps):
    """learning_rows columns from (rep, ref, as_of, amount, p, status, decision[, stage[, sent_on]])."""
    cols = {c: [] for c in hist.LEARNING_COLUMNS}
    for s in snaps:
        rep, ref, day, amount, p, status, decision = s[:7]
        stage = s[7] if len(s) > 7 else None
        sent = s[8] if len(s) > 8 else None
        for c, v in zip(hist.LEARNING_COLUMNS, (rep.lower(), ref.lower(), day, amount, p, stage, status,
                                               decision, sent)):
            cols[c].append(v)
    return cols


def _small_history(n_won=1, n=4, p=0.5):
    """One rep, three monthly collections. On the first, `n` proposals of `p`, due 10 days later; by the
    second `n_won` of them are Won on their decision date, the others Lost."""
    t1, t2, t3 = D0, D0 + dt.timedelta(days=28), D0 + dt.timedelta(days=59)
    snaps = []
    for i in range(n):
        due = t1 + dt.timedelta(days=10)
        snaps.append(("Ann", f"P{i}", t1, 1000.0, p, "Open", due))
        status = "Won" if i < n_won else "Lost"
        snaps.append(("Ann", f"P{i}", t2, 1000.0, p, status, due))
        snaps.append(("Ann", f"P{i}", t3, 1000.0, p, status, due))
    return snaps, (t1, t2, t3)


def _odds(q, f):
    return q * f / (1 - q + q * f)


def test_model_reproduced_by_hand():
    """Four 50 % proposals due in the window, one won: the corrections of the docstring, by hand."""
    snaps, (t1, t2, t3) = _small_history(n_won=1)
    h = History(_rows(snaps), min_windows=1, min_examples=1)
    fit = h.fit(t3, 20)
    assert fit.basis == "history" and fit.examples == 4 and fit.windows == 1
    # by hand: each factor has one class holding the four examples; y = 1 once
    q = Fraction(1, 2)
    for _pass in range(learn.PASSES):
        for f in learn.CHAIN:
            k = learn.K_REP if f == "R" else learn.K_TEAM
            factor = (1 + Fraction(k).limit_denominator()) / (4 * q + Fraction(k).limit_denominator())
            q = _odds(q, factor)
    pred = h.predict("Ann", t3, t3 + dt.timedelta(days=20),
                     OpenProposals([2000.0], [0.5], [t3 + dt.timedelta(days=5)], ["NEW"]))
    assert pred.basis == "history"
    assert pred.q[0] == pytest.approx(float(q), rel=1e-12)
    # the same chain, as stored: W class 1 (due in the window), P, S, A, G, R twice
    assert [f for f, _ in fit.steps[1]] == list(learn.CHAIN) * learn.PASSES
    first = fit.steps[1][0][1]
    assert first[learn.prob_class(np.array([0.5]))[0]] == pytest.approx((1 + 5) / (2 + 5))
    # expected = won + Σ a·q + new business (none here: no proposal appeared after a collection)
    assert pred.new_business == 0
    assert pred.expected(300.0) == pytest.approx(300 + 2000 * float(q))


def test_unseen_classes_keep_the_declared_probability():
    """Twenty closed 50 % proposals won half the time: a 10 % proposal keeps 10 %, and a probability
    never seen keeps its value even when the seen ones were optimistic (no extrapolation)."""
    snaps, (t1, t2, t3) = _small_history(n_won=10, n=20)
    h = History(_rows(snaps), min_windows=1, min_examples=1)
    pred = h.predict("Ann", t3, t3 + dt.timedelta(days=20),
                     OpenProposals([1000.0, 1000.0], [0.1, 0.5], [t3 + dt.timedelta(days=5)] * 2, ["X", "Y"]))
    assert pred.q[1] == pytest.approx(0.5, abs=1e-12)        # 10 won of 20 at 50 %: nothing to correct
    assert pred.q[0] == pytest.approx(0.1, abs=1e-12)
    snaps, (t1, t2, t3) = _small_history(n_won=2, n=20)       # optimistic: 50 % declared, 10 % won
    h = History(_rows(snaps), min_windows=1, min_examples=1)
    pred = h.predict("Ann", t3, t3 + dt.timedelta(days=20),
                     OpenProposals([1000.0, 1000.0], [0.1, 0.5], [t3 + dt.timedelta(days=5)] * 2, ["X", "Y"]))
    assert 0.1 < pred.q[1] < 0.5                               # pulled toward what happened, shrunk
    fit = h.fit(t3, 20)
    p_steps = [f for name, f in fit.steps[1] if name == "P"]
    ten = learn.prob_class(np.array([0.1]))[0]
    assert all(f[ten] == 1.0 for f in p_steps)                # the 10 % class was never seen
    # what applies to it is only the rep's correction (its odds scaled like the rep's), not 50 %'s rate
    assert pred.q[0] < 0.1 and pred.q[0] > 0.02


def test_window_classes_and_pushes_from_snapshots():
    """Pushes count later decision dates over the snapshots; a current row pushed again counts one more;
    overdue, in-window and later proposals are told apart by the period end."""
    d1, d2, d3 = D0, D0 + dt.timedelta(days=30), D0 + dt.timedelta(days=60)
    snaps = [("Bo", "A", d1, 100.0, 0.5, "Open", d1 + dt.timedelta(days=5)),
             ("Bo", "A", d2, 100.0, 0.5, "Open", d2 + dt.timedelta(days=5)),      # pushed once
             ("Bo", "A", d3, 100.0, 0.5, "Open", d3 + dt.timedelta(days=5)),      # twice
             ("Bo", "B", d2, 100.0, None, "Open", d2 + dt.timedelta(days=5)),     # no probability: not an example
             ("Bo", "B", d3, 100.0, 0.4, "Open", d2 + dt.timedelta(days=5))]      # not pushed: overdue on d3
    h = History(_rows(snaps))
    assert sorted(h.pushes.tolist()) == [0, 0, 0, 1, 2]
    pred = h.predict("bo", d3, d3 + dt.timedelta(days=10),
                     OpenProposals([100.0, 100.0], [0.5, 0.4], [d3 + dt.timedelta(days=40), d2], ["A", "B"]))
    # on d3 the current rows are the day's: A counts its pushes before d3 (1) and one more (later than d2's)
    assert pred.pushes.tolist() == [2, 0]
    later = h.predict("bo", d3 + dt.timedelta(days=1), d3 + dt.timedelta(days=10),
                      OpenProposals([100.0], [0.5], [d3 + dt.timedelta(days=40)], ["A"]))
    assert later.pushes.tolist() == [3]                       # after d3: d3's snapshot had 2, moved once more
    assert pred.basis == "declared" and pred.reason == "few_collections"
    assert pred.q.tolist() == [0.5, 0.4]                      # declared basis: the declared probabilities
    w = learn.window_class(np.array([d2.toordinal(), d3.toordinal() + 5, d3.toordinal() + 40]),
                           np.full(3, d3.toordinal()), 10)
    assert w.tolist() == [0, 1, 2]


def test_missing_values_are_refused_not_zero():
    snaps, (t1, t2, t3) = _small_history()
    h = History(_rows(snaps), min_windows=1, min_examples=1)
    end = t3 + dt.timedelta(days=20)
    with pytest.raises(ValueError):
        h.predict("Ann", t3, end, OpenProposals([None], [0.5], [t3], ["X"]))
    with pytest.raises(ValueError):
        h.predict("Ann", t3, end, OpenProposals([100.0], [float("nan")], [t3], ["X"]))
    with pytest.raises(ValueError):
        h.predict("Ann", t3, end, OpenProposals([100.0], [0.5], [None], ["X"]))
    with pytest.raises(ValueError):
        h.predict("Ann", t3, end, OpenProposals([100.0], [1.5], [t3], ["X"]))
    # a snapshot without an amount is no example at all (not an example of amount 0)
    snaps.append(("Ann", "Z", t1, None, 0.5, "Open", t1 + dt.timedelta(days=10)))
    assert History(_rows(snaps), min_windows=1, min_examples=1).fit(t3, 20).examples == 4


def test_thin_history_is_declared_with_its_reason():
    assert History(_rows([])).fit(D0, 10).reason == "no_history"
    snaps, (t1, t2, t3) = _small_history()
    h = History(_rows(snaps))
    fit = h.fit(t3, 20)
    assert (fit.basis, fit.reason) == ("declared", "few_collections")
    h = History(_rows(snaps), min_windows=1)
    assert h.fit(t3, 20).reason == "few_proposals"
    # the horizon longer than the history: no window has closed yet
    assert History(_rows(snaps), min_windows=1, min_examples=1).fit(t3, 400).reason == "few_collections"


def test_draws_share_the_team_factor_and_keep_the_mean():
    snaps, (t1, t2, t3) = _small_history()
    h = History(_rows(snaps), min_windows=1, min_examples=1)
    pred = h.predict("Ann", t3, t3 + dt.timedelta(days=20),
                     OpenProposals([1000.0] * 30, [0.3] * 30, [t3 + dt.timedelta(days=5)] * 30, [None] * 30))
    z = team_normals(11, 20000)
    assert np.array_equal(z, team_normals(11, 20000))          # the same team factor for every rep
    draws = draw_totals(500.0, pred, z, np.random.default_rng(3))
    assert draws.min() >= 500.0
    assert draws.mean() == pytest.approx(pred.expected(500.0), rel=0.03)
    # a period-level factor makes the spread wider than independent proposals give
    a, q = pred.amounts, pred.q
    assert draws.std() > math.sqrt(float((a * a * q * (1 - q)).sum()))


def test_synthetic_world_is_seeded_and_holds_twelve_collections():
    a, b = synthetic.slipping_world(3), synthetic.slipping_world(3)
    assert [x.ref for r in a.reps for x in r.proposals] == [x.ref for r in b.reps for x in r.proposals]
    assert len(a.collections) >= 12
    pushed = [x for r in a.reps for x in r.proposals if len(x.decisions) > 1]
    assert pushed and {r.confidence for r in a.reps} >= {1.8, 0.8}
    cal = synthetic.calibrated_world(3)
    assert all(len(x.decisions) == 1 and x.pi == x.p for r in cal.reps for x in r.proposals)
    sub = next(synthetic.submissions(a))
    assert set(sub["pipeline"]) >= {"ref", "rep", "amount", "probability", "status", "decision_date", "sent_on"}


# ------------------------------------------------------------------------------------ in the forecast
@pytest.fixture(scope="module")
def world_forecast(tmp_path_factory):
    """Four reps of a slipping world: their workbooks on the day after the last collection, read back,
    and the history store of every collection so far: the forecast with and without the history."""
    from conftest import compute
    from salesxl.io.read_xlsx import validate_file
    from salesxl.io.template import write_template
    tmp = tmp_path_factory.mktemp("world")
    w = synthetic.slipping_world(5, reps=4, months=13)
    day = w.collections[-1]
    conn = hist.open_history(tmp / "h.sqlite")
    for sub in synthetic.submissions(w):
        hist.import_submission(conn, commit=False, **sub)
    conn.commit()
    files = []
    for rep in w.reps:
        p = tmp / f"{rep.name}.xlsx"
        write_template(p, "en", rows=synthetic.rep_rows(w, rep, day), settings={"as_of": day})
        files.append(validate_file(p, as_of=day))
    m = merged_tables(files)
    learner = History(hist.learning_rows(conn, upto=day))
    with_h = compute(m, files[0].lists, day, files[0].settings, simulations=2000, learner=learner)
    without = compute(m, files[0].lists, day, files[0].settings, simulations=2000)
    return w, day, with_h, without


def test_forecast_json_expected_and_basis(world_forecast):
    w, day, fc, plain = world_forecast
    d, p = fc.to_dict(), plain.to_dict()
    for rep, base in zip(d["reps"], p["reps"]):
        # the declared figures are the same with or without history (SPEC §4 unchanged)
        for k in ("won", "weighted_open", "forecast", "attainment", "coverage"):
            assert rep[k] == base[k]
        assert base["basis"] == "declared" and base["basis_reason"] == "no_history"
        assert base["expected"] == base["forecast"] and "p_reach_declared" not in base
        assert rep["basis"] == "history" and "basis_reason" not in rep
        # the declared distribution is kept beside the history's
        assert (rep["p10_declared"], rep["p90_declared"], rep["p_reach_declared"]) == \
            (base["p10"], base["p90"], base["p_reach"])
        assert rep["risk_declared"] == base["risk"]
        assert rep["p10"] <= rep["p50"] <= rep["p90"]
    team = d["team"]
    assert team["basis"] == "history" and team["reps_on_history"] == 4
    assert team["expected"] == pytest.approx(sum(r["expected"] for r in d["reps"]), rel=1e-9)
    # the team's distributions are per period-length group (issue 11): the declared ones kept there
    assert len(team["groups"]) >= 1 and [g["group"] for g in team["groups"]] == [g["group"] for g in p["team"]["groups"]]
    for g, base in zip(team["groups"], p["team"]["groups"]):
        assert g["basis"] == "history"
        assert g["p_reach_declared"] == base["p_reach"] and g["p10_declared"] == base["p10"]
    if len(team["groups"]) == 1:
        assert team["p_reach_declared"] == p["team"]["p_reach"] and team["p10_declared"] == p["team"]["p10"]
    assert p["team"]["basis"] == "declared"
    # optimistic, slipping reps: the history expects less than declared
    assert team["expected"] < team["forecast"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_review_says_why_expected_differs(world_forecast, lang):
    from conftest import build_reviews
    from salesxl.review import expected_point
    w, day, fc, plain = world_forecast
    points = [expected_point(r, day, lang) for r in fc.reps]
    said = [x for x in points if x]
    assert said, "no rep's expected differs from the declared forecast"
    start = "History expects" if lang == "en" else "L'historique attend"
    assert all(x.startswith(start) for x in said)
    if lang == "fr":
        assert not any(" tu " in x or " ton " in x or " tes " in x for x in said)
    assert all(expected_point(r, day, lang) is None for r in plain.reps)       # declared basis: nothing
    reviews = build_reviews(fc, lang)
    for r, review, point in zip(fc.reps, reviews, points):
        items = [i for b in review.blocks if type(b).__name__ == "Points" for i in b.items]
        if point:
            assert point in items


def test_unlikely_proposals_drawn_by_thinning_match_the_dense_draws(monkeypatch):
    """Thinning (unlikely proposals) is the same Bernoulli as the dense draw: same mean, spread, quantiles."""
    rng = np.random.default_rng(0)
    n = 60
    q = np.r_[rng.uniform(0.005, 0.08, n - 10), rng.uniform(0.2, 0.6, 10)]
    a = rng.uniform(1000, 9000, n).round()
    pred = learn.Prediction("history", None, q, a, np.zeros(n, int), 0.0, 0.05, 0.04, None, q, np.ones(n, int))
    z = team_normals(3, 60000)
    out = {}
    for limit in (1.0, 0.15):
        monkeypatch.setattr(learn, "SPARSE_MAX", limit)
        out[limit] = draw_totals(0.0, pred, z, np.random.default_rng(5))
    dense, thin = out[1.0], out[0.15]
    assert thin.mean() == pytest.approx(dense.mean(), rel=0.01)
    assert thin.std() == pytest.approx(dense.std(), rel=0.02)
    for pct in (10, 50, 90):
        assert np.percentile(thin, pct) == pytest.approx(np.percentile(dense, pct), rel=0.03)
