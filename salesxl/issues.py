"""Issues as values: every problem found carries its code, severity and source location.

Validation never stops at the first problem: rules return lists of `Issue`, callers concatenate.
Codes are declared once in `salesxl.issue_codes` (severity, messages EN/FR, effect, …); messages are
rendered in the workbook's language.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable

from salesxl.i18n import message
from salesxl.issue_codes import CODES, ERROR, WARNING

# Derived from the one declaration per code (salesxl/issue_codes.py, where new codes are declared).
SEVERITY = MappingProxyType({code: c.severity for code, c in CODES.items()})
FILE_LEVEL_CODES = frozenset(code for code, c in CODES.items() if c.file_level)


def _plain(value: Any) -> Any:
    """A JSON-friendly rendering of a cell value (dates ISO, NaN as None)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)):
        return value
    try:  # numpy scalars, pandas Timestamp
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value.item()
    except Exception:  # pragma: no cover - defensive
        return str(value)


@dataclass(frozen=True)
class Issue:
    severity: str
    code: str
    file: str | None
    sheet: str | None
    row: int | None
    column: str | None
    value: Any
    message: str

    def to_dict(self) -> dict:
        # built field by field: dataclasses.asdict deep-copies every value (0.7 s for 16k issues)
        return {"severity": self.severity, "code": self.code, "file": self.file, "sheet": self.sheet,
                "row": self.row, "column": self.column, "value": _plain(self.value), "message": self.message}


def make_issue(code: str, *, lang: str = "en", file: str | None = None, sheet: str | None = None,
               row: int | None = None, column: str | None = None, value: Any = None,
               severity: str | None = None, **params: Any) -> Issue:
    """Build an issue with the message of `code` in `lang`, formatted with the location and params."""
    sev = severity or SEVERITY[code]
    fmt = dict(params)
    fmt.setdefault("column", column if column is not None else "")
    fmt.setdefault("value", "" if value is None else _plain(value))
    fmt.setdefault("sheet", sheet or "")
    fmt.setdefault("row", row if row is not None else "")
    fmt.setdefault("file", file or "")
    return Issue(sev, code, file, sheet, row, column, value, message(code, lang, **fmt))


def file_issue(code: str, path: str, lang: str = "en", **params: Any) -> Issue:
    """One file-level issue: the whole file could not be read."""
    return make_issue(code, lang=lang, file=str(path), **params)


def file_status(issues: Iterable[Issue]) -> str:
    """"unreadable" (a file-level issue), "invalid" (an issue of severity error) or "ok"."""
    issues = list(issues)
    if any(i.code in FILE_LEVEL_CODES for i in issues):
        return "unreadable"
    if any(i.severity == ERROR for i in issues):
        return "invalid"
    return "ok"


def exit_code(statuses: Iterable[str]) -> int:
    """A command's exit code from its files' statuses: 2 when none is usable, 1 when any is invalid or
    unreadable, else 0 (warnings allowed; a duplicate counts as usable)."""
    statuses = list(statuses)
    if not statuses or all(s == "unreadable" for s in statuses):
        return 2
    return 1 if any(s in ("invalid", "unreadable") for s in statuses) else 0


def effect(issue: Issue, lang: str) -> str:
    """What the computations did about an issue (the Issues sheet's Effect column; '' when nothing)."""
    declared = CODES.get(issue.code)
    return declared.effect_text(lang, issue.severity) if declared else ""


def count(issues: Iterable[Issue]) -> dict:
    counts = {ERROR: 0, WARNING: 0}
    for i in issues:
        counts[i.severity] += 1
    return counts
