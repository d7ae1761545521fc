"""Expand command-line inputs (files, folders, globs) into workbook paths; lock files are skipped."""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable

from salesxl.issues import Issue, make_issue

EXTENSIONS = (".xlsx", ".xlsm")


def is_lock_file(p: Path) -> bool:
    return p.name.startswith("~$") or p.name.startswith(".~lock.")


def expand_inputs(inputs: Iterable[str | os.PathLike], lang: str = "en",
                  exclude: Iterable[Path] = ()) -> tuple[list[Path], list[Issue]]:
    """Workbook paths in a stable order (each once), and notes for what was skipped.

    A folder contributes its .xlsx/.xlsm files (recursively); a glob its matches; a plain path is taken
    as given, whatever its extension, so that a renamed file still gets a clear file-level issue."""
    seen: set[Path] = set()
    out: list[Path] = []
    notes: list[Issue] = []
    excluded = {Path(e).resolve() for e in exclude}

    def add(p: Path, explicit: bool) -> None:
        rp = p.resolve()
        if rp in seen or rp in excluded:
            return
        if is_lock_file(p):
            notes.append(make_issue("LOCK_FILE_SKIPPED", lang=lang, file=str(p)))
            return
        if not explicit and p.suffix.lower() not in EXTENSIONS:
            return
        seen.add(rp)
        out.append(p)

    for item in inputs:
        s = str(item)
        p = Path(s)
        if p.is_dir():
            for f in sorted(q for q in p.rglob("*") if q.is_file()):
                add(f, explicit=False)
        elif any(ch in s for ch in "*?["):
            for f in sorted(glob.glob(s, recursive=True)):
                fp = Path(f)
                if fp.is_file():
                    add(fp, explicit=False)
        else:
            add(p, explicit=True)
    return out, notes
