"""Outputs that cannot hurt (issue 11 item 4), with real files and real second processes: an output or
history never an input nor each other; a second run on the same output waits, then stops with one
clear line; a history another program holds or that has no UNIQUE constraint; SIGTERM leaves no
temporary file; stdout holds only the JSON under --json; output permissions from the umask; a file name
that is not UTF-8."""
from __future__ import annotations

import datetime as dt
import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from salesxl.consolidate import consolidate
from salesxl.io import history as hist
from salesxl.io.outputs import OutputRefused, check_outputs, lock_path

from conftest import history_counts

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_workbooks import write_rep_workbook  # noqa: E402

AS_OF = dt.date(2026, 6, 15)
SALESXL = [sys.executable, "-m", "salesxl"]


def _run(*args, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(SALESXL + [str(a) for a in args], capture_output=True, text=True, timeout=300,
                          env=env, **kw)


def _digest(p: Path) -> tuple:
    st = os.stat(p)
    return p.read_bytes(), st.st_mtime_ns


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("safety") / "inbox"
    d.mkdir()
    for i in range(3):
        write_rep_workbook(d / f"rep_{i}.xlsx", i, rows=40, as_of=AS_OF)
    return d


def _one_error_line(stderr: str) -> str:
    lines = [x for x in stderr.splitlines() if x.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# ---------------------------------------------------------------------------------------------
def test_output_or_history_never_an_input_nor_each_other(inbox, tmp_path):
    rep = inbox / "rep_0.xlsx"
    before = _digest(rep)
    link = tmp_path / "link.xlsx"
    link.symlink_to(rep)
    refused = [
        ([inbox], inbox / "team.xlsx", None, "inside the input folder"),
        ([inbox], inbox / "sub" / "team.xlsx", None, "inside the input folder"),
        ([str(inbox / "*.xlsx")], inbox / "team.xlsx", None, "matches the input pattern"),
        ([str(inbox / "**" / "*.xlsx")], inbox / "a" / "b" / "team.xlsx", None, "matches the input pattern"),
        ([rep], rep, None, "one of the inputs"),
        ([link], rep, None, "one of the inputs"),              # through a symlink
        ([rep], link, None, "one of the inputs"),
        ([rep], tmp_path / "team.xlsx", rep, "history"),         # the history is an input
        ([inbox], tmp_path / "team.xlsx", inbox / "h.sqlite", "inside the input folder"),
        ([rep], tmp_path / "team.xlsx", tmp_path / "team.xlsx", "is the output itself"),
        ([rep], tmp_path / "team.xlsx", tmp_path / "TEAM.xlsx", "is the output itself"),    # case-insensitive disks
    ]
    for inputs, output, history, words in refused:
        with pytest.raises(OutputRefused, match=words):
            check_outputs(inputs, output, history)
        with pytest.raises(ValueError, match=words):
            consolidate(inputs, output, history=history, workers=0)
    assert _digest(rep) == before
    assert sorted(p.name for p in inbox.iterdir()) == ["rep_0.xlsx", "rep_1.xlsx", "rep_2.xlsx"]
    # allowed: beside the folder, or a name the glob does not match
    check_outputs([inbox], tmp_path / "team.xlsx", tmp_path / "team.history.sqlite")
    check_outputs([str(inbox / "rep_*.xlsx")], inbox / "team.xlsx")
    # the command line: exit 2 and one line naming the fix, under --json too (stdout: the JSON only)
    r = _run("consolidate", inbox, "-o", inbox / "team.xlsx")
    assert r.returncode == 2
    assert "write it outside that folder" in _one_error_line(r.stderr)
    r = _run("consolidate", rep, "-o", tmp_path / "t.xlsx", "--history", tmp_path / "t.xlsx", "--json")
    data = json.loads(r.stdout)                       # the usage-error shape of docs/json.md
    assert r.returncode == 2 and data["error"] == "usage" and "is the output itself" in data["message"]
    r = _run("review", rep, "-o", link)
    assert r.returncode == 2 and "one of the inputs" in _one_error_line(r.stderr)
    h = tmp_path / "h.sqlite"
    hist.open_history(h).close()
    r = _run("review", rep, "-o", h, "--history", h)           # the history it reads is never its output
    assert r.returncode == 2 and "one of the inputs" in _one_error_line(r.stderr)
    conn = hist.open_history(h)
    conn.close()
    assert _digest(rep) == before and not (inbox / "team.xlsx").exists()


def test_no_usable_input_keeps_the_previous_output(tmp_path):
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "broken.xlsx").write_bytes(b"not a workbook")
    out = tmp_path / "team.xlsx"
    out.write_bytes(b"the previous team workbook")
    for cmd in (["consolidate", bad, "-o", out], ["review", bad, "-o", out]):
        r = _run(*cmd)
        assert r.returncode == 2, r.stderr
        assert out.read_bytes() == b"the previous team workbook"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


HOLD_LOCK = """
import sys
from salesxl.io.outputs import locked
with locked([sys.argv[1]], 5):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_second_run_on_the_same_output_waits_then_stops_clearly(inbox, tmp_path):
    out = tmp_path / "team.xlsx"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert lock_path(out).exists()
        r = _run("consolidate", inbox, "-o", out, "--as-of", AS_OF, "--wait", "0.5")
        assert r.returncode == 2
        assert "in use by another salesxl run" in _one_error_line(r.stderr)
        assert not out.exists()
        r = _run("review", inbox, "-o", out, "--as-of", AS_OF, "--wait", "0.2", "--json")
        data = json.loads(r.stdout)
        assert r.returncode == 2 and data["error"] == "usage" and "in use by another salesxl run" in data["message"]
    finally:
        holder.stdin.close()
        holder.wait(30)
    assert not lock_path(out).exists()           # released and removed by the holder
    r = _run("consolidate", inbox, "-o", out, "--as-of", AS_OF, "--wait", "0.5")
    assert r.returncode in (0, 1), r.stderr
    assert out.exists() and not lock_path(out).exists()


HOLD_SQLITE = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()
"""


def test_history_locked_by_another_program_one_clear_message(inbox, tmp_path):
    out = tmp_path / "team.xlsx"
    r = _run("consolidate", inbox, "-o", out, "--as-of", AS_OF)
    assert r.returncode in (0, 1) and out.exists()
    before = _digest(out)
    history = hist.default_path(out)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_SQLITE, str(history)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = _run("consolidate", inbox, "-o", out, "--as-of", AS_OF, "--wait", "1")
        assert r.returncode == 2
        line = _one_error_line(r.stderr)
        assert "locked by another program" in line and "waited 1 s" in line
        r = _run("consolidate", inbox, "-o", out, "--as-of", AS_OF, "--wait", "1", "--lang", "fr")
        assert "verrouillé par un autre programme" in _one_error_line(r.stderr)
        r = _run("forecast", inbox, "--history", history, "--as-of", AS_OF, "--wait", "1", "--json")
        data = json.loads(r.stdout)
        assert r.returncode == 2 and data["error"] == "usage" and "locked by another program" in data["message"]
    finally:
        holder.stdin.close()
        holder.wait(30)
    assert _digest(out) == before                 # the previous team workbook is intact


def _schema_without_unique() -> str:
    s = hist.SCHEMA.replace("UNIQUE (fingerprint, as_of)", "").replace("UNIQUE (rep_key, ref_key, as_of)", "")
    return re.sub(r",\s*\n\s*\)", "\n)", s)


def test_history_without_unique_constraint_is_migrated(inbox, tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(_schema_without_unique())
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    # the same snapshot twice (an older salesxl without the constraint imported a file twice)
    conn.execute("INSERT INTO submissions (id, sha256, fingerprint, as_of, path, imported_at) VALUES "
                 "(1, 's', 'f', '2026-05-01', 'a.xlsx', 'x'), (2, 's', 'f', '2026-05-01', 'a.xlsx', 'y')")
    for i, sub in ((1, 1), (2, 2)):
        conn.execute("INSERT INTO snapshots (id, rep, rep_key, ref, ref_key, as_of, probability, status, "
                     "submission_id) VALUES (?, 'Ann', 'ann', 'P1', 'p1', '2026-05-01', 0.5, 'Open', ?)", (i, sub))
    conn.commit()
    conn.close()
    for _ in range(2):
        r = consolidate([inbox], tmp_path / "team.xlsx", history=path, as_of=AS_OF, workers=0, simulations=500)
        assert r.output
    conn = hist.open_history(path)
    n = history_counts(conn)
    assert conn.execute("SELECT COUNT(*) FROM snapshots WHERE ref_key = 'p1'").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM submissions WHERE fingerprint = 'f'").fetchone()[0] == 1
    conn.close()
    assert n["submissions"] == 1 + 3                    # the kept one + the three files, once


def test_a_history_from_a_newer_salesxl_one_clear_message_in_each_language(inbox, tmp_path):
    path = tmp_path / "team.history.sqlite"
    hist.open_history(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(hist.SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    newer = hist.SCHEMA_VERSION + 1
    for lang, said in (("en", f"the history store {path} was written by a newer salesxl (its schema {newer}, this one "
                              f"reads up to {hist.SCHEMA_VERSION}): update salesxl to read it"),
                       ("fr", f"l'historique {path} a été écrit par une version plus récente de salesxl (son schéma "
                              f"{newer}, celle-ci lit jusqu'au {hist.SCHEMA_VERSION}) : mettez salesxl à jour pour le "
                              f"lire")):
        r = _run("consolidate", inbox, "-o", tmp_path / "team.xlsx", "--history", path, "--as-of", AS_OF,
                 "--lang", lang)
        frame = {"en": "error: {} (see: salesxl {} -h)", "fr": "erreur : {} (voir : salesxl {} -h)"}[lang]
        assert r.returncode == 2
        assert _one_error_line(r.stderr) == frame.format(said, "consolidate")
        r = _run("forecast", inbox, "--history", path, "--as-of", AS_OF, "--lang", lang)
        assert r.returncode == 2 and _one_error_line(r.stderr) == frame.format(said, "forecast")
    assert not (tmp_path / "team.xlsx").exists()


def test_the_calamine_engine_missing_is_said_in_the_usage_language(inbox, tmp_path):
    hide = "import sys; sys.modules['python_calamine'] = None; from salesxl.cli import main; main()"
    for lang, frame, said in (("en", "error: ", "the calamine engine needs python-calamine (pip install "
                                                "python-calamine); the openpyxl engine reads without it"),
                              ("fr", "erreur : ", "le moteur calamine demande python-calamine (pip install "
                                                  "python-calamine) ; le moteur openpyxl lit sans lui")):
        r = subprocess.run([sys.executable, "-c", hide, "validate", str(inbox), "--engine", "calamine", "--lang", lang],
                           capture_output=True, text=True, timeout=120)
        line = _one_error_line(r.stderr)
        assert r.returncode == 2 and line.startswith(frame) and said in line and "--engine" in line, line


def test_foreign_or_broken_history_one_clear_message(inbox, tmp_path):
    foreign = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE snapshots (a, b)")
    conn.commit()
    conn.close()
    notdb = tmp_path / "notes.sqlite"
    notdb.write_text("hello")
    for h in (foreign, notdb):
        r = _run("consolidate", inbox, "-o", tmp_path / "team.xlsx", "--history", h, "--as-of", AS_OF)
        assert r.returncode == 2
        assert "is not a salesxl history store" in _one_error_line(r.stderr)
    assert not (tmp_path / "team.xlsx").exists()


# ---------------------------------------------------------------------------------------------
def _terminate_when(cmd, seen, cwd) -> tuple[subprocess.Popen, list]:
    p = subprocess.Popen(SALESXL + [str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=cwd)
    found: list = []
    while p.poll() is None and not found:
        found = seen(p.pid)
        time.sleep(0.002)
    assert found, "the run ended before the moment to stop it"
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=120)
    return p, found


def test_sigterm_leaves_no_temporary_file(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(60):
        write_rep_workbook(inbox / f"r{i:02d}.xlsx", i, rows=15, as_of=AS_OF)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "team.xlsx").write_bytes(b"previous")
    # 1. while the files are read (the team workbook's temporary file exists)
    p, found = _terminate_when(["consolidate", inbox, "-o", out_dir / "team.xlsx", "--workers", "1",
                                "--as-of", AS_OF], lambda pid: glob.glob(str(out_dir / ".~team-*")), tmp_path)
    assert p.returncode == 128 + signal.SIGTERM
    assert sorted(os.listdir(out_dir)) == ["team.history.sqlite", "team.xlsx"]      # no temp, no lock file
    assert (out_dir / "team.xlsx").read_bytes() == b"previous"
    # 2. while the package is zipped (its parts in the RAM folder, /dev/shm)
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        p, found = _terminate_when(["consolidate", inbox, "-o", out_dir / "team.xlsx", "--as-of", AS_OF],
                                   lambda pid: glob.glob(f"/dev/shm/salesxl-parts-{pid}-*"), tmp_path)
        assert p.returncode == 128 + signal.SIGTERM
        assert not any(os.path.exists(f) for f in found)
        assert sorted(os.listdir(out_dir)) == ["team.history.sqlite", "team.xlsx"]
        assert (out_dir / "team.xlsx").read_bytes() == b"previous"


_SIGTERM_AT_CREATION = """
import os, signal, sys, tempfile
from pathlib import Path
from salesxl.io import outputs
outputs.terminate_on_sigterm()
out = Path(sys.argv[1])
real_mkstemp, real_open = tempfile.mkstemp, os.open
def mkstemp(*a, **k):                   # SIGTERM arrives the instant the file exists
    made = real_mkstemp(*a, **k)
    os.kill(os.getpid(), signal.SIGTERM)
    return made
def open_(path, *a, **k):
    fd = real_open(path, *a, **k)
    if str(path).endswith("salesxl-lock"):
        os.kill(os.getpid(), signal.SIGTERM)
    return fd
if sys.argv[2] == "temp":
    tempfile.mkstemp = mkstemp
    outputs.new_temp(out)
else:
    os.open = open_
    with outputs.locked([out]):
        pass
print("not stopped")
"""


@pytest.mark.parametrize("what", ["temp", "lock"])
def test_sigterm_the_instant_a_file_is_created_leaves_nothing(tmp_path, what):
    """The window the timed test above can only hit by chance: SIGTERM between a file's creation and
    its registration for removal. The signal waits for the registration, then stops the run."""
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run([sys.executable, "-c", _SIGTERM_AT_CREATION, str(out / "team.xlsx"), what],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 128 + signal.SIGTERM, r.stderr
    assert "not stopped" not in r.stdout
    assert os.listdir(out) == []


def _with_broken_style(src: Path, dst: Path) -> Path:
    """A workbook whose cell style list is empty: openpyxl prints '0 is out of range' on stdout."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for it in zin.infolist():
            data = zin.read(it.filename)
            if it.filename == "xl/styles.xml":
                data, n = re.subn(rb"<cellStyleXfs.*?</cellStyleXfs>", b'<cellStyleXfs count="0"/>', data,
                                  flags=re.S)
                assert n == 1
            zout.writestr(it, data)
    return dst


def test_json_stdout_holds_only_the_json(inbox, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    _with_broken_style(inbox / "rep_0.xlsx", d / "odd_style.xlsx")
    shutil.copy(inbox / "rep_1.xlsx", d / "rep_1.xlsx")
    plain = _run("validate", d / "odd_style.xlsx", "--engine", "openpyxl")
    assert "out of range" in plain.stdout            # the library's print, which --json must keep out
    runs = [("validate", d), ("forecast", d, "--as-of", AS_OF),
            ("review", d, "-o", tmp_path / "r.xlsx", "--as-of", AS_OF),
            ("consolidate", d, "-o", tmp_path / "t.xlsx", "--as-of", AS_OF),
            ("consolidate", d, "-o", tmp_path / "t.xlsx", "--workers", "0", "--as-of", AS_OF)]
    for args in runs:
        r = _run(*args, "--json", "--engine", "openpyxl")
        assert r.returncode in (0, 1), (args, r.stderr)
        json.loads(r.stdout)                          # nothing else on stdout
        assert "out of range" in r.stderr             # the print went to stderr


def test_outputs_get_the_permissions_of_a_normal_save(inbox, tmp_path):
    def umask_027():
        os.umask(0o027)

    out = tmp_path / "team.xlsx"
    r = subprocess.run(SALESXL + ["consolidate", str(inbox), "-o", str(out), "--as-of", str(AS_OF)],
                       capture_output=True, text=True, preexec_fn=umask_027, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    tpl = tmp_path / "template.xlsx"
    subprocess.run(SALESXL + ["template", "-o", str(tpl)], check=True, capture_output=True,
                   preexec_fn=umask_027, timeout=300)
    assert stat.S_IMODE(tpl.stat().st_mode) == 0o640
    # an existing output keeps its own mode, as a save in place would
    os.chmod(out, 0o604)
    r = _run("consolidate", inbox, "-o", out, "--as-of", AS_OF)
    assert stat.S_IMODE(out.stat().st_mode) == 0o604


@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux only")
def test_file_name_not_utf8_does_not_abort_the_run(inbox, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    odd = os.path.join(os.fsencode(d), b"caf\xe9 \xff.xlsx")          # Latin-1 bytes: not UTF-8
    shutil.copy(inbox / "rep_1.xlsx", odd)
    shutil.copy(inbox / "rep_0.xlsx", d / "rep_0.xlsx")
    out = tmp_path / "team.xlsx"
    for engine in ("calamine", "openpyxl"):
        r = _run("consolidate", d, "-o", out, "--as-of", AS_OF, "--json", "--engine", engine)
        assert r.returncode in (0, 1), r.stderr
        data = json.loads(r.stdout)
        assert [f["status"] for f in data["files"]] == ["ok", "ok"] and all(f["rows"] for f in data["files"])
        assert "caf\ufffd \ufffd.xlsx" in data["files"][0]["path"]
    wb = openpyxl.load_workbook(out, read_only=True)
    files = set()
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if rows and ("Source file" in rows[0] or "Fichier source" in rows[0]):
            j = rows[0].index("Source file" if "Source file" in rows[0] else "Fichier source")
            files.update(r[j] for r in rows[1:])
    wb.close()
    assert any(isinstance(f, str) and "caf\ufffd" in f for f in files)
    conn = hist.open_history(hist.default_path(out))
    paths = [p for (p,) in conn.execute("SELECT path FROM submissions")]
    conn.close()
    assert any("caf\ufffd" in p for p in paths) and len(paths) == 2
    for cmd in (["validate", d], ["forecast", d, "--as-of", AS_OF], ["review", d, "-o", tmp_path / "r.xlsx"]):
        r = _run(*cmd)
        assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr


# ---------------------------------------------------------------------------------------------
# Names and texts that cannot break a workbook (issue 11 item 5)
HOSTILE = ["Ann_x0007_e Bell", "Line\nBreak", "O'Brien", "'Quoted'", "[Q1]: North/South*?",
           "Bartholomew Featherstonehaugh-Smythe", "Bartholomew Featherstonehaugh-Smith", "😀" * 20,
           "Tab\there \u2028Sep"]


def _rep_file(path: Path, i: int, rep: str, rows: int = 30, edit=None) -> Path:
    from make_workbooks import rep_rows

    from salesxl.io.template import build_template
    lang, tables = rep_rows(i, rows, AS_OF, messy=False)
    for recs in tables.values():
        for r in recs:
            if "rep" in r:
                r["rep"] = rep
    wb = build_template(lang, rows=tables, settings={"as_of": AS_OF},
                        blank_rows={"reps": 1, "planning": 1, "objectives": 1, "reporting": 1, "pipeline": 1})
    if edit is not None:
        edit(wb)
    wb.save(path)
    return path


def test_hostile_rep_names_give_a_workbook_excel_openpyxl_and_libreoffice_open(tmp_path, soffice, lo_profile):
    from conftest import lo_convert
    d = tmp_path / "in"
    d.mkdir()
    for i, name in enumerate(HOSTILE):
        _rep_file(d / f"r{i}.xlsx", i, name)
    out = tmp_path / "team.xlsx"
    r = consolidate([d], out, as_of=AS_OF, workers=0, simulations=500, lang="en")
    assert r.output and len(r.forecast.reps) == len(HOSTILE)
    wb = openpyxl.load_workbook(out)                  # the whole workbook, styles and all
    reviews = [n for n in wb.sheetnames if n.startswith("Review")]
    wb.close()
    assert len(reviews) == len(HOSTILE)
    assert len({n.casefold() for n in wb.sheetnames}) == len(wb.sheetnames)
    for n in reviews:
        assert len(n.encode("utf-16-le")) // 2 <= 31
        assert not re.search(r"[\x00-\x1f\u2028\u2029\[\]:*?/\\]", n) and n == n.strip() and "  " not in n
        assert not n.endswith("'")
    assert "Review – Anne Bell" in reviews            # the escape decoded, the control character removed
    assert "Review – Line Break" in reviews
    assert "Review – O'Brien" in reviews
    # LibreOffice opens it and finds the same sheets
    converted = lo_convert(soffice, lo_profile, out, tmp_path / "lo")
    wb2 = openpyxl.load_workbook(converted, read_only=True)
    assert [n for n in wb2.sheetnames if n.startswith("Review")] == reviews
    wb2.close()


def test_texts_longer_than_a_cell_are_cut_with_an_issue(tmp_path):
    long_text = "é" * 20000 + "😀" * 10000 + "end"          # 40,003 UTF-16 units

    def edit(wb):
        ws = wb["Pipeline"]
        for row in ws.iter_rows(min_row=2, max_row=2):
            for c in row:
                if ws.cell(1, c.column).value == "Description":
                    c.value = long_text

    src = _rep_file(tmp_path / "long.xlsx", 0, "Ann Bell", edit=edit)
    r = _run("validate", src, "--json")
    issues = [i for f in json.loads(r.stdout)["files"] for i in f["issues"] if i["code"] == "TEXT_TRUNCATED"]
    assert len(issues) == 1 and issues[0]["row"] == 2 and issues[0]["column"] == "Description"
    assert issues[0]["severity"] == "warning" and "40003" in issues[0]["message"].replace(",", "")
    out = tmp_path / "team.xlsx"
    res = consolidate([src], out, as_of=AS_OF, workers=0, simulations=500)
    assert "TEXT_TRUNCATED" in {i.code for f in res.files for i in f.issues}
    wb = openpyxl.load_workbook(out, read_only=True)
    texts = [v for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
             if isinstance(v, str) and v.startswith("éé")]
    wb.close()
    cell = max(texts, key=len)
    assert len(cell.encode("utf-16-le")) // 2 in (32766, 32767)      # a pair is never split
    assert long_text.startswith(cell)


def test_a_table_longer_than_a_sheet_is_refused_with_an_issue(tmp_path, monkeypatch):
    from salesxl.io import write_xlsx
    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        write_rep_workbook(d / f"r{i}.xlsx", i, rows=60, as_of=AS_OF)
    full = consolidate([d], tmp_path / "full.xlsx", as_of=AS_OF, workers=0, simulations=500, history=False)
    total = full.rows["pipeline"]
    limit = total - 5                                   # a sheet that holds 5 rows fewer than the table
    monkeypatch.setattr(write_xlsx.TeamWorkbookWriter, "MAX_DATA_ROWS", limit)
    out = tmp_path / "team.xlsx"
    r = consolidate([d], out, as_of=AS_OF, workers=0, simulations=500, history=False)
    [note] = [i for i in r.notes if i.code == "TABLE_TOO_LONG" and "The Pipeline table" in i.message]
    assert note.severity == "error" and f"{total:,}" in note.message and note.file.endswith("r2.xlsx")
    wb = openpyxl.load_workbook(out, read_only=True)
    pipeline = wb["Pipeline"]
    n = sum(1 for row in pipeline.iter_rows(min_row=2, values_only=True) if any(v is not None for v in row))
    issues = [row for row in wb["Issues"].iter_rows(min_row=2, values_only=True)
              if row[1] == "TABLE_TOO_LONG" and "The Pipeline table" in row[7]]
    wb.close()
    assert n == limit and len(issues) == 1
    # the Issues table too: its first row says which issues are not in the sheet (the JSON has them all)
    n_issues = sum(len(f.issues) for f in r.files) + len(r.notes)
    monkeypatch.setattr(write_xlsx.TeamWorkbookWriter, "MAX_DATA_ROWS", 4)
    assert n_issues > 4
    r = consolidate([d], out, as_of=AS_OF, workers=0, simulations=500, history=False)
    wb = openpyxl.load_workbook(out, read_only=True)
    rows = [row for row in wb["Issues"].iter_rows(min_row=2, values_only=True) if any(v is not None for v in row)]
    wb.close()
    assert len(rows) == 4 and rows[0][1] == "TABLE_TOO_LONG" and rows[0][7].startswith("The Issues table")
    assert [i for i in r.notes if i.code == "TABLE_TOO_LONG" and i.message.startswith("The Issues table")]
    # the forecast still counts every row
    assert [x.forecast for x in r.forecast.reps] == [x.forecast for x in full.forecast.reps]


def test_settings_that_drive_computations_are_bounded_and_reported(tmp_path):
    def edit(wb):
        ws = wb["Settings"]
        for row in ws.iter_rows(min_row=2):
            if row[0].value == "Simulations":
                row[1].value = 1e9
            elif row[0].value == "On-track threshold":
                row[1].value = "150 %"
            elif row[0].value == "Random seed":
                row[1].value = "not a number"

    src = _rep_file(tmp_path / "settings.xlsx", 0, "Ann Bell", edit=edit)
    r = _run("validate", src, "--json")
    found = {i["value"]: i for f in json.loads(r.stdout)["files"] for i in f["issues"]
             if i["code"] == "SETTING_OUT_OF_RANGE"}
    assert set(found) == {1e9, "150 %", "not a number"} or set(found) == {1000000000, "150 %", "not a number"}
    assert all(i["sheet"] == "Settings" and i["column"] == "Value" and i["severity"] == "warning"
               for i in found.values())
    assert "100,000 is used" in found[next(k for k in found if k not in ("150 %", "not a number"))]["message"]
    r = _run("forecast", src, "--json")           # 1e9 draws would have needed gigabytes: bounded
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    assert data["simulations"] == 100_000
    assert all(x["risk"] in ("at_risk", "off_track") for x in data["reps"])     # on track needs P ≥ 100 %
    r = _run("forecast", src, "--simulations", "1000000000")
    assert r.returncode == 2                      # the option is bounded too


# ---------------------------------------------------------------------------------------------
# The language of a run (issue 11 item 7)
def _in_language(issue: dict, lang: str) -> bool:
    """The message is the code's message in `lang`: its longest fixed part is there."""
    from salesxl.issue_codes import CODES
    template = CODES[issue["code"]].fr if lang == "fr" else CODES[issue["code"]].en
    fixed = max(re.split(r"\{[^}]*\}", template), key=len).strip()
    return fixed in issue["message"]


def test_run_language_is_the_majority_of_the_inputs(tmp_path):
    from salesxl.io.language import run_language, workbook_language
    d = tmp_path / "in"
    d.mkdir()
    en = write_rep_workbook(d / "a_en.xlsx", 2, rows=40, as_of=AS_OF)        # English, with errors
    fr1 = write_rep_workbook(d / "b_fr.xlsx", 1, rows=40, as_of=AS_OF)
    fr2 = write_rep_workbook(d / "c_fr.xlsx", 3, rows=40, as_of=AS_OF)
    assert [workbook_language(p) for p in (en, fr1, fr2)] == ["en", "fr", "fr"]
    assert run_language([en, fr1, fr2]) == "fr" and run_language([en, fr1]) == "en"        # a tie: English
    assert run_language([fr1, fr2], "en") == "en" and run_language([tmp_path / "missing.xlsx"]) == "en"
    out = tmp_path / "team.xlsx"
    r = _run("consolidate", d, "-o", out, "--as-of", AS_OF, "--json")
    data = json.loads(r.stdout)
    assert data["lang"] == "fr"
    issues = [i for f in data["files"] for i in f["issues"]] + data["notes"]
    en_issues = [i for f in data["files"] if f["path"].endswith("a_en.xlsx") for i in f["issues"]]
    assert en_issues and all(_in_language(i, "fr") for i in issues)
    wb = openpyxl.load_workbook(out, read_only=True)
    assert {"Carnet commercial", "Anomalies", "Prévisions"} <= set(wb.sheetnames)
    wb.close()
    for cmd in (["validate", d], ["forecast", d, "--as-of", AS_OF]):
        data = json.loads(_run(*cmd, "--json").stdout)
        for i in [i for f in data.get("files", []) for i in f["issues"]]:
            assert _in_language(i, "fr"), i
    # --lang wins; a tie is English (the French file first in the alphabet does not decide)
    data = json.loads(_run("validate", d, "--json", "--lang", "en").stdout)
    assert all(_in_language(i, "en") for f in data["files"] for i in f["issues"])
    tie = tmp_path / "tie"
    tie.mkdir()
    shutil.copy(fr1, tie / "a_fr.xlsx")
    shutil.copy(en, tie / "b_en.xlsx")
    data = json.loads(_run("consolidate", tie, "-o", tmp_path / "tie.xlsx", "--as-of", AS_OF, "--json").stdout)
    assert data["lang"] == "en"
    assert all(_in_language(i, "en") for f in data["files"] for i in f["issues"])


def test_a_table_stops_at_the_real_sheet_limit(tmp_path):
    """At Excel's own limit (1,048,576 rows): the rows beyond are left out with TABLE_TOO_LONG, and the
    table and the sheet end on row 1,048,576."""
    from salesxl.io.write_xlsx import TeamWorkbookWriter
    out = tmp_path / "big.xlsx"
    w = TeamWorkbookWriter(out, "en")
    n, step = 1_048_580, 262_144
    for s in range(0, n, step):
        k = min(step, n - s)
        w.add_rows("reporting", {"rep": ["Ann"] * k, "company": ["Alpha"] * k}, file="f.xlsx", sheet="Reporting",
                   rows=list(range(s + 2, s + 2 + k)))
    w.finish(issues=[])
    [issue] = w.issues
    assert issue.code == "TABLE_TOO_LONG" and issue.row == 1_048_575 + 2 and "1,048,580 rows" in issue.message
    with zipfile.ZipFile(out) as z:
        refs = [re.search(rb'ref="([^"]+)"', z.read(p)).group(1) for p in z.namelist()
                if p.startswith("xl/tables/")]
        assert b"A1:M1048576" in refs                   # Reporting: header + 1,048,575 rows
        sheets = [p for p in z.namelist() if p.startswith("xl/worksheets/sheet")]
        last = [re.findall(rb'<row r="(\d+)"', z.read(p)[-4000:]) for p in sheets]
        assert max(int(r[-1]) for r in last if r) == 1_048_576
