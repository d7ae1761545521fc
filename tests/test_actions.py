"""The ribbon actions (salesxl.actions) on a real xlwings Book: xlwings' remote engine, fed the JSON an
Office.js client sends for a real workbook (tests/xlwings_remote.py). Workbooks are the real
template filled with rows (the demo team, with its honest mistakes, or a synthetic team of any size);
what each action makes Excel do is read back from the recorded actions.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

try:
    from tests.xlwings_remote import (action_funcs, book_from_json, book_json_from_xlsx, count_calls,
                                      recorded_actions, reset_actions)
except ImportError:  # tests/ not a package and the repo root not on sys.path
    from xlwings_remote import (action_funcs, book_from_json, book_json_from_xlsx,  # type: ignore[no-redef]
                                count_calls, recorded_actions, reset_actions)

from salesxl import actions, addin_build, contract, demo_data
from conftest import build_reviews, compute
from salesxl.io import live
from salesxl.io.read_xlsx import validate_file
from salesxl.io.review_xlsx import render_review as render_review_file
from salesxl.io.template import write_template
from salesxl.layout import ISSUE_COLUMNS, forecast_layout, issue_values, issues_in_order, review_layout
from salesxl.review import Fields, Grid
from salesxl.review_text import TEXTS

AS_OF = dt.date(2026, 11, 20)
REPS = (("Ann Lee", "junior", dt.date(2026, 11, 16), dt.date(2026, 11, 22), 5000.0),
        ("Bob Roy", "confirmed", dt.date(2026, 11, 1), dt.date(2026, 11, 30), 60000.0),
        ("Cid Dupont", "senior", dt.date(2026, 10, 1), dt.date(2026, 12, 31), 400000.0))
ACTIONS = ("Call", "Visit", "Negotiation", "Proposal", "Follow-up", "Demo")
RESULTS = ("Meeting set", "Follow up", "Revise proposal", "No need", "Order", "Proposal")
REASONS = ("Price", "Competitor", "No budget", "Timing")
DATA_SHEETS = ("Reps", "Planning", "Objectives", "Reporting", "Pipeline")


def team_rows(n: int, m: int | None = None, reps=REPS) -> dict[str, list[dict]]:
    """A synthetic team: `n` Reporting rows, `m` Pipeline rows (default n/20), a current period per
    rep, and the same six mistakes whatever the size (so that the issues do not grow with n)."""
    m = m or max(12, n // 20)
    rows: dict[str, list[dict]] = {"reps": [], "objectives": [], "planning": [], "reporting": [], "pipeline": []}
    for name, seniority, s, e, objective in reps:
        rows["reps"].append({"rep": name, "seniority": seniority, "manager": "Nadia Roche",
                             "period_length": contract.DEFAULT_PERIOD[seniority]})
        rows["objectives"].append({"rep": name, "period_start": s, "period_end": e,
                                   "revenue_objective": objective, "deals_objective": 5})
        rows["planning"] += [{"rep": name, "period_start": s, "period_end": e, "action": a, "planned": 10 + j}
                             for j, a in enumerate(ACTIONS)]
    for i in range(n):
        name, _, s, e, _ = reps[i % len(reps)]
        days = (min(e, AS_OF) - s).days + 1
        result = RESULTS[(i // 3) % len(RESULTS)]
        rows["reporting"].append({
            "date": s + dt.timedelta(days=i % days), "rep": name, "company": f"Company {i}",
            "contact": f"Contact {i}", "job_title": "Buyer", "action": ACTIONS[(i // 3) % 6], "result": result,
            "reason": REASONS[i % 4] if result == "No need" else None})
    for i in range(m):
        name, _, s, e, _ = reps[i % len(reps)]
        status = "Won" if i % 5 == 0 else ("Lost" if i % 7 == 0 else "Open")
        decision = (s + dt.timedelta(days=i % ((AS_OF - s).days + 1)) if status != "Open"
                    else AS_OF + dt.timedelta(days=1 + i % (e - AS_OF).days))
        rows["pipeline"].append({
            "ref": f"P{i:05d}", "rep": name, "company": f"Client {i}", "contact": "X",
            "amount": 1000.0 + (i % 17) * 250, "probability": (i % 9 + 1) / 10, "stage": "Proposal sent",
            "sent_on": s, "decision_date": decision, "status": status,
            "loss_reason": REASONS[i % 4] if status == "Lost" else None})
    rep, pipe = rows["reporting"], rows["pipeline"]
    rep[0]["date"] = "31/02/2026"                # BAD_DATE (error)              Reporting!A2
    rep[1]["action"] = "Lunch"                   # UNKNOWN_VALUE (error)         Reporting!F3
    rep[2]["company"] = None                     # MISSING_VALUE (error)         Reporting!C4
    rep[4] = dict(rep[3])                        # DUPLICATE_ROW (warning)       Reporting!6
    pipe[0]["probability"] = "70 %"              # PROBABILITY_NORMALISED        Pipeline!G2
    pipe[1]["amount"] = "12 500,00"              # NUMBER_NORMALISED             Pipeline!F3
    return rows


def demo_rows(mistakes: bool = True) -> dict[str, list[dict]]:
    team = demo_data.build_timeline()
    rows: dict[str, list[dict]] = {}
    for rep in team:
        snap = demo_data.snapshot(team, rep, demo_data.DEMO_AS_OF)
        if mistakes:
            snap = demo_data.with_mistakes(snap, rep, demo_data.DEMO_AS_OF)
        for k, v in snap.items():
            rows.setdefault(k, []).extend(v)
    return rows


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("actions")
    out = {
        "g100": write_template(d / "team_100.xlsx", "en", rows=team_rows(100), settings={"as_of": AS_OF}),
        "g10k": write_template(d / "team_10k.xlsx", "en", rows=team_rows(10_000), settings={"as_of": AS_OF}),
        "demo": write_template(d / "demo_en.xlsx", "en", rows=demo_rows(),
                               settings={"as_of": demo_data.DEMO_AS_OF}),
        "demo_fr": write_template(d / "demo_fr.xlsx", "fr", rows=demo_rows(mistakes=False),
                                  settings={"as_of": demo_data.DEMO_AS_OF}),
    }
    return out


@pytest.fixture(scope="module")
def payloads(files):
    return {k: json.dumps(book_json_from_xlsx(p)) for k, p in files.items()}


@pytest.fixture
def open_book(payloads):
    books = []

    def _open(key: str = "g100", edit=None):
        payload = json.loads(payloads[key])
        if edit is not None:
            edit(payload)
        book = book_from_json(payload)
        books.append(book)
        return book

    yield _open
    for book in books:
        book.close()


def set_setting(payload: dict, key: str, value) -> None:
    """Edit a Settings value in a client payload (the Key/Value table of the Settings sheet)."""
    setting = next(s for s in contract.SETTINGS_KEYS if s.key == key)
    sheet = next(s for s in payload["sheets"] if s["name"] in ("Settings", "Paramètres"))
    for row in sheet["values"]:
        if row and row[0] in (setting.en, setting.fr):
            row[1] = value
            return
    raise KeyError(key)


def positions(book) -> dict[str, int]:
    return {s.name: i for i, s in enumerate(book.sheets)}


def writes_to(book, sheet_name: str, actions_=None) -> list[dict]:
    """setValues actions on a sheet created by addSheet (or existing), in order."""
    acts = recorded_actions(book) if actions_ is None else actions_
    pos = next((a["args"][0] for a in acts if a["func"] == "addSheet" and a["args"][1] == sheet_name), None)
    if pos is None:
        pos = positions(book)[sheet_name]
    return [a for a in acts if a["func"] == "setValues" and a["sheet_position"] == pos]


def plain(v):
    """A value as recorded for the client -> comparable Python value."""
    if v == "" or v is None:
        return None
    if isinstance(v, str):
        if v.startswith("'"):
            return v[1:]
        if re.match(r"^\d{4}-\d{2}-\d{2}(T|$)", v):
            return v[:10]
    return v


def plain_xl(v):
    if v == "":
        return None
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()[:10]
    return v


def rect(a: dict) -> tuple[int, int, int, int]:
    """(first row, first column, rows, columns) of an action, 1-based like Excel."""
    return a["start_row"] + 1, a["start_column"] + 1, a["row_count"], a["column_count"]


def covers(a: dict, row: int, col: int) -> bool:
    r, c, nr, nc = rect(a)
    return r <= row < r + nr and c <= col < c + nc


# ------------------------------------------------------------------------------------ dispatch


def test_run_dispatches_every_ribbon_tag(open_book):
    assert tuple(actions.ACTIONS) == addin_build.ACTIONS
    book = open_book("g100")
    res = actions.run("validate", book)
    assert res["action"] == "validate" and res["sheet"] == "Issues"
    with pytest.raises(ValueError, match="unknown action"):
        actions.run("delete_everything", book)


# ------------------------------------------------------------------------------------ validate


def test_validate_finds_what_the_file_reader_finds(open_book, files):
    """Same table location, header matching and rules as `salesxl validate` on the saved file."""
    book = open_book("demo")
    res = actions.validate(book)
    expected = validate_file(files["demo"])
    key = lambda i: (i.code, i.severity, i.sheet, i.row, i.column, i.message)  # noqa: E731
    assert sorted(map(key, actions.load(book).validate().issues)) == sorted(map(key, expected.issues))
    (block,) = writes_to(book, "Issues")
    rows = [[plain(v) for v in r] for r in block["values"]]
    assert rows[0] == [lab["en"] for _, lab, _, _, _ in ISSUE_COLUMNS]
    assert len(rows) == len(expected.issues) + 1
    # errors first, then warnings; the Effect column as in the file writer
    sev = [r[0] for r in rows[1:]]
    assert sev == sorted(sev, key=lambda x: x != "error") and "error" in sev and "warning" in sev
    assert [r[8] or "" for r in rows[1:]] == [issue_values(i, "en")[8] for i in issues_in_order(expected.issues)]
    got = sorted((r[1], r[3], r[4], r[5], r[7]) for r in rows[1:])
    assert got == sorted((i.code, i.sheet, i.row, i.column, i.message) for i in expected.issues)
    assert {r[1] for r in rows[1:]} >= {"BAD_DATE", "DUPLICATE_ROW", "UNKNOWN_VALUE", "MISSING_VALUE",
                                        "PROBABILITY_NORMALISED", "NUMBER_NORMALISED", "OVERDUE_PROPOSAL"}
    assert res["errors"] == expected.errors and res["warnings"] == len(expected.issues) - expected.errors
    assert action_funcs(book)[-1] == "activateSheet"


def test_validate_colours_invalid_cells_with_notes_and_never_writes_data(open_book):
    book = open_book("g100")
    pos = positions(book)
    actions.validate(book)
    acts = recorded_actions(book)
    data = {pos[s] for s in DATA_SHEETS}
    on_data = [a for a in acts if a.get("sheet_position") in data]
    # only fills and notes on the rep's sheets: not a single value written there
    assert {a["func"] for a in on_data} <= {"setRangeColor", "addNote", "setNoteText"}
    assert not [a for a in acts if a["func"] == "setValues" and a["sheet_position"] in data]

    def fill(sheet: str, row: int, col: int) -> str | None:
        hits = [a for a in on_data if a["func"] == "setRangeColor" and a["sheet_position"] == pos[sheet]
                and covers(a, row, col)]
        return hits[-1]["args"][0] if hits else None

    notes = {(a["sheet_position"], a["args"][0]): a["args"][1] for a in on_data if a["func"] == "addNote"}
    assert fill("Reporting", 2, 1) == live.ERROR_FILL                      # BAD_DATE, Date column
    assert "31/02/2026" in notes[(pos["Reporting"], "$A$2")]
    assert fill("Reporting", 3, 6) == live.ERROR_FILL                      # Lunch, Action column
    assert "Lunch" in notes[(pos["Reporting"], "$F$3")]
    assert fill("Reporting", 4, 3) == live.ERROR_FILL                      # Company missing
    assert notes[(pos["Reporting"], "$C$4")] == "Company is required and is empty."
    assert fill("Pipeline", 2, 7) == live.WARNING_FILL                     # 70 % normalised
    assert "70 %" in notes[(pos["Pipeline"], "$G$2")]
    assert fill("Pipeline", 3, 6) == live.WARNING_FILL                     # 12 500,00
    # a duplicated row: the whole row amber, the note once on its first cell
    assert all(fill("Reporting", 6, c) == live.WARNING_FILL for c in range(1, 11))
    assert "row 5" in notes[(pos["Reporting"], "$A$6")]
    assert not [k for k in notes if k[0] == pos["Reporting"] and k[1] in ("$B$6", "$J$6")]
    assert fill("Reporting", 7, 1) is None                                 # a clean row stays clean
    # the Issues sheet: one block, severities coloured by two conditional formats
    (block,) = writes_to(book, "Issues")
    assert block["row_count"] == 7
    cfs = [a["args"][0] for a in acts if a["func"] == "addConditionalFormat"]
    assert [(c["formula1"], c["fill_color"]) for c in cfs] == [('"error"', live.ERROR_FILL.lower()),
                                                               ('"warning"', live.WARNING_FILL.lower())]


def test_a_second_validate_clears_the_first_runs_marks(open_book):
    book = open_book("g100")
    pos = positions(book)
    actions.validate(book)
    first = recorded_actions(book)
    marked = {(a["sheet_position"], rect(a)) for a in first
              if a["func"] == "setRangeColor" and a["args"][0] in (live.ERROR_FILL, live.WARNING_FILL)
              and a["sheet_position"] in {pos[s] for s in DATA_SHEETS}}
    noted = {(a["sheet_position"], a["args"][0]) for a in first if a["func"] == "addNote"}
    assert marked and noted
    reset_actions(book)
    res = actions.validate(book)
    second = recorded_actions(book)
    cleared = {(a["sheet_position"], rect(a)) for a in second if a["func"] == "setRangeColor" and a["args"] == [None]}
    assert cleared == marked
    deleted = {(a["sheet_position"], f"${chr(65 + a['start_column'])}${a['start_row'] + 1}")
               for a in second if a["func"] == "deleteNote"}
    assert deleted == noted
    assert res["cleared"] == {"fills": len(marked), "notes": len(noted)}
    # clearing comes first, then the same cells are marked again
    last_clear = max(i for i, a in enumerate(second) if a["func"] == "deleteNote"
                     or (a["func"] == "setRangeColor" and a["args"] == [None]))
    first_mark = min(i for i, a in enumerate(second) if a["func"] == "setRangeColor" and a["args"] != [None]
                     and a["sheet_position"] in {pos[s] for s in DATA_SHEETS})
    assert last_clear < first_mark
    remarked = {(a["sheet_position"], rect(a)) for a in second[first_mark:]
                if a["func"] == "setRangeColor" and a["sheet_position"] in {pos[s] for s in DATA_SHEETS}}
    assert remarked == marked


def test_validate_a_french_workbook_writes_anomalies_in_french(open_book):
    book = open_book("demo_fr")
    res = actions.validate(book)
    assert res["sheet"] == "Anomalies"
    (block,) = writes_to(book, "Anomalies")
    assert [plain(v) for v in block["values"][0]] == [lab["fr"] for _, lab, _, _, _ in ISSUE_COLUMNS]
    sev = {plain(r[0]) for r in block["values"][1:]}
    assert sev <= {"erreur", "avertissement"} and "avertissement" in sev
    overdue = [r for r in block["values"][1:] if plain(r[1]) == "OVERDUE_PROPOSAL"]
    assert overdue and plain(overdue[0][3]) == "Carnet commercial"
    assert "relance" in plain(overdue[0][7])


# ------------------------------------------------------------------------------------ forecast


def _forecast_rows(block, names):
    rows = [[plain(x) for x in r] for r in block["values"]]
    head = next(i for i, r in enumerate(rows) if r and r[0] in ("Rep", "Commercial"))
    return rows, head, [r for r in rows[head + 1:] if r and r[0] in names]


def test_forecast_sheet_holds_the_cores_numbers(open_book, files):
    book = open_book("demo")
    res = actions.forecast(book)
    v = validate_file(files["demo"])
    core = compute(v.tables, v.lists, v.as_of, v.settings)
    fc = core.to_dict()
    assert res["reps"] == fc["reps"] and res["team"] == fc["team"]
    (block,) = writes_to(book, "Forecast")
    by_rep = {r["rep"]: r for r in fc["reps"]}
    rows, head, reps = _forecast_rows(block, set(by_rep))
    header = rows[head]
    assert len(reps) == len(fc["reps"])
    risk_en = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}
    col = {k: header.index(label) for k, label in (("objective", "Revenue objective"), ("won", "Won"),
                                                    ("forecast", "Forecast"), ("p_reach", "P(reach objective)"),
                                                    ("risk", "Risk"))}
    for row in reps:
        rec = by_rep[row[0]]
        for key, j in col.items():
            want = risk_en.get(rec[key], "No objective") if key == "risk" else rec[key]
            assert row[j] == (pytest.approx(want) if isinstance(want, float) else want), (rec["rep"], key)
    # reps by risk, then by P(reach)
    order = {"Off track": 0, "At risk": 1, "On track": 2, "No objective": 3}
    keys = [(order[r[col["risk"]]], r[col["p_reach"]] if r[col["p_reach"]] is not None else 2) for r in reps]
    assert keys == sorted(keys)
    team = next(r for r in rows if r and r[0] in ("Team", "All reps (sum of current periods)"))
    assert team[col["objective"]] == pytest.approx(fc["team"]["objective"])
    assert team[col["won"]] == pytest.approx(fc["team"]["won"])
    assert team[col["p_reach"]] == pytest.approx(fc["team"]["p_reach"])
    as_of = next(r for r in rows if r and r[0] == "As-of date")
    assert as_of[1] == "2026-11-20"
    # the layout the file writer renders, written in one block: the same values
    lay = forecast_layout(core, "en", name="Forecast")
    iso = lambda x: x.isoformat() if isinstance(x, dt.date) else x  # noqa: E731
    assert [[plain(iso(x)) for x in r] for r in lay.values()] == rows
    funcs = action_funcs(book)
    assert funcs.count("setValues") == 1
    cfs = [a["args"][0] for a in recorded_actions(book) if a["func"] == "addConditionalFormat"]
    assert len(cfs) == 2                             # the data bars of attainment and P(reach)
    formats = {(a["start_column"], a["args"][0]) for a in recorded_actions(book) if a["func"] == "setNumberFormat"}
    assert (col["objective"], "#,##0") in formats and (col["p_reach"], "0.0%") in formats


def test_forecast_of_a_french_workbook(open_book):
    book = open_book("demo_fr")
    res = actions.forecast(book)
    assert res["sheet"] == "Prévisions"
    (block,) = writes_to(book, "Prévisions")
    rows, head, reps = _forecast_rows(block, {r["rep"] for r in res["reps"]})
    assert "Objectif de CA" in rows[head]
    risk = rows[head].index("Risque")
    assert {r[risk] for r in reps} <= {"En bonne voie", "À risque", "Hors trajectoire"}
    assert any(r and r[0] == "Date d'arrêté" for r in rows)


# ------------------------------------------------------------------------------------ reviews


def _file_review_values(tmp_path: Path, reviews) -> dict[str, list[list]]:
    import xlsxwriter

    path = tmp_path / "reviews.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for rv in reviews:
        render_review_file(wb, rv)
    wb.close()
    out = {}
    xl = load_workbook(path)
    for rv in reviews:
        ws = xl[rv.sheet_name]
        out[rv.sheet_name] = [[plain_xl(c) for c in row] for row in
                              ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column, values_only=True)]
    return out


def test_reviews_one_sheet_per_rep_with_the_same_values_as_the_file_writer(open_book, files, tmp_path):
    book = open_book("demo")
    res = actions.reviews(book)
    v = validate_file(files["demo"])
    fc = compute(v.tables, v.lists, v.as_of, v.settings)
    expected = build_reviews(fc, "en", "EUR")
    assert res["sheets"] == [r.sheet_name for r in expected] == [f"Review – {r.rep}" for r in expected]
    added = [a["args"][1] for a in recorded_actions(book) if a["func"] == "addSheet"]
    assert added == res["sheets"]
    from_file = _file_review_values(tmp_path, expected)
    for rv in expected:
        (block,) = writes_to(book, rv.sheet_name)
        assert (block["start_row"], block["start_column"]) == (0, 0)
        got = [[plain(x) for x in row] for row in block["values"]]
        want = from_file[rv.sheet_name]
        assert len(got) == len(want)
        for r, (g, w) in enumerate(zip(got, want)):
            w = (w + [None] * len(g))[:len(g)]
            assert g == pytest.approx(w) if any(isinstance(x, float) for x in g) else g == w, (rv.sheet_name, r, g, w)
        # the blocks themselves: each field and each grid cell is in the written block where the layout puts it
        lay = review_layout(rv)
        for b in rv.blocks:
            if isinstance(b, Grid) and b.id in lay.blocks:
                _, first, n, col = lay.blocks[b.id]
                assert got[first - 1][col:col + len(b.headers)] == [plain_xl(h) for h in b.headers]
                for i, cells in enumerate(b.rows):
                    assert [plain_xl(c.value) for c in cells] == pytest.approx(got[first + i][col:col + len(cells)])
            elif isinstance(b, Fields):
                flat = [x for row in got for x in row]
                for label, cell in b.rows:
                    assert label in flat, label


def test_reviews_colours_charts_and_print_area(open_book):
    book = open_book("demo")
    actions.reviews(book)
    v = actions.load(book).validate()
    fc = compute(v.tables, v.lists, v.as_of, v.settings)
    reviews = build_reviews(fc, "en", "EUR")
    acts = recorded_actions(book)
    for rv in reviews:
        p = next(a["args"][0] for a in acts if a["func"] == "addSheet" and a["args"][1] == rv.sheet_name)
        mine = [a for a in acts if a.get("sheet_position") == p]
        lay = review_layout(rv)
        # the risk cell in the colour of its status
        risk_text = next(cl.value for b in rv.blocks if isinstance(b, Fields) for lbl, cl in b.rows
                         if lbl == TEXTS["risk"]["en"])
        (risk_row, risk_col), = [(r, c) for (r, c), cell in lay.grid().items()
                                 if cell.value == risk_text and cell.style in ("good", "warn", "bad", "muted")]
        if rv.risk:
            colour = {"on_track": "#C6EFCE", "at_risk": "#FFEB9C", "off_track": "#FFC7CE"}[rv.risk]
            assert any(a["func"] == "setRangeColor" and a["args"] == [colour] and covers(a, risk_row + 1, risk_col + 1)
                       for a in mine)
        # one native chart per chart of the layout (the range chart as bars: no combined charts here)
        charts = [a for a in acts if a["func"] == "addChart" and a["args"][2] == rv.sheet_name]
        assert len(charts) == len(lay.charts) >= 1
        kinds = {"bar": "BarClustered", "column": "ColumnClustered"}
        assert [c["args"][1] for c in charts] == [kinds[(s.fallback or s).kind] for s in lay.charts]
        plan = next((s for s in lay.charts if s.kind == "column"), None)
        if plan is not None:
            _, first, n, col = lay.blocks["plan"]
            src = next(c for c in charts if c["args"][1] == "ColumnClustered")
            assert src["args"][3] == f"$C${first}:$D${first + n}"    # pro-rated plan and done
        assert any(a["func"] == "setPrintArea" and a["args"][0].startswith("$A$1:$N$") for a in mine)
        assert sum(a["func"] == "setValues" for a in mine) == 1
        # the talking points merged across the page, the link back to the Forecast sheet when there is one
        assert sum(a["func"] == "rangeMerge" for a in mine) >= len(next(b for b in rv.blocks
                                                                       if type(b).__name__ == "Points").items)


# ------------------------------------------------------------------------------------ consolidate


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_on(path: Path, action=None):
    """A ribbon action (default: Consolidate) on the workbook at `path` opened as xlwings' remote Book:
    the book, its sheets' positions and the action's result."""
    book = book_from_json(book_json_from_xlsx(path))
    try:
        pos = positions(book)
        res = (action or actions.consolidate)(book)
    finally:
        book.close()
    return book, pos, res


def test_consolidate_imports_the_inbox_and_never_writes_the_sources(tmp_path):
    team = demo_data.build_timeline()
    day = demo_data.DEMO_AS_OF
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    by_name = {rep.name: rep for rep in team}
    for name in ("Claire Martin", "Emma Wilson"):
        rep = by_name[name]
        rows = demo_data.with_mistakes(demo_data.snapshot(team, rep, day), rep, day)
        write_template(inbox / f"{name}.xlsx", rep.lang, rows=rows, settings={"as_of": day})
    shutil.copy(inbox / "Emma Wilson.xlsx", inbox / "Emma Wilson (copy).xlsx")
    (inbox / "minutes.xlsx").write_text("not a workbook")
    sources = {p: (_sha(p), p.stat().st_mtime_ns) for p in inbox.iterdir()}

    kept = [{"date": day, "rep": "Zoe Kent", "company": "Kept Co", "action": "Call", "result": "Follow up"}]
    old = [{"date": day, "rep": "Emma Wilson", "company": "Old Co", "action": "Visit", "result": "Order"}]
    team_path = write_template(tmp_path / "team.xlsx", "en",
                               rows={"reps": [{"rep": "Zoe Kent", "seniority": "junior"}],
                                     "reporting": kept + old},
                               settings={"as_of": day, "inbox": str(inbox)})
    book, pos, res = _run_on(team_path)
    assert {p: (_sha(p), p.stat().st_mtime_ns) for p in inbox.iterdir()} == sources   # read only
    status = {Path(f["path"]).name: f["status"] for f in res["files"]}
    # files in name order: the copy comes first, so the original is the one counted once more
    assert status == {"Claire Martin.xlsx": "ok", "Emma Wilson (copy).xlsx": "ok",
                      "Emma Wilson.xlsx": "duplicate", "minutes.xlsx": "unreadable"}

    acts = recorded_actions(book)
    (rep_block,) = [a for a in acts if a["func"] == "setValues" and a["sheet_position"] == pos["Reporting"]]
    values = [[plain(x) for x in r] for r in rep_block["values"]]
    claire = demo_data.with_mistakes(demo_data.snapshot(team, by_name["Claire Martin"], day),
                                     by_name["Claire Martin"], day)["reporting"]
    emma = demo_data.with_mistakes(demo_data.snapshot(team, by_name["Emma Wilson"], day),
                                   by_name["Emma Wilson"], day)["reporting"]
    assert values[0][1:3] == ["Zoe Kent", "Kept Co"]                   # another rep's row is kept
    assert "Old Co" not in [r[2] for r in values]                       # Emma's old rows are replaced
    assert len(values) - 1 == len(claire) + len(emma)                 # every row of theirs imported
    assert rep_block["start_row"] == 1 and rep_block["column_count"] == 10
    # what Lucas-style mistakes look like once imported: text stays text, typed values stay readable
    assert "'=HYPERLINK(\"http://example.com\",\"Click\")" in [r[2] for r in rep_block["values"]]
    assert any(r[0] == "31/02/2026" for r in values) is False           # Claire has no bad date
    # the table grew: resized, and the Pipeline's Weighted formula fills the rows added
    resized = {a["sheet_position"]: a["args"][1] for a in acts if a["func"] == "resizeTable"}
    assert resized[pos["Reporting"]] == f"$A$1:$J${1 + len(values)}"
    weighted = [a for a in acts if a["func"] == "setValues" and a["sheet_position"] == pos["Pipeline"]
                and a["start_column"] == 12]
    assert weighted and weighted[0]["values"][0][0].startswith("=IF(OR(F")
    # the manager's tables gain the new reps and periods
    reps = [a for a in acts if a["func"] == "setValues" and a["sheet_position"] == pos["Reps"]]
    assert [plain(r[0]) for r in reps[0]["values"]] == ["Claire Martin", "Emma Wilson"]
    assert reps[0]["start_row"] == 2                                    # after Zoe's row
    # the Issues sheet names the unreadable file and the duplicate
    (issues,) = writes_to(book, "Issues")
    codes = {(plain(r[1]), Path(plain(r[2]) or "").name) for r in issues["values"][1:]}
    assert ("DUPLICATE_FILE", "Emma Wilson.xlsx") in codes
    assert any(name == "minutes.xlsx" and code in ("NOT_XLSX", "CORRUPT_ZIP") for code, name in codes)
    assert res["counts"]["error"] >= 1


def test_the_inbox_import_applies_the_batch_rules(tmp_path):
    """The add-in's Consolidate decides about each inbox file as `salesxl consolidate` does (the same
    stage 2, consolidate.triage): the older of two submissions of one rep is superseded (its rows not
    imported), a salesxl team workbook is skipped, and the statuses match the batch's."""
    from conftest import set_saved
    from salesxl import consolidate as batch
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    team = demo_data.build_timeline()
    day = demo_data.DEMO_AS_OF
    claire = next(r for r in team if r.name == "Claire Martin")
    rows = demo_data.snapshot(team, claire, day)

    newer = write_template(inbox / "a claire.xlsx", claire.lang, rows=rows, settings={"as_of": day})
    old_rows = {k: [dict(r) for r in v] for k, v in rows.items()}
    old_rows["reporting"][0]["company"] = "Stale Co"
    older = write_template(inbox / "b claire old.xlsx", claire.lang, rows=old_rows, settings={"as_of": day})
    set_saved(newer, "2026-11-19T10:00:00Z")
    set_saved(older, "2026-11-02T10:00:00Z")
    emma = next(r for r in team if r.name == "Emma Wilson")
    elsewhere = write_template(tmp_path / "emma.xlsx", emma.lang, rows=demo_data.snapshot(team, emma, day),
                               settings={"as_of": day})
    batch.consolidate([elsewhere], tmp_path / "other team.xlsx", as_of=day, history=False, workers=0,
                      simulations=200)
    shutil.copy(tmp_path / "other team.xlsx", inbox / "c other team.xlsx")
    expected = {Path(f.path).name: f.status for f in
                batch.consolidate([inbox], tmp_path / "check.xlsx", as_of=day, history=False, workers=0,
                                  simulations=200).files}
    assert expected == {"a claire.xlsx": "ok", "b claire old.xlsx": "superseded", "c other team.xlsx": "skipped"}

    team_path = write_template(tmp_path / "team.xlsx", "en", rows={}, settings={"as_of": day, "inbox": str(inbox)})
    book, pos, res = _run_on(team_path)
    assert {Path(f["path"]).name: f["status"] for f in res["files"]} == expected
    (rep_block,) = [a for a in recorded_actions(book) if a["func"] == "setValues"
                    and a["sheet_position"] == pos["Reporting"]]
    companies = [plain(r[2]) for r in rep_block["values"]]
    assert "Stale Co" not in companies and rows["reporting"][0]["company"] in companies
    assert len([c for c in companies if c]) == len(rows["reporting"])


def _rows_written(book, pos: dict, sheet: str, ncols: int) -> list[list]:
    """The rows the add-in wrote into a table's input columns (its blocks from column A), blank rows
    (the cleared rest of the table) left out."""
    out = []
    for a in recorded_actions(book):
        if a["func"] == "setValues" and a["sheet_position"] == pos[sheet] and a["start_column"] == 0:
            out += [[plain(x) for x in r[:ncols]] for r in a["values"]]
    return [r for r in out if any(x is not None for x in r)]


def _rows_in_file(path: Path, sheet: str, ncols: int) -> list[list]:
    ws = load_workbook(path, read_only=True)[sheet]
    return [[plain_xl(x) for x in r[:ncols]] for r in ws.iter_rows(min_row=2, values_only=True)
            if any(x is not None for x in r[:ncols])]


def test_the_add_in_takes_every_row_the_batch_takes(tmp_path):
    """The same inbox consolidated by `salesxl consolidate` and by the Consolidate button: the same rows
    in each table, in the same order, a row a rep left without a rep included (nothing typed is dropped;
    the Issues sheet names it)."""
    from salesxl import consolidate as batch
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = team_rows(60)
    for rep, *_ in REPS:
        mine = {k: [r for r in v if r.get("rep") == rep] for k, v in rows.items()}
        if rep == "Ann Lee":           # rows Ann typed without her name
            mine["reporting"].append({"date": AS_OF, "rep": None, "company": "Nameless Co", "action": "Call",
                                      "result": "Follow up"})
            mine["pipeline"].append({"ref": "NOREP1", "rep": None, "company": "Nameless Co", "amount": 900.0,
                                     "probability": 0.5, "status": "Open", "decision_date": AS_OF})
            mine["planning"].append({"rep": None, "period_start": REPS[0][2], "period_end": REPS[0][3],
                                     "action": "Call", "planned": 3})
            nameless = 1 + len(mine["reporting"])         # its Excel row
        write_template(inbox / f"{rep}.xlsx", "en", rows=mine, settings={"as_of": AS_OF})
    out = tmp_path / "batch.xlsx"
    res_batch = batch.consolidate([inbox], out, as_of=AS_OF, history=False, workers=0, simulations=200)

    team_path = write_template(tmp_path / "team.xlsx", "en", rows={}, settings={"as_of": AS_OF, "inbox": str(inbox)})
    book, pos, res = _run_on(team_path)
    assert [(Path(f["path"]).name, f["status"]) for f in res["files"]] == \
        [(Path(f.path).name, f.status) for f in res_batch.files]
    for key in ("reps", "objectives", "planning", "reporting", "pipeline"):
        table = contract.TABLES[key]
        n = len(table.input_columns)
        sheet = table.sheet("en")
        added = _rows_written(book, pos, sheet, n)
        written = _rows_in_file(out, sheet, n)
        assert len(added) == len(written) == res_batch.rows[key], key
        assert added == written, key
        if key in ("reporting", "pipeline", "planning"):
            assert [r for r in added if r[table.input_columns.index(table.column("rep"))] is None], key
    assert res["tables"]["reporting"]["imported"] == res_batch.rows["reporting"] == 61
    issues = {tuple(plain(x) for x in r[1:6]) for r in writes_to(book, "Issues")[0]["values"][1:]}
    assert ("MISSING_VALUE", "Ann Lee.xlsx", "Reporting", nameless, "Rep") in {
        (code, Path(f).name, sheet, row, col) for code, f, sheet, row, col in issues}    # named, not dropped


def test_consolidate_needs_an_inbox_folder(open_book, tmp_path):
    book = open_book("g100")
    with pytest.raises(actions.ActionError, match="inbox folder"):
        actions.consolidate(book)
    book = open_book("g100", edit=lambda p: set_setting(p, "inbox", str(tmp_path / "nowhere")))
    with pytest.raises(actions.ActionError, match="not found"):
        actions.consolidate(book)
    assert recorded_actions(book) == []


# ------------------------------------------------------------------------------------ new period


def test_new_period_appends_next_periods_and_writes_rep_workbooks(open_book, tmp_path):
    outbox = tmp_path / "outbox"
    book = open_book("g100", edit=lambda p: set_setting(p, "outbox", str(outbox)))
    pos = positions(book)
    res = actions.new_period(book)
    nxt = {r["rep"]: (r["period_start"], r["period_end"]) for r in res["reps"]}
    assert nxt == {"Ann Lee": ("2026-11-23", "2026-11-29"),        # junior: a week
                   "Bob Roy": ("2026-12-01", "2026-12-31"),        # confirmed: a month
                   "Cid Dupont": ("2027-01-01", "2027-03-31")}     # senior: a quarter
    acts = recorded_actions(book)
    (objectives,) = [a for a in acts if a["func"] == "setValues" and a["sheet_position"] == pos["Objectives"]]
    assert objectives["start_row"] == 4 and objectives["start_column"] == 0       # after the 3 rows
    assert [[plain(x) for x in r] for r in objectives["values"]] == [
        ["Ann Lee", "2026-11-23", "2026-11-29", 5000.0, 5.0],
        ["Bob Roy", "2026-12-01", "2026-12-31", 60000.0, 5.0],
        ["Cid Dupont", "2027-01-01", "2027-03-31", 400000.0, 5.0]]
    (planning,) = [a for a in acts if a["func"] == "setValues" and a["sheet_position"] == pos["Planning"]]
    assert planning["start_row"] == 19 and planning["row_count"] == 18
    assert [plain(x) for x in planning["values"][0]] == ["Ann Lee", "2026-11-23", "2026-11-29", "Call", 10]
    assert [plain(x) for x in planning["values"][17]] == ["Cid Dupont", "2027-01-01", "2027-03-31", "Demo", 15]
    assert "resizeTable" not in action_funcs(book)        # the template's blank rows had room
    # one workbook per rep, read back by the file reader
    assert sorted(Path(f).name for f in res["files"]) == [
        "Ann Lee 2026-11-23.xlsx", "Bob Roy 2026-12-01.xlsx", "Cid Dupont 2027-01-01.xlsx"]
    for f in res["files"]:
        v = validate_file(f, as_of=dt.date(2026, 11, 24))
        assert len(v.tables["reps"]) == 1 and len(v.tables["objectives"]) == 1
        assert len(v.tables["planning"]) == 6
        assert set(v.tables["pipeline"]["status"]) <= {"Open"}
        assert not [i for i in v.issues if i.severity == "error" and i.sheet != "Pipeline"]
    assert not list(outbox.glob(".~*"))                   # written atomically, no temporary left


def test_new_period_rolls_over_when_the_table_is_full_and_skips_planned_reps(tmp_path):
    rows = team_rows(30)
    rows["reps"][0]["period_length"] = "2w"               # Ann: her own length wins over junior's week
    # Bob already has his next period: nothing is added for him
    rows["objectives"].append({"rep": "Bob Roy", "period_start": dt.date(2026, 12, 1),
                               "period_end": dt.date(2026, 12, 31), "revenue_objective": 1.0})
    path = write_template(tmp_path / "full.xlsx", "fr", rows=rows, settings={"as_of": AS_OF},
                          blank_rows={"objectives": 0, "planning": 0})
    book, pos, res = _run_on(path, actions.new_period)
    assert {r["rep"]: r["period_end"] for r in res["reps"]} == {"Ann Lee": "2026-12-06", "Cid Dupont": "2027-03-31"}
    assert res["skipped"] == [{"rep": "Bob Roy", "reason": "already_planned", "period_start": "2026-12-01"}]
    assert res["files"] == []                             # no outbox folder in Settings
    acts = recorded_actions(book)
    objectives = [a for a in acts if a.get("sheet_position") == pos["Objectifs"]]
    assert [a["func"] for a in objectives] == ["setValues", "setValues", "resizeTable"]
    assert objectives[1]["start_column"] == 5 and objectives[1]["values"][0][0].startswith("=IF(")
    assert objectives[2]["args"][1] == "$A$1:$I$7"
    planning = [a for a in acts if a.get("sheet_position") == pos["Planning"]]
    assert planning[0]["values"][0][3] == "'Appel"        # codes in the workbook's language


# ------------------------------------------------------------------------------------ call counts


def _inbox(tmp_path: Path, name: str, n: int) -> Path:
    inbox = tmp_path / name
    inbox.mkdir()
    rows = team_rows(n)
    for rep, *_ in REPS:
        mine = {k: [r for r in v if r.get("rep") == rep] for k, v in rows.items()}
        write_template(inbox / f"{rep}.xlsx", "en", rows=mine, settings={"as_of": AS_OF})
    return inbox


def test_calls_per_action_depend_on_sheets_not_rows(open_book, tmp_path):
    inboxes = {"g100": _inbox(tmp_path, "in100", 100), "g10k": _inbox(tmp_path, "in10k", 10_000)}
    counts: dict[str, dict[str, tuple[int, int, float]]] = {}
    for key in ("g100", "g10k"):
        for name in actions.ACTIONS:
            def edit(p, key=key):
                set_setting(p, "inbox", str(inboxes[key]))
            book = open_book(key, edit=edit)
            t0 = time.perf_counter()
            with count_calls() as counter:
                actions.run(name, book)
            counts.setdefault(name, {})[key] = (counter.total, len(recorded_actions(book)),
                                                time.perf_counter() - t0)
    print("\nxlwings calls per action (100 rows vs 10,000 rows; recorded actions in brackets):")
    for name, c in counts.items():
        (a, ra, ta), (b, rb, tb) = c["g100"], c["g10k"]
        print(f"  {name:12s} {a:5d} [{ra:4d}]  vs {b:5d} [{rb:4d}]   {1000 * ta:6.0f} ms vs {1000 * tb:6.0f} ms")
    for name in ("validate", "forecast", "new_period", "consolidate"):
        assert counts[name]["g100"][:2] == counts[name]["g10k"][:2], name
    # reviews: the styled runs (pace, over-represented reasons) depend on the data, not the size
    a, b = counts["reviews"]["g100"][0], counts["reviews"]["g10k"][0]
    assert abs(a - b) <= 0.05 * a


# ------------------------------------------------------------------------------------ plain sheets


def test_validate_finds_tables_by_their_header_row_on_plain_sheets(tmp_path):
    """No Excel Tables: a rep pasted the data under two title lines, in French; sheets are found by
    name, headers by the header row, rows keep their real Excel numbers."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Reporting"
    ws["A1"] = "Mon reporting"
    header = ["Date d'action", "Commercial", "Société", "Interlocuteur", "Fonction", "Action", "Résultat"]
    for j, h in enumerate(header, start=2):                  # the table starts in column B
        ws.cell(row=3, column=j, value=h)
    data = [(dt.datetime(2003, 4, 4), "Claire", "Alpha", "Mr. X", "Acheteur", "Négociation", "Revoir la proposition"),
            ("3 avril 2003", "Claire", "Bêta", "Mr. Y", "Directeur", "Visite", "Pas de besoin"),
            ("3 avril 2003", "Claire", None, "Mme. Z", "Ingénieur", "Déjeuner", "Proposition")]
    for i, row in enumerate(data, start=4):
        for j, v in enumerate(row, start=2):
            ws.cell(row=i, column=j, value=v)
    wb.create_sheet("Carnet commercial")["A1"] = "vide"
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    expected = validate_file(path, as_of=dt.date(2003, 4, 30))
    book = book_from_json(book_json_from_xlsx(path))
    try:
        live_book = actions.load(book)
        assert live_book.lang == "fr" and live_book.tables["reporting"].header_row == 3
        assert live_book.tables["reporting"].data.columns_at["company"] == 4
        got = live_book.validate(as_of=dt.date(2003, 4, 30))
        key = lambda i: (i.code, i.sheet, i.row, i.column, i.message)  # noqa: E731
        assert sorted(map(key, got.issues)) == sorted(map(key, expected.issues))
        codes = {i.code for i in got.issues}
        assert {"SHEET_NOT_FOUND", "HEADER_MISMATCH", "MISSING_VALUE", "UNKNOWN_VALUE"} <= codes
        res = actions.validate(book)
        assert res["sheet"] == "Anomalies"
        notes = {a["args"][0]: a["args"][1] for a in recorded_actions(book) if a["func"] == "addNote"}
        assert set(notes) == {"$D$6", "$G$6"}            # Société and Action of Excel row 6
        assert "Déjeuner" in notes["$G$6"]
    finally:
        book.close()


def test_running_reviews_twice_replaces_the_sheets(open_book):
    book = open_book("g100")
    first = actions.reviews(book)
    reset_actions(book)
    second = actions.reviews(book)
    assert first["sheets"] == second["sheets"] and len(first["sheets"]) == 3
    funcs = action_funcs(book)
    assert funcs.count("sheetDelete") == 3 and funcs.count("addSheet") == 3
    assert [s.name for s in book.sheets].count(first["sheets"][0]) == 1


def test_forecast_reads_the_history_store_beside_the_team_workbook(tmp_path):
    """The Forecast button on a team workbook whose history store (`team.history.sqlite`) is beside it
    gives what `salesxl forecast --history` gives for the same workbook: the history-based expected
    value and basis, the change since the previous collection, the track record; the store is only read."""
    import hashlib

    from salesxl import consolidate as batch
    team = demo_data.build_timeline()
    day = demo_data.DEMO_AS_OF
    store = tmp_path / "team.history.sqlite"
    for when, out in ((day - dt.timedelta(days=14), tmp_path / "before.xlsx"), (day, tmp_path / "team.xlsx")):
        folder = tmp_path / when.isoformat()
        folder.mkdir()
        for rep in team[:3]:
            write_template(folder / f"{rep.name}.xlsx", rep.lang, rows=demo_data.snapshot(team, rep, when),
                           settings={"as_of": when})
        res = batch.consolidate([folder], out, as_of=when, history=store, workers=0, simulations=500, lang="en")
        assert res.output is not None
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    opts = batch.run_options(as_of=day, workers=0, team_workbooks=True, simulations=500)
    with batch.prepare([tmp_path / "team.xlsx"], opts, history=store) as prep:
        cli = prep.forecast()
    payload = book_json_from_xlsx(tmp_path / "team.xlsx")
    payload["book"]["name"] = str(tmp_path / "team.xlsx")         # as Excel's desktop COM names a saved book

    def button(payload) -> tuple[dict, dict]:
        book = book_from_json(payload)
        try:
            res = actions.forecast(book)                            # the Forecast button (its sheet written)
            _, fc = actions._forecast(actions.load(book))          # and its forecast objects
        finally:
            book.close()
        return {r["rep"]: r for r in res["reps"]}, {r.rep: r for r in fc.reps}

    got, objects = button(payload)
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before          # read only
    expected = {r["rep"]: r for r in cli.to_dict()["reps"]}
    assert got == expected and len(got) == 3                                 # expected, basis, P(reach)…
    assert [(r.rep, r.change, r.track) for r in cli.reps] == [(r.rep, objects[r.rep].change, objects[r.rep].track)
                                                                for r in cli.reps]
    assert any(r.change is not None for r in objects.values())               # the previous collection is used
    # without the store beside it, no change since a previous collection
    _, plain = button(book_json_from_xlsx(tmp_path / "team.xlsx"))
    assert not any(r.change is not None for r in plain.values())
