"""The JSON contract (SPEC §6, docs/json.md): every command's --json output validated against the
JSON Schema shipped in the package, with `schema_version`, counts, one "no usable input" shape and
usage errors as JSON."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from salesxl import schemas
from salesxl.cli import app

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from make_workbooks import write_rep_workbook  # noqa: E402

AS_OF = dt.date(2026, 6, 15)
runner = CliRunner()


def run_json(*args) -> tuple[int, dict]:
    r = runner.invoke(app, [str(a) for a in args] + ["--json"])
    run_json.stderr = r.stderr
    return r.exit_code, json.loads(r.stdout)        # nothing but JSON on stdout


def check(command: str, data: dict) -> dict:
    """`data` valid under `command`'s schema, with the envelope every output carries."""
    errors = sorted(schemas.validator(command).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    assert data["schema_version"] == schemas.SCHEMA_VERSION and data["command"] == command
    assert set(data["counts"]) >= {"error", "warning"}
    return data


@pytest.fixture(scope="module")
def reps(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("reps")
    return [write_rep_workbook(d / f"rep_{i}.xlsx", i, rows=60, as_of=AS_OF) for i in range(3)]


@pytest.fixture
def bad(tmp_path) -> list[Path]:
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook\n")
    return [empty, text]


def test_every_schema_is_a_valid_schema_and_ships_in_the_package():
    for name in ("common", *schemas.COMMANDS):
        schema = schemas.load(name)
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == f"{schemas.BASE}{name}.json"
    with pytest.raises(KeyError):
        schemas.load("nothing")


def test_schemas_are_not_vacuous():
    """The validators do reject: a missing key, a wrong type, an unknown status, no schema_version."""
    v = schemas.validator("validate")
    good = {"schema_version": "1.0", "command": "validate", "files": [], "notes": [],
            "counts": {"error": 0, "warning": 0}}
    assert v.is_valid(good)
    for broken in ({k: x for k, x in good.items() if k != "schema_version"},
                   {**good, "counts": {"error": "2", "warning": 0}},
                   {**good, "files": [{"path": "a.xlsx", "status": "fine", "issues": []}]},
                   {"schema_version": "1.0", "command": "validate", "counts": {"error": 0, "warning": 0},
                    "error": "no usable input", "message": "x"},                    # without its files
                   {**good, "error": "something else", "message": "x"}):
        assert not v.is_valid(broken), broken


def test_validate_json(reps, bad):
    code, data = run_json("validate", *reps, bad[0], "--as-of", AS_OF)
    check("validate", data)
    assert code == 1
    assert [f["status"] for f in data["files"]][-1] == "unreadable"
    n = sum(1 for f in data["files"] for i in f["issues"] if i["severity"] == "error")
    assert data["counts"]["error"] == n >= 1


@pytest.mark.parametrize("command", ["validate", "forecast", "review", "consolidate"])
def test_no_usable_input_has_one_shape(command, bad, tmp_path):
    extra = ["-o", tmp_path / "out.xlsx"] if command in ("review", "consolidate") else []
    code, data = run_json(command, *bad, *extra)
    check(command, data)
    assert code == 2
    assert data["error"] == "no usable input"
    assert data["message"] == "none of the 2 files could be read"
    assert [(Path(f["path"]).name, f["status"], [i["code"] for i in f["issues"]]) for f in data["files"]] == [
        ("empty.xlsx", "unreadable", ["FILE_EMPTY"]), ("notes.xlsx", "unreadable", ["NOT_XLSX"])]
    assert (data["counts"]["error"], data["counts"]["warning"]) == (2, 0)
    assert not (tmp_path / "out.xlsx").exists()


@pytest.mark.parametrize("command", ["validate", "forecast"])
def test_nothing_matches_is_no_usable_input(command, tmp_path):
    code, data = run_json(command, tmp_path / "nothing" / "*.xlsx")
    check(command, data)
    assert code == 2 and data["error"] == "no usable input" and data["files"] == []


def test_forecast_json(reps):
    code, data = run_json("forecast", *reps, "--as-of", AS_OF, "--seed", 1, "--simulations", 200)
    check("forecast", data)
    assert code == 1                                          # rep 2 is the messy one
    assert len(data["reps"]) == 3 and data["as_of"] == AS_OF.isoformat()
    n = sum(1 for f in data["files"] for i in f["issues"] if i["severity"] == "error")
    assert data["counts"]["error"] == n
    assert run_json.stderr.splitlines() == [f"exit 1: {n} error{'s' * (n != 1)} in 1 of 3 files"]


def test_review_json(reps, tmp_path):
    out = tmp_path / "reviews.xlsx"
    code, data = run_json("review", reps[0], "--as-of", AS_OF, "-o", out, "--simulations", 200)
    check("review", data)
    assert code == 0 and data["output"] == str(out) and out.exists() and len(data["reviews"]) == 1


def test_consolidate_json_and_the_skipped_alias(reps, tmp_path):
    code, data = run_json("consolidate", *reps, "-o", tmp_path / "team.xlsx", "--as-of", AS_OF,
                          "--workers", 0, "--simulations", 200)
    check("consolidate", data)
    assert code == 1
    assert data["skipped"] == data["skipped_reps"]            # the deprecated alias, same value


@pytest.mark.parametrize("args", [
    ["validate", "x.xlsx", "--engine", "foo"],
    ["forecast", "x.xlsx", "--as-of", "someday"],
    ["review", "x.xlsx"],                                      # no -o
    ["consolidate", "x.xlsx", "-o", "t.xlsx", "--lang", "de"],
    ["validate"],
])
def test_usage_errors_are_json_under_json(args):
    r = runner.invoke(app, args + ["--json"])
    assert r.exit_code == 2
    data = json.loads(r.stdout)
    assert data["error"] == "usage" and data["message"]
    check(args[0], data)


def test_backtest_json(tmp_path):
    from test_backtest import _store                  # the by-hand history of tests/test_backtest.py
    d = dt.date
    _store(tmp_path, [(d(2026, 1, 20), [("A", 500.0, 0.6, "Open", d(2026, 1, 25))], (d(2026, 1, 1), d(2026, 1, 31), 900.0)),
                      (d(2026, 2, 20), [("A", 500.0, 0.6, "Won", d(2026, 1, 25))], (d(2026, 2, 1), d(2026, 2, 28), 900.0))]
           ).close()
    code, data = run_json("backtest", "--history", tmp_path / "h.sqlite", "--simulations", 200)
    check("backtest", data)
    assert code == 0 and data["collections"] == 2 and len(data["rep_cases"]) == 1
    assert data["rep_cases"][0]["actual"] == 500
    code, data = run_json("backtest", "--history", tmp_path / "none.sqlite")
    check("backtest", data)
    assert code == 2 and data["error"] == "usage" and "no history store" in data["message"]
