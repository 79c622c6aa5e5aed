r"""Rendering records for people (rich tables) and machines (JSON, TOML).

``to_jsonable`` turns the pipeline's frozen dataclasses, enums and tuples into plain JSON
values; every command's ``--json`` document is built from it and carries ``"schema"``.

Paths are bytes on POSIX and arrive here as ``str`` with every byte that is not UTF-8 held
as a lone surrogate (``surrogateescape``: byte 0xNN is U+DCNN). Each output keeps them
without failing:

- JSON is written ASCII-only (``ensure_ascii``): such a byte is the escape ``\udcNN``,
  and ``os.fsencode(json.loads(doc)[...])`` gives back the exact bytes;
- TOML cannot hold a lone surrogate: such a byte is written as the four characters
  ``\xNN`` (use ``--json`` for the exact bytes);
- tables and notes show every control character (``\n``, ``\t``, ``\x1b``...), bidi
  override and byte that is not UTF-8 escaped (:func:`shown`): one row is one line, and a
  file name cannot drive the terminal.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

#: A table cell: one line of text, or a tuple of lines (a multi-line cell).
Cell = str | tuple[str, ...]

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """``text`` safe for a terminal and for line-based readers: control characters
    (newline included), bidi overrides and bytes that are not UTF-8 escaped as
    ``\\n``/``\\t``/``\\r``/``\\xNN``/``\\uNNNN``; anything printable is kept."""
    return text if text.isprintable() else _UNSAFE.sub(_escape, text)


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
    """TOML has no null: drop None values (absent keys mean null in our TOML output); nor
    lone surrogates: a byte that is not UTF-8 becomes the text ``\\xNN``."""
    if isinstance(value, dict):
        return {_toml_str(k): _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value if v is not None]
    return _toml_str(value) if isinstance(value, str) else value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _toml_str(text: str) -> str:
    return text if text.isascii() else _SURROGATE.sub(_escape, text)


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
    rows: Sequence[Sequence[Cell]],
    *,
    stderr: bool = False,
) -> None:
    """A rich table on a terminal (imported lazily: only human output pays for rich); long
    tables, and any table written to a pipe or file, are printed plain in the same columns
    (no box drawing, no wrapping: greppable). Cell text is never read as markup, and is
    :func:`shown` escaped: a ``str`` cell is one line whatever it holds; a tuple of lines
    is a multi-line cell."""
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
        table.add_row(*(Text("\n".join(_lines(cell))) for cell in row))
    Console(stderr=stderr, soft_wrap=False).print(table)


def _lines(cell: Cell) -> list[str]:
    return [shown(cell)] if isinstance(cell, str) else [shown(line) for line in cell]


def print_plain_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    stderr: bool = False,
) -> None:
    """Aligned columns separated by two spaces; a multi-line cell (a tuple of lines)
    continues on the next lines in its own column."""
    split = [[_lines(cell) for cell in row] for row in rows]
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
