"""Import a whole shop from a folder: its items/users/events files, or a public benchmark.

A folder with an ``items`` and an ``events`` file (``.csv``, ``.jsonl`` or ``.parquet``; a
``users`` file is optional) is imported file by file with row-level reports; any other folder
is read as a public benchmark (:mod:`shopmind.catalog.formats`), keeping its split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from shopmind.catalog.formats import BenchmarkData, FormatError, read_benchmark
from shopmind.catalog.importers import ImportFailed, ImportReport, Kind, import_file
from shopmind.catalog.store import Store

#: The suffixes of a shop file, in the order they are looked for.
SHOP_FILE_SUFFIXES = ("csv", "jsonl", "parquet")


@dataclass(frozen=True)
class BenchmarkWritten:
    """What writing a benchmark into the Store did."""

    name: str
    format: str
    items: int
    users: int
    #: Events not already in the Store (a second import adds none).
    new_events: int


@dataclass(frozen=True)
class FolderImport:
    """What importing a folder did: one report per shop file, or the benchmark written."""

    folder: Path
    reports: list[ImportReport] = field(default_factory=list)
    benchmark: BenchmarkWritten | None = None


def write_benchmark(store: Store, data: BenchmarkData) -> BenchmarkWritten:
    """Write a read benchmark into the Store in one transaction, keeping its split in each
    event's context (``{"split": "train" | "valid" | "test"}``)."""
    with store.batch() as writer:
        writer.upsert_items(data.items)
        writer.upsert_users(data.users)
        added = writer.append_event_columns(
            {**data.events, "context": [{"split": s} for s in data.events["split"]]}
        )
    return BenchmarkWritten(data.name, data.format, len(data.items), len(data.users), added)


def shop_files(folder: Path) -> dict[Kind, Path]:
    """The folder's items/users/events files, by kind (the first suffix found of each)."""
    found: dict[Kind, Path] = {}
    for kind in get_args(Kind):
        paths = (folder / f"{kind}.{suffix}" for suffix in SHOP_FILE_SUFFIXES)
        path = next((p for p in paths if p.exists()), None)
        if path is not None:
            found[kind] = path
    return found


def import_folder(store: Store, folder: str | Path) -> FolderImport:
    """Import a shop folder (items and events files, users optional) or a benchmark folder.

    Raises ImportFailed naming the folder when it is neither, or when a file cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImportFailed(
            f"{folder}: give a folder (a public benchmark folder, or one with "
            f"items/users/events {', '.join('.' + s for s in SHOP_FILE_SUFFIXES)} files)"
        )
    files = shop_files(folder)
    if "items" in files and "events" in files:
        reports = [import_file(store, kind, path) for kind, path in files.items()]
        return FolderImport(folder, reports=reports)
    try:
        data = read_benchmark(folder)
    except FormatError as exc:
        raise ImportFailed(
            f"{folder}: no items.* and events.* files and not a benchmark folder: {exc}"
        ) from exc
    return FolderImport(folder, benchmark=write_benchmark(store, data))
