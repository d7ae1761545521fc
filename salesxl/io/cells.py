"""Small helpers shared by the openpyxl writers: text stays text, atomic saves."""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

from salesxl.layout import DATE_FORMATS, TABLE_AMOUNT_FORMAT, TABLE_PERCENT_FORMAT

# number formats shared by the writers (openpyxl templates, XlsxWriter team workbook, live): declared
# once with the other styles in salesxl.layout
DATE_FORMAT = DATE_FORMATS
AMOUNT_FORMAT = TABLE_AMOUNT_FORMAT
PERCENT_FORMAT = TABLE_PERCENT_FORMAT

ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")     # control characters but tab, LF, CR


def clean_str(s: str) -> str:
    """Remove characters XML 1.0 cannot hold (a pasted control character must not break the file)."""
    return ILLEGAL_RE.sub("", s) if ILLEGAL_RE.search(s) else s


def put(cell, value: Any, number_format: str | None = None) -> None:
    """Write a value to an openpyxl cell; any text, even '=HYPERLINK(…)', is stored as text."""
    if isinstance(value, str):
        cell.value = clean_str(value)
        cell.data_type = "s"
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format


def put_formula(cell, formula: str, number_format: str | None = None) -> None:
    """A native formula written by salesxl itself (never text coming from a workbook)."""
    assert formula.startswith("=")
    cell.value = formula
    if number_format:
        cell.number_format = number_format


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Call write(tmp) on a temporary file beside `path`, then replace `path` in one step.

    A failed write leaves the previous file intact and no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".~" + path.stem + "-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


FIXED_TIME = dt.datetime(2026, 1, 1)
