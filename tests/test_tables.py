"""The one table type (salesxl.tables.TableData): views share the lists, follow `kept`, pickle as a
table of their own; the same table from the reader to the writers (a workbook read back)."""
from __future__ import annotations

import datetime as dt
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesxl.tables import TableData

D = dt.date


def pipeline(n: int = 5) -> TableData:
    return TableData("pipeline", {"ref": [f"P{i}" for i in range(n)], "rep": ["Ann", "Bob"] * (n // 2) + ["Ann"] * (n % 2),
                                  "amount": [100.0 * i if i != 2 else None for i in range(n)]},
                     range(10, 10 + n), sheet="Pipeline", headers={"ref": "Ref", "amount": "Montant"},
                     kept={"amount": {2: "douze"}})


def test_columns_rows_and_where_found():
    t = pipeline()
    assert len(t) == 5 and t.columns == ("ref", "rep", "amount") and list(t) == list(t.columns)
    assert t.rows == [10, 11, 12, 13, 14] and t.sheet == "Pipeline" and t.headers["amount"] == "Montant"
    assert "ref" in t and "company" not in t
    assert t.get("company") is None and t.column("company") == [None] * 5
    assert t.output("amount") == [0.0, 100.0, "douze", 300.0, 400.0]      # what was typed, kept
    assert t["amount"][2] is None                                         # the typed value the computations use


def test_a_column_of_another_length_is_refused():
    with pytest.raises(ValueError):
        TableData("pipeline", {"ref": ["P1", "P2"]}, [2])
    t = pipeline()
    with pytest.raises(ValueError):
        t.set("ref", ["only one"])


def test_a_view_shares_the_lists_and_follows_kept():
    t = pipeline()
    run = t.take(range(1, 4))                      # a run of rows: a slice
    picked = t.take([4, 2, 0])                     # any rows, in the order given
    assert run.rows == [11, 12, 13] and run["ref"] == ["P1", "P2", "P3"]
    assert picked.rows == [14, 12, 10] and picked["ref"] == ["P4", "P2", "P0"]
    assert run.output("amount") == [100.0, "douze", 300.0] and picked.output("amount") == [400.0, "douze", 0.0]
    assert t.take([0, 1]).kept == {}
    nested = picked.take([1, 2])                   # a view of a view
    assert nested.rows == [12, 10] and nested.output("amount") == ["douze", 0.0]
    assert t.take(range(2, 5)).take(range(1, 3)).rows == [13, 14]
    with pytest.raises(ValueError):
        run.set("ref", ["a", "b", "c"])            # a view is read-only: copy() it first
    own = run.copy()
    own.set("ref", ["a", "b", "c"])
    assert own["ref"] == ["a", "b", "c"] and t["ref"][1] == "P1"


def test_a_view_pickles_as_a_table_of_its_own():
    t = pipeline(2000)
    view = t.take([5, 7])
    data = pickle.dumps(view)
    back = pickle.loads(data)
    assert back == view and back.rows == [15, 17] and back.sheet == "Pipeline"
    assert len(data) < len(pickle.dumps(t)) / 20   # only its own rows travel


def test_concat_keeps_rows_and_kept_in_order():
    a, b = pipeline(3), pipeline(2).take([1])
    both = TableData.concat([a, b])
    assert both.rows == [10, 11, 12, 11] and both["ref"] == ["P0", "P1", "P2", "P1"]
    assert both.kept == {"amount": {2: "douze"}}
    c = TableData("pipeline", {"ref": ["X"]}, [30], kept={"ref": {0: "#N/A"}})
    mixed = TableData.concat([a, c])                # a column a part has not got: None there
    assert mixed["amount"] == [0.0, 100.0, None, None] and mixed.kept == {"amount": {2: "douze"}, "ref": {3: "#N/A"}}


def test_select_and_to_frame():
    t = pipeline().take([3, 1])
    s = t.select(["amount", "ref", "nope"])
    assert s.columns == ("amount", "ref") and s.rows == [13, 11] and s.kept == {}
    df = t.to_frame()
    assert df.columns.tolist() == ["ref", "rep", "amount", "_row"] and df["_row"].tolist() == [13, 11]
    assert df["amount"].tolist() == [300.0, 100.0] and df["amount"].dtype == object


def test_a_table_not_from_a_sheet_has_no_rows():
    t = TableData("closed", {"rep": ["Ann", "Bob"], "won": [True, False]}, None)
    assert len(t) == 2 and t.rows == [None, None]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=0, max_size=30), st.data())
def test_views_are_the_rows_they_name(values, data):
    """Whatever rows are taken (and taken again), a view holds exactly those rows' values and Excel rows."""
    t = TableData("reporting", {"v": list(values)}, range(2, len(values) + 2),
                  kept={"v": {i: f"typed {i}" for i in range(0, len(values), 3)}})
    idx = data.draw(st.lists(st.integers(0, max(len(values) - 1, 0)), max_size=10)) if values else []
    view = t.take(idx)
    assert view["v"] == [values[i] for i in idx] and view.rows == [i + 2 for i in idx]
    assert view.output("v") == [t.output("v")[i] for i in idx]
    if idx:
        again = data.draw(st.lists(st.integers(0, len(idx) - 1), max_size=5))
        assert view.take(again)["v"] == [values[idx[j]] for j in again]


def test_the_same_table_from_the_reader_to_the_writer(tmp_path):
    """A rep workbook read, validated and written into a team workbook, read back: each row's values
    and its source Excel row survive, and what could not be read is written as typed."""
    from salesxl.io.read_xlsx import validate_file
    from salesxl.io.template import write_template
    from salesxl.io.write_xlsx import write_team_workbook

    rows = {"pipeline": [
        {"ref": "A-1", "rep": "Ann", "company": "Alpha", "amount": 1200, "probability": 0.5, "stage": "Negotiation",
         "decision_date": D(2026, 11, 20), "status": "Open"},
        {"ref": "A-2", "rep": "Ann", "company": "Beta", "amount": "twelve", "probability": 0.3, "stage": "Negotiation",
         "decision_date": D(2026, 11, 25), "status": "Open"}]}
    src = write_template(tmp_path / "ann.xlsx", "en", rows=rows)
    v = validate_file(src, as_of=D(2026, 11, 10))
    pipe = v.tables["pipeline"]
    assert pipe.key == "pipeline" and pipe.sheet == "Pipeline" and pipe.rows == [2, 3]
    assert pipe["amount"] == [1200.0, None] and pipe.output("amount") == [1200.0, "twelve"]
    out = write_team_workbook(tmp_path / "team.xlsx", files=[(str(src), v.tables)], lang="en")
    back = validate_file(out, as_of=D(2026, 11, 10)).tables["pipeline"]
    assert back["ref"] == ["A-1", "A-2"] and back["amount"] == [1200.0, None]
    import openpyxl
    ws = openpyxl.load_workbook(out)["Pipeline"]
    head = [c.value for c in ws[1]]
    got = [dict(zip(head, (c.value for c in r))) for r in ws.iter_rows(min_row=2, max_row=3)]
    assert [(g["Amount"], g["Source row"]) for g in got] == [(1200, 2), ("twelve", 3)]
