"""The one table type of salesxl: a workbook table's columns, from the reader to the writers.

A `TableData` holds one table of one workbook (or of several, once consolidated):

* ``columns``: values by column key (the contract's keys), one list per column, all of one length;
* ``rows``: the Excel row of each row, in the same order;
* where the table was found: ``key`` (the contract table), ``sheet``, ``headers`` (column key -> the
  header text as typed), ``header_row`` and ``columns_at`` (column key -> Excel column index), and the
  header texts that name no contract column (``extra_headers``);
* ``kept``: for a typed table, what was typed where a value could not be interpreted (column key ->
  {row index: value as typed}): the typed value is None there, and the typed value is what the
  computations use; `output` gives the column to write back, with what was typed kept.

The reader makes one with raw cell values, the validation one with typed values, and the forecast,
the history and the writers read them. Selecting rows (`take`) gives a view that shares the lists
until a column is asked for, so grouping a team's tables by rep copies nothing; a view pickles as a
table of its own (what a worker process receives). No pandas here: `to_frame` is for the edges that
want a DataFrame.

``len(table)`` is its number of rows; iterating gives the column keys; ``table[key]`` a column (a list: do not change it in place,
`set` a new one), ``key in table`` whether the column is there, ``table.get(key)`` a column or None.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TableData", "ROW"]

ROW = "_row"       # the Excel row's column name where a table is flattened (to_frame, the team workbook)


class TableData:
    """One table's columns with their Excel rows, sheet and headers as found (see the module)."""

    __slots__ = ("key", "sheet", "headers", "header_row", "columns_at", "extra_headers", "kept",
                 "_cols", "_rows", "_sel")

    def __init__(self, key: str, columns: Mapping[str, list], rows: Sequence[int] | None, *, sheet: str | None = None,
                 headers: Mapping[str, str] | None = None, header_row: int | None = None,
                 columns_at: Mapping[str, int] | None = None, extra_headers: tuple[str, ...] = (),
                 kept: Mapping[str, Mapping[int, Any]] | None = None):
        if rows is None:            # not read from a sheet (a query of the history store): no Excel rows
            rows = [None] * len(next(iter(columns.values()), ()))
        rows = rows if isinstance(rows, list) else list(rows)
        for c, v in columns.items():
            if len(v) != len(rows):
                raise ValueError(f"column {c!r} has {len(v)} values for {len(rows)} rows")
        self.key = key
        self.sheet = sheet
        self.headers = dict(headers or {})
        self.header_row = header_row
        self.columns_at = dict(columns_at or {})
        self.extra_headers = tuple(extra_headers)
        self.kept = {c: dict(k) for c, k in (kept or {}).items() if k}
        self._cols = dict(columns)
        self._rows = rows
        self._sel: slice | list[int] | None = None

    # -- reading ------------------------------------------------------------------------------
    @property
    def columns(self) -> tuple[str, ...]:
        """The column keys, in order."""
        return tuple(self._cols)

    @property
    def rows(self) -> list[int]:
        """The Excel row of each row."""
        return self._pick(self._rows)

    def __len__(self) -> int:
        sel = self._sel
        if sel is None:
            return len(self._rows)
        return sel.stop - sel.start if isinstance(sel, slice) else len(sel)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __contains__(self, key: object) -> bool:
        return key in self._cols

    def __getitem__(self, key: str) -> list:
        return self._pick(self._cols[key])

    def __iter__(self) -> Iterator[str]:
        """The column keys (as a DataFrame's: `len` counts rows, iteration gives columns)."""
        return iter(self._cols)

    def get(self, key: str, default: Any = None) -> Any:
        """Column `key`, else `default`."""
        return self[key] if key in self._cols else default

    def column(self, key: str) -> list:
        """Column `key`, or None on every row when the table does not have it."""
        return self[key] if key in self._cols else [None] * len(self)

    def items(self) -> Iterator[tuple[str, list]]:
        return ((c, self[c]) for c in self._cols)

    def output(self, key: str) -> list:
        """Column `key` as written back: the typed values, with what was typed where a value could not
        be interpreted (nothing typed is lost)."""
        vals = self[key]
        kept = self.kept.get(key)
        if not kept:
            return vals
        vals = list(vals)
        for i, v in kept.items():
            vals[i] = v
        return vals

    def _pick(self, values: list) -> list:
        sel = self._sel
        if sel is None:
            return values
        if isinstance(sel, slice):
            return values[sel]
        return [values[i] for i in sel]

    # -- new tables ---------------------------------------------------------------------------
    def set(self, key: str, values: list) -> None:
        """Column `key` replaced (or added) by `values`, one per row (a whole table only, not a view)."""
        if self._sel is not None:
            raise ValueError("a view of a table cannot be changed: take a copy() first")
        if len(values) != len(self._rows):
            raise ValueError(f"column {key!r} has {len(values)} values for {len(self._rows)} rows")
        self._cols[key] = values

    def take(self, indexes: Sequence[int] | range) -> TableData:
        """The rows at `indexes` (positions in this table, in the order given): a view sharing the lists
        (a column is copied when asked for). `kept` follows the rows."""
        base = self._positions()
        if isinstance(indexes, range) and indexes.step == 1:
            sel: slice | list[int] = (slice(base.start + indexes.start, base.start + indexes.stop)
                                      if isinstance(base, slice) else list(base[indexes.start:indexes.stop]))
        else:
            sel = [base.start + i for i in indexes] if isinstance(base, slice) else [base[i] for i in indexes]
        out = self._like(self._cols, self._rows, {})
        out._sel = sel
        if self.kept:                  # a row may be taken more than once
            where: dict[int, list[int]] = {}
            for new, old in enumerate(indexes):
                where.setdefault(old, []).append(new)
            out.kept = {c: k2 for c, k in self.kept.items()
                        if (k2 := {new: v for i, v in k.items() for new in where.get(i, ())})}
        return out

    def select(self, columns: Iterable[str]) -> TableData:
        """The table with only `columns` (those it has), a view of the same rows."""
        keep = [c for c in columns if c in self._cols]
        out = self._like({c: self._cols[c] for c in keep}, self._rows,
                         {c: k for c, k in self.kept.items() if c in keep})
        out._sel = self._sel
        return out

    def copy(self) -> TableData:
        """A table of its own (the lists copied when this is a view)."""
        return self._like({c: list(self[c]) for c in self._cols}, list(self.rows), self.kept)

    @classmethod
    def concat(cls, parts: Sequence[TableData]) -> TableData:
        """The rows of `parts` one after the other (columns: the first part's, None where a part has not
        got one; `kept` follows the rows; where found: the first part's)."""
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        names = list(dict.fromkeys(c for p in parts for c in p.columns))
        cols = {c: [v for p in parts for v in p.column(c)] for c in names}
        kept: dict[str, dict[int, Any]] = {}
        offset = 0
        for p in parts:
            for c, k in p.kept.items():
                kept.setdefault(c, {}).update({offset + i: v for i, v in k.items()})
            offset += len(p)
        return first._like(cols, [r for p in parts for r in p.rows], kept)

    def _positions(self) -> slice | list[int]:
        sel = self._sel
        return slice(0, len(self._rows)) if sel is None else sel

    def _like(self, cols: Mapping[str, list], rows: list, kept) -> TableData:
        return TableData(self.key, cols, rows, sheet=self.sheet, headers=self.headers, header_row=self.header_row,
                         columns_at=self.columns_at, extra_headers=self.extra_headers, kept=kept)

    # -- pickling (a view goes as a table of its own) --------------------------------------------
    def __getstate__(self):
        return (self.key, {c: self[c] for c in self._cols}, self.rows, self.sheet, self.headers, self.header_row,
                self.columns_at, self.extra_headers, self.kept)

    def __setstate__(self, state) -> None:
        (self.key, self._cols, self._rows, self.sheet, self.headers, self.header_row, self.columns_at,
         self.extra_headers, self.kept) = state
        self._sel = None

    # -- edges --------------------------------------------------------------------------------
    def to_frame(self, row: str | None = ROW) -> pd.DataFrame:
        """A DataFrame of object columns (values kept as they are, None never NaN), plus the Excel rows
        as an int64 column named `row` (None: without them). For the edges that want pandas."""
        import numpy as np
        import pandas as pd
        keys = list(self._cols)
        arr = np.empty((len(self), len(keys)), dtype=object)
        for j, c in enumerate(keys):
            arr[:, j] = self[c]
        df = pd.DataFrame(arr, columns=keys, dtype=object, copy=False)
        if row is not None:
            df[row] = np.asarray(self.rows, dtype=np.int64)
        return df

    def __repr__(self) -> str:
        return f"TableData({self.key!r}, sheet={self.sheet!r}, {len(self)} rows, columns={list(self._cols)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableData):
            return NotImplemented
        return (self.key, self.sheet, self.headers, self.rows, self.kept, dict(self.items())) == \
            (other.key, other.sheet, other.headers, other.rows, other.kept, dict(other.items()))

    __hash__ = None  # type: ignore[assignment]
