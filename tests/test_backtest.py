"""Backtest (SPEC §4b): figures reproduced by hand on a small history, and the history-based model
against the declared one on seeded synthetic worlds with known truth."""
from __future__ import annotations

import datetime as dt

import pytest

from salesxl import synthetic
from salesxl.backtest import backtest, metrics
from salesxl.io import history as hist
from salesxl.tables import TableData

D = dt.date


def _store(tmp_path, collections):
    """collections: [(day, [(ref, amount, p, status, decision)], (start, end, objective))] for rep Ann."""
    conn = hist.open_history(tmp_path / "h.sqlite")
    for day, rows, (s, e, obj) in collections:
        pipeline = TableData("pipeline", {"ref": [r[0] for r in rows], "rep": ["Ann"] * len(rows),
                                          "amount": [r[1] for r in rows], "probability": [r[2] for r in rows],
                                          "status": [r[3] for r in rows], "decision_date": [r[4] for r in rows]},
                             range(2, len(rows) + 2))
        hist.import_submission(conn, sha256=str(day), fingerprint=str(day), as_of=day, path="ann.xlsx",
                               pipeline=pipeline, periods={"rep": ["Ann"], "period_start": [s], "period_end": [e],
                                                           "revenue_objective": [obj]})
    return conn


def test_backtest_by_hand(tmp_path):
    conn = _store(tmp_path, [
        (D(2026, 1, 20), [("A", 500.0, 0.6, "Open", D(2026, 1, 25)), ("B", 300.0, 0.5, "Open", D(2026, 1, 28)),
                          ("C", 200.0, 0.9, "Won", D(2026, 1, 10))], (D(2026, 1, 1), D(2026, 1, 31), 1000.0)),
        (D(2026, 2, 20), [("A", 500.0, 0.6, "Won", D(2026, 1, 25)), ("B", 300.0, 0.5, "Lost", D(2026, 1, 28)),
                          ("C", 200.0, 0.9, "Won", D(2026, 1, 10)), ("D", 400.0, 0.5, "Open", D(2026, 2, 25))],
         (D(2026, 2, 1), D(2026, 2, 28), 800.0)),
        (D(2026, 3, 20), [("D", 400.0, 0.5, "Won", D(2026, 2, 26)), ("E", 100.0, 0.5, "Open", D(2026, 3, 30))],
         (D(2026, 3, 1), D(2026, 3, 31), 500.0)),
    ])
    bt = backtest(hist.learning_rows(conn), hist.period_rows(conn), simulations=4000)
    # March has not ended by the last collection: two cases
    assert [(c.rep, c.as_of) for c in bt.cases] == [("Ann", D(2026, 1, 20)), ("Ann", D(2026, 2, 20))]
    jan, feb = bt.cases
    # January: won 200 (C) + 500·0.6 + 300·0.5; outcomes 200 (.2), 500 (.2), 700 (.3), 1000 (.3)
    assert jan.declared["forecast"] == pytest.approx(650)
    assert (jan.declared["p10"], jan.declared["p50"], jan.declared["p90"]) == (200, 700, 1000)
    assert jan.declared["p_reach"] == pytest.approx(0.3)
    assert jan.actual == 700                              # A and C won in January, B lost
    # February: nothing won yet, D 400 at 50 %: 0 or 400; D won on Feb 26
    assert feb.declared["forecast"] == pytest.approx(200)
    assert (feb.declared["p10"], feb.declared["p90"], feb.declared["p_reach"]) == (0, 400, 0)
    assert feb.actual == 400
    m = bt.overall["declared"]
    assert m["n"] == 2
    assert m["mae"] == pytest.approx((50 + 200) / 2)
    assert m["bias"] == pytest.approx((-50 - 200) / 2)
    assert m["error"] == pytest.approx(250 / 1100, abs=1e-6)          # (figures rounded to 6 places)
    assert m["brier"] == pytest.approx(((0.3 - 0) ** 2 + (0 - 0) ** 2) / 2)   # neither month reached
    assert m["coverage"] == 1.0
    # three collections are too few: the history model shows the declared figures, and says why
    assert {c.basis for c in bt.cases} == {"declared"} and jan.reason == "few_collections"
    assert bt.overall["history"] == m
    assert [c.actual for c in bt.team_cases] == [700, 400]
    assert [c.declared["forecast"] for c in bt.team_cases] == pytest.approx([650, 200])
    assert bt.reps["Ann"]["declared"] == m


def _backtest(world, path):
    conn = hist.open_history(path)
    for sub in synthetic.submissions(world):
        hist.import_submission(conn, commit=False, **sub)
    conn.commit()
    rows, periods = hist.learning_rows(conn), hist.period_rows(conn)
    conn.close()
    return backtest(rows, periods, simulations=1000)


def _pooled(worlds, tmp_path):
    cases = []
    for i, w in enumerate(worlds):
        cases += [c for c in _backtest(w, tmp_path / f"h{i}.sqlite").cases if c.basis == "history"]
    return metrics(cases, "declared"), metrics(cases, "history")


def test_slipping_world_history_halves_the_error_and_covers_honestly(tmp_path):
    """Over- and under-confident reps, slippage, good and bad months: the history-based expected has at
    most half the error of the declared forecast, and its P10–P90 holds the truth 70–90 % of the time."""
    declared, history = _pooled([synthetic.slipping_world(1), synthetic.slipping_world(2)], tmp_path)
    assert declared["n"] >= 150
    assert history["mae"] <= 0.5 * declared["mae"]
    assert 0.7 <= history["coverage"] <= 0.9
    assert history["brier"] < declared["brier"]
    assert declared["coverage"] < 0.6                     # independent draws around a biased forecast


def test_calibrated_world_history_is_no_worse(tmp_path):
    """Reps whose declared probabilities are the truth and who never slip: the history-based expected is
    no worse than the declared forecast (within 10 %)."""
    declared, history = _pooled([synthetic.calibrated_world(s) for s in (1, 2, 3)], tmp_path)
    assert history["mae"] <= 1.1 * declared["mae"]
    assert 0.7 <= history["coverage"] <= 0.95


def test_version_1_store_is_upgraded(tmp_path):
    """A store written before sent_on and periods existed opens, gains them, and keeps its snapshots."""
    import sqlite3
    path = tmp_path / "old.sqlite"
    old = hist.SCHEMA.replace("    sent_on       TEXT,\n", "").split("CREATE TABLE IF NOT EXISTS periods")[0]
    with sqlite3.connect(path) as c:
        c.executescript(old)
        c.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        c.execute("INSERT INTO snapshots (rep, rep_key, ref, ref_key, as_of, status) "
                  "VALUES ('Ann', 'ann', 'A', 'a', '2026-01-20', 'Open')")
    conn = hist.open_history(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
    rows = hist.learning_rows(conn)
    assert rows["ref_key"] == ["a"] and rows["sent_on"] == [None]
    assert hist.period_rows(conn)["rep"] == []


def test_backtest_command(tmp_path):
    import json

    from typer.testing import CliRunner

    from salesxl.cli import app
    w = synthetic.slipping_world(4, reps=4, months=13)
    conn = hist.open_history(tmp_path / "h.sqlite")
    for sub in synthetic.submissions(w):
        hist.import_submission(conn, commit=False, **sub)
    conn.commit()
    conn.close()
    runner = CliRunner()
    res = runner.invoke(app, ["backtest", "--history", str(tmp_path / "h.sqlite"), "--json", "--simulations", "500"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)                  # nothing but JSON on stdout
    assert data["collections"] == len(w.collections) and data["history_cases"] > 0
    assert set(data["overall"]) == {"declared", "history"} and set(data["reps"]) == {r.name for r in w.reps}
    assert data["overall"]["history"]["mae"] < data["overall"]["declared"]["mae"]
    text = runner.invoke(app, ["backtest", "--history", str(tmp_path / "h.sqlite"), "--lang", "fr",
                               "--simulations", "500"])
    assert text.exit_code == 0 and "Rétro-test" in text.stdout and "Équipe — historique" in text.stdout
    missing = runner.invoke(app, ["backtest", "--history", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 2 and not (tmp_path / "none.sqlite").exists()
