"""Headless batch consolidation (SPEC §6): rep workbooks in, one team workbook out.

    read files → ingest → forecast reps → write team

- read files (FileReads): each input guarded, read and validated by a worker process;
- ingest (ingest → Ingested): duplicates counted once, rows streamed into the team tables with their
  provenance, spooled by rep for the forecast, and recorded in the history store;
- forecast reps (plan_team, forecast_reps): one job per rep, computed by the same workers when many;
- write team (write_team, TeamReviews): reviews rendered as the reps' forecasts come, then Forecast.

`salesxl forecast` and `salesxl review` run the same stages (`prepare`), so the same inputs on the same
day give the same figures.

- Each input is checked by the bad-file guard, read and validated in a worker process
  (salesxl.io.pool: time and memory limits, a crashed worker fails only its file). Workers send back
  typed values only; results are consumed in input order and streamed into the team workbook as they
  arrive, so the parent never holds a raw workbook and its memory does not grow with the files read.
- Nothing is lost: every row of every readable file goes into the consolidated tables, with its source
  file, sheet and Excel row; a value that cannot be interpreted is shown as typed, left out of the
  computations, and the Issues sheet says so.
- The same workbook submitted twice counts once: files are compared by a fingerprint of their typed
  content (not their bytes), so a re-saved copy is still recognised; the later one is `duplicate`.
- Sources are only ever opened for reading; the team workbook is written to a temporary file beside the
  output and moved into place at the very end, so a failed run leaves the previous one intact.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import pickle
import sqlite3
import stat
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from salesxl import contract
from salesxl.issues import (ERROR, FILE_LEVEL_CODES, WARNING, Issue, exit_code, file_issue, file_status,
                            make_issue)
from salesxl.tables import TableData
from salesxl.values import label_key, rep_key

if TYPE_CHECKING:       # loaded when a stage needs them (the readers' processes never do)
    from salesxl.forecast import ForecastPlan, RepForecast, TeamForecast
    from salesxl.io.pool import GuardedPool, TaskFailure
    from salesxl.io.write_xlsx import TeamWorkbookWriter

OK, INVALID, UNREADABLE, DUPLICATE = "ok", "invalid", "unreadable", "duplicate"
SUPERSEDED, SKIPPED = "superseded", "skipped"   # an older submission of the same rep; a team workbook
__all__ = [
    # the run's options and the stages, in order: read files → ingest → forecast reps → write team
    "ENGINES", "CONSOLIDATED_TABLES", "STATUSES", "Progress", "RunOptions", "run_options", "default_engine",
    "reader_options", "input_paths", "FileResult", "FileReads", "read_files", "Triage", "triage", "taken_tables",
    "Ingested", "ingest", "ingest_inputs", "plan_team", "forecast_reps", "history_facts", "history_facts_with",
    "forecast_team", "TeamReviews", "write_team", "FileStatus", "ConsolidationResult", "consolidate", "Prepared",
    "prepare", "sha256_file", "fingerprint",
]

STATUSES = (OK, INVALID, UNREADABLE, DUPLICATE, SUPERSEDED, SKIPPED)
ENGINES = ("calamine", "openpyxl")
# the tables a consolidation takes from each file (all of the contract's but Settings)
CONSOLIDATED_TABLES = tuple(k for k in contract.TABLES if k != "settings")
# the columns the forecast and the reviews need, by table: all the parent keeps of the rows it streams
COMPUTE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "reps": ("rep", "seniority", "manager"),
    "planning": ("rep", "period_start", "period_end", "action", "planned"),
    "objectives": ("rep", "period_start", "period_end", "revenue_objective", "deals_objective"),
    "reporting": ("rep", "date", "action", "result", "reason"),
    "pipeline": ("ref", "rep", "company", "amount", "probability", "stage", "decision_date", "status",
                 "loss_reason", "sent_on"),
}
# imported once by the fork server, so that each new reader process starts warm (openpyxl only for its
# engine: the calamine readers load neither it nor pandas, and the fork server starts in a tenth of the time)
PRELOAD = ("salesxl.consolidate", "salesxl.io.read_xlsx", "salesxl.io.guard", "salesxl.rules", "python_calamine",
           "defusedxml.ElementTree")
# the reps' forecasts go to worker processes from this many reps on (below, starting them costs more)
FORECAST_JOBS_MIN = 32
PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL
# files read ahead of the one this process is on: enough for the readers to keep going while this
# process loads its own modules at the start (a few MB of results at most)
READ_WINDOW = 32
FORECAST_WINDOW = 8                 # tasks (of rep forecasts with their draws) that may wait for the parent
PRELOAD_BY_ENGINE = {"calamine": PRELOAD, "openpyxl": PRELOAD + ("openpyxl",)}


# ---------------------------------------------------------------------------------------------
# What a worker sends back for one file: typed values only.
def without_reps(td: TableData, keys: set[str]) -> TableData:
    """A table without the rows of the reps `keys` (rep keys)."""
    reps = td.get("rep")
    if not reps:
        return td
    keep = [i for i, r in enumerate(reps) if rep_key(r) not in keys]
    return td if len(keep) == len(reps) else td.take(keep).copy()


@dataclass
class FileResult:
    path: str
    sha256: str | None
    fingerprint: str | None
    lang: str
    as_of: dt.date | None
    settings_as_of: dt.date | None
    settings: dict
    issues: list[Issue]
    tables: dict[str, TableData]                     # typed tables, what was typed kept where not interpretable
    seconds: float = 0.0
    cpu: float = 0.0                                 # CPU seconds of the worker for this file
    maxrss: int = 0                                  # the worker's peak resident memory so far, KiB
    reps: dict[str, str] = field(default_factory=dict)   # rep key -> name as first typed, every table
    saved: float | None = None                       # docProps/core.xml modified (POSIX time), if any
    mtime: float | None = None                       # the file's modification time
    team_workbook: bool = False                      # its tables carry the team workbook's provenance

    @property
    def submitted(self) -> tuple[float, float]:
        """When the file was submitted: its own saved date, else its modification time (then the
        modification time breaks ties)."""
        saved = self.saved if self.saved is not None else self.mtime
        return (saved or 0.0, self.mtime or 0.0)

    @property
    def readable(self) -> bool:
        return not any(i.code in FILE_LEVEL_CODES for i in self.issues)

    @property
    def rows(self) -> int:
        return sum(len(t) for t in self.tables.values())


def sha256_file(path: str | os.PathLike[str]) -> str | None:
    """Hash of the bytes, for regular files only (never opens a FIFO or a device); read-only."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def fingerprint(tables: Mapping[str, TableData]) -> str | None:
    """Hash of the normalised typed content: the same for a byte-different re-save of the same data
    (and for a table sorted otherwise). None when the file holds no data row at all."""
    if not any(len(t) for t in tables.values()):
        return None
    h = hashlib.sha256()
    for key in sorted(tables):
        t = tables[key]
        names = sorted(t.columns)
        h.update(f"\x1d{key}\x1f{','.join(names)}\n".encode())
        lines = sorted(map(repr, zip(*(t.output(c) for c in names))))
        h.update("\n".join(lines).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _dedupe(values: list) -> list:
    """Share equal values (one object per distinct rep, code or date): smaller to send and to keep."""
    seen: dict = {}
    return [seen.setdefault(v, v) if v is not None else None for v in values]


def read_one(task: tuple) -> FileResult:
    """Guard, read and validate one workbook (runs in a worker process). Never raises for a bad file."""
    from salesxl.io.read_xlsx import has_provenance, read_workbook, saved_at, validate_workbook
    from salesxl.rules import resolve_as_of
    path, engine, lang, as_of = task
    t0, c0 = time.perf_counter(), time.process_time()
    sha = sha256_file(path)
    wb = read_workbook(path, engine=engine, lang=lang)
    if not wb.readable:
        return FileResult(str(path), sha, None, wb.lang, None, None, {}, wb.issues, {}, time.perf_counter() - t0,
                          time.process_time() - c0, _maxrss())
    v = validate_workbook(wb, as_of=as_of)
    p = resolve_as_of(None, wb.settings, today=dt.date.min)
    settings_as_of = p if p != dt.date.min else None
    tables = {key: td for key, td in v.tables.items() if key in CONSOLIDATED_TABLES}
    for key, td in tables.items():
        for c in COMPUTE_COLUMNS.get(key, ()):     # kept by the parent until the forecast: share equal values
            if c in td:
                td.set(c, _dedupe(td[c]))
    settings = {k: wb.settings.get(k) for k in SETTINGS_TAKEN if wb.settings.get(k) is not None}
    reps: dict[str, str] = {}
    for part in tables.values():
        for name in dict.fromkeys(part.get("rep") or ()):
            k = rep_key(name)
            if k is not None and k not in reps:
                reps[k] = name.strip()
    saved, mtime = saved_at(path)
    return FileResult(str(path), sha, fingerprint(tables), v.lang, v.as_of, settings_as_of, settings,
                      v.issues, tables, time.perf_counter() - t0, time.process_time() - c0, _maxrss(), reps,
                      saved, mtime, any(has_provenance(td) for td in wb.tables.values()))


READ, WARM, FORECAST = "read", "warm", "forecast"
# what a run takes of the first readable file's Settings (the team's settings: see Ingested.settings)
SETTINGS_TAKEN = ("currency", "language", "on_track", "at_risk", "simulations", "seed")
RUN_SETTINGS = ("on_track", "at_risk", "simulations", "seed")


def pool_task(item: tuple):
    """What a worker process runs: a file to read (read_one), then, once the files are read, the
    forecast's modules to load (WARM) and reps' forecasts to compute (forecast.forecast_rep)."""
    kind, arg = item
    if kind == READ:
        return read_one(arg)
    from salesxl import forecast
    if kind == FORECAST:                # a pickled job in, its pickled forecast out
        return pickle.dumps(forecast.forecast_rep(pickle.loads(arg)), PICKLE_PROTOCOL)
    return None


def _reads(stream):
    """The read results of a worker stream, as (index, task, result)."""
    for i, (kind, arg), res in stream:
        if kind == READ:
            yield i, arg, res


def _maxrss() -> int:
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except ImportError:  # pragma: no cover
        return 0


def failure_result(path: str, failure: TaskFailure, lang: str, limit: float | None = None) -> FileResult:
    """The file-level issue of a file whose reader timed out, crashed or failed."""
    if failure.kind == "timeout":
        seconds = limit if limit is not None else failure.seconds
        issue = file_issue("READ_TIMEOUT", path, lang, seconds=f"{seconds:g}")
    else:
        from salesxl.io.read_xlsx import read_failed
        issue = read_failed(path, lang, failure.kind, failure.detail)
    return FileResult(path, sha256_file(path), None, lang, None, None, {}, [issue], {}, failure.seconds)


# ---------------------------------------------------------------------------------------------
@dataclass
class FileStatus:
    path: str
    sha256: str | None
    status: str
    issues: list[Issue]
    fingerprint: str | None = None
    rows: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "status": self.status,
                "issues": [i.to_dict() for i in self.issues], "rows": self.rows}


@dataclass
class ConsolidationResult:
    """What a consolidation did. `forecast`: the team forecast (forecast.TeamForecast); each rep's
    `proposals` there keeps only the overdue ones (the whole open pipeline is in their review)."""
    output: str | None
    files: list[FileStatus]
    notes: list[Issue]
    as_of: dt.date | None
    lang: str
    forecast: Any = None
    history: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def counts(self) -> dict:
        c = Counter(i.severity for f in self.files for i in f.issues)
        c.update(i.severity for i in self.notes)
        statuses = Counter(f.status for f in self.files)
        return {"error": c.get(ERROR, 0), "warning": c.get(WARNING, 0),
                "files": {s: statuses.get(s, 0) for s in STATUSES},
                "rows": dict(self.rows)}

    @property
    def exit_code(self) -> int:
        """0 clean (warnings allowed), 1 issues of severity error, 2 no usable input at all."""
        return 2 if self.output is None else exit_code(f.status for f in self.files)

    def to_dict(self) -> dict:
        fc = self.forecast.to_dict() if self.forecast is not None else {}
        d = {"output": self.output, "as_of": self.as_of.isoformat() if self.as_of else None, "lang": self.lang,
             "files": [f.to_dict() for f in self.files], "notes": [i.to_dict() for i in self.notes],
             "counts": self.counts, "reps": fc.get("reps", []), "team": fc.get("team"),
             "skipped": fc.get("skipped", []), "skipped_reps": fc.get("skipped", []),  # (deprecated alias)
             "history": self.history}
        if self.error:
            d["error"] = self.error
        return d


Progress = Callable[[int, int, str], None]


class _RepSpool:
    """The columns the forecast reads, spilled rep by rep to a temporary file as the files come, so that
    what the parent holds does not grow with the rows read: an index (rep -> places in the file), the
    reps' names and seniorities. `rep_tables()` gives them to the forecast (forecast.RepTables), which
    reads each rep's rows back when it comes to them."""

    def __init__(self, tmpdir=None):
        self._fh = tempfile.TemporaryFile("w+b", dir=tmpdir, buffering=1 << 20)
        self._size = 0
        self._index: dict[str, dict[str, list[tuple[int, int]]]] = {k: {} for k in COMPUTE_COLUMNS}
        self._first: dict[str, dict[str, str]] = {k: {} for k in COMPUTE_COLUMNS}   # rep key -> name
        self._seniority: dict[str, Any] = {}

    def add(self, key: str, part: TableData) -> None:
        names = COMPUTE_COLUMNS.get(key)
        if names is None or not len(part):
            return
        from salesxl.forecast import split_by_rep     # (loaded by then: the workers never call this)
        index, first = self._index[key], self._first[key]
        for rep_id, rows in split_by_rep(part).items():
            cols = {c: rows.column(c) for c in names}  # the rep's own lists (a file holds one rep, usually)
            first.setdefault(rep_id, cols["rep"][0].strip())
            if key == "reps":
                self._seniority.setdefault(rep_id, cols["seniority"][0])
            data = pickle.dumps((cols, rows.rows), PICKLE_PROTOCOL)
            self._fh.write(data)
            index.setdefault(rep_id, []).append((self._size, len(data)))
            self._size += len(data)

    def rows(self, key: str, rep_id: str) -> TableData | None:
        """The rep's rows of table `key`, read back (None without any)."""
        places = self._index[key].get(rep_id)
        if not places:
            return None
        fd = self._fh.fileno()
        parts = [TableData(key, *pickle.loads(os.pread(fd, size, offset))) for offset, size in places]
        return TableData.concat(parts)

    def rep_tables(self):
        from salesxl.forecast import REP_ORDER, RepTables
        self._fh.flush()
        names: dict[str, str] = {}
        for k in REP_ORDER:
            for rep_id, name in self._first[k].items():
                names.setdefault(rep_id, name)
        by = {k: _SpooledByRep(self, k) for k in COMPUTE_COLUMNS}
        return RepTables(by, names, dict(self._seniority))

    def close(self) -> None:
        self._fh.close()


class _SpooledByRep:
    """One table of a _RepSpool by rep: `.get(rep key)` reads the rep's rows back (a TableData)."""

    def __init__(self, spool: _RepSpool, key: str):
        self._spool, self._key = spool, key

    def get(self, rep_id: str, default=None) -> TableData | None:
        rows = self._spool.rows(self._key, rep_id)
        return default if rows is None else rows


class _HistoryQueries:
    """`history_facts` of the history store, run in a thread on a connection of its own."""

    def __init__(self, path, as_of: dt.date, busy: float | None = None):
        self._out: dict = {}
        self._thread = threading.Thread(target=self._run, args=(path, as_of, busy), name="salesxl-history",
                                        daemon=True)
        self._thread.start()

    def _run(self, path, as_of, busy) -> None:
        try:
            from salesxl.io.history import open_history
            conn = open_history(path, timeout=busy)
            try:
                self._out["result"] = history_facts(conn, as_of)
            finally:
                conn.close()
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            self._out["error"] = exc

    def result(self):
        self._thread.join()
        if "error" in self._out:
            raise self._out["error"]
        return self._out["result"]



def _calamine_installed() -> bool:
    from salesxl.io.read_xlsx import calamine_installed
    return calamine_installed()


def default_engine() -> str:
    """The default engine of every command (read_xlsx.default_engine): calamine when installed."""
    return "calamine" if _calamine_installed() else "openpyxl"


def _pick_as_of(as_of: dt.date | None, results_as_of: Sequence[dt.date]) -> dt.date:
    if as_of is not None:
        return as_of
    return max(results_as_of) if results_as_of else dt.date.today()


# ---------------------------------------------------------------------------------------------
# The pipeline, in named stages:
#
#     read files (FileReads) → ingest (ingest → Ingested) → forecast reps (plan_team, forecast_reps)
#     → write team (write_team, TeamReviews)
#
# `consolidate` runs them all, streaming (the workers read while this process ingests, and forecast
# reps while it writes the reviews); `salesxl forecast` and `salesxl review` run the same stages through
# `prepare` (no team tables written), and the add-in's inbox import uses `read_files`' reader.
@dataclass(frozen=True)
class RunOptions:
    """What a run was asked for; every stage reads it (None: the stage's default)."""
    as_of: dt.date | None = None
    lang: str | None = None
    engine: str = "calamine"
    workers: int | None = None          # reader processes: None one per core (at most 8), 0 this process
    seed: int | None = None
    simulations: int | None = None
    timeout: float | None = None        # seconds allowed to read one file (worker processes only)
    memory: int | None = None           # bytes of memory a reader may add (worker processes only)
    recursive: bool = False             # a folder input: its subfolders too (default: its own files)
    team_workbooks: bool = False        # take a salesxl team workbook among the inputs as a rep's


def run_options(*, engine: str | None = None, lang: str | None = None, **kw: Any) -> RunOptions:
    """RunOptions, the engine and the language checked (ValueError); engine None: `default_engine()`."""
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose {' or '.join(ENGINES)})")
    if engine == "calamine" and not _calamine_installed():
        raise ValueError("the calamine engine needs python-calamine (pip install python-calamine); "
                         "the openpyxl engine reads without it")
    if engine == "openpyxl":
        from salesxl.io.guard import ensure_defusedxml
        ensure_defusedxml()          # start-up check: openpyxl parses through defusedxml, or nothing runs
    if lang is not None and lang not in ("en", "fr"):
        raise ValueError(f"unknown language {lang!r}")
    return RunOptions(engine=engine, lang=lang, **kw)


class FileReads:
    """Stage 1, read files: each input guarded, read and validated (`read_one`) by a worker process, or
    by this one with `workers=0`; iterating gives (path, FileResult) in input order, a failed read as its
    file-level issue. The workers stay for stage 3 (`pool`) until `close`."""

    def __init__(self, paths: Sequence[str], opts: RunOptions):
        from salesxl.io.pool import DEFAULT_MEMORY, DEFAULT_TIMEOUT, GuardedPool, run_inline
        self.paths = [str(p) for p in paths]
        self.opts = opts
        workers = opts.workers
        if workers is None:
            workers = min(os.cpu_count() or 1, len(self.paths), 8)
        tasks = [(p, opts.engine, opts.lang, opts.as_of) for p in self.paths]
        self.cpu, self.maxrss = 0.0, 0          # the readers' CPU seconds and peak memory (KiB)
        if workers > 0:
            self.limit: float | None = opts.timeout or DEFAULT_TIMEOUT
            self.pool = GuardedPool(pool_task, workers, timeout=self.limit,
                                    memory=opts.memory if opts.memory is not None else DEFAULT_MEMORY,
                                    preload=PRELOAD_BY_ENGINE[opts.engine], window=max(READ_WINDOW, 3 * workers))
            # the workers stay for the forecast: once out of files, each loads the forecast's modules
            warm = [(WARM, None)] * workers if len(self.paths) >= FORECAST_JOBS_MIN else []
            self._stream = _reads(self.pool.imap([(READ, t) for t in tasks] + warm, keep=True))
        else:
            self.limit, self.pool = None, None
            self._stream = run_inline(read_one, tasks)

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[tuple[str, FileResult]]:
        from salesxl.io.pool import TaskFailure
        for _, task, res in self._stream:
            path = task[0]
            if isinstance(res, TaskFailure):
                res = failure_result(path, res, self.opts.lang or "en", self.limit)
            self.cpu += res.cpu
            self.maxrss = max(self.maxrss, res.maxrss)
            yield path, res

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def __enter__(self) -> FileReads:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_files(paths: Sequence[str], opts: RunOptions) -> FileReads:
    """Stage 1 (see FileReads): the readers start at once."""
    return FileReads(paths, opts)


def reader_options(opts: RunOptions, paths: Sequence) -> RunOptions:
    """The options to read `paths` with when only the files are read (validate, forecast, review): a
    single file is read in this process (no reader process to start for it) unless `opts.workers` says
    otherwise. (`consolidate` reads even one file in a reader process, with its time and memory limits.)"""
    return dataclasses.replace(opts, workers=0) if opts.workers is None and len(paths) < 2 else opts


@dataclass
class Ingested:
    """Stage 2's result: each file's status, and what the forecast needs of the rows taken (spooled by
    rep), with the run's language, as-of date and currency."""
    files: list[FileStatus]
    spool: _RepSpool
    rows: Counter
    lang: str                           # the run's: --lang, else the majority of the inputs (_input_paths)
    as_of: dt.date                      # --as-of, else the latest Settings as-of date, else today
    currency: str | None                # the first readable file's
    writer: Any = None                  # the team workbook its tables went to (None: none opened)
    usable: bool = False                # at least one readable file
    file_settings: dict = field(default_factory=dict)   # the first readable file's Settings (SETTINGS_TAKEN)
    winners: dict | None = None         # set when a second pass is needed: each rep's winning submission

    def issues(self, notes: Iterable[Issue] = ()) -> list[Issue]:
        """The notes, then every file's issues, in input order."""
        return [*notes, *(i for f in self.files for i in f.issues)]

    def settings(self) -> dict:
        """The team's settings (what the forecast and the Settings sheet take): the run's language, as-of
        date and currency, and the thresholds, simulations and seed of the first readable file's Settings."""
        out = {k: self.file_settings[k] for k in RUN_SETTINGS if k in self.file_settings}
        out.update(language=self.lang, as_of=self.as_of, currency=self.currency or "EUR")
        return out

    def discard(self) -> None:
        """Drop what this pass made (the team workbook in progress, the spool)."""
        if self.writer is not None:
            self.writer.abort()
        self.spool.close()


class _RepClaims:
    """Each rep once (stage 2): of the files that carry a rep, the newest submission wins
    (FileResult.submitted: the workbook's own saved date, else the file's; on a tie the later input).
    With `winners` known (a second pass) a file's lost reps are known at once; otherwise the files are
    taken as they come, and a file newer than one whose rows of the same rep were already taken makes
    the pass void (`rerun`): `winners()` then tells the second pass who wins."""

    def __init__(self, winners: Mapping[str, tuple[str, tuple]] | None = None):
        self._winners = winners
        self._best: dict[str, tuple[tuple, str]] = {}      # rep key -> ((submitted, index), path)
        self._taken: dict[str, tuple[tuple, str]] = {}     # rep key -> the claim whose rows were taken
        self.rerun = False

    def lost(self, res: FileResult, path: str, index: int) -> dict[str, tuple[str, tuple]]:
        """The reps of `res` another submission wins: rep key -> (winner's path, winner's submitted)."""
        claim = (res.submitted, index)
        out = {}
        for rep_id in res.reps:
            best = self._best.get(rep_id)
            if best is None or claim > best[0]:
                self._best[rep_id] = (claim, path)
            if self._winners is not None:
                w = self._winners.get(rep_id)
                if w is not None and w[0] != path:
                    out[rep_id] = w
                continue
            taken = self._taken.get(rep_id)
            if taken is None:
                self._taken[rep_id] = (claim, path)
            elif claim > taken[0]:
                self.rerun = True
            else:
                out[rep_id] = (taken[1], taken[0][0])
        return out

    def winners(self) -> dict[str, tuple[str, tuple]]:
        return {rep_id: (path, claim[0]) for rep_id, (claim, path) in self._best.items()}


def _when(submitted: tuple) -> str:
    stamp = submitted[0]
    if not stamp:
        return "?"
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _ref_places(refs: dict, part: TableData | None, path: str, lang: str) -> list[Issue]:
    """A Ref already taken from another file (`refs`: ref key -> (path, sheet, row, rep)): an error on
    this row naming the other place (two refs of one file are the rules' DUPLICATE_REF)."""
    if part is None or not len(part) or not part.get("ref"):
        return []
    out = []
    column = contract.PIPELINE.column("ref").label(lang)
    for ref, rep, row in zip(part["ref"], part.column("rep"), part.rows):
        if not isinstance(ref, str) or not ref.strip():
            continue
        k = label_key(ref)
        first = refs.get(k)
        if first is None:
            refs[k] = (path, part.sheet, row, rep)
        elif first[0] != path:
            out.append(make_issue("REF_IN_TWO_PLACES", lang=lang, file=path, sheet=part.sheet, row=row,
                                  column=column, value=ref, rep=rep or "—", other=first[0], other_sheet=first[1],
                                  other_row=first[2], other_rep=first[3] or "—"))
    return out


class Triage:
    """Stage 2's decisions about each file, in input order (see `ingest`): the same content twice counts
    once, a salesxl team workbook is skipped (unless `opts.team_workbooks`), each rep once from their
    newest submission (_RepClaims), a Ref in two files an error. What the batch and the add-in's inbox
    import both apply."""

    def __init__(self, opts: RunOptions, winners: Mapping[str, tuple[str, tuple]] | None = None):
        self.opts = opts
        self.claims = _RepClaims(winners)
        self.seen: dict[str, str] = {}            # fingerprint / "sha:"+sha256 -> first path
        self.refs: dict[str, tuple] = {}          # ref key -> (path, sheet, row, rep) of the rows taken

    @property
    def rerun(self) -> bool:
        """A file came newer than one whose rows of the same rep were taken: the pass is void, run it
        again with `winners()`."""
        return self.claims.rerun

    def winners(self) -> dict[str, tuple[str, tuple]]:
        return self.claims.winners()

    def verdict(self, index: int, path: str, res: FileResult) -> tuple[FileStatus, dict[str, TableData] | None]:
        """The file's status with its issues, and the tables to take from it (None: nothing)."""
        lang = self.opts.lang or res.lang
        dup_of = duplicate_of(self.seen, res, path)
        if dup_of is not None:
            issues = [make_issue("DUPLICATE_FILE", lang=lang, file=path, other=dup_of)]
            return FileStatus(path, res.sha256, DUPLICATE, issues, res.fingerprint, 0, res.seconds), None
        if res.readable and res.team_workbook and not self.opts.team_workbooks:
            issues = [make_issue("TEAM_WORKBOOK_SKIPPED", lang=lang, file=path)]
            return FileStatus(path, res.sha256, SKIPPED, issues, res.fingerprint, 0, res.seconds), None
        lost = self.claims.lost(res, path, index) if res.readable else {}
        issues = res.issues + [make_issue("SUPERSEDED", lang=lang, file=path, rep=res.reps[rep_id], other=w_path,
                                          saved=_when(res.submitted), other_saved=_when(w_when))
                               for rep_id, (w_path, w_when) in lost.items()]
        if lost and len(lost) == len(res.reps):
            return FileStatus(path, res.sha256, SUPERSEDED, issues, res.fingerprint, 0, res.seconds), None
        parts = res.tables if not lost else {k: without_reps(t, set(lost)) for k, t in res.tables.items()}
        take = res.readable and not self.claims.rerun       # (a void pass only goes on to see who wins)
        if take:
            issues += _ref_places(self.refs, parts.get("pipeline"), path, lang)
        status = FileStatus(path, res.sha256, file_status(issues), issues, res.fingerprint,
                            sum(len(t) for t in parts.values()), res.seconds)
        return status, (parts if take else None)


def triage(results: Sequence[tuple[str, FileResult]], opts: RunOptions) -> list[tuple[FileStatus, dict | None]]:
    """Stage 2's decisions over results already in memory (the add-in's inbox): each file's status and
    the tables to take from it, a second pass over the same results when a later file turned out the
    newer submission of a rep already taken."""
    first = Triage(opts)
    out = [first.verdict(i, path, res) for i, (path, res) in enumerate(results)]
    if not first.rerun:
        return out
    second = Triage(opts, first.winners())
    return [second.verdict(i, path, res) for i, (path, res) in enumerate(results)]


def taken_tables(parts: Mapping[str, TableData]) -> Iterator[TableData]:
    """The tables of a file taken (`Triage.verdict`'s), in the team workbook's order, each with every
    row: nothing a rep typed is left out (a row without a rep too: the rules flagged it). What the batch
    writes to the team tables and the add-in's Consolidate imports."""
    for key in CONSOLIDATED_TABLES:
        part = parts.get(key)
        if part is not None and len(part):
            yield part


class _Intake(Triage):
    """What stage 2 keeps while the files come (see `ingest`): Triage's decisions, and where the rows
    taken go (the team workbook, the spool, the history store)."""

    def __init__(self, opts: RunOptions, open_writer: Callable | None, history: sqlite3.Connection | None,
                 winners: Mapping[str, tuple[str, tuple]] | None):
        super().__init__(opts, winners)
        self.open_writer, self.history = open_writer, history
        self.spool = _RepSpool()
        self.rows: Counter = Counter()
        self.file_as_of: list[dt.date] = []
        self.currency: str | None = None
        self.lang = opts.lang
        self.writer = None
        self.usable = False
        self.first_settings: dict = {}

    def take(self, path: str, res: FileResult, parts: Mapping[str, TableData]) -> None:
        """A readable file's rows to the team workbook, the spool and the history store."""
        if not self.usable:
            self.usable, self.lang, self.first_settings = True, self.opts.lang or res.lang, res.settings
            if self.open_writer is not None:
                self.writer = self.open_writer(self.lang)
        if res.settings_as_of:
            self.file_as_of.append(res.settings_as_of)
        if self.currency is None and res.settings.get("currency") is not None:
            self.currency = str(res.settings["currency"]).strip() or None
        for part in taken_tables(parts):
            if self.writer is not None:
                self.writer.add_table(part, file=path)
            self.spool.add(part.key, part)
            self.rows[part.key] += len(part)
        if self.history is not None and res.fingerprint:
            _record_history(self.history, path, parts, sha256=res.sha256 or "", fingerprint=res.fingerprint,
                            as_of=res.as_of)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
        self.spool.close()

    def result(self, files: list[FileStatus]) -> Ingested:
        return Ingested(files, self.spool, self.rows, self.lang or "en", _pick_as_of(self.opts.as_of, self.file_as_of),
                        self.currency, self.writer, self.usable, self.first_settings,
                        self.winners() if self.rerun else None)


def ingest(reads: Iterable[tuple[str, FileResult]], opts: RunOptions, *, open_writer: Callable | None = None,
           history: sqlite3.Connection | None = None, progress: Progress | None = None,
           total: int | None = None, winners: Mapping[str, tuple[str, tuple]] | None = None) -> Ingested:
    """Stage 2, ingest: each file's result in input order. The same workbook twice counts once
    (`duplicate_of`); a salesxl team workbook is not taken as a rep's (`skipped`, unless
    `opts.team_workbooks`); each rep once, from their newest submission (the others `superseded`, see
    _RepClaims: when `winners` comes back set, run the pass again with it); a Ref in two files is an
    error naming both places. A readable file's rows go to the team workbook (`open_writer(lang)` opens
    it at the first readable file; None: no tables written), to the spool the forecast reads back rep
    by rep, and its pipeline to the history store (`history`, not committed here). On an error the
    writer is aborted and the spool closed."""
    intake = _Intake(opts, open_writer, history, winners)
    files: list[FileStatus] = []
    total = total if total is not None else len(reads) if hasattr(reads, "__len__") else 0
    try:
        for index, (path, res) in enumerate(reads):
            status, parts = intake.verdict(index, path, res)
            files.append(status)
            if parts is not None:
                intake.take(path, res, parts)
            del res, parts
            if progress is not None:
                progress(index + 1, total, path)
    except BaseException:
        intake.abort()
        raise
    return intake.result(files)


def ingest_inputs(paths: Sequence[str], opts: RunOptions, reads: FileReads, *,
                  history: sqlite3.Connection | None = None, **kw: Any) -> tuple[FileReads, Ingested]:
    """Stages 1–2: `ingest` of the reads, and when a later file turned out newer than one already taken
    for the same rep, a second pass over newly read files that knows each rep's winner (what the first
    pass made is dropped, its history records rolled back). Returns the reads used last (their workers
    stay for stage 3) and the ingest."""
    ing = ingest(reads, opts, history=history, **kw)
    if ing.winners is None:
        return reads, ing
    ing.discard()
    if history is not None:
        history.rollback()
    reads.close()
    reads = read_files(paths, opts)
    return reads, ingest(reads, opts, history=history, winners=ing.winners, **kw)


def _record_history(conn: sqlite3.Connection, path: str, parts: Mapping[str, TableData], *, sha256: str,
                    fingerprint: str, as_of: dt.date) -> None:
    """One submission's pipeline snapshot and periods into the history store (not committed)."""
    from salesxl.io import history as hist
    hist.import_submission(conn, sha256=sha256, fingerprint=fingerprint, as_of=as_of, path=path,
                           commit=False, pipeline=parts.get("pipeline"), periods=history_periods(parts))


def plan_team(ing: Ingested, opts: RunOptions, settings: Mapping[str, Any]):
    """Stage 3, its plan (forecast.ForecastPlan): one job per rep with a current period, each rep's rows
    read back from the spool when their job is made; the history is attached later."""
    from salesxl.forecast import plan_forecast
    return plan_forecast(ing.spool.rep_tables(), None, ing.as_of, dict(settings), simulations=opts.simulations,
                         seed=opts.seed, attach=False)


def forecast_reps(plan: ForecastPlan, pool: GuardedPool | None = None) -> Iterator[RepForecast]:
    """Stage 3, forecast reps: each job's forecast (forecast.forecast_rep), in the plan's order, not yet
    completed with the history (ForecastPlan.complete). With a pool and many reps the workers compute
    them: one rep per task (small enough to be sent ahead), each job made (its rep's rows read, pickled)
    as the pool's window moves on, the forecasts sent back pickled (unpickled by this thread, not the
    pool's dispatcher); a failed task is computed here."""
    from salesxl.forecast import forecast_rep
    n_jobs = len(plan)
    if pool is None or n_jobs < FORECAST_JOBS_MIN:
        return (forecast_rep(plan.job(j)) for j in range(n_jobs))
    from salesxl.io.pool import TaskFailure
    pool.window = FORECAST_WINDOW
    pool.max_tasks += n_jobs                # warm workers: not recycled in the middle of this
    items = ((FORECAST, pickle.dumps(plan.job(j), PICKLE_PROTOCOL)) for j in range(n_jobs))
    return (pickle.loads(res) if not isinstance(res, TaskFailure) else forecast_rep(plan.job(i))
            for i, _, res in pool.imap(items))


def history_facts(conn: sqlite3.Connection, as_of: dt.date) -> tuple[TableData, TableData, Any, Any]:
    """What the forecast reads of the history store (ForecastPlan.attach_history): the closed proposals
    the calibration reads (not their refs), the open proposals pushed back or long in their stage, and
    the snapshots up to the as-of date for the history-based forecast (learn.History, SPEC §4b), and the
    collections the change since the previous one and the track records come from."""
    from salesxl.io import history as hist
    from salesxl.learn import History
    closed = hist.closed_proposals(conn)
    slip = hist.slippage(conn, as_of)
    learner = History(hist.learning_rows(conn, upto=as_of))
    closed = closed.select(("rep", "probability", "won", "amount"))
    closed.set("rep", _dedupe(closed["rep"]))
    slipping = slip.take([i for i, (pushes, days) in enumerate(zip(slip["pushes"], slip["days_in_stage"]))
                          if pushes > 0 or days > 30])
    return closed, slipping, learner, hist.collections(conn, as_of)


def history_facts_with(store: str | os.PathLike[str], tables: Mapping[str, TableData], as_of: dt.date, *, path: str,
                       wait: float | None = None) -> tuple[TableData, TableData, Any, Any]:
    """`history_facts` of the store at `store` as they are once `tables` (one workbook's typed tables:
    the add-in's open team workbook) are recorded as the collection of `as_of`, as `consolidate` would
    record them; in a transaction rolled back, so the store is never written. sqlite3.Error when the
    store cannot be read."""
    from salesxl.io import history as hist
    conn = hist.open_history(store, timeout=wait)
    try:
        taken = {k: t for k, t in tables.items() if k in CONSOLIDATED_TABLES}
        fp = fingerprint(taken)
        if fp is not None:
            _record_history(conn, path, taken, sha256="", fingerprint=fp, as_of=as_of)
        return history_facts(conn, as_of)
    finally:
        conn.rollback()
        conn.close()


def forecast_team(plan: ForecastPlan, rep_forecasts: Iterable[RepForecast]) -> TeamForecast:
    """Stage 3's end without a workbook: the reps' forecasts completed and added up (forecast.TeamForecast)."""
    return plan.finish(plan.complete(i, rf) for i, rf in enumerate(rep_forecasts))


class TeamReviews:
    """Stage 4's reviews: each rep's forecast, as it comes, completed with the history, added to the
    team's and made into the rep's review (the workers go on with the next reps'); the review has the
    rep's open proposals, so the team forecast then keeps only the overdue ones (those its JSON names).
    `team_forecast()` once every review is made (it takes any forecast left)."""

    def __init__(self, plan: ForecastPlan, rep_forecasts: Iterable[RepForecast], *, as_of: dt.date, lang: str,
                 currency: str, back_sheet: str | None = None):
        self._plan, self._rfs = plan, enumerate(rep_forecasts)
        self._as_of, self._lang, self._currency = as_of, lang, currency
        self._back = back_sheet             # the sheet each review links back to (the Forecast sheet)
        self._taken: set[str] = set()
        self._team = None
        self.sheets: list[tuple[str, str | None]] = []     # (sheet name, risk) of each review made

    def __iter__(self):
        from salesxl.review import build_review
        plan = self._plan
        for i, rf in self._rfs:
            rf = plan.complete(i, rf)
            plan.add(rf)
            review = build_review(rf, self._as_of, self._lang, currency=self._currency, taken=self._taken,
                                  simulations=plan.simulations, back_sheet=self._back)
            rf.proposals = [p for p in rf.proposals if p.overdue]
            self.sheets.append((review.sheet_name, review.risk))
            yield review

    def team_forecast(self):
        if self._team is None:
            plan = self._plan
            for i, rf in self._rfs:
                plan.add(plan.complete(i, rf))
            self._team = plan.team_forecast()
        return self._team


def write_team(writer: TeamWorkbookWriter, plan: ForecastPlan, rep_forecasts: Iterable[RepForecast], *, issues: Iterable[Issue], as_of: dt.date, lang: str,
               currency: str) -> TeamReviews:
    """Stage 4, write team: Settings and Issues (unless `writer.finish_tables` ran already), each rep's
    review rendered and dropped as their forecast comes, then the Forecast sheet; the workbook moved into
    place. Returns the reviews made (`.sheets`) and the team forecast (`.team_forecast()`)."""
    reviews = TeamReviews(plan, rep_forecasts, as_of=as_of, lang=lang, currency=currency)
    writer.finish(issues=issues, forecast=reviews.team_forecast, reviews=iter(reviews))
    return reviews


def input_paths(inputs: Sequence, opts: RunOptions,
                exclude: Sequence = ()) -> tuple[list[str], list[Issue], RunOptions]:
    """The input workbooks (files, folders, globs: `io.inputs.expand_inputs`), the notes about what was
    skipped, and the options with the run's language: --lang, else the majority language of the inputs
    (a tie: English), never the first file's; the readers are given it, so that every message of the run
    is in it. What every command reading rep workbooks starts with (validate, forecast, review,
    consolidate)."""
    from salesxl.io.inputs import expand_inputs
    from salesxl.io.language import run_language
    paths, notes = expand_inputs(inputs, opts.lang or "en", exclude=list(exclude), recursive=opts.recursive)
    lang = run_language(paths, opts.lang)
    if lang != (opts.lang or "en"):
        paths, notes = expand_inputs(inputs, lang, exclude=list(exclude), recursive=opts.recursive)
    return [str(p) for p in paths], notes, dataclasses.replace(opts, lang=lang)


# ---------------------------------------------------------------------------------------------
def consolidate(inputs: Iterable, output: str | os.PathLike[str], *, as_of: dt.date | None = None,
                lang: str | None = None, engine: str | None = None, workers: int | None = None,
                history: str | os.PathLike[str] | bool | None = None, seed: int | None = None,
                simulations: int | None = None, progress: Progress | None = None, timeout: float | None = None,
                memory: int | None = None, recursive: bool = False,
                team_workbooks: bool = False, wait: float | None = None,
                refusal_lang: str | None = None) -> ConsolidationResult:
    """Consolidate rep workbooks (files, folders, globs) into the team workbook `output`: the four stages,
    streaming.

    `history`: path of the SQLite history store (default `<output stem>.history.sqlite` beside the
    output; False for none). `workers`: reader processes (default: one per core; 0 = read in this
    process, without time or memory limits). `timeout`/`memory`: per-file limits of the workers.
    `engine`: "calamine" or "openpyxl" (default: `default_engine()`; a file the engine cannot read is
    read by the other). `recursive`: read the subfolders of a folder input too (default: its own files).
    `team_workbooks`: take a salesxl team workbook among the inputs as a rep's (default: skipped).
    `wait`: seconds to wait for another run holding the output or the history (or for another program
    holding the history). `refusal_lang`: the language of the refusals below (default: `lang`, else
    English; the command line gives the language of its usage errors).

    Before the stages (io.outputs): refused before anything is read (OutputRefused, a ValueError), an
    output or history that is an input, inside a folder input, matched by a glob input, or the same file
    as the other; another run on the same output or history: OutputLocked (a RuntimeError) once `wait`
    has passed; a history another program keeps locked, or that is not a salesxl history: one RuntimeError.
    """
    from salesxl.io import outputs
    from salesxl.io.history import default_path as history_default_path
    hist_path = None if history is False else Path(history) if history else history_default_path(Path(output))
    inputs = list(inputs)
    say = refusal_lang or lang or "en"
    outputs.check_outputs(inputs, output, hist_path, say)
    wait = outputs.LOCK_WAIT if wait is None else wait
    with outputs.locked([output, hist_path], wait, say):
        try:
            return _consolidate(inputs, output, as_of=as_of, lang=lang, engine=engine, workers=workers,
                                history=hist_path if hist_path else False, seed=seed, simulations=simulations,
                                progress=progress, timeout=timeout, memory=memory, recursive=recursive,
                                team_workbooks=team_workbooks, busy=wait)
        except sqlite3.Error as exc:
            from salesxl.io.history import explain
            raise RuntimeError(explain(exc, hist_path, wait, say)) from None


def _consolidate(inputs: list, output, *, as_of: dt.date | None, lang: str | None, engine: str | None,
                 workers: int | None, history, seed: int | None, simulations: int | None,
                 progress: Progress | None, timeout: float | None, memory: int | None, recursive: bool,
                 team_workbooks: bool, busy: float) -> ConsolidationResult:
    """consolidate()'s stages, once the output and the history are known to be safe and are locked."""
    from salesxl.io.history import default_path as history_default_path

    opts = run_options(engine=engine, lang=lang, as_of=as_of, workers=workers, seed=seed, simulations=simulations,
                       timeout=timeout, memory=memory, recursive=recursive, team_workbooks=team_workbooks)
    t_start = time.perf_counter()
    output = Path(output)
    hist_path = None if history is False else Path(history) if history else history_default_path(output)
    inputs = list(inputs)
    if any(Path(str(i)).resolve() == output.resolve() for i in inputs):
        raise ValueError(f"the output {output} is one of the inputs: it would overwrite a source")
    # the output and the history are never read back as inputs (e.g. `-o inbox/team.xlsx` with `inbox/`)
    paths, notes, opts = input_paths(inputs, opts, exclude=[output] + ([hist_path] if hist_path else []))
    if not paths:
        return ConsolidationResult(None, [], notes, as_of, opts.lang or "en", error="no input workbook")

    reads = read_files(paths, opts)
    conn = None
    ing: Ingested | None = None
    try:
        # the readers are at work: meanwhile, what their results need (numpy and XlsxWriter
        # take a while to import)
        from salesxl import forecast as fc_mod  # noqa: F401 - loaded while the readers work
        from salesxl.io import history as hist
        from salesxl.io.write_xlsx import TeamWorkbookWriter
        try:
            conn = hist.open_history(hist_path, timeout=busy) if hist_path else None
        except sqlite3.Error as exc:
            raise RuntimeError(hist.explain(exc, hist_path, busy, opts.lang)) from exc

        t_read = time.perf_counter()
        reads, ing = ingest_inputs(paths, opts, reads, open_writer=lambda lang: TeamWorkbookWriter(output, lang),
                                   history=conn, progress=progress, total=len(paths))
        t_merge = time.perf_counter()
        read_peak = _maxrss()
        writer = ing.writer
        if writer is None:          # nothing readable: no team workbook (the previous one stays)
            return ConsolidationResult(None, ing.files, notes, ing.as_of, ing.lang, history=None,
                                       rows=dict(ing.rows), error="no usable input",
                                       timings={"total": time.perf_counter() - t_start})
        try:
            queries = None
            if conn is not None:
                conn.commit()
                # what the forecast needs from the history, read by a thread of its own (SQLite works
                # without the GIL) while this one finishes the tables and the Issues sheet
                queries = _HistoryQueries(hist_path, ing.as_of, busy)
            settings = ing.settings()
            plan = plan_team(ing, opts, settings)
            settings.update(seed=plan.seed, simulations=plan.simulations)
            writer.settings = settings
            all_issues = ing.issues(notes)
            # stage 3 starts (the workers, when many reps) while the tables are finished here
            rep_forecasts = forecast_reps(plan, reads.pool)
            writer.finish_tables(issues=all_issues)
            plan.attach_history(*(queries.result() if queries is not None else (None, None, None)))
            t_fc = time.perf_counter()
            fc = write_team(writer, plan, rep_forecasts, issues=all_issues, as_of=ing.as_of, lang=ing.lang,
                            currency=settings["currency"]).team_forecast()
            notes.extend(writer.issues)     # a table longer than a sheet holds (also in the Issues sheet)
            del plan, rep_forecasts
            t_end = time.perf_counter()
        except BaseException:
            writer.abort()
            raise
    finally:
        reads.close()
        if conn is not None:
            conn.close()
        if ing is not None:
            ing.spool.close()
    timings = {"read": t_merge - t_read, "forecast": t_fc - t_merge, "reviews_write": t_end - t_fc,
               "total": t_end - t_start, "worker_cpu": reads.cpu, "worker_maxrss_kib": reads.maxrss,
               "parent_maxrss_after_read_kib": read_peak, "parent_maxrss_kib": _maxrss()}
    return ConsolidationResult(str(output), ing.files, notes, ing.as_of, ing.lang, fc,
                               str(hist_path) if hist_path else None, dict(ing.rows), timings)


# ---------------------------------------------------------------------------------------------
@dataclass
class Prepared:
    """Stages 1–3 of `salesxl forecast` and `salesxl review` (see `prepare`): the inputs ingested, the
    forecast planned with the history attached. `close()` drops the spool."""
    notes: list[Issue]
    ingested: Ingested
    plan: Any = None                    # forecast.ForecastPlan; None when no input is usable
    settings: dict = field(default_factory=dict)

    @property
    def files(self) -> list[FileStatus]:
        return self.ingested.files

    def issues(self) -> list[Issue]:
        return self.ingested.issues(self.notes)

    def forecast(self):
        """The team forecast (stage 3 in this process)."""
        return forecast_team(self.plan, forecast_reps(self.plan))

    def write(self, output: str | os.PathLike[str]) -> TeamReviews:
        """Stage 4 into a workbook of its own at `output` (Settings, Issues, Forecast, the reviews; no
        team tables): the reviews made and the team forecast (TeamReviews)."""
        from salesxl.io.write_xlsx import TeamWorkbookWriter
        ing = self.ingested
        writer = TeamWorkbookWriter(output, ing.lang, tables=(), settings=self.settings)
        return write_team(writer, self.plan, forecast_reps(self.plan), issues=self.issues(), as_of=ing.as_of,
                          lang=ing.lang, currency=self.settings["currency"])

    def close(self) -> None:
        self.ingested.spool.close()

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def prepare(inputs: Sequence, opts: RunOptions, *, history: str | os.PathLike[str] | None = None,
            progress: Progress | None = None, exclude: Sequence = (), wait: float | None = None) -> Prepared:
    """Stages 1–3 for the commands that forecast without writing team tables (`salesxl forecast`,
    `salesxl review`): the same reading, ingest and forecast plan as `consolidate`, so the same inputs on
    the same day give the same figures. The files are read as `consolidate` reads them (read_files:
    `opts.workers` reader processes, None one per core), a single file in this process. `history`: an
    existing history store, read as `consolidate` reads it once these files are recorded, and left
    unchanged (the recording is rolled back)."""
    paths, notes, opts = input_paths(list(inputs), opts, exclude)
    opts = reader_options(opts, paths)
    conn = None
    if history is not None:
        from salesxl.io import history as hist
        if not Path(history).is_file():
            raise FileNotFoundError(f"history store {history} not found")
        try:
            conn = hist.open_history(history, timeout=wait)      # (another program holding it: `wait` s)
        except sqlite3.Error as exc:
            raise RuntimeError(hist.explain(exc, history, wait, opts.lang)) from exc
    try:
        reads = read_files(paths, opts)
        try:
            reads, ing = ingest_inputs(paths, opts, reads, history=conn, progress=progress, total=len(paths))
        finally:
            reads.close()
        out = Prepared(notes, ing)
        if ing.usable:
            settings = ing.settings()
            out.plan = plan_team(ing, opts, settings)
            settings.update(seed=out.plan.seed, simulations=out.plan.simulations)
            out.settings = settings
            out.plan.attach_history(*(history_facts(conn, ing.as_of) if conn is not None else (None, None, None)))
        return out
    finally:
        if conn is not None:
            conn.rollback()
            conn.close()


def history_periods(tables: Mapping[str, TableData]) -> dict[str, list] | None:
    """The periods a file gives (Objectives rows with their objective, then Planning rows), for the
    history store: what the backtest needs to know each rep's period and objective at each collection."""
    out: dict[str, list] = {"rep": [], "period_start": [], "period_end": [], "revenue_objective": []}
    for key, objective in (("objectives", "revenue_objective"), ("planning", None)):
        part = tables.get(key)
        if part is None or not len(part):
            continue
        for c in ("rep", "period_start", "period_end"):
            out[c] += part.column(c)
        out["revenue_objective"] += part.column(objective) if objective else [None] * len(part)
    return out if out["rep"] else None


def duplicate_of(seen: dict[str, str], res: FileResult, path: str) -> str | None:
    """The file `res` duplicates (same content fingerprint, else same bytes), or None after recording
    it in `seen` (fingerprint / "sha:"+sha256 -> first path)."""
    dup_of = seen.get(res.fingerprint) if res.fingerprint else None
    if dup_of is None and res.sha256 and res.readable and res.fingerprint:
        dup_of = seen.get("sha:" + res.sha256)
    if dup_of is None and res.fingerprint:
        seen[res.fingerprint] = path
        if res.sha256:
            seen["sha:" + res.sha256] = path
    return dup_of
