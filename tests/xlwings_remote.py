"""Test helper: a real xlwings ``Book`` without Excel, on xlwings' remote engine.

The remote engine (``xlwings/pro/_xlremote.py``) is what runs behind xlwings Server and xlwings
Lite: the Excel client (Office.js add-in, Office Scripts, VBA, Google Sheets) sends the workbook as
JSON, Python works on ``xw.Book(json=payload)`` with the ordinary xlwings API, and every write is
recorded as a JSON *action* (``book.json()["actions"]``) that the client replays in Excel. So the
live-workbook code is exercised against xlwings' own implementation, and what it would make Excel
do is visible and countable.

Licence (tests only): the remote engine is an xlwings PRO module, dual-licensed PolyForm
Noncommercial / commercial. ``xlwings/pro/utils.py`` (``LicenseHandler``) reads the key from the
``XLWINGS_LICENSE_KEY`` environment variable first and accepts the literal value ``noncommercial``
without any further check; ``xlwings/__init__.py`` registers the ``remote`` engine only if that
check passes at import time. This helper sets the variable (unless already set) for the test
process, and registers the engine itself if xlwings was imported before. SalesXL's shipped add-in
uses classic (BSD) xlwings only; nothing outside the tests sets this variable.

``book_json_from_xlsx(path)`` builds the payload the Office.js client (xlwings Lite / xlwings
Server's Office.js add-in) sends for a real .xlsx read with openpyxl:

``{"client": "Office.js", "version": xw.__version__,
   "book": {"name", "active_sheet_index", "selection", "calculation"},
   "names": [{"name", "refers_to", "sheet_index", "address", "book_scope",
              "scope_sheet_name", "scope_sheet_index"}],
   "sheets": [{"name", "values", "used_range_address", "visibility", "tables", "notes",
               "notes_supported", "pictures", "shapes", "charts", "pivot_tables",
               "print_area", "show_gridlines"}]}``

* ``values``: the rectangle from A1 to the used range's last cell (the clients always anchor it at
  A1); empty cells are ``""``, numbers JSON numbers, booleans JSON booleans, cell errors their text
  (``"#N/A"``), and date/time-formatted cells ISO strings ``"2003-04-04T00:00:00.000Z"`` — the
  client's ``numberFormatCategories`` conversion, which xlwings turns back into ``datetime``.
* a table: ``{"name", "range_address", "header_row_range_address", "data_body_range_address",
  "total_row_range_address", "show_headers", "show_totals", "table_style", "show_autofilter",
  "show_table_style_first_column", …, "row_count", "column_count", "columns"}``, addresses
  without sheet name or ``$``.
* ``notes``: ``[{"address": "B5"}]`` for each cell with a note (openpyxl "comment"); the text is
  not part of the payload (xlwings Lite fetches it on demand).

``client`` must be ``"Office.js"`` for notes (``Range.add_note``) and for the ``version`` check to
be lenient; other clients must send exactly ``xw.__version__``.
"""
from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # tests only, see module doc

import xlwings as xw  # noqa: E402
from openpyxl import load_workbook  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402


def ensure_remote_engine() -> None:
    """Register xlwings' remote engine if xlwings was imported before the licence variable."""
    if "remote" in [engine.name for engine in xw.engines]:
        return
    from xlwings.pro import _xlremote

    xw.engines.add(xw.main.Engine(impl=_xlremote.engine))


ensure_remote_engine()

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def _iso(value: dt.datetime) -> str:
    # What the client sends: JS Date.toISOString() of the serial -> always milliseconds and "Z".
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _json_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, dt.date):
        return _iso(dt.datetime(value.year, value.month, value.day))
    if isinstance(value, dt.time):
        return _iso(dt.datetime.combine(_EXCEL_EPOCH.date(), value))
    if isinstance(value, dt.timedelta):
        return _iso(_EXCEL_EPOCH + value)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _rect(min_row: int, min_col: int, max_row: int, max_col: int) -> str:
    a = f"{get_column_letter(min_col)}{min_row}"
    if (min_row, min_col) != (max_row, max_col):
        a += f":{get_column_letter(max_col)}{max_row}"
    return a


def _table_json(table: Any) -> dict[str, Any]:
    from openpyxl.utils.cell import range_boundaries

    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    header_rows = 1 if table.headerRowCount is None else int(table.headerRowCount)
    total_rows = int(table.totalsRowCount or 0)
    body_top, body_bottom = min_row + header_rows, max_row - total_rows
    style = table.tableStyleInfo
    return {
        "name": table.displayName or table.name,
        "range_address": _rect(min_row, min_col, max_row, max_col),
        "header_row_range_address": (
            _rect(min_row, min_col, min_row, max_col) if header_rows else None),
        "data_body_range_address": _rect(body_top, min_col, body_bottom, max_col),
        "total_row_range_address": (
            _rect(max_row, min_col, max_row, max_col) if total_rows else None),
        "show_headers": bool(header_rows),
        "show_totals": bool(total_rows),
        "table_style": (style.name if style is not None and style.name else ""),
        "show_autofilter": table.autoFilter is not None,
        "show_table_style_first_column": bool(style and style.showFirstColumn),
        "show_table_style_last_column": bool(style and style.showLastColumn),
        "show_table_style_row_stripes": bool(style and style.showRowStripes),
        "show_table_style_column_stripes": bool(style and style.showColumnStripes),
        "row_count": max_row - min_row + 1,
        "column_count": max_col - min_col + 1,
        "columns": [column.name for column in table.tableColumns],
    }


def _name_json(defined: Any, sheet_titles: list[str], scope_index: int | None) -> dict[str, Any]:
    refers_to = "=" + defined.attr_text
    sheet_index = address = None
    try:
        destinations = list(defined.destinations)
    except Exception:  # not a plain range
        destinations = []
    if len(destinations) == 1 and destinations[0][0] in sheet_titles:
        title, coord = destinations[0]
        sheet_index = sheet_titles.index(title)
        address = coord.replace("$", "").upper()
    return {
        "name": defined.name,
        "refers_to": refers_to,
        "sheet_index": sheet_index,
        "address": address,
        "book_scope": scope_index is None,
        "scope_sheet_name": None if scope_index is None else sheet_titles[scope_index],
        "scope_sheet_index": scope_index,
    }


def book_json_from_xlsx(path: str | os.PathLike[str], *, data_only: bool = True) -> dict[str, Any]:
    """The JSON payload an Office.js client would send for the workbook at ``path``.

    ``data_only`` (default) sends cached formula results, as Excel would; a formula without a
    cached value (a file written by openpyxl and never opened in Excel) is then an empty cell.
    """
    wb = load_workbook(path, data_only=data_only)
    titles = wb.sheetnames
    names: list[dict[str, Any]] = []
    for defined in wb.defined_names.values():
        if not defined.name.startswith("_xlnm."):
            names.append(_name_json(defined, titles, None))
    sheets = []
    for index, ws in enumerate(wb.worksheets):
        for defined in ws.defined_names.values():
            if not defined.name.startswith("_xlnm."):
                names.append(_name_json(defined, titles, index))
        cells = ws._cells  # {(row, col): Cell}; the ones that exist in the file
        filled = [key for key, cell in cells.items() if cell.value is not None]
        if filled:
            min_row = min(r for r, _ in filled)
            max_row = max(r for r, _ in filled)
            min_col = min(c for _, c in filled)
            max_col = max(c for _, c in filled)
            values = [
                [_json_value(v) for v in row]
                for row in ws.iter_rows(min_row=1, max_row=max_row, min_col=1,
                                        max_col=max_col, values_only=True)
            ]
            used = _rect(min_row, min_col, max_row, max_col)
        else:
            values, used = [[]], None
        sheets.append({
            "name": ws.title,
            "values": values,
            "used_range_address": used,
            "visibility": {"visible": "Visible", "hidden": "Hidden"}.get(ws.sheet_state,
                                                                         "VeryHidden"),
            "tables": [_table_json(t) for t in ws.tables.values()],
            "notes": [{"address": cell.coordinate} for cell in cells.values() if cell.comment],
            "notes_supported": True,
            "pictures": [],
            "shapes": [],
            "charts": [],
            "pivot_tables": [],
            "print_area": ws.print_area if ws.print_area else None,
            "show_gridlines": bool(ws.sheet_view.showGridLines is not False),
        })
    active = wb.active
    selection = "A1"
    if active is not None and active.sheet_view.selection:
        selection = active.sheet_view.selection[0].sqref or "A1"
    payload = {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {
            "name": Path(path).name,
            "active_sheet_index": wb.index(active) if active is not None else 0,
            "selection": str(selection),
            "calculation": "Automatic",
        },
        "names": names,
        "sheets": sheets,
    }
    return json.loads(json.dumps(payload))  # exactly what survives the wire


def book_from_json(payload: dict[str, Any]) -> xw.Book:
    """``xw.Book(json=payload)`` on the remote engine (close it with ``book.close()``)."""
    ensure_remote_engine()
    return xw.Book(json=payload)


def book_from_xlsx(path: str | os.PathLike[str], *, data_only: bool = True) -> xw.Book:
    """A live xlwings ``Book`` (remote engine) holding the workbook at ``path``."""
    return book_from_json(book_json_from_xlsx(path, data_only=data_only))


def recorded_actions(book: xw.Book) -> list[dict[str, Any]]:
    """The actions recorded so far: what the client would replay in Excel, in order."""
    return book.json()["actions"]


def action_funcs(book: xw.Book) -> list[str]:
    return [action["func"] for action in recorded_actions(book)]


def reset_actions(book: xw.Book) -> None:
    """Forget the recorded actions (as after a round trip), e.g. between two measured steps."""
    book.json()["actions"].clear()


# ---------------------------------------------------------------------------------------------
# counting xlwings calls

_PUBLIC_LAYER = tuple(
    str(Path(xw.__file__).parent / part) for part in ("main.py", "conversion", "expansion.py")
)


class CallCounter(collections.Counter):
    """Calls from the public xlwings API into the engine, by ``"<ImplClass>.<attr>"``."""

    @property
    def total(self) -> int:  # type: ignore[override]
        return sum(self.values())

    def reads(self) -> int:
        return sum(n for key, n in self.items() if key.endswith((".raw_value", ".value")))


@contextlib.contextmanager
def count_calls() -> Iterator[CallCounter]:
    """Count xlwings calls made inside the block.

    Each attribute read, method call or property assignment that the public xlwings layer
    (``xlwings/main.py`` and the conversion pipeline) makes on an engine object is one call —
    on the classic Windows/macOS engines each of these is a round trip to Excel, so this is the
    engine-independent measure of "how many times do we talk to Excel". Internal bookkeeping of
    the remote engine itself is not counted. Class-level: counts every remote book.
    """
    from xlwings import base_classes
    from xlwings.pro import _xlremote

    counter = CallCounter()
    classes = [
        obj for obj in vars(_xlremote).values()
        if isinstance(obj, type) and issubclass(obj, tuple(
            c for c in vars(base_classes).values() if isinstance(c, type)))
        and obj.__module__ == _xlremote.__name__
    ]
    saved = {cls: (cls.__dict__.get("__getattribute__"), cls.__dict__.get("__setattr__"))
             for cls in classes}
    getframe = sys._getframe

    def _public_caller() -> bool:
        return getframe(2).f_code.co_filename.startswith(_PUBLIC_LAYER)

    def make(cls: type) -> tuple[Any, Any]:
        name = cls.__name__

        def __getattribute__(self: Any, attr: str) -> Any:
            if attr[0] != "_" and _public_caller():
                counter[f"{name}.{attr}"] += 1
            return object.__getattribute__(self, attr)

        def __setattr__(self: Any, attr: str, value: Any) -> None:
            if attr[0] != "_" and _public_caller():
                counter[f"{name}.{attr}="] += 1
            object.__setattr__(self, attr, value)

        return __getattribute__, __setattr__

    try:
        for cls in classes:
            getter, setter = make(cls)
            cls.__getattribute__ = getter
            cls.__setattr__ = setter
        yield counter
    finally:
        for cls, (getter, setter) in saved.items():
            for attr, original in (("__getattribute__", getter), ("__setattr__", setter)):
                if original is None:
                    with contextlib.suppress(AttributeError):
                        delattr(cls, attr)
                else:
                    setattr(cls, attr, original)
