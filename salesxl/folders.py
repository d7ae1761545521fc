"""The team workbook's two folders (Settings: *Inbox folder*, where the reps' workbooks arrive, and
*Outbox folder*, where New period writes each rep's workbook): the rules the Consolidate and New period
buttons and `salesxl new-period` share. Core: paths in, paths out; each front end says in its own words
(an action's message box, a usage line) what to set.

* :func:`setting_folder`: an empty setting names no folder; ``~`` is the user's home; an absolute path
  is that folder; a relative one is relative to the team workbook's folder.
* :func:`outbox_is_inbox`: the outbox must not be the inbox (the same folder once links and ``..`` are
  resolved, letters compared regardless of case: the team workbook travels between Windows and macOS,
  whose file systems ignore case): nothing is ever written where the reps' workbooks arrive.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from salesxl.values import clean_text

__all__ = ["outbox_is_inbox", "setting_folder"]


def setting_folder(value: Any, book_folder: Callable[[], Path]) -> Path | None:
    """The folder a Settings value names (None when it is empty): an absolute path as it is, a relative one
    inside the team workbook's folder, `book_folder()` (asked only then: it may raise when the workbook has
    no folder on this machine)."""
    text = clean_text(value)
    if not text:
        return None
    p = Path(text).expanduser()
    return p if p.is_absolute() else book_folder() / p


def outbox_is_inbox(outbox: Path | None, inbox: Path | None) -> bool:
    """Whether the outbox is the inbox: both given and the same folder once resolved (case ignored)."""
    return (outbox is not None and inbox is not None
            and str(Path(outbox).resolve()).casefold() == str(Path(inbox).resolve()).casefold())
