"""`salesxl demo`: the main job on built-in sample data, end to end.

Writes one workbook per rep (from the template, as reps would have filled them, with a few honest
mistakes), consolidates two earlier snapshots into the history store (so that calibration and
slippage show), consolidates the current period into the team workbook (Issues, Forecast, one review
per rep), and builds the add-in."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from salesxl.demo_data import DEMO_AS_OF, DEMO_SEED, build_timeline, snapshot, with_mistakes
from salesxl.io.template import write_template

HISTORY_OFFSETS = (61, 31)      # days before the as-of date: two earlier month-end collections


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
                        as_of: dt.date = DEMO_AS_OF) -> list[Path]:
    team = build_timeline(as_of, seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for rep in team:
        rows = snapshot(team, rep, day)
        if mistakes:
            rows = with_mistakes(rows, rep, day)
        p = folder / f"{slug(rep.name)}.xlsx"
        write_template(p, rep.lang, rows=rows, settings={"language": rep.lang, "as_of": day})
        paths.append(p)
    return paths


def run_demo(out_dir: Path | str = "demo_out", *, lang: str = "en", as_of: dt.date | None = None,
             build_addin: bool = True, workers: int | None = None, progress=None) -> DemoResult:
    from salesxl.consolidate import consolidate

    out = Path(out_dir)
    day = as_of or DEMO_AS_OF
    history = out / "team.history.sqlite"
    runs = []
    for offset in HISTORY_OFFSETS:
        past = day - dt.timedelta(days=offset)
        folder = out / "history" / past.isoformat()
        files = write_rep_workbooks(folder / "reps", past, mistakes=False, as_of=day)
        consolidate(files, folder / "team.xlsx", as_of=past, lang=lang, history=history, workers=workers)
        runs.append(folder / "team.xlsx")
    rep_files = write_rep_workbooks(out / "reps", day, mistakes=True, as_of=day)
    team_wb = out / ("team.xlsx" if lang == "en" else "equipe.xlsx")
    res = consolidate(rep_files, team_wb, as_of=day, lang=lang, history=history, workers=workers,
                      progress=progress)
    addin = None
    if build_addin:
        from salesxl.addin_build import build_addin as _build
        addin = _build(out)
    return DemoResult(out, rep_files, team_wb, history, addin, res, runs)


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
        lines.append((f"  Anomalies : {counts.get('error', 0)} erreurs, {counts.get('warning', 0)} avertissements"
                      if fr else f"  Issues: {counts.get('error', 0)} errors, {counts.get('warning', 0)} warnings"))
    lines.append(("Ouvrez d'abord " if fr else "Open first: ") + str(r.team_workbook)
                 + (" — feuille Prévisions, puis un onglet Entretien." if fr
                    else " — the Forecast sheet, then a Review tab."))
    return "\n".join(lines)
