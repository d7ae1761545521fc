"""The JSON contract of the command line: one JSON Schema per command's `--json` output (SPEC §6,
docs/json.md), shipped in the package as data files.

Every output carries ``schema_version`` (this module's :data:`SCHEMA_VERSION`: the major number
changes when a key is renamed or removed, the minor one when keys are added) and ``command``.
The schemas share their definitions (issue, file, counts, a rep's forecast…) through
``common.json``; :func:`registry` resolves those references offline (the ``$id`` addresses are
names, not places to download from). Pure Python: no import beyond the standard library here;
``jsonschema`` is only needed by :func:`validator`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["BASE", "COMMANDS", "SCHEMA_VERSION", "load", "registry", "validator"]

SCHEMA_VERSION = "1.0"
BASE = "https://salesxl.example/schemas/1/"
#: The commands with a --json output, each with its schema file `<command>.json`.
COMMANDS = ("validate", "forecast", "review", "consolidate", "new-period", "backtest")


@lru_cache(maxsize=None)
def _text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    """The schema of command `name` (or "common"), as a new dict."""
    if name != "common" and name not in COMMANDS:
        raise KeyError(f"no JSON schema for {name!r}: one of {', '.join(COMMANDS)}")
    return json.loads(_text(f"{name}.json"))


def registry():
    """A `referencing.Registry` holding every schema under its `$id` (offline resolution)."""
    from referencing import Registry, Resource
    return Registry().with_resources((BASE + f"{n}.json", Resource.from_contents(load(n)))
                                     for n in ("common", *COMMANDS))


def validator(name: str):
    """A `jsonschema` validator of command `name`'s output (needs the `jsonschema` package)."""
    from jsonschema import Draft202012Validator
    return Draft202012Validator(load(name), registry=registry())
