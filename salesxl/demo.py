"""`salesxl demo`: the main job on built-in sample data, end to end.

Writes one workbook per rep (from the template, as reps would have filled them, with a few honest
mistakes), fills the history store with a year of monthly collections — the ten oldest imported
straight from the sample timeline, the last two consolidated from rep workbooks — so that calibration,
slippage and the history-based forecast (expected vs declared) show, consolidates the current period
into the team workbook (Issues, Forecast, one review per rep), and builds the add-in."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from salesxl.demo_data import DEMO_AS_OF, DEMO_SEED, RepTimeline, build_timeline, snapshot, with_mistakes
from salesxl.io.template import write_template
from salesxl.i18n import counted
from salesxl.tables import TableData

if TYPE_CHECKING:
    from salesxl.consolidate import Progress

HISTORY_OFFSETS = (61, 31)      # days before the as-of date: two earlier collections, from workbooks
IMPORTED_MONTHS = 10            # and ten monthly collections before them, imported from the timeline
ARCHIVE_DAYS = 130              # a rep's file keeps the rows of the last ~4 months


def slug(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()


@dataclass
class DemoResult:
    out_dir: Path
    rep_files: list[Path]
    team_workbook: Path
    history: Path
    addin: Path | None
    result: object = None
    history_runs: list[Path] = field(default_factory=list)


def write_rep_workbooks(folder: Path, day: dt.date, *, mistakes: bool, seed: int = DEMO_SEED,
                        as_of: dt.date = DEMO_AS_OF, team: Sequence[RepTimeline] | None = None) -> list[Path]:
    team = team or build_timeline(as_of, seed, long=True)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for rep in team:
        rows = snapshot(team, rep, day, since=day - dt.timedelta(days=ARCHIVE_DAYS))
        if mistakes:
            rows = with_mistakes(rows, rep, day)
        p = folder / f"{slug(rep.name)}.xlsx"
        write_template(p, rep.lang, rows=rows, settings={"language": rep.lang, "as_of": day})
        paths.append(p)
    return paths


def run_demo(out_dir: Path | str = "demo_out", *, lang: str = "en", as_of: dt.date | None = None,
             build_addin: bool = True, workers: int | None = None, progress: Progress | None = None) -> DemoResult:
    from salesxl.consolidate import consolidate

    out = Path(out_dir)
    day = as_of or DEMO_AS_OF
    history = out / "team.history.sqlite"
    team = build_timeline(day, DEMO_SEED, long=True)
    import_collections(history, team, [_months_before(day, k)
                                       for k in range(IMPORTED_MONTHS + len(HISTORY_OFFSETS), len(HISTORY_OFFSETS), -1)])
    runs = []
    for offset in HISTORY_OFFSETS:
        past = day - dt.timedelta(days=offset)
        folder = out / "history" / past.isoformat()
        files = write_rep_workbooks(folder / "reps", past, mistakes=False, as_of=day, team=team)
        consolidate(files, folder / "team.xlsx", as_of=past, lang=lang, history=history, workers=workers)
        runs.append(folder / "team.xlsx")
    rep_files = write_rep_workbooks(out / "reps", day, mistakes=True, as_of=day, team=team)
    team_wb = out / ("team.xlsx" if lang == "en" else "equipe.xlsx")
    res = consolidate(rep_files, team_wb, as_of=day, lang=lang, history=history, workers=workers,
                      progress=progress)
    addin = None
    if build_addin:
        from salesxl.addin_build import build_addin as _build
        addin = _build(out)
    return DemoResult(out, rep_files, team_wb, history, addin, res, runs)


def _months_before(day: dt.date, k: int) -> dt.date:
    m = day.month - 1 - k
    return dt.date(day.year + m // 12, m % 12 + 1, min(day.day, 28))


def import_collections(history: Path, team: Sequence[RepTimeline], days: Iterable[dt.date]) -> None:
    """Monthly collections of the sample timeline straight into the history store (each rep's pipeline
    and periods as their file showed them that day), as the consolidation would have imported them."""
    import hashlib

    from salesxl.io import history as hist
    conn = hist.open_history(history)
    try:
        for d in days:
            for rep in team:
                rows = snapshot(team, rep, d, since=d - dt.timedelta(days=ARCHIVE_DAYS))
                pipe = rows["pipeline"]
                cols = ("ref", "rep", "amount", "probability", "stage", "status", "decision_date", "sent_on")
                pipeline = TableData("pipeline", {c: [r.get(c) for r in pipe] for c in cols},
                                     range(2, len(pipe) + 2))
                obj = rows["objectives"]
                periods = {c: [r[c] for r in obj] for c in ("rep", "period_start", "period_end", "revenue_objective")}
                key = hashlib.sha256(f"demo|{rep.name}|{d}".encode()).hexdigest()
                hist.import_submission(conn, sha256=key, fingerprint=key, as_of=d, path=f"{slug(rep.name)}.xlsx",
                                       pipeline=pipeline, periods=periods, commit=False)
        conn.commit()
    finally:
        conn.close()


def describe(r: DemoResult, lang: str = "en") -> str:
    fr = lang == "fr"
    lines = [("Démo salesxl — fichiers écrits dans " if fr else "salesxl demo — files written to ") + str(r.out_dir)]
    lines.append(("  Classeurs des commerciaux : " if fr else "  Rep workbooks: ")
                 + ", ".join(p.name for p in r.rep_files) + f"  ({r.rep_files[0].parent})")
    lines.append(("  Classeur équipe          : " if fr else "  Team workbook: ") + str(r.team_workbook))
    lines.append(("  Historique (SQLite)      : " if fr else "  History store: ") + str(r.history))
    if r.addin:
        lines.append(("  Complément Excel         : " if fr else "  Excel add-in: ") + str(r.addin))
    counts = getattr(r.result, "counts", None) or {}
    if counts:
        tally = f"{counted(counts.get('error', 0), 'error', lang)}, {counted(counts.get('warning', 0), 'warning', lang)}"
        lines.append(("  Anomalies : " if fr else "  Issues: ") + tally)
    lines.append(("Ouvrez d'abord " if fr else "Open first: ") + str(r.team_workbook)
                 + (" — feuille Prévisions, puis un onglet Entretien." if fr
                    else " — the Forecast sheet, then a Review tab."))
    return "\n".join(lines)
