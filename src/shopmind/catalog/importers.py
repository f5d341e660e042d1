"""Load items, users or events from CSV, JSON Lines or Parquet files into a Store.

Every row is validated with the catalogue schema; a bad row is reported as
``FILE:LINE: field: reason`` and never half-lands. Good rows land in one transaction, so an
import that crashes midway writes nothing; with ``strict=True`` one bad row stops them all.
"""

from __future__ import annotations

import csv
import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ValidationError

from shopmind.catalog._readers import (
    FileFormat,
    ImportFailed,
    Record,
    guess_format,
    open_records,
)
from shopmind.catalog.schema import Event, Item, User
from shopmind.catalog.store import Store, StoreWriter

__all__ = [
    "FileFormat",
    "ImportFailed",
    "ImportReport",
    "Kind",
    "RowError",
    "guess_format",
    "import_file",
]

Kind = Literal["items", "users", "events"]

_MODELS: dict[str, type[BaseModel]] = {"items": Item, "users": User, "events": Event}
#: Where columns the schema does not know are kept, per kind.
_SPILL = {"items": "attributes", "users": "attributes", "events": "context"}
#: Fields a file must have a column for (an event without an item is a search).
_REQUIRED = {"items": ("id",), "users": ("id",), "events": ("id", "user_id", "type", "timestamp")}
#: Column names that usually hold a required field, for the hint when it is missing.
_ALIASES = {
    ("items", "id"): ("item_id", "itemid", "product_id", "productid", "sku", "asin"),
    ("users", "id"): ("user_id", "userid", "customer_id", "visitor_id", "visitorid"),
    ("events", "id"): ("event_id", "eventid"),
    ("events", "user_id"): ("userid", "user", "customer_id", "visitor_id", "visitorid"),
    ("events", "type"): ("event_type", "event", "action", "behavior", "behaviour"),
    ("events", "timestamp"): ("ts", "time", "datetime", "event_time", "date"),
}
_ID_FIELDS = frozenset({"id", "user_id", "item_id"})
#: Validated rows written per call into the open transaction.
_FLUSH_ROWS = 5_000


@dataclass(frozen=True)
class RowError:
    """Why one row was rejected."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


@dataclass
class ImportReport:
    """What an import read, what landed (new rows, for events) and which rows were bad."""

    file: str
    kind: Kind
    strict: bool = False
    rows_read: int = 0
    rows_loaded: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.errors

    @property
    def rows_rejected(self) -> int:
        """How many rows had at least one error."""
        return len({error.line for error in self.errors})

    def format_errors(self, max: int = 50) -> str:
        """The first ``max`` errors, one per line, with a count of the ones left out."""
        lines = [str(error) for error in self.errors[:max]]
        if len(self.errors) > max:
            lines.append(f"... and {len(self.errors) - max} more errors")
        return "\n".join(lines)


class _Rollback(Exception):
    """Raised inside the transaction to undo a strict import that met a bad row."""


def import_file(
    store: Store,
    kind: Kind,
    path: str | Path,
    *,
    format: FileFormat | None = None,
    mapping: Mapping[str, str] | None = None,
    strict: bool = False,
    delimiter: str = ",",
) -> ImportReport:
    """Validate and load one file of ``kind`` rows; see the module docstring.

    ``mapping`` maps our field names to the file's column names (``{"id": "sku"}``).
    """
    if kind not in _MODELS:
        raise ValueError(f"kind must be one of {', '.join(_MODELS)}, got {kind!r}")
    path = Path(path)
    fmt = format or guess_format(path)
    if fmt not in get_args(FileFormat):
        raise ImportFailed(f"{path}: unknown format {fmt!r}; use csv, jsonl or parquet")
    if path.suffix.lower() == ".tsv" and format is None and delimiter == ",":
        delimiter = "\t"
    if not path.is_file():
        raise ImportFailed(f"{path}: no such file; check the path")
    report = ImportReport(file=str(path), kind=kind, strict=strict)
    with ExitStack() as stack:
        columns, raws = open_records(fmt, path, delimiter, stack)
        try:
            with store.batch() as writer:
                _load(writer, report, columns, raws, dict(mapping or {}))
                if strict and report.errors:
                    raise _Rollback
        except _Rollback:
            report.rows_loaded = 0
        except csv.Error as exc:
            raise ImportFailed(
                f"{path}: unreadable CSV after row {report.rows_read}: {exc}"
            ) from None
    return report


# -- planning: which column feeds which field ----------------------------------------------


def _router(
    kind: str, file: str, columns: list[str], mapping: dict[str, str], *, header: bool
) -> Callable[[str], str | None]:
    """A function from column name to our field (None: keep it in attributes/context).

    ``columns`` come from the file's header (``header=True``) or, for JSON Lines, from the
    first record, whose optional keys may be missing: then only required fields are checked.
    """
    known = set(_MODELS[kind].model_fields)
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ImportFailed(
            f"{file}: --map names unknown field(s) {', '.join(unknown)}; "
            f"{kind} fields are {', '.join(sorted(known))}"
        )
    renamed = {column: ours for ours, column in mapping.items()}
    absent = [f"{ours}={col}" for ours, col in mapping.items() if col not in columns]
    if absent and header:
        raise ImportFailed(
            f"{file}: --map {', '.join(absent)} names a column the file does not have; "
            f"its columns are {', '.join(columns)}"
        )
    present = {renamed.get(c, c if c in known and c not in mapping else "") for c in columns}
    for required in _REQUIRED[kind]:
        if required not in present:
            raise ImportFailed(
                f"{file}: no column for the required field {required!r} (columns: "
                f"{', '.join(columns)}); name it with --map {required}="
                f"{_suggest(kind, required, columns)}"
            )

    def route(column: str) -> str | None:
        if column in renamed:
            return renamed[column]
        return column if column in known and column not in mapping else None

    return route


def _suggest(kind: str, wanted: str, columns: list[str]) -> str:
    """The column most likely meant for a required field, for the --map hint."""
    by_lower = {column.lower(): column for column in columns}
    for alias in _ALIASES.get((kind, wanted), ()):
        if alias in by_lower:
            return by_lower[alias]
    close = difflib.get_close_matches(wanted, columns, n=1, cutoff=0.6)
    return close[0] if close else "COLUMN"


# -- validating and loading -------------------------------------------------------------------


def _load(
    writer: StoreWriter,
    report: ImportReport,
    columns: list[str] | None,
    raws: Iterator[Record],
    mapping: dict[str, str],
) -> None:
    kind = report.kind
    route = None if columns is None else _router(kind, report.file, columns, mapping, header=True)
    writers: dict[str, Callable[[list[Any]], int]] = {
        "items": writer.upsert_items,
        "users": writer.upsert_users,
        "events": writer.append_events,
    }
    write = writers[kind]
    pending: list[Any] = []
    for line, raw in raws:
        report.rows_read += 1
        if isinstance(raw, str):
            report.errors.append(RowError(report.file, line, "(row)", raw))
            continue
        if route is None:  # JSON Lines: the first record stands for the file's columns
            route = _router(kind, report.file, list(raw), mapping, header=False)
        record, errors = _validate(kind, raw, route)
        if errors:
            report.errors.extend(RowError(report.file, line, f, reason) for f, reason in errors)
        elif not (report.strict and report.errors):
            pending.append(record)
        if len(pending) >= _FLUSH_ROWS:
            report.rows_loaded += write(pending)
            pending = []
    if pending and not (report.strict and report.errors):
        report.rows_loaded += write(pending)


def _validate(
    kind: str, raw: Mapping[str, Any], route: Callable[[str], str | None]
) -> tuple[BaseModel | None, list[tuple[str, str]]]:
    spill = _SPILL[kind]
    data: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for column, value in raw.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # an empty cell is an absent value: the schema's default applies
        ours = route(column)
        if ours is None:
            extra[column] = value
        elif ours in _ID_FIELDS and isinstance(value, int) and not isinstance(value, bool):
            data[ours] = str(value)  # numeric ids from JSON or Parquet
        else:
            data[ours] = value
    explicit = data.get(spill)
    if isinstance(explicit, str):
        try:
            explicit = json.loads(explicit)
        except json.JSONDecodeError:
            return None, [(spill, "expected a JSON object")]
    if explicit is not None and not isinstance(explicit, dict):
        return None, [(spill, "expected a JSON object")]
    if extra or explicit:
        data[spill] = {**extra, **(explicit or {})}
    path = data.get("category_path")
    if isinstance(path, str) and path.lstrip().startswith("["):
        try:
            data["category_path"] = json.loads(path)
        except json.JSONDecodeError:
            return None, [("category_path", 'expected a JSON list (["A", "B"]) or "A > B"')]
    try:
        return _MODELS[kind].model_validate(data), []
    except ValidationError as exc:
        # dict.fromkeys: one line per field, not one per member of a union type.
        return None, list(dict.fromkeys(_describe(error) for error in exc.errors()))


def _describe(error: Any) -> tuple[str, str]:
    loc = tuple(str(part) for part in error["loc"])
    if len(loc) > 1 and loc[0] in ("attributes", "context"):
        # A bad attribute is named by its own column; its type is a union of scalars.
        kind = type(error.get("input")).__name__
        return loc[1], f"expected text, a number or true/false, got {kind}"
    name = ".".join(loc)
    reason = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] != "value_error" and loc and isinstance(value, str | int | float):
        shown = repr(value)
        reason += f" (got {shown if len(shown) <= 40 else shown[:37] + '...'})"
    return name or "(row)", reason
