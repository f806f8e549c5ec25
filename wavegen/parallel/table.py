"""A labelled table of records: what :func:`wavegen.safety.check_many` and :func:`wavegen.design.sweep` return.

Why records and not a ``pandas.DataFrame``: the rows are few (one per protocol and configuration, or per
grid point) and of mixed types (names, verdicts, numbers, error messages); a tuple of plain dicts needs
no dependency, keeps the input order exactly, compares row for row (NaN equal to NaN), and pickles small
between Dask workers. :meth:`Table.to_pandas` gives a DataFrame in one call where pandas is installed.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from wavegen.errors import ConfigError, ShapeError

__all__ = ["Table"]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _json_value(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    if hasattr(x, "item"):  # numpy scalars
        return _json_value(x.item())
    return str(x)


def _cell(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, float):
        return "-" if math.isnan(x) else f"{x:.4g}"
    return str(x)


class Table:
    """Rows of named columns, in a fixed order.

    Parameters
    ----------
    columns
        The column names, in display order.
    rows
        One mapping per row; every row has exactly ``columns`` as keys.
    stats
        How the table was computed (scheduler, tasks, timings): informative, not compared.

    Examples
    --------
    >>> t = Table(("a", "b"), [{"a": 1, "b": 2.5}, {"a": 2, "b": float("nan")}])
    >>> len(t), t.column("a"), t[1]["a"]
    (2, [1, 2], 2)
    >>> print(t.format())
    a    b
    1  2.5
    2    -
    """

    def __init__(self, columns: Sequence[str], rows: Iterable[Mapping[str, Any]], stats: Any = None) -> None:
        self.columns: tuple[str, ...] = tuple(columns)
        out = []
        for i, r in enumerate(rows):
            if set(r) != set(self.columns):
                raise ShapeError(f"row {i} has keys {sorted(r)}, the table's columns are {list(self.columns)}")
            out.append({c: r[c] for c in self.columns})
        self.rows: tuple[dict[str, Any], ...] = tuple(out)
        self.stats = stats

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return self.columns == other.columns and len(self.rows) == len(other.rows) and all(
            _same(a[c], b[c]) for a, b in zip(self.rows, other.rows, strict=True) for c in self.columns
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Table({len(self.rows)} rows x {len(self.columns)} columns: {', '.join(self.columns)})"

    def column(self, name: str) -> list[Any]:
        """The values of one column, in row order."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns: {list(self.columns)}")
        return [r[name] for r in self.rows]

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as a list of new dicts."""
        return [dict(r) for r in self.rows]

    def to_pandas(self) -> Any:
        """The table as a ``pandas.DataFrame`` (needs pandas: ``pip install pandas``)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError("Table.to_pandas needs pandas (pip install pandas); to_records() needs nothing") from exc
        return pd.DataFrame(self.to_records(), columns=list(self.columns))

    def to_csv(self, path: str | Path | None = None) -> str:
        """The table as CSV text (NaN as an empty cell); written atomically to ``path`` when given."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in self.rows:
            w.writerow(["" if _json_value(r[c]) is None else _json_value(r[c]) for c in self.columns])
        text = buf.getvalue()
        if path is not None:
            from wavegen.atomic import write_text

            write_text(Path(path), text)
        return text

    def to_json(self, *, indent: int | None = 2) -> str:
        """The rows as a JSON list of objects (NaN and infinities as ``null``)."""
        return json.dumps([{c: _json_value(r[c]) for c in self.columns} for r in self.rows], indent=indent)

    def format(self, columns: Sequence[str] | None = None, *, max_width: int = 48) -> str:
        """A plain-text table of ``columns`` (default all); long cells are cut to ``max_width``."""
        cols = tuple(columns) if columns is not None else self.columns
        for c in cols:
            if c not in self.columns:
                raise KeyError(f"no column {c!r}; columns: {list(self.columns)}")
        cells = [[_cell(r[c]) for c in cols] for r in self.rows]
        cells = [[v if len(v) <= max_width else v[: max_width - 3] + "..." for v in row] for row in cells]
        numeric = [all(isinstance(r[c], (int, float)) and not isinstance(r[c], bool) for r in self.rows) for c in cols]
        widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(cols)]

        def line(values: Sequence[str]) -> str:
            parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
            return "  ".join(parts).rstrip()

        return "\n".join([line(list(cols)), *(line(row) for row in cells)])

    def __str__(self) -> str:
        return self.format()
