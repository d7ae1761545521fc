"""The history store: every imported submission and proposal snapshot, so that outcomes and probability
history survive from one period to the next (SPEC §6). SQLite by default, one file beside the team
workbook (`<output stem>.history.sqlite`).

Imports are idempotent: a submission is identified by its content fingerprint and as-of date, a
proposal snapshot by (rep, ref, as-of date) — UNIQUE constraints make re-importing the same files
change nothing. A snapshot re-imported for the same day with other values (a rep corrected a typo and
sent the file again) replaces that day's values.

It feeds the reviews with
- calibration: `closed_proposals` — per closed proposal, the probability declared while it was open
  (the last open snapshot's, else the closed row's own: the rep keeps their last estimate) and whether
  it was won;
- slippage: `slippage` — per open proposal, how many times and by how many days its decision date
  was pushed back, and how long it has been in its current stage;
- the history-based forecast (salesxl.learn) and the backtest: `learning_rows` — every snapshot, with
  the date the proposal was sent — and `period_rows` — each collection's periods and objectives per rep.

Schema version 2 added `snapshots.sent_on` and the `periods` table; a version-1 store is upgraded in
place when opened (its older snapshots have no sent_on: the model then counts a proposal's age from its
first snapshot).
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
from itertools import groupby
from pathlib import Path
from typing import Any, Mapping, Sequence

from salesxl import contract
from salesxl.tables import TableData
from salesxl.values import label_key

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    path        TEXT,
    imported_at TEXT NOT NULL,
    UNIQUE (fingerprint, as_of)
);
CREATE TABLE IF NOT EXISTS snapshots (
    id            INTEGER PRIMARY KEY,
    rep           TEXT NOT NULL,
    rep_key       TEXT NOT NULL,
    ref           TEXT NOT NULL,
    ref_key       TEXT NOT NULL,
    as_of         TEXT NOT NULL,
    amount        REAL,
    probability   REAL,
    stage         TEXT,
    status        TEXT,
    decision_date TEXT,
    sent_on       TEXT,
    source_file   TEXT,
    source_row    INTEGER,
    submission_id INTEGER REFERENCES submissions (id),
    UNIQUE (rep_key, ref_key, as_of)
);
CREATE INDEX IF NOT EXISTS snapshots_by_day ON snapshots (as_of);
CREATE TABLE IF NOT EXISTS periods (
    id            INTEGER PRIMARY KEY,
    rep           TEXT NOT NULL,
    rep_key       TEXT NOT NULL,
    as_of         TEXT NOT NULL,
    period_start  TEXT NOT NULL,
    period_end    TEXT NOT NULL,
    objective     REAL,
    UNIQUE (rep_key, as_of, period_start, period_end)
);
"""

_SNAPSHOT_COLS = ("amount", "probability", "stage", "status", "decision_date", "sent_on", "source_file",
                  "source_row", "submission_id")
_UPSERT = (
    "INSERT INTO snapshots (rep, rep_key, ref, ref_key, as_of, " + ", ".join(_SNAPSHOT_COLS) + ") "
    "VALUES (?, ?, ?, ?, ?, " + ", ".join("?" * len(_SNAPSHOT_COLS)) + ") "
    "ON CONFLICT (rep_key, ref_key, as_of) DO UPDATE SET rep = excluded.rep, ref = excluded.ref, "
    + ", ".join(f"{c} = excluded.{c}" for c in _SNAPSHOT_COLS)
    + " WHERE " + " OR ".join(f"snapshots.{c} IS NOT excluded.{c}" for c in ("rep", "ref") + _SNAPSHOT_COLS[:6])
)


def default_path(output: str | os.PathLike[str]) -> Path:
    """`<output stem>.history.sqlite` beside the team workbook."""
    output = Path(output)
    return output.with_name(output.stem + ".history.sqlite")


BUSY_TIMEOUT = 30.0      # seconds to wait for another program holding the store


def open_history(path: str | os.PathLike[str], timeout: float | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the history store at `path`, waiting up to `timeout` seconds (default
    BUSY_TIMEOUT) while another program holds it. A store made without the UNIQUE constraints (an older
    or hand-made one) gets them, its exact repeats merged; one that is not a salesxl history raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT if timeout is None else timeout)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        with conn:
            conn.executescript(SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
        version = int(conn.execute("SELECT MAX(CAST(value AS INTEGER)) FROM meta "
                                   "WHERE key = 'schema_version'").fetchone()[0])
        if version < SCHEMA_VERSION:
            _upgrade(conn)
        if version <= SCHEMA_VERSION:
            with conn:
                _ensure_unique(conn, path)
    except BaseException:
        conn.close()
        raise
    if version > SCHEMA_VERSION:
        conn.close()
        raise NewerHistory(path, version)
    return conn


# the UNIQUE constraints the imports rely on (ON CONFLICT), by table; the first column kept on a repeat
_UNIQUE = {"submissions": (("fingerprint", "as_of"), "MIN"), "snapshots": (("rep_key", "ref_key", "as_of"), "MAX"),
           "periods": (("rep_key", "as_of", "period_start", "period_end"), "MAX")}


class NotAHistory(sqlite3.DatabaseError):
    """A SQLite file whose tables are not those of a salesxl history store."""


class NewerHistory(sqlite3.DatabaseError):
    """A history store written by a newer salesxl (its schema version is above this one's)."""

    def __init__(self, path: str | os.PathLike[str], version: int):
        self.version = version
        super().__init__(f"history store {path} has schema version {version}, newer than this salesxl "
                         f"({SCHEMA_VERSION})")


def _has_unique(conn: sqlite3.Connection, table: str, cols: tuple[str, ...]) -> bool:
    for row in conn.execute(f"PRAGMA index_list({table})").fetchall():
        name, unique = row[1], row[2]
        if unique and {r[2] for r in conn.execute(f"PRAGMA index_info('{name}')")} == set(cols):
            return True
    return False


def _ensure_unique(conn: sqlite3.Connection, path: Path) -> None:
    """Give a store made without the UNIQUE constraints its unique indexes (repeats merged: the first
    submission, the last snapshot of a day); a table lacking the columns: NotAHistory."""
    needed = {"submissions": ("id", "sha256", "fingerprint", "as_of", "path", "imported_at"),
              "snapshots": ("id", "rep", "rep_key", "ref", "ref_key", "as_of") + _SNAPSHOT_COLS,
              "periods": ("id", "rep", "rep_key", "as_of", "period_start", "period_end", "objective"),
              "meta": ("key", "value")}
    for table, cols in needed.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in cols if c not in have]
        if missing:
            raise NotAHistory(f"table {table} has no column {', '.join(missing)}")
    for table, (cols, keep) in _UNIQUE.items():
        if _has_unique(conn, table, cols):
            continue
        key = ", ".join(cols)
        if table == "submissions":      # snapshots follow the submission kept
            conn.execute(f"UPDATE snapshots SET submission_id = (SELECT MIN(k.id) FROM submissions k JOIN "
                         f"submissions s ON {' AND '.join(f'k.{c} = s.{c}' for c in cols)} "
                         f"WHERE s.id = snapshots.submission_id) WHERE submission_id IS NOT NULL")
        conn.execute(f"DELETE FROM {table} WHERE id NOT IN (SELECT {keep}(id) FROM {table} GROUP BY {key})")
        conn.execute(f"CREATE UNIQUE INDEX {table}_unique ON {table} ({key})")


_EXPLAIN = {
    "busy": {"en": "the history store {path} is locked by another program (waited {seconds:g} s): close it "
                   "(or wait for it to finish) and run again, or use --wait",
             "fr": "l'historique {path} est verrouillé par un autre programme (attente de {seconds:g} s) : "
                   "fermez-le (ou attendez qu'il ait fini) et relancez, ou utilisez --wait"},
    "newer": {"en": "the history store {path} was written by a newer salesxl (its schema {version}, this one reads "
                    "up to {ours}): update salesxl to read it",
              "fr": "l'historique {path} a été écrit par une version plus récente de salesxl (son schéma {version}, "
                    "celle-ci lit jusqu'au {ours}) : mettez salesxl à jour pour le lire"},
    "foreign": {"en": "{path} is not a salesxl history store ({detail}): give --history another file",
                "fr": "{path} n'est pas un historique salesxl ({detail}) : donnez à --history un autre fichier"},
    "other": {"en": "history store {path}: {detail}", "fr": "historique {path} : {detail}"},
}


def explain(exc: BaseException, path: str | os.PathLike[str], seconds: float | None, lang: str = "en") -> str:
    """One line saying what went wrong with the history store and what to do."""
    lang = lang if lang in ("en", "fr") else "en"
    text = str(exc)
    if isinstance(exc, NewerHistory):
        kind = "newer"
    elif isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        kind = "busy"
    elif isinstance(exc, NotAHistory) or any(t in text for t in ("not a database", "malformed", "no such column",
                                                                   "has no column")):
        kind = "foreign"
    else:
        kind = "other"
    seconds = BUSY_TIMEOUT if seconds is None else seconds
    return _EXPLAIN[kind][lang].format(path=path, seconds=seconds, detail=text,
                                       version=getattr(exc, "version", None), ours=SCHEMA_VERSION)


def _upgrade(conn: sqlite3.Connection) -> None:
    """Version 1 → 2: snapshots.sent_on (the periods table is created by SCHEMA)."""
    with conn:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(snapshots)")}
        if "sent_on" not in cols:
            conn.execute("ALTER TABLE snapshots ADD COLUMN sent_on TEXT")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def _iso(d: Any) -> str | None:
    if d is None:
        return None
    if isinstance(d, dt.datetime):
        return d.date().isoformat()
    if isinstance(d, dt.date):
        return d.isoformat()
    return str(d)


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        x = float(v)
        return x if x == x else None
    return None


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v.strip() else None


def import_submission(conn: sqlite3.Connection, *, sha256: str, fingerprint: str, as_of: dt.date,
                      path: str | None, pipeline: TableData | None,
                      imported_at: dt.datetime | None = None, commit: bool = True,
                      periods: Mapping[str, Sequence[Any]] | None = None) -> bool:
    """Record one submission and its proposal snapshots. `pipeline`: the typed Pipeline table (ref, rep,
    amount, probability, stage, status, decision_date, sent_on, with its Excel rows); `periods` the
    rep's periods as typed (rep, period_start, period_end and, from Objectives, revenue_objective).
    Returns True when the submission was new. Rows without a rep or a ref cannot be followed over time
    and are skipped."""
    when = (imported_at or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()
    if path is not None:                # a file name that is not UTF-8 is stored readable, never an abort
        from salesxl.io.outputs import display
        path = display(path)
    day = _iso(as_of)
    cur = conn.execute("INSERT OR IGNORE INTO submissions (sha256, fingerprint, as_of, path, imported_at) "
                       "VALUES (?, ?, ?, ?, ?)", (sha256, fingerprint, day, path, when))
    new = cur.rowcount == 1
    sub_id = conn.execute("SELECT id FROM submissions WHERE fingerprint = ? AND as_of = ?",
                          (fingerprint, day)).fetchone()[0]
    rows = []
    if pipeline:
        get = pipeline.column
        for ref, rep, amount, prob, stage, status, decision, sent, row in zip(
                get("ref"), get("rep"), get("amount"), get("probability"), get("stage"), get("status"),
                get("decision_date"), get("sent_on"), pipeline.rows):
            ref, rep = _text(ref), _text(rep)
            if ref is None or rep is None:
                continue
            rows.append((rep.strip(), label_key(rep), ref.strip(), label_key(ref), day, _num(amount), _num(prob),
                         _text(stage), _text(status), _day(decision), _day(sent), path, row, sub_id))
    if rows:
        conn.executemany(_UPSERT, rows)
    if periods:
        n = len(periods.get("rep") or ())
        objectives = periods.get("revenue_objective") or [None] * n
        prows = [(rep.strip(), label_key(rep), day, _iso(s), _iso(e), _num(o))
                 for rep, s, e, o in zip(periods["rep"], periods["period_start"], periods["period_end"], objectives)
                 if _text(rep) is not None and isinstance(s, dt.date) and isinstance(e, dt.date)]
        if prows:
            # a period given twice (Objectives and Planning) keeps the objective it was given
            conn.executemany("INSERT INTO periods (rep, rep_key, as_of, period_start, period_end, objective) "
                             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rep_key, as_of, period_start, period_end) "
                             "DO UPDATE SET objective = COALESCE(excluded.objective, periods.objective)", prows)
    if commit:
        conn.commit()
    return new


def _day(v: Any) -> str | None:
    return _iso(v) if isinstance(v, dt.date) else None


LEARNING_COLUMNS = ("rep_key", "ref_key", "as_of", "amount", "probability", "stage", "status", "decision_date",
                    "sent_on")
PERIOD_COLUMNS = ("rep_key", "rep", "as_of", "period_start", "period_end", "objective")


def learning_rows(conn: sqlite3.Connection, upto: dt.date | None = None) -> TableData:
    """Every proposal snapshot (up to `upto` when given), ordered by rep, proposal and collection day:
    columns LEARNING_COLUMNS (dates as ISO text), what salesxl.learn reads."""
    return _columns_upto(conn, "snapshots", LEARNING_COLUMNS, "rep_key, ref_key, as_of", upto)


def period_rows(conn: sqlite3.Connection, upto: dt.date | None = None) -> TableData:
    """Each collection's periods per rep (columns PERIOD_COLUMNS, dates as ISO text)."""
    return _columns_upto(conn, "periods", PERIOD_COLUMNS, "rep_key, as_of, period_start", upto)


def _columns_upto(conn: sqlite3.Connection, table: str, columns, order: str,
                  upto: dt.date | None) -> TableData:
    """`columns` of `table` (collections up to `upto` when given), sorted by `order`."""
    sql = "SELECT " + ", ".join(columns) + " FROM " + table
    params: list[Any] = []
    if upto is not None:
        sql += " WHERE as_of <= ?"
        params.append(_iso(upto))
    rows = conn.execute(sql + " ORDER BY " + order, params).fetchall()
    return TableData(table, {c: [r[i] for r in rows] for i, c in enumerate(columns)}, None)


def closed_proposals(conn: sqlite3.Connection, rep: str | None = None) -> TableData:
    """Closed proposals with the probability declared while open: columns rep, ref, probability, won,
    amount. The status is the proposal's latest snapshot's; the probability is that of its last
    snapshot while Open (before it closed), else the closed row's own; none at all: left out."""
    sql = """
        WITH latest AS (
            SELECT rep_key, ref_key, MAX(as_of) AS as_of FROM snapshots GROUP BY rep_key, ref_key
        )
        SELECT s.rep, s.ref, s.status, s.amount, s.rep_key,
               COALESCE((SELECT o.probability FROM snapshots o
                         WHERE o.rep_key = s.rep_key AND o.ref_key = s.ref_key AND o.status = ?
                           AND o.probability IS NOT NULL AND o.as_of < s.as_of
                         ORDER BY o.as_of DESC LIMIT 1), s.probability) AS probability
        FROM snapshots s JOIN latest l
          ON s.rep_key = l.rep_key AND s.ref_key = l.ref_key AND s.as_of = l.as_of
        WHERE s.status IN (?, ?)
    """
    params: list[Any] = [contract.OPEN, contract.WON, contract.LOST]
    if rep is not None:
        sql += " AND s.rep_key = ?"
        params.append(label_key(rep))
    sql += " ORDER BY s.rep_key, s.ref_key"
    rows = [r for r in conn.execute(sql, params).fetchall() if r[5] is not None]
    return TableData("closed", {"rep": [r[0] for r in rows], "ref": [r[1] for r in rows],
                                "probability": [float(r[5]) for r in rows],
                                "won": [r[2] == contract.WON for r in rows], "amount": [r[3] for r in rows]}, None)


def slippage(conn: sqlite3.Connection, as_of: dt.date) -> TableData:
    """Open proposals (as of `as_of`) with their slippage: columns rep, ref, pushes, days_pushed,
    days_in_stage. A push is a snapshot whose decision date is later than the previous snapshot's;
    days in stage count from the first snapshot of the current run of the same stage."""
    day = _iso(as_of)
    cur = conn.execute("SELECT rep_key, ref_key, rep, ref, as_of, stage, status, decision_date FROM snapshots "
                       "WHERE as_of <= ? ORDER BY rep_key, ref_key, as_of", (day,))
    out: dict[str, list] = {"rep": [], "ref": [], "pushes": [], "days_pushed": [], "days_in_stage": []}
    for _, snaps in groupby(cur, key=lambda r: (r[0], r[1])):
        snaps = list(snaps)
        last = snaps[-1]
        if last[6] != contract.OPEN:
            continue
        pushes, pushed = 0, 0
        prev = None
        for s in snaps:
            d = dt.date.fromisoformat(s[7]) if s[7] else None
            if d is not None:
                if prev is not None and d > prev:
                    pushes += 1
                    pushed += (d - prev).days
                prev = d
        since = last[4]
        for s in reversed(snaps):
            if s[5] != last[5]:
                break
            since = s[4]
        out["rep"].append(last[2])
        out["ref"].append(last[3])
        out["pushes"].append(pushes)
        out["days_pushed"].append(pushed)
        out["days_in_stage"].append((as_of - dt.date.fromisoformat(since)).days)
    return TableData("slippage", out, None)


def collections(conn: sqlite3.Connection, as_of: dt.date, *, track_days: int = 400):
    """What the Forecast sheet and the reviews read of the history (salesxl.movement.Collections): the
    previous collection's and today's snapshot of every proposal, and, for the track records, the
    collections of the last `track_days` days summed by (rep, day, status, decision date)."""
    from salesxl.movement import Collections, snapshots_by_rep
    day = _iso(as_of)
    prev = conn.execute("SELECT MAX(as_of) FROM snapshots WHERE as_of < ?", (day,)).fetchone()[0]
    out = Collections(as_of, dt.date.fromisoformat(prev) if prev else None)
    if prev:
        rows = conn.execute("SELECT rep_key, ref_key, as_of, amount, probability, status, decision_date "
                            "FROM snapshots WHERE as_of IN (?, ?)", (prev, day)).fetchall()
        by = snapshots_by_rep(rows)
        previous_day = dt.date.fromisoformat(prev)
        out.before = {rep_key: days[previous_day] for rep_key, days in by.items() if previous_day in days}
        out.now = {rep_key: days[as_of] for rep_key, days in by.items() if as_of in days}
    since = _iso(as_of - dt.timedelta(days=track_days))
    agg = conn.execute(
        "SELECT rep_key, status || '|' || COALESCE(decision_date, ''), as_of, SUM(amount), "
        "SUM(amount * probability) / NULLIF(SUM(CASE WHEN probability IS NOT NULL THEN amount END), 0), "
        "status, decision_date FROM snapshots WHERE as_of >= ? AND as_of < ? AND status IN (?, ?) "
        "AND amount IS NOT NULL GROUP BY rep_key, as_of, status, decision_date",
        (since, day, contract.OPEN, contract.WON)).fetchall()
    out.history = snapshots_by_rep(agg)
    return out
