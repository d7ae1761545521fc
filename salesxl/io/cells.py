"""Small helpers shared by the openpyxl writers: text stays text, atomic saves."""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from salesxl.io.outputs import display, give_mode, new_temp, untrack
from salesxl.layout import DATE_FORMATS, TABLE_AMOUNT_FORMAT, TABLE_PERCENT_FORMAT

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell

# number formats shared by the writers (openpyxl templates, XlsxWriter team workbook, live): declared
# once with the other styles in salesxl.layout
DATE_FORMAT = DATE_FORMATS
AMOUNT_FORMAT = TABLE_AMOUNT_FORMAT
PERCENT_FORMAT = TABLE_PERCENT_FORMAT

# control characters but tab, LF, CR; lone surrogates (a file name that is not UTF-8); U+FFFE, U+FFFF
ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_str(s: str) -> str:
    """Remove characters XML 1.0 cannot hold (a pasted control character must not break the file); the
    undecodable bytes of a file name (surrogate escapes) become U+FFFD."""
    if not ILLEGAL_RE.search(s):
        return s
    return display(_CONTROL_RE.sub("", s))


def put(cell: Cell, value: Any, number_format: str | None = None) -> None:
    """Write a value to an openpyxl cell; any text, even '=HYPERLINK(…)', is stored as text."""
    if isinstance(value, str):
        cell.value = clean_str(value)
        cell.data_type = "s"
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format


def put_formula(cell: Cell, formula: str, number_format: str | None = None) -> None:
    """A native formula written by salesxl itself (never text coming from a workbook)."""
    assert formula.startswith("=")
    cell.value = formula
    if number_format:
        cell.number_format = number_format


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call write(tmp) on a temporary file beside `path`, then replace `path` in one step.

    A failed write leaves the previous file intact and no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_temp(path)
    try:
        write(Path(tmp))
        give_mode(tmp, path)                # as a normal save: not the temporary file's 0600
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        untrack(tmp)
    return path


FIXED_TIME = dt.datetime(2026, 1, 1)
