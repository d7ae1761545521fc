"""The `salesxl` command: a thin layer over the library. Exit codes: 0 clean (warnings allowed),
1 issues of severity error, 2 unusable arguments or no usable input at all."""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import List, Optional

import typer

from salesxl.issues import ERROR, FILE_LEVEL_CODES, Issue, count, exit_code, file_status
from salesxl.values import parse_date

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="salesxl: planning, reporting, pipeline and end-of-period reviews in Excel.")
addin_app = typer.Typer(no_args_is_help=True, help="The Excel add-in (salesxl.xlam).")
app.add_typer(addin_app, name="addin")

EXIT_USAGE = 2


def _as_of(value: Optional[str]) -> Optional[dt.date]:
    if value is None:
        return None
    p = parse_date(value)
    if p.value is None:
        raise typer.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD or day/month/year)")
    return p.value


def _lang(value: Optional[str]) -> Optional[str]:
    if value is not None and value not in ("en", "fr"):
        raise typer.BadParameter("choose en or fr")
    return value


_json_out: list = []            # where the JSON goes while stdout is sent to stderr (see _json_only)


def _emit_json(data) -> None:
    from salesxl.io.outputs import display
    out = _json_out[-1] if _json_out else sys.stdout
    out.write(display(json.dumps(data, ensure_ascii=False, indent=2, default=str)) + "\n")
    out.flush()


@contextlib.contextmanager
def _stdout_to_stderr():
    """While a --json command works, whatever is printed on stdout (a print inside a library, a reader
    process's output) goes to stderr; _emit_json writes to the real stdout."""
    real = sys.stdout
    try:
        fd, err_fd = real.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):          # not a real file (a test runner's buffer)
        fd = err_fd = None
    saved = out = None
    if fd is not None:
        real.flush()
        saved = os.dup(fd)
        os.dup2(err_fd, fd)                                 # at the descriptor: C code and child processes too
        out = open(os.dup(saved), "w", encoding="utf-8", errors="replace", closefd=True)
    _json_out.append(out if out is not None else real)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = real
        _json_out.pop()
        if saved is not None:
            out.close()
            real.flush()
            os.dup2(saved, fd)
            os.close(saved)


def _json_only(command):
    """A data command whose stdout holds only its JSON under --json."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        if not kwargs.get("as_json"):
            return command(*args, **kwargs)
        with _stdout_to_stderr():
            return command(*args, **kwargs)
    return run


def _usage_error(message: str, as_json: bool):
    """One line on stderr (and the JSON error under --json), exit 2."""
    typer.echo(f"error: {message}", err=True)
    if as_json:
        _emit_json({"error": message})
    raise typer.Exit(EXIT_USAGE)


WAIT_HELP = "Seconds to wait for another run (or program) using the same output or history (default 10)."


def format_issue(i: Issue) -> str:
    where = ":".join(str(x) for x in (i.file, i.sheet, i.row, i.column) if x not in (None, ""))
    return f"{where}: {i.severity} {i.code} {i.message}"


@contextlib.contextmanager
def _progress_bar(label: str, as_json: bool):
    """A progress callback (done, total, path) drawing a bar on stderr when it is a terminal, None
    otherwise or under --json."""
    if as_json or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   transient=True, console=Console(stderr=True))
    task = bar.add_task(label, total=None)
    with bar:
        yield lambda done, total, path: bar.update(task, completed=done, total=total)


ENGINE_HELP = "calamine (fast, the default when installed) or openpyxl; either falls back on the other."
RECURSIVE_HELP = "Read the subfolders of a folder input too (default: its own files only)."
TEAM_WORKBOOKS_HELP = "Read a salesxl team workbook among the inputs as a rep's (default: skipped)."


def _engine(value: Optional[str]) -> Optional[str]:
    if value is not None and value not in ("calamine", "openpyxl"):
        raise typer.BadParameter("choose calamine or openpyxl")
    return value


def _validated(inputs, lang, day, engine, label: str, as_json: bool, recursive: bool = False):
    """Each input validated (a progress bar on a terminal): (per-file results, notes, the run's language:
    --lang, else the majority language of the inputs, every message in it)."""
    from salesxl.io.inputs import expand_inputs
    from salesxl.io.language import run_language
    from salesxl.io.read_xlsx import validate_file
    paths, notes = expand_inputs(inputs, lang or "en", recursive=recursive)
    run_lang = run_language(paths, lang)
    if run_lang != (lang or "en"):
        paths, notes = expand_inputs(inputs, run_lang, recursive=recursive)
    lang = run_lang
    results = []
    with _progress_bar(label, as_json) as progress:
        for n, p in enumerate(paths, start=1):
            results.append(validate_file(p, engine=engine, lang=lang, as_of=day))
            if progress is not None:
                progress(n, len(paths), p)
    return results, notes, lang


def _files_report(results, notes) -> dict:
    """The JSON of what validation found: each file's status and issues, the notes, the counts."""
    return {"files": [{"path": v.path, "status": getattr(v, "status", None) or file_status(v.issues),
                       "issues": [i.to_dict() for i in v.issues]} for v in results],
            "notes": [i.to_dict() for i in notes],
            "counts": count(list(notes) + [i for v in results for i in v.issues])}


# ---------------------------------------------------------------------------------------------
@app.command()
def template(output: Path = typer.Option(..., "-o", "--output", help="The .xlsx file to write."),
             lang: str = typer.Option("en", "--lang", callback=_lang, help="en or fr."),
             rep: Optional[str] = typer.Option(None, "--rep", help="Pre-fill for this rep."),
             seniority: Optional[str] = typer.Option(None, "--seniority", help="junior, confirmed or senior."),
             period_start: Optional[str] = typer.Option(None, "--period-start"),
             period_end: Optional[str] = typer.Option(None, "--period-end")) -> None:
    """Write an empty salesxl workbook.

    Example: salesxl template --lang fr --rep "Claire Martin" --period-start 2026-12-01 --period-end 2026-12-31 -o claire.xlsx
    """
    from salesxl.io.template import write_template
    start, end = _as_of(period_start), _as_of(period_end)
    if (start is None) != (end is None):
        typer.echo("error: give both --period-start and --period-end", err=True)
        raise typer.Exit(EXIT_USAGE)
    write_template(output, lang, rep=rep, period_start=start, period_end=end, seniority=seniority)
    typer.echo(f"wrote {output}")


@app.command()
@_json_only
def validate(inputs: List[str] = typer.Argument(..., help="Workbooks, folders or globs."),
             as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
             as_of: Optional[str] = typer.Option(None, "--as-of", help="As-of date (default: Settings, else today)."),
             lang: Optional[str] = typer.Option(None, "--lang", callback=_lang,
                                                help="Language of messages (default: that of most inputs; a tie: en)."),
             engine: Optional[str] = typer.Option(None, "--engine", callback=_engine, help=ENGINE_HELP),
             recursive: bool = typer.Option(False, "--recursive", help=RECURSIVE_HELP),
             annotate: Optional[Path] = typer.Option(
                 None, "--annotate", metavar="OUTDIR",
                 help="Also write to OUTDIR a copy of each workbook with every issue marked as the add-in's "
                      "Validate marks it (fill and note per cell, an Issues sheet); the originals are never "
                      "written.")) -> None:
    """Check workbooks and list every issue with its sheet, row and column.

    Example: salesxl validate reps/*.xlsx --json
    Example: salesxl validate inbox/ --annotate feedback/
    """
    results, notes, lang = _validated(inputs, lang, _as_of(as_of), engine, "validate", as_json, recursive)
    if not results:
        typer.echo("error: no workbook matches " + " ".join(inputs), err=True)
    report = _files_report(results, notes)
    if annotate is not None:
        from salesxl.io.annotate import AnnotateError, annotate_workbooks
        try:
            done = annotate_workbooks([v.path for v in results], annotate, engine=engine, lang=lang,
                                      as_of=_as_of(as_of))
        except AnnotateError as exc:
            typer.echo(f"error: --annotate: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE)
        report["annotated"] = [a.to_dict() for a in done]
    if as_json:
        _emit_json(report)
    else:
        for a in report.get("annotated", ()):
            typer.echo(f"annotated {a['path']} -> {a['output']} ({a['cells']} cells marked, {a['notes']} notes)"
                       if not a.get("error") else f"{a['path']}: no annotated copy ({a['error']})")
        for i in notes:
            typer.echo(format_issue(i))
        for v in results:
            for i in v.issues:
                typer.echo(format_issue(i))
            typer.echo(f"{v.path}: {file_status(v.issues)}")
        counts = report["counts"]
        typer.echo(f"{counts['error']} errors, {counts['warning']} warnings in {len(results)} files")
    raise typer.Exit(exit_code(f["status"] for f in report["files"]))


def _prepared(inputs, lang, day, engine, simulations, seed, history, as_json: bool, label: str, wait=None,
              output: Path | None = None, recursive: bool = False, team_workbooks: bool = False):
    """The consolidation's stages 1–3 on the inputs (salesxl.consolidate.prepare: the same figures as
    `salesxl consolidate` for the same inputs and day); exit 2 when nothing is usable (the files' issues
    on stderr, or as JSON under --json), when the output is an input or the history is missing."""
    from salesxl.consolidate import prepare, run_options
    from salesxl.io.outputs import LOCK_WAIT
    if output is not None:
        from salesxl.io.outputs import OutputRefused, check_outputs
        try:                            # (the history read here is an input: never the output)
            check_outputs(list(inputs) + ([history] if history else []), output, None, lang or "en")
        except OutputRefused as exc:
            _usage_error(str(exc), as_json)
    try:
        opts = run_options(engine=engine, lang=lang, as_of=day, workers=0, seed=seed, simulations=simulations,
                           recursive=recursive, team_workbooks=team_workbooks)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--engine")
    try:
        with _progress_bar(label, as_json) as progress:
            prep = prepare(inputs, opts, history=history, progress=progress,
                           wait=LOCK_WAIT if wait is None else wait)
    except (OSError, RuntimeError) as exc:
        _usage_error(str(exc), as_json)
    if prep.plan is None:
        prep.close()
        if as_json:
            _emit_json({"error": "no usable input", **_files_report(prep.files, prep.notes)})
        else:
            for f in prep.files:
                for i in f.issues:
                    typer.echo(format_issue(i), err=True)
        raise typer.Exit(EXIT_USAGE)
    return prep


_HISTORY_HELP = "SQLite history store to read (as consolidate does; never written by this command)."


@app.command()
@_json_only
def forecast(inputs: List[str] = typer.Argument(..., help="Workbooks, folders or globs."),
             as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
             as_of: Optional[str] = typer.Option(None, "--as-of", help="As-of date (default: Settings, else today)."),
             lang: Optional[str] = typer.Option(None, "--lang", callback=_lang),
             seed: Optional[int] = typer.Option(None, "--seed", help="Random seed of the Monte Carlo."),
             simulations: Optional[int] = typer.Option(None, "--simulations", min=100, max=100_000,
                                                       help="Monte Carlo draws (default 10,000; at most 100,000)."),
             engine: Optional[str] = typer.Option(None, "--engine", callback=_engine, help=ENGINE_HELP),
             recursive: bool = typer.Option(False, "--recursive", help=RECURSIVE_HELP),
             team_workbooks: bool = typer.Option(False, "--team-workbooks", help=TEAM_WORKBOOKS_HELP),
             history: Optional[Path] = typer.Option(None, "--history", help=_HISTORY_HELP),
             wait: Optional[float] = typer.Option(None, "--wait", min=0, help=WAIT_HELP)) -> None:
    """Forecast each rep's current period: won, weighted open, P10/P50/P90, P(reach), risk, plan vs done.

    Example: salesxl forecast team.xlsx --as-of 2026-11-20 --json
    """
    with _prepared(inputs, lang, _as_of(as_of), engine, simulations, seed, history, as_json, "forecast", wait,
                   recursive=recursive, team_workbooks=team_workbooks) as prep:
        fc = prep.forecast()
    if as_json:
        _emit_json(fc.to_dict())
    else:
        typer.echo(format_forecast(fc, prep.ingested.lang))
    raise typer.Exit(exit_code(f.status for f in prep.files))


def format_forecast(fc, lang: str) -> str:
    from salesxl.forecast import team_rows
    from salesxl.review import risk_label
    from salesxl.values import format_amount, format_percent
    head = ("rep", "period", "objective", "won", "forecast", "P10", "P50", "P90", "P(reach)", "risk")
    rows = [head]
    for r in fc.reps:
        rows.append((r.rep, f"{r.period_start}..{r.period_end}", format_amount(r.objective, lang),
                     format_amount(r.won, lang), format_amount(r.forecast, lang), format_amount(r.p10, lang),
                     format_amount(r.p50, lang), format_amount(r.p90, lang), format_percent(r.p_reach, lang),
                     risk_label(r.risk, lang)))
    labels = {"team": "TEAM", "overall": "ALL (sum of current periods)"}
    for kind, tm in team_rows(fc.team):      # per period-length group, then overall
        rows.append((labels.get(kind) or f"TEAM {tm.get('group')}", "", format_amount(tm["objective"], lang),
                     format_amount(tm["won"], lang), format_amount(tm["forecast"], lang),
                     format_amount(tm["p10"], lang), format_amount(tm["p50"], lang), format_amount(tm["p90"], lang),
                     format_percent(tm["p_reach"], lang), risk_label(tm["risk"], lang)))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(0, f"as of {fc.as_of.isoformat()}")
    return "\n".join(line.rstrip() for line in lines)


@app.command()
@_json_only
def review(inputs: List[str] = typer.Argument(..., help="Workbooks, folders or globs."),
           output: Path = typer.Option(..., "-o", "--output", help="The review workbook to write (never a source)."),
           as_of: Optional[str] = typer.Option(None, "--as-of"),
           lang: Optional[str] = typer.Option(None, "--lang", callback=_lang),
           seed: Optional[int] = typer.Option(None, "--seed"),
           simulations: Optional[int] = typer.Option(None, "--simulations", min=100, max=100_000),
           as_json: bool = typer.Option(False, "--json"),
           engine: Optional[str] = typer.Option(None, "--engine", callback=_engine, help=ENGINE_HELP),
           recursive: bool = typer.Option(False, "--recursive", help=RECURSIVE_HELP),
           team_workbooks: bool = typer.Option(False, "--team-workbooks", help=TEAM_WORKBOOKS_HELP),
           history: Optional[Path] = typer.Option(None, "--history", help=_HISTORY_HELP),
           wait: Optional[float] = typer.Option(None, "--wait", min=0, help=WAIT_HELP)) -> None:
    """Write one end-of-period review sheet per rep, with the Forecast and Issues sheets, to a new workbook.

    Example: salesxl review alice.xlsx bob.xlsx --lang fr -o entretiens.xlsx
    """
    from salesxl.io.outputs import OutputLocked, locked
    from salesxl.review import risk_label
    with _prepared(inputs, lang, _as_of(as_of), engine, simulations, seed, history, as_json, "review", wait,
                   output=output, recursive=recursive, team_workbooks=team_workbooks) as prep:
        try:
            with locked([output], wait, prep.ingested.lang):
                made = prep.write(output)
        except OutputLocked as exc:
            _usage_error(str(exc), as_json)
    fc, out_lang = made.team_forecast(), prep.ingested.lang
    if as_json:
        _emit_json({"output": str(output), "reviews": [name for name, _ in made.sheets], **fc.to_dict()})
    else:
        for name, risk in made.sheets:
            typer.echo(f"{name}: {risk_label(risk, out_lang)}")
        typer.echo(f"wrote {output}")
    raise typer.Exit(exit_code(f.status for f in prep.files))


@app.command()
@_json_only
def consolidate(inputs: List[str] = typer.Argument(..., help="Rep workbooks, folders or globs."),
                output: Path = typer.Option(..., "-o", "--output", help="The team workbook to write."),
                as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
                as_of: Optional[str] = typer.Option(None, "--as-of", help="As-of date (default: the files' Settings, else today)."),
                lang: Optional[str] = typer.Option(None, "--lang", callback=_lang,
                                                   help="Language of the team workbook and messages (default: that of most inputs; a tie: en)."),
                engine: Optional[str] = typer.Option(None, "--engine", help=ENGINE_HELP),
                recursive: bool = typer.Option(False, "--recursive", help=RECURSIVE_HELP),
                team_workbooks: bool = typer.Option(False, "--team-workbooks", help=TEAM_WORKBOOKS_HELP),
                workers: Optional[int] = typer.Option(None, "--workers", min=0,
                                                      help="Reader processes (default: one per core; 0: none)."),
                history: Optional[Path] = typer.Option(None, "--history",
                                                       help="SQLite history store (default: <output>.history.sqlite)."),
                seed: Optional[int] = typer.Option(None, "--seed", help="Random seed of the Monte Carlo."),
                simulations: Optional[int] = typer.Option(None, "--simulations", min=100, max=100_000,
                                                          help="Monte Carlo draws (default 10,000; at most 100,000)."),
                timeout: Optional[float] = typer.Option(None, "--timeout", min=1,
                                                        help="Seconds allowed to read one file (default 120)."),
                wait: Optional[float] = typer.Option(None, "--wait", min=0, help=WAIT_HELP)) -> None:
    """Consolidate rep workbooks into the team workbook: tables with provenance, Issues, Forecast, reviews.

    Example: salesxl consolidate inbox/ -o team.xlsx --as-of 2026-11-20 --json
    """
    from salesxl.consolidate import ENGINES
    from salesxl.consolidate import consolidate as run
    if engine is not None and engine not in ENGINES:
        raise typer.BadParameter(f"choose {' or '.join(ENGINES)}", param_hint="--engine")
    try:
        with _progress_bar("consolidate", as_json) as progress:
            result = run(inputs, output, as_of=_as_of(as_of), lang=lang, engine=engine, workers=workers,
                         recursive=recursive, team_workbooks=team_workbooks, history=history, seed=seed,
                         simulations=simulations, progress=progress, timeout=timeout, wait=wait)
    except (OSError, RuntimeError, ValueError) as exc:
        _usage_error(str(exc), as_json)
    if as_json:
        _emit_json(result.to_dict())
    else:
        for i in result.notes:
            typer.echo(format_issue(i))
        for f in result.files:
            for i in f.issues:
                if i.severity == ERROR or i.code in FILE_LEVEL_CODES or f.status == "duplicate":
                    typer.echo(format_issue(i))
            typer.echo(f"{f.path}: {f.status}")
        c = result.counts
        typer.echo(f"{c['error']} errors, {c['warning']} warnings in {len(result.files)} files "
                   f"({', '.join(f'{n} {s}' for s, n in c['files'].items() if n)})")
        if result.output:
            typer.echo(f"wrote {result.output} ({len(result.forecast.reps) if result.forecast else 0} reviews; "
                       f"warnings are listed in its Issues sheet)")
        else:
            typer.echo(f"error: {result.error or 'no usable input'}: nothing written", err=True)
    raise typer.Exit(result.exit_code)


@app.command()
@_json_only
def backtest(history: Path = typer.Option(..., "--history", help="The SQLite history store to replay."),
             as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
             lang: Optional[str] = typer.Option(None, "--lang", callback=_lang, help="en or fr (default en)."),
             seed: Optional[int] = typer.Option(None, "--seed", help="Random seed of the Monte Carlo."),
             simulations: Optional[int] = typer.Option(None, "--simulations", min=100,
                                                       help="Monte Carlo draws per case (default 2,000).")) -> None:
    """Replay each past collection of the history as if it were today and compare the declared and the
    history-based forecasts with what was won: error, bias, Brier of P(reach), P10–P90 coverage.

    Example: salesxl backtest --history team.history.sqlite
    """
    from salesxl.backtest import DEFAULT_SIMULATIONS
    from salesxl.backtest import backtest as run
    from salesxl.io import history as hist
    from salesxl.simulate import DEFAULT_SEED
    if not history.is_file():
        typer.echo(f"error: no history store at {history}", err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        conn = hist.open_history(history)
        try:
            rows, periods = hist.learning_rows(conn), hist.period_rows(conn)
        finally:
            conn.close()
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        typer.echo(f"error: history store {history}: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE)
    bt = run(rows, periods, simulations=simulations or DEFAULT_SIMULATIONS,
             seed=seed if seed is not None else DEFAULT_SEED)
    if as_json:
        _emit_json({"history": str(history), **bt.to_dict()})
    else:
        typer.echo(format_backtest(bt, str(history), lang or "en"))


_BT = {
    "title": {"en": "Backtest of {path}: {days} collections, {cases} rep periods replayed ({hist} with enough "
                    "history)", "fr": "Rétro-test de {path} : {days} collectes, {cases} périodes rejouées ({hist} "
                                      "avec assez d'historique)"},
    "head": {"en": ("", "cases", "error", "bias", "Brier P(reach)", "P10–P90 holds"),
             "fr": ("", "cas", "erreur", "biais", "Brier P(atteinte)", "P10–P90 tient")},
    "declared": {"en": "declared", "fr": "déclaré"}, "history": {"en": "history", "fr": "historique"},
    "all": {"en": "All reps", "fr": "Tous"}, "team": {"en": "Team", "fr": "Équipe"},
    "note": {"en": "error = Σ|forecast − won| / Σ won; bias = mean (forecast − won); a rep period without enough "
                   "history shows the declared figures on both lines.",
             "fr": "erreur = Σ|prévision − gagné| / Σ gagné ; biais = moyenne (prévision − gagné) ; une période sans "
                   "assez d'historique montre les chiffres déclarés sur les deux lignes."},
}


def format_backtest(bt, path: str, lang: str) -> str:
    from salesxl.i18n import pick
    from salesxl.values import format_amount, format_percent

    def line(label, m):
        if not m or not m.get("n"):
            return (label, "0", "—", "—", "—", "—")
        bias = m["bias"]
        return (label, str(m["n"]), format_percent(m["error"], lang) if m["error"] is not None else "—",
                ("+" if bias > 0 else "") + format_amount(bias, lang),
                format_amount(m["brier"], lang, 3) if m["brier"] is not None else "—",
                format_percent(m["coverage"], lang))

    rows = [pick(_BT["head"], lang)]
    for key, metrics in (("all", bt.overall), ("team", bt.team), *((r, m) for r, m in bt.reps.items())):
        name = pick(_BT[key], lang) if key in ("all", "team") else key
        for model in ("declared", "history"):
            rows.append(line(f"{name} — {pick(_BT[model], lang)}", metrics.get(model)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [pick(_BT["title"], lang).format(path=path, days=bt.collections, cases=len(bt.cases),
                                            hist=sum(c.basis == "history" for c in bt.cases))]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
              for r in rows]
    lines.append(pick(_BT["note"], lang))
    return "\n".join(lines)


@app.command()
def demo(output: Path = typer.Option(Path("demo_out"), "-o", "--output", help="Folder for the demo files."),
         lang: str = typer.Option("en", "--lang", callback=_lang, help="Language of the team workbook."),
         as_of: Optional[str] = typer.Option(None, "--as-of", help="As-of date (default 2026-11-20)."),
         no_addin: bool = typer.Option(False, "--no-addin", help="Skip building the add-in.")) -> None:
    """Run the whole job on a built-in sample team: rep workbooks, history, team workbook, add-in.

    Example: salesxl demo -o demo_out --lang fr
    """
    from salesxl.demo import describe, run_demo
    result = run_demo(output, lang=lang, as_of=_as_of(as_of), build_addin=not no_addin)
    typer.echo(describe(result, lang))


@addin_app.command("build")
def addin_build(output: Path = typer.Option(Path("dist"), "-o", "--output", help="Folder for salesxl.xlam."),
                interpreter_win: Optional[str] = typer.Option(None, "--interpreter-win"),
                interpreter_mac: Optional[str] = typer.Option(None, "--interpreter-mac"),
                pythonpath: Optional[str] = typer.Option(None, "--pythonpath"),
                lang: str = typer.Option("en", "--lang", callback=_lang)) -> None:
    """Build the Excel add-in salesxl.xlam (SalesXL ribbon tab).

    Example: salesxl addin build -o dist --interpreter-win "C:\\salesxl\\.venv\\Scripts\\pythonw.exe"
    """
    from salesxl.addin_build import build_addin
    path = build_addin(output, interpreter_win=interpreter_win, interpreter_mac=interpreter_mac,
                       pythonpath=pythonpath, lang=lang)
    typer.echo(f"wrote {path}")


def main() -> None:
    from salesxl.io.outputs import terminate_on_sigterm
    terminate_on_sigterm()              # SIGTERM: temporary files and reader processes cleaned up
    for stream in (sys.stdout, sys.stderr):
        try:                            # a file name that is not UTF-8 is printed, never an abort
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass
    app()


if __name__ == "__main__":
    main()
