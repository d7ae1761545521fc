"""The `salesxl validate` and `salesxl template` commands (SPEC §6): output, JSON shape, exit codes."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import HANDBOOK_AS_OF, make_handbook_workbook, make_workbook
from salesxl.cli import app
from salesxl.io.read_xlsx import validate_file

ROOT = Path(__file__).resolve().parents[1]
D = dt.date
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def clean(tmp_path):
    return make_handbook_workbook(tmp_path)


@pytest.fixture
def messy(tmp_path):
    """Two problems: one error, one warning."""
    rows = {"pipeline": [
        dict(ref="P1", rep="Ann", company=None, amount=1000, probability=0.5, status="Open",
             decision_date=D(2003, 5, 10)),
        dict(ref="P2", rep="Ann", company="Beta", amount=500, probability="70%", status="Open",
             decision_date=D(2003, 5, 10)),
    ]}
    return make_workbook(tmp_path, "en", rows, name="messy.xlsx")


@pytest.fixture
def unreadable(tmp_path):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook\n")
    return empty, text


def test_clean_workbook_exit_0(clean):
    r = run("validate", clean, "--as-of", "2003-04-30")
    assert r.exit_code == 0, r.output
    # the handbook's workbook is French: the run's own lines are too (French: 0 and 1 are singular)
    assert r.output.splitlines() == [f"{clean}: ok", "0 erreur, 0 avertissement dans 1 fichier"]
    r = run("validate", clean, "--as-of", "2003-04-30", "--lang", "en")
    assert r.output.splitlines() == [f"{clean}: ok", "0 errors, 0 warnings in 1 file"]


def test_messy_workbook_exit_1_exact_lines(messy):
    r = run("validate", messy, "--as-of", "2003-04-30")
    assert r.exit_code == 1, r.output
    assert r.stdout.splitlines() == [
        f"{messy}:Pipeline:2:Company: error MISSING_VALUE Company is required and is empty.",
        f"{messy}:Pipeline:3:Probability: warning PROBABILITY_NORMALISED "
        f"Probability '70%' read as 70%; format the cell as a percentage.",
        f"{messy}: invalid",
        "1 error, 1 warning in 1 file",
    ]
    assert r.stderr.splitlines() == ["exit 1: 1 error in 1 of 1 file"]
    fr = run("validate", messy, "--as-of", "2003-04-30", "--lang", "fr")
    assert fr.stdout.splitlines()[-2:] == [f"{messy}: invalide", "1 erreur, 1 avertissement dans 1 fichier"]
    assert fr.stderr.splitlines() == ["code 1 : 1 erreur dans 1 sur 1 fichier"]


def test_messages_follow_lang_option(messy):
    r = run("validate", messy, "--as-of", "2003-04-30", "--lang", "fr")
    assert r.exit_code == 1
    assert f"{messy}:Pipeline:2:Company: error MISSING_VALUE Company est obligatoire et n'est pas renseigné." \
        in r.output.splitlines()


def test_warnings_only_exit_0(tmp_path):
    rows = {"pipeline": [dict(ref="P1", rep="Ann", company="A", amount=1000, probability=0.5, status="Open",
                              decision_date=D(2003, 4, 10))]}                # overdue: a warning
    path = make_workbook(tmp_path, "en", rows)
    r = run("validate", path, "--as-of", "2003-04-30")
    assert r.exit_code == 0
    assert "warning OVERDUE_PROPOSAL" in r.output and r.output.splitlines()[-2] == f"{path}: ok"


def test_all_unreadable_exit_2(unreadable):
    empty, text = unreadable
    r = run("validate", empty, text)
    assert r.exit_code == 2, r.output
    assert r.stdout.splitlines() == [
        f"{empty}: error FILE_EMPTY The file is empty (0 bytes).",
        f"{empty}: unreadable",
        f"{text}: error NOT_XLSX Not an Excel workbook (a plain text file).",
        f"{text}: unreadable",
        "2 errors, 0 warnings in 2 files",
    ]
    assert r.stderr.splitlines() == ["error: no usable input: none of the 2 files could be read"]


def test_no_input_matches_exit_2(tmp_path):
    r = run("validate", str(tmp_path / "nothing" / "*.xlsx"))
    assert r.exit_code == 2
    r = run("validate", str(tmp_path))               # an empty folder
    assert r.exit_code == 2
    r = run("validate", tmp_path / "missing.xlsx")    # a named file that does not exist
    assert r.exit_code == 2
    assert "FILE_NOT_FOUND" in r.output


def test_bad_arguments_exit_2(clean):
    assert run("validate").exit_code == 2
    assert run("validate", clean, "--as-of", "garbage").exit_code == 2
    assert run("validate", clean, "--lang", "de").exit_code == 2


def test_some_unreadable_some_fine_exit_1(unreadable, clean):
    empty, _ = unreadable
    r = run("validate", empty, clean, "--as-of", "2003-04-30")
    assert r.exit_code == 1, r.output
    # the run's language is that of its one readable (French) workbook
    assert f"{clean}: ok" in r.output.splitlines() and f"{empty}: illisible" in r.output.splitlines()
    r = run("validate", empty, clean, "--as-of", "2003-04-30", "--lang", "en")
    assert f"{empty}: unreadable" in r.output.splitlines()


def test_folder_and_glob_inputs(tmp_path):
    folder = tmp_path / "reps"
    folder.mkdir()
    a = make_handbook_workbook(folder, "a.xlsx")
    b = make_handbook_workbook(folder, "b.xlsx")
    (folder / "~$a.xlsx").write_bytes(b"lock")                  # Excel lock file: a note
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")          # a system file: ignored
    (folder / "readme.txt").write_text("x")                      # not a workbook: its own status
    (folder / "archive").mkdir()                                 # a subfolder: named, read with --recursive
    old = make_handbook_workbook(folder / "archive", "a_old.xlsx")
    r = run("validate", folder, "--json", "--as-of", "2003-04-30")
    data = json.loads(r.stdout)
    assert [(f["path"], f["status"]) for f in data["files"]] == [
        (str(a), "ok"), (str(b), "ok"), (str(folder / "readme.txt"), "unreadable")]
    assert [n["code"] for n in data["notes"]] == ["LOCK_FILE_SKIPPED", "SUBFOLDER_SKIPPED"]
    assert data["notes"][1]["file"] == str(folder / "archive")
    assert r.exit_code == 1
    r = run("validate", folder, "--recursive", "--json", "--as-of", "2003-04-30")
    assert str(old) in [f["path"] for f in json.loads(r.stdout)["files"]]
    r = run("validate", folder / "*.xlsx", "--json", "--as-of", "2003-04-30")
    data = json.loads(r.stdout)
    assert [f["path"] for f in data["files"]] == [str(a), str(b)]
    assert r.exit_code == 0


def test_json_shape(messy, clean, unreadable):
    empty, _ = unreadable
    r = run("validate", "--json", messy, clean, empty, "--as-of", "2003-04-30")
    assert r.exit_code == 1
    data = json.loads(r.stdout)                                   # nothing but JSON on stdout
    assert set(data) >= {"files", "counts"}
    assert data["counts"] == {"error": 2, "warning": 1}
    files = {Path(f["path"]).name: f for f in data["files"]}
    assert [Path(f["path"]).name for f in data["files"]] == ["messy.xlsx", "handbook_fr.xlsx", "empty.xlsx"]
    assert {n: f["status"] for n, f in files.items()} == {"messy.xlsx": "invalid", "handbook_fr.xlsx": "ok",
                                                          "empty.xlsx": "unreadable"}
    assert files["handbook_fr.xlsx"]["issues"] == []
    issue = files["messy.xlsx"]["issues"][0]
    assert issue == {"severity": "error", "code": "MISSING_VALUE", "file": str(messy), "sheet": "Pipeline",
                     "row": 2, "column": "Company", "value": None,
                     "message": "Company is required and is empty."}
    warn = files["messy.xlsx"]["issues"][1]
    assert (warn["severity"], warn["code"], warn["value"]) == ("warning", "PROBABILITY_NORMALISED", "70%")
    assert files["empty.xlsx"]["issues"][0]["code"] == "FILE_EMPTY"
    for f in data["files"]:
        for i in f["issues"]:
            assert set(i) >= {"severity", "code", "file", "sheet", "row", "column", "value", "message"}


def test_json_values_are_plain(tmp_path):
    """Dates in issue values are ISO text, numbers stay numbers."""
    rows = {"reporting": [dict(date=D(2003, 5, 5), rep="Ann", company="A", action="Visit", result="Proposal")],
            "pipeline": [dict(ref="P1", rep="Ann", company="A", amount=-5, probability=0.5, status="Open",
                              decision_date=D(2003, 5, 10))]}
    r = run("validate", "--json", make_workbook(tmp_path, "en", rows), "--as-of", "2003-04-30")
    issues = {i["code"]: i for i in json.loads(r.stdout)["files"][0]["issues"]}
    assert issues["FUTURE_DATE"]["value"] == "2003-05-05"
    assert issues["NEGATIVE_AMOUNT"]["value"] == -5


def test_as_of_defaults_to_settings(clean):
    """Without --as-of the Settings date is used: the handbook's April 2003 rows are not 'future'."""
    r = run("validate", "--json", clean)
    assert r.exit_code == 0
    assert json.loads(r.stdout)["counts"] == {"error": 0, "warning": 0}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_template_command_writes_a_clean_workbook(tmp_path, lang):
    out = tmp_path / "sub" / f"new_{lang}.xlsx"
    r = run("template", "--lang", lang, "-o", out)
    assert r.exit_code == 0, r.output
    assert r.output.strip() == (f"wrote {out}" if lang == "en" else f"écrit : {out}")
    assert validate_file(out).issues == []
    r = run("validate", out)
    assert r.exit_code == 0 and r.output.splitlines()[-1] == {"en": "0 errors, 0 warnings in 1 file",
                                                              "fr": "0 erreur, 0 avertissement dans 1 fichier"}[lang]


def test_template_needs_both_period_bounds(tmp_path):
    r = run("template", "-o", tmp_path / "x.xlsx", "--rep", "Ann", "--period-start", "2026-12-01")
    assert r.exit_code == 2
    assert not (tmp_path / "x.xlsx").exists()


def test_installed_script_subprocess(clean, messy):
    exe = Path(sys.executable).parent / "salesxl"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "salesxl"]
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    ok = subprocess.run(cmd + ["validate", str(clean)], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [f"{clean}: ok", "0 erreur, 0 avertissement dans 1 fichier"]
    bad = subprocess.run(cmd + ["validate", "--json", str(messy), "--as-of", "30/04/2003"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["counts"] == {"error": 1, "warning": 1}
    mod = subprocess.run([sys.executable, "-m", "salesxl", "validate", str(clean)], capture_output=True,
                         text=True, env=env, timeout=120, cwd=ROOT)
    assert mod.returncode == 0 and mod.stdout == ok.stdout


@pytest.mark.parametrize("command", ["forecast", "review"])
def test_no_usable_input_under_json_is_json(unreadable, tmp_path, command):
    """forecast/review --json with nothing usable: exit 2 and still JSON on stdout (what each file had)."""
    empty, text = unreadable
    extra = ["-o", tmp_path / "out.xlsx"] if command == "review" else []
    r = run(command, empty, text, "--json", *extra)
    assert r.exit_code == 2
    data = json.loads(r.stdout)
    assert data["error"] == "no usable input"
    assert [(f["path"], f["status"], [i["code"] for i in f["issues"]]) for f in data["files"]] == [
        (str(empty), "unreadable", ["FILE_EMPTY"]), (str(text), "unreadable", ["NOT_XLSX"])]
    assert data["counts"] == {"error": 2, "warning": 0}
    assert not (tmp_path / "out.xlsx").exists()


def test_progress_bar_on_a_terminal_only(clean, tmp_path, monkeypatch):
    """The data commands draw a progress bar on stderr when it is a terminal, never under --json."""
    import io
    import shutil

    from salesxl.cli import _progress_bar, _validated

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with _progress_bar("validate", as_json=False) as progress:      # (pytest's stderr: no terminal)
        assert progress is None
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    with _progress_bar("validate", as_json=True) as progress:
        assert progress is None
    other = shutil.copy(clean, tmp_path / "other.xlsx")
    results, notes, _ = _validated([clean, other], None, None, "openpyxl", "validate", as_json=False)
    assert [v.path for v in results] == [str(clean), str(other)] and notes == []
    assert "validate" in term.getvalue() and "2/2" in term.getvalue()


# ---------------------------------------------------------------------------------------------
# A CLI that checks and explains (issue 14, item 3)
def _commands(group=None, prefix=()):
    """Every command path of the CLI (subgroups walked), from click's own command tree."""
    import typer.main
    group = group or typer.main.get_command(app)
    ctx = group.make_context("salesxl", [], resilient_parsing=True)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if hasattr(cmd, "list_commands"):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,)


def test_version():
    import salesxl
    for args in (["--version"],):
        r = run(*args)
        assert r.exit_code == 0 and r.stdout == f"salesxl {salesxl.__version__}\n"


def test_every_command_and_option_has_help_without_placeholders(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    paths = list(_commands())
    assert {"validate", "forecast", "review", "consolidate", "template", "demo"} <= {p[0] for p in paths}
    assert ("addin", "build") in paths
    for path in [()] + paths:
        for flag in ("-h", "--help"):
            r = run(*path, flag)
            assert r.exit_code == 0, (path, r.output)
            assert not re.search(r"<(bool|str|int|float|path|list\[str\])", r.stdout), (path, r.stdout)
    import typer.main
    root = typer.main.get_command(app)
    for path in paths:
        cmd, ctx = root, root.make_context("salesxl", [], resilient_parsing=True)
        for name in path:
            cmd = cmd.get_command(ctx, name)
            ctx = cmd.make_context(name, [], parent=ctx, resilient_parsing=True)
        assert cmd.help, path
        for p in cmd.params:
            assert p.help, f"{' '.join(path)} {p.name}: no help text"


@pytest.mark.parametrize("args, line", [
    (["validate", "x.xlsx", "--engine", "foo"],
     "error: Invalid value for '--engine': 'foo': choose calamine or openpyxl (see: salesxl validate -h)"),
    (["forecast", "x.xlsx", "--as-of", "31/02/2026"],
     "error: Invalid value for --as-of: '31/02/2026' is not a date: use YYYY-MM-DD, day/month/year or 'today' "
     "(see: salesxl forecast -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--rep", "Ann", "--seniority", "boss"],
     "error: Invalid value for --seniority: 'boss': choose junior, confirmed, senior (see: salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--rep", "Ann", "--period-start", "2026-12-31", "--period-end", "2026-12-01"],
     "error: Invalid value for --period-end: 2026-12-01 is before --period-start 2026-12-31: the period ends on "
     "or after its first day (see: salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--rep", "Ann", "--period-start", "2026-12-01"],
     "error: give both --period-start and --period-end (see: salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--seniority", "senior"],
     "error: --seniority and the period pre-fill a rep's rows: give --rep NAME too (see: salesxl template -h)"),
    (["review", "x.xlsx", "--lang", "de", "-o", "{tmp}/r.xlsx"],
     "error: Invalid value for '--lang': 'de': choose en or fr (see: salesxl review -h)"),
    (["consolidate", "x.xlsx", "-o", "{tmp}/t.xlsx", "--simulations", "5"],
     "error: Invalid value for '--simulations': Input should be greater than or equal to 100 (see: salesxl consolidate -h)"),
    (["addin", "build", "-o", "{tmp}"],
     "error: say which python Excel runs: --interpreter-win PATH\\pythonw.exe and/or --interpreter-mac PATH/python "
     "(or --no-interpreter: the first python on the PATH) (see: salesxl addin build -h)"),
    (["addin", "build", "-o", "{tmp}", "--no-interpreter", "--interpreter-mac", "/usr/bin/python3"],
     "error: --no-interpreter goes without --interpreter-win and --interpreter-mac (see: salesxl addin build -h)"),
    (["frobnicate"], "error: No such command 'frobnicate'. (see: salesxl -h)"),
])
def test_bad_arguments_exit_2_with_one_line_naming_the_fix(tmp_path, args, line):
    r = run(*[a.format(tmp=tmp_path) for a in args])
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.splitlines() == [line]
    assert not (tmp_path / "t.xlsx").exists() and not (tmp_path / "salesxl.xlam").exists()


def test_as_of_today(clean):
    r = run("validate", clean, "--as-of", "today", "--json")
    issues = [i for f in json.loads(r.stdout)["files"] for i in f["issues"]]
    assert r.exit_code == 0 and issues == []
    assert _as_of_value("today") == dt.date.today()
    assert _as_of_value("TODAY ") == dt.date.today()


def _as_of_value(text):
    from salesxl.cli import _as_of
    return _as_of(text)


def test_template_seniority_accepts_either_language(tmp_path):
    out = tmp_path / "c.xlsx"
    r = run("template", "--lang", "fr", "--rep", "Ann", "--seniority", "Confirmé", "-o", out)
    assert r.exit_code == 0, r.output
    reps = validate_file(out).tables["reps"]
    assert reps["seniority"] == ["confirmed"]


def test_exit_1_says_how_many_errors_in_how_many_files(clean, messy, tmp_path):
    other = make_workbook(tmp_path, "en", {"pipeline": [
        dict(ref="P1", rep="Ann", company=None, amount=-5, probability=0.5, status="Open",
             decision_date=D(2003, 5, 10))]}, name="other.xlsx")
    for args in (["validate"], ["validate", "--json"]):
        r = run(*args, clean, messy, other, "--as-of", "2003-04-30")
        assert r.exit_code == 1
        assert r.stderr.splitlines() == ["exit 1: 3 errors in 2 of 3 files"]


# ---------------------------------------------------------------------------------------------
# Usage errors (exit 2) in the usage language: --lang, else the locale (i18n.usage_language)
USAGE_LINES = [
    # click's: no such option (with and without its suggestion), missing argument / option, extra argument,
    # a value click's types refuse, an option without its value, a flag given one, no such command
    (["validate", "x.xlsx", "--enigne", "foo"],
     "error: No such option: --enigne (Possible options: --engine) (see: salesxl validate -h)",
     "erreur : Option inconnue : --enigne (options possibles : --engine) (voir : salesxl validate -h)"),
    (["validate", "x.xlsx", "-z"],
     "error: No such option: -z (see: salesxl validate -h)",
     "erreur : Option inconnue : -z (voir : salesxl validate -h)"),
    (["validate"],
     "error: Missing argument 'INPUT...'. (see: salesxl validate -h)",
     "erreur : Argument manquant : INPUT... (voir : salesxl validate -h)"),
    (["review", "x.xlsx"],
     "error: Missing option '-o' / '--output'. (see: salesxl review -h)",
     "erreur : Option manquante : -o / --output (voir : salesxl review -h)"),
    (["backtest", "--history", "h.sqlite", "extra", "args"],
     "error: Got unexpected extra argument(s) (extra args) (see: salesxl backtest -h)",
     "erreur : Argument(s) en trop : extra args (voir : salesxl backtest -h)"),
    (["consolidate", "x.xlsx", "-o", "{tmp}/t.xlsx", "--simulations", "5"],
     "error: Invalid value for '--simulations': Input should be greater than or equal to 100 "
     "(see: salesxl consolidate -h)",
     "erreur : Valeur invalide pour --simulations : un nombre supérieur ou égal à 100 est attendu "
     "(voir : salesxl consolidate -h)"),
    (["consolidate", "x.xlsx", "-o", "{tmp}/t.xlsx", "--workers", "two"],
     "error: Invalid value for '--workers': Input should be a valid integer, unable to parse string as an integer "
     "(see: salesxl consolidate -h)",
     "erreur : Valeur invalide pour --workers : un nombre entier est attendu (voir : salesxl consolidate -h)"),
    (["validate", "x.xlsx", "{lang}", "--as-of"],
     "error: Option '--as-of' requires an argument. (see: salesxl -h)",
     "erreur : L'option --as-of attend une valeur. (voir : salesxl -h)"),
    (["validate", "x.xlsx", "--json=yes"],
     "error: Option '--json' does not take a value. (see: salesxl -h)",
     "erreur : L'option --json ne prend pas de valeur. (voir : salesxl -h)"),
    (["frobnicate"],
     "error: No such command 'frobnicate'. (see: salesxl -h)",
     "erreur : Commande inconnue : « frobnicate ». (voir : salesxl -h)"),
    (["addin", "bild"],
     "error: No such command 'bild'. Did you mean 'build'? (see: salesxl addin -h)",
     "erreur : Commande inconnue : « bild ». Vouliez-vous dire « build » ? (voir : salesxl addin -h)"),
    # salesxl's own
    (["validate", "x.xlsx", "--engine", "foo"],
     "error: Invalid value for '--engine': 'foo': choose calamine or openpyxl (see: salesxl validate -h)",
     "erreur : Valeur invalide pour --engine : « foo » : choisissez calamine ou openpyxl (voir : salesxl validate -h)"),
    (["forecast", "x.xlsx", "--as-of", "31/02/2026"],
     "error: Invalid value for --as-of: '31/02/2026' is not a date: use YYYY-MM-DD, day/month/year or 'today' "
     "(see: salesxl forecast -h)",
     "erreur : Valeur invalide pour --as-of : « 31/02/2026 » n'est pas une date : utilisez AAAA-MM-JJ, "
     "jour/mois/année ou « today » (voir : salesxl forecast -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--rep", "Ann", "--seniority", "boss"],
     "error: Invalid value for --seniority: 'boss': choose junior, confirmed, senior (see: salesxl template -h)",
     "erreur : Valeur invalide pour --seniority : « boss » : choisissez junior, confirmé, senior "
     "(voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--rep", "Ann", "--period-start", "2026-12-31", "--period-end", "2026-12-01"],
     "error: Invalid value for --period-end: 2026-12-01 is before --period-start 2026-12-31: the period ends on "
     "or after its first day (see: salesxl template -h)",
     "erreur : Valeur invalide pour --period-end : 2026-12-01 est avant --period-start 2026-12-31 : la période "
     "finit le jour de son début ou après (voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--rep", "Ann", "--period-start", "2026-12-01"],
     "error: give both --period-start and --period-end (see: salesxl template -h)",
     "erreur : donnez à la fois --period-start et --period-end (voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--seniority", "senior"],
     "error: --seniority and the period pre-fill a rep's rows: give --rep NAME too (see: salesxl template -h)",
     "erreur : --seniority et la période préremplissent les lignes d'un commercial : donnez aussi --rep NOM "
     "(voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--reps", "Ann"],
     "error: --reps, --inbox and --outbox go with --team (see: salesxl template -h)",
     "erreur : --reps, --inbox et --outbox vont avec --team (voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--team", "--rep", "Ann"],
     "error: --team makes the team workbook: --rep, --seniority and the period are for a rep's "
     "(see: salesxl template -h)",
     "erreur : --team crée le classeur de l'équipe : --rep, --seniority et la période sont pour celui d'un "
     "commercial (voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--team", "--inbox", " "],
     "error: --inbox names a folder: give a name or a path (see: salesxl template -h)",
     "erreur : --inbox désigne un dossier : donnez un nom ou un chemin (voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--team", "--inbox", "box", "--outbox", "Box"],
     "error: --inbox and --outbox must be two folders (reps' files arrive in the inbox) (see: salesxl template -h)",
     "erreur : --inbox et --outbox doivent être deux dossiers différents (les fichiers des commerciaux arrivent "
     "dans le dossier de réception) (voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--team", "--reps", " , "],
     "error: Invalid value for --reps: give at least one name (see: salesxl template -h)",
     "erreur : Valeur invalide pour --reps : donnez au moins un nom (voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--team", "--reps", "Ann,,Bob"],
     "error: Invalid value for --reps: name 2 of 3 is empty (two commas in a row?) (see: salesxl template -h)",
     "erreur : Valeur invalide pour --reps : le nom 2 sur 3 est vide (deux virgules de suite ?) "
     "(voir : salesxl template -h)"),
    (["template", "-o", "{tmp}/t.xlsx", "--team", "--reps", "Ann Lee,ann lee"],
     "error: Invalid value for --reps: 'ann lee' is listed twice (as 'Ann Lee') (see: salesxl template -h)",
     "erreur : Valeur invalide pour --reps : « ann lee » figure deux fois (comme « Ann Lee ») "
     "(voir : salesxl template -h)"),
    (["new-period", "{tmp}/team.xlsx"],
     "error: {tmp}/team.xlsx is not a file: give the team workbook (salesxl template --team makes one) "
     "(see: salesxl new-period -h)",
     "erreur : {tmp}/team.xlsx n'est pas un fichier : donnez le classeur de l'équipe (salesxl template --team "
     "en crée un) (voir : salesxl new-period -h)"),
    (["backtest", "--history", "{tmp}/h.sqlite"],
     "error: no history store at {tmp}/h.sqlite: give the .sqlite file consolidate keeps (--history) "
     "(see: salesxl backtest -h)",
     "erreur : aucun historique à {tmp}/h.sqlite : donnez le fichier .sqlite que tient consolidate (--history) "
     "(voir : salesxl backtest -h)"),
    (["addin", "build", "-o", "{tmp}"],
     "error: say which python Excel runs: --interpreter-win PATH\\pythonw.exe and/or --interpreter-mac PATH/python "
     "(or --no-interpreter: the first python on the PATH) (see: salesxl addin build -h)",
     "erreur : indiquez quel python Excel lance : --interpreter-win CHEMIN\\pythonw.exe et/ou --interpreter-mac "
     "CHEMIN/python (ou --no-interpreter : le premier python du PATH) (voir : salesxl addin build -h)"),
    (["addin", "build", "-o", "{tmp}", "--no-interpreter", "--interpreter-mac", "/usr/bin/python3"],
     "error: --no-interpreter goes without --interpreter-win and --interpreter-mac (see: salesxl addin build -h)",
     "erreur : --no-interpreter s'emploie sans --interpreter-win ni --interpreter-mac (voir : salesxl addin build -h)"),
    # a missing history store, as backtest says it (forecast and review read it before any input)
    (["forecast", "{tmp}/a.xlsx", "--history", "{tmp}/nope.sqlite"],
     "error: no history store at {tmp}/nope.sqlite: give the .sqlite file consolidate keeps (--history) "
     "(see: salesxl forecast -h)",
     "erreur : aucun historique à {tmp}/nope.sqlite : donnez le fichier .sqlite que tient consolidate (--history) "
     "(voir : salesxl forecast -h)"),
    (["review", "{tmp}/a.xlsx", "-o", "{tmp}/r.xlsx", "--history", "{tmp}/nope.sqlite"],
     "error: no history store at {tmp}/nope.sqlite: give the .sqlite file consolidate keeps (--history) "
     "(see: salesxl review -h)",
     "erreur : aucun historique à {tmp}/nope.sqlite : donnez le fichier .sqlite que tient consolidate (--history) "
     "(voir : salesxl review -h)"),
]


def _with_lang(args, lang, tmp):
    """The arguments with `--lang LANG` where the case puts it ({lang}), else at the end."""
    args = [a.format(tmp=tmp, lang="{lang}") for a in args]
    where = args.index("{lang}") if "{lang}" in args else len(args)
    return args[:where] + ["--lang", lang] + args[where + 1:]


@pytest.mark.parametrize("args, en, fr", USAGE_LINES, ids=[" ".join(c[0][:3]) for c in USAGE_LINES])
def test_usage_errors_in_english_and_french(tmp_path, args, en, fr):
    for lang, line in (("en", en), ("fr", fr)):
        r = run(*_with_lang(args, lang, tmp_path))
        assert r.exit_code == 2, r.output
        assert r.stdout == ""
        assert r.stderr.splitlines() == [line.format(tmp=tmp_path)]
    assert list(tmp_path.iterdir()) == []                       # nothing written


def test_usage_error_under_json_lang_fr_is_french_json_only(tmp_path):
    from test_json_contract import check
    r = run("validate", "x.xlsx", "--engine", "foo", "--json", "--lang", "fr")
    assert r.exit_code == 2 and r.stderr == ""
    data = json.loads(r.stdout)                                  # nothing but the JSON on stdout
    assert data == {"schema_version": data["schema_version"], "command": "validate", "error": "usage",
                    "message": "Valeur invalide pour --engine : « foo » : choisissez calamine ou openpyxl",
                    "counts": {"error": 0, "warning": 0}}
    check("validate", data)
    r = run("review", "x.xlsx", "--json", "--lang=fr")
    assert r.exit_code == 2 and json.loads(r.stdout)["message"] == "Option manquante : -o / --output"
    r = run("review", "x.xlsx", "--json", "--lang=en")
    assert json.loads(r.stdout)["message"] == "Missing option '-o' / '--output'."


@pytest.mark.parametrize("env, line", [
    ({"LANG": "fr_FR.UTF-8"}, "erreur : Option inconnue : --jsno (options possibles : --as-of, --json) "
                              "(voir : salesxl validate -h)"),
    ({"LANG": "C"}, "error: No such option: --jsno (Possible options: --as-of, --json) (see: salesxl validate -h)"),
    ({"LC_ALL": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, "error: No such option: --jsno (Possible options: --as-of, --json) "
                                                   "(see: salesxl validate -h)"),
    ({"LC_MESSAGES": "fr_CA.UTF-8", "LANG": "en_GB.UTF-8"}, "erreur : Option inconnue : --jsno (options possibles : "
                                                            "--as-of, --json) (voir : salesxl validate -h)"),
])
def test_without_lang_the_locale_decides(env, line):
    """The installed command in a real process: LC_ALL, then LC_MESSAGES, then LANG (the first set)."""
    exe = Path(sys.executable).parent / "salesxl"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "salesxl"]
    base = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    r = subprocess.run(cmd + ["validate", "x.xlsx", "--jsno"], capture_output=True, text=True, encoding="utf-8",
                       env={**base, **env}, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [line]


def test_lang_on_the_command_line_beats_the_locale(monkeypatch):
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert run("validate", "--lang", "en").stderr.splitlines() == [
        "error: Missing argument 'INPUT...'. (see: salesxl validate -h)"]
    # --lang de is no language: the locale's, here French
    assert run("validate", "x.xlsx", "--lang", "de").stderr.splitlines() == [
        "erreur : Valeur invalide pour --lang : « de » : choisissez en ou fr (voir : salesxl validate -h)"]


def test_usage_language_rule():
    from salesxl.i18n import usage_language
    assert usage_language(["validate", "--lang", "fr"], {}) == "fr"
    assert usage_language(["validate", "--lang=fr", "--lang", "en"], {"LANG": "fr_FR"}) == "en"   # the last one
    assert usage_language(["validate", "--lang", "de"], {"LANG": "fr_FR"}) == "fr"
    assert usage_language(["validate", "--", "--lang", "fr"], {}) == "en"        # after --: an argument
    assert usage_language([], {"LC_ALL": "", "LC_MESSAGES": "fr_BE.UTF-8", "LANG": "C"}) == "fr"
    assert usage_language([], {"LC_ALL": "en_US.UTF-8", "LANG": "fr_FR.UTF-8"}) == "en"
    assert usage_language([], {"LANG": "FR_fr"}) == "fr" and usage_language([], {}) == "en"


def test_every_usage_message_is_declared_in_both_languages():
    import string

    from salesxl.i18n import CLICK_TEXTS, USAGE

    def fields(template):
        return sorted(f for _, f, _, _ in string.Formatter().parse(template) if f is not None)

    assert set(CLICK_TEXTS) <= set(USAGE)
    for key, texts in USAGE.items():
        assert set(texts) == {"en", "fr"}, key
        assert texts["en"].strip() and texts["fr"].strip(), key
        assert fields(texts["en"]) == fields(texts["fr"]), key
    # every key is used: by cli.py (_say, usage_line) or, for click's, by the name of its kind
    source = (ROOT / "salesxl" / "cli.py").read_text(encoding="utf-8")
    used = set(re.findall(r'(?:_say|usage_line)\("(\w+)"', source)) | set(CLICK_TEXTS)
    used |= {k for k in USAGE if k.startswith(("missing_", "value_"))}
    assert set(USAGE) == used


def test_no_usage_error_message_left_in_english_only():
    """cli.py raises no usage error with an inline message: each comes from i18n.USAGE (or a library
    refusal given the usage language)."""
    source = (ROOT / "salesxl" / "cli.py").read_text(encoding="utf-8")
    assert not re.findall(r'(?:UsageProblem|BadParameter|_usage_error)\(\s*f?["\']', source)


CLICK_KINDS = [["validate", "x.xlsx", "--enigne"], ["validate", "x.xlsx", "-z"], ["validate"], ["review", "x.xlsx"],
               ["backtest", "--history", "h", "extra"], ["consolidate", "x", "-o", "t", "--simulations", "5"],
               ["consolidate", "x", "-o", "t", "--simulations", "100001"], ["consolidate", "x", "-o", "t", "--workers", "x"],
               ["consolidate", "x", "-o", "t", "--workers", "1.5"], ["consolidate", "x", "-o", "t", "--timeout", "0"],
               ["consolidate", "x", "-o", "t", "--timeout", "x"], ["validate", "x", "--as-of"],
               ["validate", "x", "--json=1"], ["frobnicate"], ["addin", "bild"]]


@pytest.mark.parametrize("args", CLICK_KINDS, ids=[" ".join(a) for a in CLICK_KINDS])
def test_click_english_templates_are_what_click_writes(args):
    """Each kind of click's usage error is recognised (its French is declared), and its English template
    renders exactly click's own text."""
    import typer.main
    from typer.core import TyperGroup

    from salesxl.cli import _click_text
    root = typer.main.get_command(app)
    with pytest.raises(Exception) as info:
        TyperGroup.main(root, args, "salesxl", standalone_mode=False)        # click's, without _Cli.main
    exc = info.value
    assert getattr(exc, "exit_code", None) == 2, exc
    assert _click_text(exc, "en") == exc.format_message()
    fr = _click_text(exc, "fr")
    assert fr and fr != exc.format_message()


@pytest.mark.parametrize("command", ["consolidate", "review"])
def test_a_refused_output_is_in_the_usage_language(messy, monkeypatch, command):
    """The refusals salesxl.io.outputs already words in both languages follow the usage language too
    (the locale here, though the input is English), frame and message."""
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    before = messy.read_bytes()
    r = run(command, messy, "-o", messy)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"erreur : La sortie {messy} fait partie des entrées : une source serait écrasée ; écrivez-le ailleurs "
        f"(par ex. -o {messy.parent / 'messy-team.xlsx'}) (voir : salesxl {command} -h)"]
    r = run(command, messy, "-o", messy, "--lang", "en")
    assert r.stderr.startswith(f"error: the output {messy} is one of the inputs: it would overwrite a source;")
    assert messy.read_bytes() == before


@pytest.mark.parametrize("lang, line", [
    ("en", "error: no usable input: no input workbook: nothing written"),
    ("fr", "erreur : aucune entrée utilisable : aucun classeur en entrée : rien n'a été écrit")])
def test_consolidate_of_an_empty_folder_says_so_in_the_run_language(tmp_path, lang, line):
    (tmp_path / "inbox").mkdir()
    r = run("consolidate", tmp_path / "inbox", "-o", tmp_path / "t.xlsx", "--lang", lang)
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [line]
    assert not (tmp_path / "t.xlsx").exists()
    # the JSON keeps its documented English message (docs/json.md)
    r = run("consolidate", tmp_path / "inbox", "-o", tmp_path / "t.xlsx", "--lang", lang, "--json")
    data = json.loads(r.stdout)
    assert r.exit_code == 2 and (data["error"], data["message"]) == ("no usable input", "no input workbook: nothing written")


@pytest.mark.parametrize("lang, line", [("en", "Aborted."), ("fr", "Interrompu.")])
def test_an_aborted_run_says_so_in_the_usage_language(clean, monkeypatch, lang, line):
    import salesxl.cli as cli

    def interrupted(*args, **kwargs):
        raise EOFError               # an input that ends (click: Abort)
    monkeypatch.setattr(cli, "_validated", interrupted)
    r = run("validate", clean, "--lang", lang)
    assert r.exit_code == 1
    assert [x for x in r.stderr.splitlines() if x] == [line]


@pytest.mark.parametrize("lang, line", [
    ("en", "{src}: no annotated copy (rows typed below the totals row of table tblPlanning)"),
    ("fr", "{src} : pas de copie annotée (des lignes saisies sous la ligne de total du tableau tblPlanning)")])
def test_a_workbook_without_annotated_copy_is_said_in_the_run_language(clean, tmp_path, monkeypatch, lang, line):
    from salesxl.io import annotate

    def refused(*args, **kwargs):
        raise annotate.AnnotateError("rows_below_totals", table="tblPlanning")
    monkeypatch.setattr(annotate, "annotate_file", refused)
    r = run("validate", clean, "--as-of", "2003-04-30", "--annotate", tmp_path / "out", "--lang", lang)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == line.format(src=clean)
    r = run("validate", clean, "--as-of", "2003-04-30", "--annotate", tmp_path / "out", "--json")
    (made,) = json.loads(r.stdout)["annotated"]      # the JSON keeps the error as it was (English, with its kind)
    assert made["error"] == "AnnotateError: rows typed below the totals row of table tblPlanning"
