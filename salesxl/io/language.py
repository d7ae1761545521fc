"""The language of a run: `--lang`, else the majority language of the input workbooks (a tie: English),
never the first file's. Every message of the run is then in that language, the issues of files written
in the other language too (the readers are given it).

A workbook's language is sniffed from its sheet names (xl/workbook.xml), which name the tables in the
language of the template it came from; nothing else of the file is read, and nothing is parsed as XML
(a regular expression over at most 1 MB: an untrusted file is parsed by the guarded readers only).
"""
from __future__ import annotations

import html
import os
import re
import zipfile
from typing import Iterable

from salesxl import contract
from salesxl.values import label_key

WORKBOOK_PART_MAX = 1 << 20
_SHEET = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheet\b[^>]*?\bname=\"([^\"]*)\"")
_EN = frozenset(label_key(t.sheet_en) for t in contract.TABLES.values() if t.sheet_en != t.sheet_fr)
_FR = frozenset(label_key(t.sheet_fr) for t in contract.TABLES.values() if t.sheet_en != t.sheet_fr)


def sheet_names(path: str | os.PathLike[str]) -> list[str]:
    """The sheet names a workbook declares, [] when it is not a readable .xlsx package."""
    try:
        with zipfile.ZipFile(path) as z:
            info = next((i for i in z.infolist() if i.filename.lower() == "xl/workbook.xml"), None)
            if info is None or info.file_size > WORKBOOK_PART_MAX:
                return []
            with z.open(info) as f:
                data = f.read(WORKBOOK_PART_MAX + 1)
    except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, EOFError):
        return []
    return [html.unescape(m.decode("utf-8", "replace")) for m in _SHEET.findall(data[:WORKBOOK_PART_MAX])]


def workbook_language(path: str | os.PathLike[str]) -> str | None:
    """"fr" or "en" when the sheet names say so, else None."""
    keys = {label_key(n) for n in sheet_names(path)}
    fr, en = len(keys & _FR), len(keys & _EN)
    return "fr" if fr > en else "en" if en > fr else None


def run_language(paths: Iterable, lang: str | None = None) -> str:
    """`lang` when given, else the language most of the workbooks are in; a tie (or none known): English."""
    if lang:
        return lang
    votes = {"en": 0, "fr": 0}
    for p in paths:
        w = workbook_language(p)
        if w is not None:
            votes[w] += 1
    return "fr" if votes["fr"] > votes["en"] else "en"
