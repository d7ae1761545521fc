"""The `salesxl` command: a thin layer over the library. Exit codes: 0 clean (warnings allowed),
1 issues of severity error, 2 unusable arguments or no usable input at all."""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import functools
import json
import os
import re
import sqlite3
import string
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, List, Mapping, Optional

import typer
from typer.core import TyperArgument, TyperGroup

from salesxl import __version__, i18n
from salesxl.i18n import cli_line, cli_status, counted, usage_language, usage_line
from salesxl.issues import ERROR, FILE_LEVEL_CODES, Issue, count, exit_code, file_status
from salesxl.schemas import SCHEMA_VERSION
from salesxl.values import label_key, parse_date

if TYPE_CHECKING:
    from salesxl.backtest import Backtest
    from salesxl.forecast import TeamForecast

# exit codes (README): 0 clean (warnings allowed), 1 issues of severity error, 2 the command cannot run
# (arguments that do not go together, or no usable input)
EXIT_OK, EXIT_ISSUES, EXIT_USAGE = 0, 1, 2
EXIT_ABORTED = 1                   # an abort (Ctrl-C, a prompt refused), the code click gives it
JSON_FLAG = "--json"


def _plain_help(param):
    """No `<str>`/`<bool>` type placeholders in the help: an option shows its metavar (DATE, N…), a
    flag and an argument nothing but their names."""
    if isinstance(param, TyperArgument) or getattr(param, "is_flag", False):
        param.display_type_rich = lambda ctx: None
    return param


class _Cli(TyperGroup):
    """The `salesxl` group: every argument error is one line on stderr naming the fix (exit 2), or,
    under --json, a JSON object on stdout (docs/json.md), in the usage language (i18n.usage_language:
    --lang, else the locale); help without type placeholders."""

    def get_params(self, ctx):
        return [_plain_help(p) for p in super().get_params(ctx)]

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None and not isinstance(cmd, TyperGroup):
            for p in cmd.get_params(ctx):
                _plain_help(p)
        return cmd

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageProblem as exc:           # raised in a command's body: name the command
            if exc.command_path is None and ctx.invoked_subcommand:
                exc.command_path = f"{ctx.command_path} {ctx.invoked_subcommand}"
            raise

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        lang = usage_language(argv, os.environ)
        token = _USAGE_LANG.set(lang)
        try:
            rv = super().main(argv, prog_name or "salesxl", complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else EXIT_OK
        except typer.Abort:
            typer.echo(cli_line("aborted", lang), err=True)
            code = EXIT_ABORTED
        except typer.TyperException as exc:       # click's usage errors and bad parameters
            code = getattr(exc, "exit_code", EXIT_USAGE)
            ctx = getattr(exc, "ctx", None)
            path = getattr(exc, "command_path", None) or (ctx.command_path if ctx is not None else "salesxl")
            command = _command_of(path, argv)
            message = exc.format_message() if lang == "en" else _click_text(exc, lang) or exc.format_message()
            if JSON_FLAG in argv:
                _emit_json(command, {"error": "usage", "message": message, "counts": {"error": 0, "warning": 0}})
                code = EXIT_USAGE
            elif type(exc).__name__ != "NoArgsIsHelpError":   # (that one has printed the help)
                typer.echo(usage_line("frame", lang, message=message, path=path), err=True)
        finally:
            _USAGE_LANG.reset(token)
        if standalone_mode:
            sys.exit(code)
        return code


class UsageProblem(typer.TyperException):
    """Arguments that do not go together (exit 2); the message names the fix (`_say`: in the usage
    language)."""

    exit_code = EXIT_USAGE
    command_path: str | None = None


# The language of the usage errors (i18n.usage_language): set by _Cli.main for the run of a command line.
_USAGE_LANG: contextvars.ContextVar[str | None] = contextvars.ContextVar("usage_lang", default=None)


def _usage_lang() -> str:
    return _USAGE_LANG.get() or usage_language(sys.argv[1:], os.environ)


def _say(key: str, /, **kw) -> str:
    """One of salesxl's usage-error messages (i18n.USAGE), in the usage language."""
    return usage_line(key, _usage_lang(), **kw)


def _or(items) -> str:
    """"a or b", in the usage language."""
    return usage_line("or", _usage_lang()).join(items)


def _unquoted(text: str) -> str:
    """click's English hint ('-o' / '--output') as French names options: bare (-o / --output)."""
    return re.sub(r"'([^']*)'", r"\1", text)


def _click_text(exc, lang: str) -> str | None:
    """A usage error of click's in `lang`, from the template of its kind (i18n.USAGE): the exception's
    attributes when it has them (NoSuchOption, MissingParameter, BadParameter), else its English text
    recognised by the English template (i18n.CLICK_TEXTS); None for a kind not declared (its text is
    then kept as click wrote it). Ours (UsageProblem) are already in the usage language."""
    kinds = {c.__name__ for c in type(exc).__mro__}
    if isinstance(exc, UsageProblem) or "UsageError" not in kinds:
        return None
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None)
    if hint is None and param is not None:
        hint = param.get_error_hint()
    elif hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(h) for h in hint)
    hint = hint if lang == "en" or hint is None else _unquoted(hint)
    if "MissingParameter" in kinds:
        kind = exc.param_type or getattr(param, "param_type_name", None) or "parameter"
        if exc.message or f"missing_{kind}" not in i18n.USAGE or not hint:
            return None
        return usage_line(f"missing_{kind}", lang, hint=hint)
    if "BadParameter" in kinds:
        message = _value_text(exc, lang) or exc.message
        return usage_line("invalid_value_for", lang, hint=hint, message=message) if hint else \
            usage_line("invalid_value", lang, message=message)
    if "NoSuchOption" in kinds:
        if exc.message != usage_line("no_such_option", "en", option=exc.option_name):
            return None
        text = usage_line("no_such_option", lang, option=exc.option_name)
        return usage_line("possible_options", lang, message=text, options=", ".join(sorted(exc.possibilities))) \
            if exc.possibilities else text
    return _parsed_text(exc.message, lang)


def _parsed_text(text: str, lang: str) -> str | None:
    """A click message that is only text, in `lang`: the declared kind whose English template it matches."""
    for key in i18n.CLICK_TEXTS:
        fields = _match(i18n.USAGE[key]["en"], text)
        if fields is None:
            continue
        if key == "did_you_mean":
            first = _parsed_text(fields["message"], lang)
            if first is None:
                continue
            names = fields["names"] if lang == "en" else re.sub(r"'([^']*)'", "« \\1 »", fields["names"])
            return usage_line(key, lang, message=first, names=names)
        return usage_line(key, lang, **fields)
    return None


def _match(template: str, text: str) -> dict | None:
    """The fields of `template` in `text` when the text is the template filled ({x!r}: a quoted value)."""
    pattern = ""
    for literal, field, _spec, conversion in string.Formatter().parse(template):
        pattern += re.escape(literal)
        if field is not None:
            pattern += f"'(?P<{field}>[^']*)'" if conversion == "r" else f"(?P<{field}>.+?)"
    m = re.fullmatch(pattern, text, re.S)
    return m.groupdict() if m else None


def _value_text(exc, lang: str) -> str | None:
    """A value refused by click's types (pydantic's first error, by its type) in `lang`."""
    errors = getattr(exc.__cause__, "errors", None)
    try:
        first = errors()[0] if callable(errors) else None
    except (IndexError, TypeError):
        return None
    key = f"value_{first['type']}" if first else None
    if key not in i18n.USAGE:
        return None
    ctx = {k: int(v) if isinstance(v, float) and v.is_integer() else v       # 1.0 written 1, as pydantic does
           for k, v in (first.get("ctx") or {}).items()}
    try:
        return usage_line(key, lang, **ctx)
    except (KeyError, IndexError):
        return None


def _command_of(path: str, argv) -> str:
    """The command's name for the JSON envelope ("validate", "addin build"), from the command path of
    an error ("salesxl validate"), else from the arguments."""
    words = path.split()[1:]
    return " ".join(words) if words else next((a for a in argv if not a.startswith("-")), "salesxl")


app = typer.Typer(cls=_Cli, name="salesxl", add_completion=False, no_args_is_help=True,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="salesxl: planning, reporting, pipeline and end-of-period reviews in Excel.")
addin_app = typer.Typer(cls=_Cli, no_args_is_help=True, help="The Excel add-in (salesxl.xlam).")
app.add_typer(addin_app, name="addin")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"salesxl {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print the version and exit.")) -> None:
    """salesxl: planning, reporting, pipeline and end-of-period reviews in Excel."""


# Options shared by the data commands (one help text each)
HELP_JSON = "Machine-readable result on stdout (docs/json.md)."
HELP_AS_OF = "As-of date: YYYY-MM-DD, day/month/year or 'today' (default: Settings, else today)."
HELP_LANG = ("Language of the messages: en or fr (default: that of most inputs; a tie: en; a usage error: "
             "the locale's).")
HELP_SEED = "Random seed of the Monte Carlo (same seed, same figures)."
HELP_SIMULATIONS = "Monte Carlo draws, 100 to 100,000 (default 10,000)."
HELP_INPUTS = "Rep workbooks, folders or globs."
HELP_ENGINE = "calamine (fast, the default when installed) or openpyxl; either falls back on the other."
HELP_RECURSIVE = "Read the subfolders of a folder input too (default: its own files only)."
HELP_TEAM_WORKBOOKS = "Read a salesxl team workbook among the inputs as a rep's (default: skipped)."
HELP_WAIT = "Seconds to wait for another run (or program) using the same output or history (default 10)."
HELP_READ_HISTORY = "SQLite history store to read (as consolidate does; never written by this command)."


def _as_of(value: Optional[str], option: str = "--as-of") -> Optional[dt.date]:
    if value is None:
        return None
    if value.strip().lower() == "today":
        return dt.date.today()
    p = parse_date(value)
    if p.value is None:
        raise typer.BadParameter(_say("bad_date", value=value), param_hint=option)
    return p.value


def _lang(value: Optional[str]) -> Optional[str]:
    if value is not None and value not in ("en", "fr"):
        raise typer.BadParameter(_say("choose_lang", value=value))
    return value


def _engine(value: Optional[str]) -> Optional[str]:
    from salesxl.consolidate import ENGINES
    if value is not None and value not in ENGINES:
        raise typer.BadParameter(_say("choose", value=value, choices=_or(ENGINES)))
    if value == "calamine":
        from salesxl.io.read_xlsx import calamine_installed
        if not calamine_installed():
            raise typer.BadParameter(_say("calamine_missing"))
    return value


def _lang_option(help: str = HELP_LANG):
    return typer.Option("--lang", callback=_lang, metavar="en|fr", help=help)


def _as_of_option(help: str = HELP_AS_OF):
    return typer.Option("--as-of", metavar="DATE", help=help)


def _history_option(help: str = HELP_READ_HISTORY):
    return typer.Option("--history", metavar="FILE", help=help)


# The options the data commands share, each declared once (typer's Annotated form: a command writes
# `as_of: AsOf = None`). A command's parameters named as RunOptions' fields (salesxl.consolidate) make
# its run options: see _run_choices.
Inputs = Annotated[List[str], typer.Argument(metavar="INPUT...", help=HELP_INPUTS)]
AsJson = Annotated[bool, typer.Option(JSON_FLAG, help=HELP_JSON)]
AsOf = Annotated[Optional[str], _as_of_option()]
Lang = Annotated[Optional[str], _lang_option()]
Engine = Annotated[Optional[str], typer.Option("--engine", callback=_engine, metavar="ENGINE", help=HELP_ENGINE)]
Recursive = Annotated[bool, typer.Option("--recursive", help=HELP_RECURSIVE)]
TeamWorkbooks = Annotated[bool, typer.Option("--team-workbooks", help=HELP_TEAM_WORKBOOKS)]
Seed = Annotated[Optional[int], typer.Option("--seed", metavar="N", help=HELP_SEED)]
Simulations = Annotated[Optional[int], typer.Option("--simulations", min=100, max=100_000, metavar="N",
                                                    help=HELP_SIMULATIONS)]
ReadHistory = Annotated[Optional[Path], _history_option()]
Wait = Annotated[Optional[float], typer.Option("--wait", min=0, metavar="SECONDS", help=HELP_WAIT)]


def _run_choices(params: Mapping[str, Any]) -> dict:
    """The run options a command was given, from its parameters (`locals()` on entry) named as
    RunOptions' fields: the keywords of `run_options` and of `consolidate()`, the as-of date parsed. A
    field the command has no option for keeps RunOptions' default (e.g. `workers`: one reader process
    per core when there are several files)."""
    from salesxl.consolidate import RunOptions
    choices = {f.name: params[f.name] for f in dataclasses.fields(RunOptions) if f.name in params}
    if "as_of" in choices:
        choices["as_of"] = _as_of(choices["as_of"])
    return choices


_json_out: list = []            # where the JSON goes while stdout is sent to stderr (see _json_only)


def _emit_json(command: str, data: dict) -> None:
    """The JSON of `command` on stdout (the real one, see _json_only), after the contract's version and
    the command's name."""
    from salesxl.io.outputs import display
    out = _json_out[-1] if _json_out else sys.stdout
    body = {"schema_version": SCHEMA_VERSION, "command": command, **data}
    out.write(display(json.dumps(body, ensure_ascii=False, indent=2, default=str)) + "\n")
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
    """One line on stderr naming the fix, or the JSON usage error under --json (see _Cli.main): exit 2.
    `message` in the usage language (_say, or a library refusal given _usage_lang())."""
    raise UsageProblem(message)


def _say_errors(code: int, files: list, lang: str, issues_of=lambda f: f["issues"]) -> None:
    """On exit 1, one line on stderr in the run's language: how many errors in how many files."""
    if code != EXIT_ISSUES:
        return
    errors = [sum(1 for i in issues_of(f) if _severity(i) == ERROR) for f in files]
    typer.echo(cli_line("exit_1", lang, errors=counted(sum(errors), "error", lang),
                        bad=sum(1 for e in errors if e), files=counted(len(files), "file", lang)), err=True)


def _summary(counts: dict, files: int, lang: str) -> str:
    """"N errors, M warnings in K files", in the run's language."""
    return cli_line("summary", lang, errors=counted(counts["error"], "error", lang),
                    warnings=counted(counts["warning"], "warning", lang), files=counted(files, "file", lang))


def _severity(issue) -> str:
    return issue["severity"] if isinstance(issue, dict) else issue.severity


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


def _validated(inputs, lang, day, engine, label: str, as_json: bool, recursive: bool = False):
    """Each input validated as `consolidate` reads it (a progress bar on a terminal): the same input
    expansion and run language (`consolidate.input_paths`), the same guarded readers (`read_files`: reader
    processes for several files, this process for one). (per-file results, notes, the run's language:
    --lang, else the majority language of the inputs, every message in it)."""
    from salesxl.consolidate import input_paths, read_files, reader_options, run_options
    opts = run_options(engine=engine, lang=lang, as_of=day, recursive=recursive)   # (options checked by their callbacks)
    paths, notes, opts = input_paths(inputs, opts)
    results = []
    with _progress_bar(label, as_json) as progress, read_files(paths, reader_options(opts, paths)) as reads:
        for n, (path, res) in enumerate(reads, start=1):
            results.append(res)
            if progress is not None:
                progress(n, len(paths), path)
    return results, notes, opts.lang


def _files_report(results, notes) -> dict:
    """The JSON of what validation found: each file's status and issues, the notes, the counts."""
    return {"files": [{"path": v.path, "status": getattr(v, "status", None) or file_status(v.issues),
                       "issues": [i.to_dict() for i in v.issues]} for v in results],
            "notes": [i.to_dict() for i in notes],
            "counts": count(list(notes) + [i for v in results for i in v.issues])}


NO_USABLE_INPUT = "no usable input"


# consolidate's reasons for writing nothing, besides "no usable input": the key of its i18n.CLI line
_NOTHING_WRITTEN = {"no input workbook": "no_input_workbook"}


def _no_usable_input(command: str, report: dict, as_json: bool, message: str | None = None, lang: str = "en"):
    """The one shape of "no usable input" (exit 2): under --json the files' issues as JSON with
    `"error": "no usable input"` (its message in English), else one line on stderr after the files'
    issues, in the run's language. `message`: the key of an i18n.CLI line saying why, else the files
    say it."""
    files = report.get("files") or []

    def said(lang: str) -> str:
        if message:
            return cli_line(message, lang)
        if not files:
            return cli_line("no_match", lang)
        return cli_line("one_unread", lang) if len(files) == 1 else \
            cli_line("none_read", lang, files=counted(len(files), "file", lang))
    if as_json:
        _emit_json(command, {"error": NO_USABLE_INPUT, "message": said("en"), **report})
    else:
        typer.echo(cli_line("no_usable_input", lang, message=said(lang)), err=True)
    raise typer.Exit(EXIT_USAGE)


# ---------------------------------------------------------------------------------------------
@app.command()
def template(output: Path = typer.Option(..., "-o", "--output", metavar="FILE.xlsx", help="The .xlsx file to write."),
             lang: Annotated[str, _lang_option("Language of the sheets, headers and lists.")] = "en",
             rep: Optional[str] = typer.Option(None, "--rep", metavar="NAME", help="Pre-fill for this rep."),
             seniority: Optional[str] = typer.Option(None, "--seniority", metavar="LEVEL",
                                                     help="junior, confirmed or senior (sets the period length)."),
             period_start: Optional[str] = typer.Option(None, "--period-start", metavar="DATE",
                                                        help="First day of the rep's period (with --period-end)."),
             period_end: Optional[str] = typer.Option(None, "--period-end", metavar="DATE",
                                                      help="Last day of the rep's period (with --period-start)."),
             team: bool = typer.Option(False, "--team",
                                       help="The manager's team workbook: Settings name an inbox and an outbox "
                                            "folder (created beside it), the Reps table lists --reps."),
             reps: Optional[str] = typer.Option(None, "--reps", metavar="NAMES",
                                                help='With --team: the reps, comma-separated ("Ann Lee,Bob Roy").'),
             inbox: Optional[str] = typer.Option(None, "--inbox", metavar="FOLDER",
                                                 help="With --team: where reps' workbooks arrive (default inbox, "
                                                      "French reception), relative to the workbook."),
             outbox: Optional[str] = typer.Option(None, "--outbox", metavar="FOLDER",
                                                  help="With --team: where New period writes the reps' workbooks "
                                                       "(default outbox, French envoi).")) -> None:
    """Write an empty salesxl workbook: a rep's (--rep) or the team's (--team).

    Examples: salesxl template --lang fr --rep "Claire Martin" --period-start 2026-12-01 --period-end 2026-12-31 -o claire.xlsx
              salesxl template --team --reps "Ann Lee,Bob Roy" -o team.xlsx
    """
    if team or reps or inbox or outbox:
        _team_template(output, lang, team, rep, seniority, period_start, period_end, reps, inbox, outbox)
        return
    from salesxl.contract import SENIORITY
    from salesxl.io.template import write_template
    start, end = _as_of(period_start, "--period-start"), _as_of(period_end, "--period-end")
    if (start is None) != (end is None):
        raise UsageProblem(_say("both_period_bounds"))
    if start is not None and end < start:
        raise typer.BadParameter(_say("end_before_start", end=end.isoformat(), start=start.isoformat()),
                                 param_hint="--period-end")
    if seniority is not None:
        item = SENIORITY.lookup().get(label_key(seniority))
        if item is None:
            raise typer.BadParameter(_say("choose", value=seniority,
                                          choices=", ".join(i.label(_usage_lang()) for i in SENIORITY.items)),
                                     param_hint="--seniority")
        seniority = item.key
    if (rep is None) and (seniority is not None or start is not None):
        raise UsageProblem(_say("rep_needed"))
    write_template(output, lang, rep=rep, period_start=start, period_end=end, seniority=seniority)
    typer.echo(cli_line("wrote", lang, path=output))


TEAM_FOLDERS = {"en": ("inbox", "outbox"), "fr": ("reception", "envoi")}
_FOLDER_LABELS = {"inbox": {"en": "inbox", "fr": "dossier de réception"},
                  "outbox": {"en": "outbox", "fr": "dossier d'envoi"}}


def _team_template(output, lang, team, rep, seniority, period_start, period_end, reps, inbox, outbox) -> None:
    """`template --team`: the team workbook, its inbox and outbox folders created beside it."""
    from salesxl.io.template import write_template
    if not team:
        raise UsageProblem(_say("team_only"))
    if rep or seniority or period_start or period_end:
        raise UsageProblem(_say("team_not_rep"))
    from salesxl.folders import outbox_is_inbox, setting_folder
    names = _names(reps) if reps is not None else []
    folders, paths = {}, {}         # the Settings' texts; the folders they name (salesxl.folders' rules)
    for key, value, default in (("inbox", inbox, TEAM_FOLDERS[lang][0]), ("outbox", outbox, TEAM_FOLDERS[lang][1])):
        folder = setting_folder(value or default, lambda: output.parent)
        if folder is None:
            raise UsageProblem(_say("folder_name", key=key))
        folders[key], paths[key] = (value or default).strip(), folder
    if outbox_is_inbox(paths["outbox"], paths["inbox"]):
        raise UsageProblem(_say("two_folders"))
    write_template(output, lang, rows={"reps": [{"rep": n} for n in names]}, settings=folders)
    made = []
    for key in ("inbox", "outbox"):
        folder = paths[key]
        folder.mkdir(parents=True, exist_ok=True)
        made.append(f"{i18n.pick(_FOLDER_LABELS[key], lang)} {folder}")
    typer.echo(cli_line("wrote_what", lang, path=output,
                        what=cli_line("reps_folders", lang, reps=counted(len(names), "rep", lang),
                                      folders=", ".join(made))))


def _names(text: str) -> list[str]:
    """A comma-separated list of names, each once; a usage error names an empty or repeated one."""
    names = [n.strip() for n in text.split(",")]
    if not any(names):
        raise typer.BadParameter(_say("no_name"), param_hint="--reps")
    seen = {}
    for i, n in enumerate(names, start=1):
        if not n:
            raise typer.BadParameter(_say("empty_name", n=i, total=len(names)), param_hint="--reps")
        if label_key(n) in seen:
            raise typer.BadParameter(_say("name_twice", name=n, first=seen[label_key(n)]), param_hint="--reps")
        seen[label_key(n)] = n
    return names


@app.command()
@_json_only
def validate(inputs: Inputs, as_json: AsJson = False, as_of: AsOf = None, lang: Lang = None, engine: Engine = None,
             recursive: Recursive = False,
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
    report = _files_report(results, notes)
    if annotate is not None:
        from salesxl.io.annotate import AnnotateError, annotate_validated
        try:                            # what the readers read and validated: no file read again
            done = annotate_validated(results, annotate)
        except AnnotateError as exc:
            _usage_error(_say("annotate", detail=exc.say(_usage_lang())), as_json)
        done = list(done)
        report["annotated"] = [a.to_dict() for a in done]
    code = exit_code(f["status"] for f in report["files"])
    if as_json:
        if code == EXIT_USAGE:
            _no_usable_input("validate", report, as_json, lang=lang)
        _emit_json("validate", report)
    else:
        for made in (done if annotate is not None else ()):
            typer.echo(cli_line("annotated", lang, path=made.source, output=made.output,
                                what=f"{counted(made.cells, 'cell_marked', lang)}, {counted(made.notes, 'note', lang)}")
                       if not made.error else cli_line("no_annotated_copy", lang, path=made.source,
                                                       detail=made.why(lang)))
        for i in notes:
            typer.echo(format_issue(i))
        for v in results:
            for i in v.issues:
                typer.echo(format_issue(i))
            typer.echo(f"{v.path}: {cli_status(file_status(v.issues), lang)}")
        typer.echo(_summary(report["counts"], len(results), lang))
        if code == EXIT_USAGE:
            _no_usable_input("validate", report, as_json, lang=lang)
    _say_errors(code, report["files"], lang)
    raise typer.Exit(code)


def _prepared(inputs, choices: dict, history, as_json: bool, label: str, wait=None, output: Path | None = None):
    """The consolidation's stages 1–3 on the inputs with the run options `choices` (_run_choices), as
    salesxl.consolidate.prepare runs them: the files read as `salesxl consolidate` reads them (one reader
    process per core when several files), the same figures for the same inputs and day; exit 2 when
    nothing is usable (the files' issues on stderr, or as JSON under --json), when the output is an input
    or the history is missing."""
    from salesxl.consolidate import prepare, run_options
    from salesxl.io.outputs import LOCK_WAIT
    if output is not None:
        from salesxl.io.outputs import OutputRefused, check_outputs
        try:                            # (the history read here is an input: never the output)
            check_outputs(list(inputs) + ([history] if history else []), output, None, _usage_lang())
        except OutputRefused as exc:
            _usage_error(str(exc), as_json)
    if history is not None and not Path(history).is_file():      # read, never created: said as backtest says it
        raise UsageProblem(_say("no_history", path=history))
    opts = run_options(**choices)           # (engine and language checked by their options' callbacks)
    try:
        with _progress_bar(label, as_json) as progress:
            prep = prepare(inputs, opts, history=history, progress=progress,
                           wait=LOCK_WAIT if wait is None else wait)
    except (OSError, RuntimeError) as exc:
        _usage_error(str(exc), as_json)
    if prep.plan is None:
        prep.close()
        if not as_json:
            for f in prep.files:
                for i in f.issues:
                    typer.echo(format_issue(i), err=True)
        _no_usable_input(label, _files_report(prep.files, prep.notes), as_json, lang=prep.ingested.lang)
    return prep


@app.command()
@_json_only
def forecast(inputs: Inputs, as_json: AsJson = False, as_of: AsOf = None, lang: Lang = None, seed: Seed = None,
             simulations: Simulations = None, engine: Engine = None, recursive: Recursive = False,
             team_workbooks: TeamWorkbooks = False, history: ReadHistory = None, wait: Wait = None) -> None:
    """Forecast each rep's current period: won, weighted open, P10/P50/P90, P(reach), risk, plan vs done.

    Example: salesxl forecast team.xlsx --as-of 2026-11-20 --json
    """
    with _prepared(inputs, _run_choices(locals()), history, as_json, "forecast", wait) as prep:
        fc = prep.forecast()
    report = _files_report(prep.files, prep.notes)
    code = exit_code(f.status for f in prep.files)
    if as_json:
        _emit_json("forecast", {**fc.to_dict(), **report})
    else:
        typer.echo(format_forecast(fc, prep.ingested.lang))
    _say_errors(code, report["files"], prep.ingested.lang)
    raise typer.Exit(code)


def format_forecast(fc: TeamForecast, lang: str) -> str:
    from salesxl.forecast import team_rows
    from salesxl.review import risk_label
    from salesxl.values import format_amount, format_percent
    head = tuple(i18n.CLI["forecast_head"]["fr" if lang == "fr" else "en"])
    rows = [head]
    for r in fc.reps:
        rows.append((r.rep, f"{r.period_start}..{r.period_end}", format_amount(r.objective, lang),
                     format_amount(r.won, lang), format_amount(r.forecast, lang), format_amount(r.p10, lang),
                     format_amount(r.p50, lang), format_amount(r.p90, lang), format_percent(r.p_reach, lang),
                     risk_label(r.risk, lang)))
    labels = {"team": cli_line("team", lang), "overall": cli_line("overall", lang)}
    for kind, tm in team_rows(fc.team):      # per period-length group, then overall
        group = tm.get("group")
        group = cli_line("group_" + group, lang) if ("group_" + str(group)) in i18n.CLI else group
        rows.append((labels.get(kind) or cli_line("team_group", lang, group=group), "", format_amount(tm["objective"], lang),
                     format_amount(tm["won"], lang), format_amount(tm["forecast"], lang),
                     format_amount(tm["p10"], lang), format_amount(tm["p50"], lang), format_amount(tm["p90"], lang),
                     format_percent(tm["p_reach"], lang), risk_label(tm["risk"], lang)))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(0, cli_line("as_of", lang, date=fc.as_of.isoformat()))
    return "\n".join(line.rstrip() for line in lines)


@app.command()
@_json_only
def review(inputs: Inputs,
           output: Path = typer.Option(..., "-o", "--output", metavar="FILE.xlsx",
                                       help="The review workbook to write (never a source)."),
           as_of: AsOf = None, lang: Lang = None, seed: Seed = None, simulations: Simulations = None,
           as_json: AsJson = False, engine: Engine = None, recursive: Recursive = False,
           team_workbooks: TeamWorkbooks = False, history: ReadHistory = None, wait: Wait = None) -> None:
    """Write one end-of-period review sheet per rep, with the Forecast and Issues sheets, to a new workbook.

    Example: salesxl review alice.xlsx bob.xlsx --lang fr -o entretiens.xlsx
    """
    from salesxl.io.outputs import OutputLocked, locked
    from salesxl.review import risk_label
    with _prepared(inputs, _run_choices(locals()), history, as_json, "review", wait, output=output) as prep:
        try:
            with locked([output], wait, _usage_lang()):
                made = prep.write(output)
        except OutputLocked as exc:
            _usage_error(str(exc), as_json)
    fc, out_lang = made.team_forecast(), prep.ingested.lang
    report = _files_report(prep.files, prep.notes)
    code = exit_code(f.status for f in prep.files)
    if as_json:
        _emit_json("review", {"output": str(output), "reviews": [name for name, _ in made.sheets], **fc.to_dict(),
                              **report})
    else:
        for name, risk in made.sheets:
            typer.echo(f"{name}: {risk_label(risk, out_lang)}")
        typer.echo(cli_line("wrote", out_lang, path=output))
    _say_errors(code, report["files"], out_lang)
    raise typer.Exit(code)


@app.command()
@_json_only
def consolidate(inputs: Inputs,
                output: Path = typer.Option(..., "-o", "--output", metavar="FILE.xlsx",
                                            help="The team workbook to write."),
                as_json: AsJson = False, as_of: AsOf = None,
                lang: Annotated[Optional[str], _lang_option("Language of the team workbook and messages (default: "
                                                            "that of most inputs; a tie: en).")] = None,
                engine: Engine = None, recursive: Recursive = False, team_workbooks: TeamWorkbooks = False,
                workers: Optional[int] = typer.Option(None, "--workers", min=0, metavar="N",
                                                      help="Reader processes (default: one per core; 0: none)."),
                history: Annotated[Optional[Path], _history_option("SQLite history store (default: "
                                                                   "<output>.history.sqlite).")] = None,
                seed: Seed = None, simulations: Simulations = None,
                timeout: Optional[float] = typer.Option(None, "--timeout", min=1, metavar="SECONDS",
                                                        help="Seconds allowed to read one file (default 120)."),
                wait: Wait = None) -> None:
    """Consolidate rep workbooks into the team workbook: tables with provenance, Issues, Forecast, reviews.

    Example: salesxl consolidate inbox/ -o team.xlsx --as-of 2026-11-20 --json
    """
    from salesxl.consolidate import consolidate as run
    choices = _run_choices(locals())
    try:
        with _progress_bar("consolidate", as_json) as progress:
            result = run(inputs, output, **choices, history=history, progress=progress, wait=wait,
                         refusal_lang=_usage_lang())
    except (OSError, RuntimeError, ValueError) as exc:
        _usage_error(str(exc), as_json)
    data = result.to_dict() if as_json or result.exit_code == EXIT_USAGE else None
    if as_json and result.exit_code != EXIT_USAGE:
        _emit_json("consolidate", data)
    elif not as_json:
        for i in result.notes:
            typer.echo(format_issue(i))
        for f in result.files:
            for i in f.issues:
                if i.severity == ERROR or i.code in FILE_LEVEL_CODES or f.status == "duplicate":
                    typer.echo(format_issue(i))
            typer.echo(f"{f.path}: {cli_status(f.status, result.lang)}")
        counts = result.counts
        typer.echo(f"{_summary(counts, len(result.files), result.lang)} "
                   f"({', '.join(counted(n, 'status_' + s, result.lang) for s, n in counts['files'].items() if n)})")
        if result.output:
            reviews = counted(len(result.forecast.reps) if result.forecast else 0, "review", result.lang)
            typer.echo(cli_line("wrote_what", result.lang, path=result.output,
                                what=cli_line("reviews_issues", result.lang, reviews=reviews)))
    if result.exit_code == EXIT_USAGE:
        _no_usable_input("consolidate", {k: data[k] for k in ("files", "notes", "counts")}, as_json,
                         None if result.error in (None, NO_USABLE_INPUT) else _NOTHING_WRITTEN[result.error],
                         lang=result.lang)
    _say_errors(result.exit_code, result.files, result.lang, lambda f: f.issues)
    raise typer.Exit(result.exit_code)


@app.command("new-period")
@_json_only
def new_period(team: Path = typer.Argument(..., metavar="TEAM.xlsx",
                                           help="The team workbook (salesxl template --team); rows are added to it."),
               outbox: Optional[Path] = typer.Option(None, "--outbox", metavar="FOLDER",
                                                     help="Folder for each rep's workbook of the new period "
                                                          "(default: the workbook's Outbox folder setting)."),
               output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="FILE.xlsx",
                                                     help="Write the updated team workbook here, not over TEAM.xlsx."),
               as_json: AsJson = False, as_of: AsOf = None, lang: Lang = None) -> None:
    """Start each rep's next period, as the New period button: Objectives and Planning rows added to the
    team workbook, and one workbook per rep in the outbox. Reps already planned are left as they are.

    Example: salesxl new-period team.xlsx --outbox outbox/ --as-of 2026-11-30
    """
    from salesxl.io.read_xlsx import detect_lang, read_workbook, validate_workbook
    from salesxl.io.annotate import AnnotateError
    from salesxl.io.team_file import append_rows, write_rep_workbooks
    from salesxl.folders import outbox_is_inbox, setting_folder
    from salesxl.rollover import plan_rollover
    if not team.is_file():
        raise UsageProblem(_say("not_a_file", path=team))
    wb = read_workbook(team, lang=lang)
    v = validate_workbook(wb, as_of=_as_of(as_of))
    report = {"files": [{"path": str(team), "status": file_status(v.issues), "issues": [i.to_dict() for i in v.issues]}],
              "notes": [], "counts": count(v.issues)}
    if not wb.readable:
        _no_usable_input("new-period", report, as_json, lang=lang or "en")
    book_lang = detect_lang(wb.sheets, wb.settings)
    plan = plan_rollover(v.tables, v.as_of, book_lang)
    base = team.resolve().parent
    box = outbox if outbox is not None else setting_folder(wb.settings.get("outbox"), lambda: base)
    if outbox_is_inbox(box, setting_folder(wb.settings.get("inbox"), lambda: base)):
        raise UsageProblem(_say("outbox_is_inbox", path=box))
    target = output or team
    added = {}
    if plan.reps:
        missing = [k for k in ("objectives", "planning") if k not in wb.tables]
        if missing:
            raise UsageProblem(_say("no_table", path=team, tables=_or(_table_label(k) for k in missing)))
        try:
            added = append_rows(team, target, wb.tables, {k: plan.rows(k) for k in ("objectives", "planning")},
                                book_lang)
        except AnnotateError as exc:
            raise UsageProblem(_say("cannot_take_rows", path=team, detail=exc.say(_usage_lang()))) from None
    written, existing = (write_rep_workbooks(plan, box, book_lang, wb.settings) if box is not None and plan.reps
                         else ([], []))
    code = exit_code([report["files"][0]["status"]])
    say = lang or book_lang
    if as_json:
        _emit_json("new-period", {"team": str(team), "output": str(target) if added else None,
                                  "as_of": v.as_of.isoformat(), "reps": [r.to_dict() for r in plan.reps],
                                  "skipped": plan.skipped, "outbox": str(box) if box is not None else None,
                                  "written": [str(p) for p in written], "existing": [str(p) for p in existing],
                                  "issues": report["files"][0]["issues"], "counts": report["counts"]})
    else:
        for r in plan.reps:
            what = f"{counted(len(r.objectives), 'objective', say)}, {counted(len(r.planning), 'planning_row', say)}"
            typer.echo(cli_line("next_period", say, rep=r.rep, start=r.period_start.isoformat(),
                                end=r.period_end.isoformat(), what=what))
        for s in plan.skipped:
            reason = cli_line(s["reason"], say) if s["reason"] in ("already_planned", "no_period") else s["reason"]
            typer.echo(cli_line("left_as_is", say, rep=s["rep"], reason=reason))
        if added:
            typer.echo(cli_line("wrote_what", say, path=target, what=counted(sum(added.values()), "row_added", say)))
        else:
            typer.echo(cli_line("nothing_to_add", say, path=target))
        if written:
            typer.echo(cli_line("rep_workbooks_in", say, what=counted(len(written), "rep_workbook", say), folder=box))
        for p in existing:
            typer.echo(cli_line("already_there", say, path=p))
        if box is None and plan.reps:
            typer.echo(cli_line("no_outbox", say))
    _say_errors(code, report["files"], say)
    raise typer.Exit(code)


def _table_label(key: str) -> str:
    from salesxl.contract import TABLES
    return TABLES[key].sheet(_usage_lang())


@app.command()
@_json_only
def backtest(history: Path = typer.Option(..., "--history", metavar="FILE",
                                          help="The SQLite history store to replay."),
             as_json: AsJson = False,
             lang: Annotated[Optional[str], _lang_option("en or fr (default en).")] = None,
             seed: Seed = None,
             simulations: Optional[int] = typer.Option(None, "--simulations", min=100, metavar="N",
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
        raise UsageProblem(_say("no_history", path=history))
    try:
        conn = hist.open_history(history)
        try:
            rows, periods = hist.learning_rows(conn), hist.period_rows(conn)
        finally:
            conn.close()
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        raise UsageProblem(hist.explain(exc, history, None, _usage_lang())) from None
    bt = run(rows, periods, simulations=simulations or DEFAULT_SIMULATIONS,
             seed=seed if seed is not None else DEFAULT_SEED)
    if as_json:
        _emit_json("backtest", {"history": str(history), **bt.to_dict(), "counts": {"error": 0, "warning": 0}})
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


def format_backtest(bt: Backtest, path: str, lang: str) -> str:
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
def demo(output: Path = typer.Option(Path("demo_out"), "-o", "--output", metavar="FOLDER",
                                     help="Folder for the demo files."),
         lang: Annotated[str, _lang_option("Language of the team workbook.")] = "en",
         as_of: Annotated[Optional[str], _as_of_option("As-of date: YYYY-MM-DD, day/month/year or 'today' "
                                                       "(default 2026-11-20).")] = None,
         no_addin: bool = typer.Option(False, "--no-addin", help="Skip building the add-in.")) -> None:
    """Run the whole job on a built-in sample team: rep workbooks, history, team workbook, add-in.

    Example: salesxl demo -o demo_out --lang fr
    """
    from salesxl.addin_build import AddinBuildError
    from salesxl.demo import describe, run_demo
    try:
        result = run_demo(output, lang=lang, as_of=_as_of(as_of), build_addin=not no_addin)
    except AddinBuildError as exc:      # the add-in comes last: the rest is written; one line, as `addin build`
        typer.echo(cli_line("addin_not_built", _usage_lang(), reason=exc.say(_usage_lang())), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(describe(result, lang))


@addin_app.command("build")
def addin_build(output: Path = typer.Option(Path("dist"), "-o", "--output", metavar="FOLDER",
                                            help="Folder for salesxl.xlam."),
                interpreter_win: Optional[str] = typer.Option(
                    None, "--interpreter-win", metavar="PATH",
                    help="pythonw.exe of the environment where salesxl is installed, on the Windows machines."),
                interpreter_mac: Optional[str] = typer.Option(
                    None, "--interpreter-mac", metavar="PATH",
                    help="python of the environment where salesxl is installed, on the Macs."),
                no_interpreter: bool = typer.Option(
                    False, "--no-interpreter",
                    help="Leave the interpreter out: Excel then runs the first python on the PATH."),
                pythonpath: Optional[str] = typer.Option(None, "--pythonpath", metavar="FOLDERS",
                                                         help="Extra folders on Python's path (xlwings PYTHONPATH)."),
                lang: Annotated[str, _lang_option("Language of the ribbon.")] = "en") -> None:
    """Build the Excel add-in salesxl.xlam (SalesXL ribbon tab).

    Example: salesxl addin build -o dist --interpreter-win "C:\\salesxl\\.venv\\Scripts\\pythonw.exe"
    """
    from salesxl.addin_build import AddinBuildError, build_addin
    if not (interpreter_win or interpreter_mac or no_interpreter):
        raise UsageProblem(_say("which_python"))
    if no_interpreter and (interpreter_win or interpreter_mac):
        raise UsageProblem(_say("no_interpreter_alone"))
    try:
        path = build_addin(output, interpreter_win=interpreter_win, interpreter_mac=interpreter_mac,
                           pythonpath=pythonpath, lang=lang)
    except AddinBuildError as exc:      # one line, in the usage language; nothing written
        typer.echo(cli_line("addin_not_built", _usage_lang(), reason=exc.say(_usage_lang())), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(cli_line("wrote", lang, path=path))


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
