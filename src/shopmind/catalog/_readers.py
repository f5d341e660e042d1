"""Reading CSV, JSON Lines and Parquet files as (line, record) pairs, streaming."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Literal

FileFormat = Literal["csv", "jsonl", "parquet"]

SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Undecodable bytes, as the surrogateescape error handler smuggles them into text.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
NOT_UTF8_REASON = "not UTF-8 text; re-save the file as UTF-8"
# A raw record: its line (row number for Parquet) and its cells, or why it could not be read.
Record = tuple[int, Mapping[str, Any] | str]


class ImportFailed(Exception):
    """The file as a whole cannot be imported (unknown format, missing column, bad encoding)."""


def guess_format(path: Path) -> FileFormat:
    """The file format from the file name's suffix."""
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ImportFailed(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; use one of "
            f"{', '.join(SUFFIXES)} or pass the format (csv, jsonl or parquet)"
        ) from None


def open_records(
    fmt: FileFormat, path: Path, delimiter: str, stack: ExitStack
) -> tuple[list[str] | None, Iterator[Record]]:
    """The file's columns (None for JSON Lines) and its records; ``stack`` closes the file."""
    if fmt == "parquet":
        return _parquet(path, stack)
    # surrogateescape: a byte that is not UTF-8 fails its own row, not the whole file.
    handle = stack.enter_context(
        path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    )
    return _csv(handle, path, delimiter) if fmt == "csv" else (None, _jsonl(handle))


def _csv(handle: IO[str], path: Path, delimiter: str) -> tuple[list[str], Iterator[Record]]:
    reader = csv.reader(handle, delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise ImportFailed(f"{path}: empty file; the first line must name the columns")
    header = [name.strip() for name in header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated or "" in header:
        raise ImportFailed(
            f"{path}: the header has duplicated or empty column names "
            f"({', '.join(duplicated) or 'an empty name'}); give every column its own name"
        )

    def rows() -> Iterator[Record]:
        line = reader.line_num + 1
        for cells in reader:
            # A quoted cell may span lines: report the line the record starts on.
            start, line = line, reader.line_num + 1
            if not cells:
                continue
            if _NOT_UTF8.search(delimiter.join(cells)):
                yield start, NOT_UTF8_REASON
                continue
            if len(cells) != len(header):
                yield start, f"{len(cells)} cells, but the header has {len(header)} columns"
                continue
            yield (
                start,
                {
                    name: (cell if cell.strip() else None)
                    for name, cell in zip(header, cells, strict=True)
                },
            )

    return header, rows()


def _jsonl(handle: IO[str]) -> Iterator[Record]:
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        if _NOT_UTF8.search(text):
            yield number, NOT_UTF8_REASON
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        if not isinstance(record, dict):
            yield number, f"expected a JSON object, got {type(record).__name__}"
            continue
        yield number, record


def _parquet(path: Path, stack: ExitStack) -> tuple[list[str], Iterator[Record]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise ImportFailed(f"{path}: not a readable Parquet file ({exc})") from None
    stack.callback(parquet.close)

    def rows() -> Iterator[Record]:
        number = 0
        for batch in parquet.iter_batches(batch_size=10_000):
            for record in batch.to_pylist():
                number += 1
                yield number, record

    return list(parquet.schema_arrow.names), rows()
