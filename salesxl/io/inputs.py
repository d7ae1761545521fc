"""Expand command-line inputs (files, folders, globs) into the files to read, each accounted for.

Every file of a folder gets a status: workbooks are read; any other file goes through the bad-file
guard like a workbook, which names what it is (an .xls of any BIFF version LEGACY_XLS; .xlsb, .ods,
.csv NOT_XLSX with a hint to save it as .xlsx; a PDF, a Word document…). Office lock files
(`~$name.xlsx`, LibreOffice's `.~lock.name.xlsx#`) get a note; hidden and system files (`.DS_Store`,
`Thumbs.db`, `desktop.ini`, dot-files) are ignored. A folder is read one level deep (its own files):
its subfolders (an `archive/` of older submissions) are named in a note and read only with
`recursive=True`.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable

from salesxl.issues import Issue, make_issue

SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r", ".localized"})


def is_lock_file(p: Path) -> bool:
    return p.name.startswith("~$") or p.name.startswith(".~lock.")


def is_hidden(p: Path) -> bool:
    """A system or hidden file no one submitted (Finder, Explorer, dot-files, AppleDouble `._x`)."""
    return p.name.casefold() in SYSTEM_FILES or (p.name.startswith(".") and not is_lock_file(p))


def expand_inputs(inputs: Iterable[str | os.PathLike], lang: str = "en", exclude: Iterable[Path] = (),
                  *, recursive: bool = False) -> tuple[list[Path], list[Issue]]:
    """The files to read in a stable order (each once), and notes for what was not read.

    A folder contributes every file of its own (with `recursive`, of its subfolders too); a glob its
    matching files; a plain path is taken as given, whatever its extension, so that a renamed file
    still gets a clear file-level issue."""
    seen: set[Path] = set()
    out: list[Path] = []
    notes: list[Issue] = []
    excluded = {Path(e).resolve() for e in exclude}

    def add(p: Path, explicit: bool) -> None:
        rp = p.resolve()
        if rp in seen or rp in excluded:
            return
        if is_lock_file(p):
            seen.add(rp)
            notes.append(make_issue("LOCK_FILE_SKIPPED", lang=lang, file=str(p)))
            return
        if not explicit and is_hidden(p):
            return
        seen.add(rp)
        out.append(p)

    visited: set[Path] = set()

    def folder(d: Path) -> None:
        if d.resolve() in visited:                    # a link back up the tree is read once
            return
        visited.add(d.resolve())
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            notes.append(make_issue("FOLDER_NOT_READ", lang=lang, file=str(d), detail=exc.strerror or str(exc)))
            return
        subfolders = []
        for e in entries:
            p = Path(e.path)
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not is_hidden(p) and p.resolve() not in excluded:
                    subfolders.append(p)
            elif e.is_file() or e.is_symlink():        # a dangling link still gets its status
                add(p, explicit=False)
        for sub in subfolders:
            if recursive:
                folder(sub)
            else:
                notes.append(make_issue("SUBFOLDER_SKIPPED", lang=lang, file=str(sub)))

    for item in inputs:
        s = str(item)
        p = Path(s)
        if p.is_dir():
            folder(p)
        elif any(ch in s for ch in "*?["):
            for f in sorted(glob.glob(s, recursive=True)):
                fp = Path(f)
                if fp.is_file():
                    add(fp, explicit=False)
        else:
            add(p, explicit=True)
    return out, notes
