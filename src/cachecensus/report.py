"""Rendering records for people (rich tables) and machines (JSON, TOML).

``to_jsonable`` turns the pipeline's frozen dataclasses, enums and tuples into plain JSON
values; every command's ``--json`` document is built from it and carries ``"schema"``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Plain JSON values from records (dataclasses), enums, mappings and sequences."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    """What ``json`` cannot encode by itself, one level at a time (``to_jsonable``'s rules;
    str-valued enums, dicts, lists and tuples json encodes natively)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return {str(k): v for k, v in obj.items()}
    if isinstance(obj, (Sequence, set, frozenset)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def print_json(doc: Any) -> None:
    """``doc`` as indented JSON on stdout, encoded in memory and written at once (20 000
    entries take 0.2 s this way, seconds through ``json.dump``'s many small writes)."""
    try:
        text = json.dumps(doc, indent=2, default=_json_default)
    except (TypeError, ValueError):  # e.g. a key json does not take: the general path
        text = json.dumps(to_jsonable(doc), indent=2)
    sys.stdout.write(text + "\n")


def _drop_none(value: Any) -> Any:
    """TOML has no null: drop None values (absent keys mean null in our TOML output)."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value if v is not None]
    return value


def print_toml(doc: Any) -> None:
    import tomli_w

    sys.stdout.write(tomli_w.dumps(_drop_none(to_jsonable(doc))))


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 entry``, ``2 entries``: a count and its noun in agreement (``nouns`` when the
    plural is not ``noun + 's'``)."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def human_bytes(n: float) -> str:
    """pip's ``format_size`` (powers of 1000, the same rounding), plus GB above 1e9."""
    if n > 1000 * 1000 * 1000:
        return f"{n / 1e9:.1f} GB"
    if n > 1000 * 1000:
        return f"{n / 1000.0 / 1000:.1f} MB"
    if n > 10 * 1000:
        return f"{int(n / 1000)} kB"
    if n > 1000:
        return f"{n / 1000.0:.1f} kB"
    return f"{int(n)} bytes"


#: Above this many rows a table is printed plain (aligned columns, no box): rich measures
#: every cell several times, which for thousands of entries costs more than the scan.
PLAIN_ROWS = 200


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    stderr: bool = False,
) -> None:
    """A rich table on a terminal (imported lazily: only human output pays for rich); long
    tables, and any table written to a pipe or file, are printed plain in the same columns
    (no box drawing, no wrapping: greppable). Cell text is never read as markup."""
    stream = sys.stderr if stderr else sys.stdout
    if len(rows) > PLAIN_ROWS or not stream.isatty():
        print_plain_table(title, columns, rows, stderr=stderr)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    Console(stderr=stderr, soft_wrap=False).print(table)


def print_plain_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    stderr: bool = False,
) -> None:
    """Aligned columns separated by two spaces; a multi-line cell continues on the next
    lines in its own column."""
    split = [[cell.split("\n") for cell in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in split:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))
    out = [title] if title else []

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out.append(line(columns))
    out.append(line(["-" * w for w in widths]))
    for row in split:
        height = max(len(lines) for lines in row)
        for k in range(height):
            out.append(line([lines[k] if k < len(lines) else "" for lines in row]))
    stream = sys.stderr if stderr else sys.stdout
    stream.write("\n".join(out) + "\n")
