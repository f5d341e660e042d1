"""The shop's data: generate the synthetic shop, import files, counts, a shopper's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

from shopmind import cli
from shopmind.cli import HomeOpt, StoreOpt, app, fail, home_folder, open_store, using_home
from shopmind.cli._flags import App
from shopmind.progress import Steps
from shopmind.synthetic.config import SyntheticConfig

if TYPE_CHECKING:
    from shopmind.catalog.folders import BenchmarkWritten
    from shopmind.catalog.store import Store
    from shopmind.synthetic import SyntheticShop

import_app = App(help="Import the shop's data into the Store.", no_args_is_help=True)
app.add_typer(import_app, name="import")

#: The synthetic shop's size when not told otherwise (`generate` and `demo` alike).
DEFAULT_SHOP = SyntheticConfig()
ItemsOpt = Annotated[int, typer.Option("--items", help="Products in the synthetic shop.")]
UsersOpt = Annotated[int, typer.Option("--users", help="Shoppers in the synthetic shop.")]
EventsOpt = Annotated[int, typer.Option("--events", help="Approximate number of events.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same shop).")]


def synthetic_config(seed: int, items: int, users: int, events: int) -> SyntheticConfig:
    """The generator's config from the command's options, or a one-line error naming them."""
    from pydantic import ValidationError

    options = {"seed": "--seed", "n_items": "--items", "n_users": "--users", "n_events": "--events"}
    try:
        return SyntheticConfig(seed=seed, n_items=items, n_users=users, n_events=events)
    except ValidationError as exc:
        problems = "; ".join(
            f"{options.get(str(e['loc'][0]), str(e['loc'][0])) + ': ' if e['loc'] else ''}"
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise fail(f"cannot build that synthetic shop: {problems}") from None


def generate_shop(store: Store, config: SyntheticConfig) -> SyntheticShop:
    """Generate the synthetic shop and write it to the Store, saying so as it goes."""
    from shopmind.synthetic import generate, write_to_store

    with Steps(cli.console, total=2) as steps:
        steps.step("generating the synthetic shop")
        shop = generate(config)
        steps.advance()
        steps.step("writing it to the store")
        write_to_store(shop, store)
        steps.advance()
    return shop


@app.command()
def generate(
    store: StoreOpt = None,
    home: HomeOpt = None,
    items: ItemsOpt = DEFAULT_SHOP.n_items,
    users: UsersOpt = DEFAULT_SHOP.n_users,
    events: EventsOpt = DEFAULT_SHOP.n_events,
    seed: SeedOpt = DEFAULT_SHOP.seed,
    truth: Annotated[
        Path | None, typer.Option(help="Write the planted truth as JSON here.")
    ] = None,
) -> None:
    """Generate the synthetic shop (with planted structure) into the Store.

    Events already in the Store are not added again: the same seed and size add nothing.
    """
    config = synthetic_config(seed, items, users, events)
    with using_home(home), open_store(store) as db:
        shop = generate_shop(db, config)
        if truth is not None:
            truth.write_text(shop.truth.model_dump_json(indent=2) + "\n")
        cli.console.print(f"store {db.safe_url}: {db.counts()}")


@app.command()
def stats(store: StoreOpt = None, home: HomeOpt = None) -> None:
    """Counts of items, shoppers and events (and of events per type) in the Store, as JSON."""
    with using_home(home), open_store(store) as db:
        cli.console.print_json(json.dumps(db.counts()))


@app.command("export-user")
def export_user(user_id: str, store: StoreOpt = None, home: HomeOpt = None) -> None:
    """Print, as JSON, everything the Store holds about a shopper and the profile made of it
    (as the API's export; the profile is null before the first bundle)."""
    from shopmind.bundle import BundleStore
    from shopmind.engine import Engine

    with using_home(home), open_store(store) as db:
        data = db.export_user(user_id)
        bundle = BundleStore(home_folder()).active()
        held = data["user"] is not None or bool(data["events"])  # nothing stored: no profile
        found = Engine.load(bundle, db).profile(user_id) if bundle is not None and held else None
        data["profile"] = None if found is None else found.model_dump(mode="json")
        cli.console.print_json(json.dumps(data))


@app.command("delete-user")
def delete_user(user_id: str, store: StoreOpt = None, home: HomeOpt = None) -> None:
    """Delete a shopper and all their events, and the bundles trained on them.

    The active bundle cannot be deleted while it is served: a running `shopmind serve`
    retrains it without them on its own; without one, run `shopmind train`.
    """
    from shopmind.bundle import BundleStore
    from shopmind.bundle.erasure import purge_erased

    with using_home(home), open_store(store) as db:
        removed = db.delete_user(user_id)
        cli.console.print(f"deleted shopper {user_id!r} and {removed} events")
        deleted, active_holds = purge_erased(BundleStore(home_folder()), db)
        if deleted:
            cli.console.print(f"deleted {len(deleted)} bundle(s) trained on them")
        if active_holds:
            cli.err.print(
                "[yellow]the active bundle was trained on them[/]: a running `shopmind serve` "
                "retrains it now; otherwise run `shopmind train`"
            )
        if not db.wipe_erased():
            cli.err.print(
                "[yellow]a reader still holds the SQLite write-ahead log[/]: the deleted rows "
                "leave the files at the next erasure or when the server retries"
            )


# --- import -----------------------------------------------------------------------------------

ImportKind = Literal["items", "users", "events"]
MapOpt = Annotated[
    list[str] | None, typer.Option("--map", help="Column mapping field=column (repeatable).")
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Reject the whole file if any row is bad.")
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", help="csv, jsonl or parquet (default: from the file's suffix)."),
]


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise fail(f"--map {pair!r}: write it as field=column, e.g. --map id=product_id")
        mapping[field.strip()] = column.strip()
    return mapping


def _format(fmt: str | None) -> Literal["csv", "jsonl", "parquet"] | None:
    if fmt not in (None, "csv", "jsonl", "parquet"):
        raise fail(f"--format {fmt}: choose csv, jsonl or parquet")
    return cast(Literal["csv", "jsonl", "parquet"] | None, fmt)


def _import(
    kind: ImportKind,
    path: Path,
    store: str | None,
    home: Path | None,
    mapping: list[str] | None,
    strict: bool,
    fmt: str | None,
) -> None:
    from shopmind.catalog.importers import ImportFailed, import_file

    with using_home(home), open_store(store) as db:
        try:
            report = import_file(
                db,
                kind,
                path,
                format=_format(fmt),
                mapping=_parse_mapping(mapping or []),
                strict=strict,
            )
        except (ImportFailed, FileNotFoundError) as exc:
            raise fail(str(exc)) from exc
        if report.errors:
            cli.err.print(report.format_errors())
        state = "rejected (--strict)" if strict and report.errors else "loaded"
        cli.console.print(
            f"{path}: {report.rows_read} rows read, {report.rows_loaded} {state}, "
            f"{len(report.errors)} bad"
        )
        if report.errors:
            raise typer.Exit(1)


@import_app.command("items")
def import_items(
    path: Path,
    store: StoreOpt = None,
    home: HomeOpt = None,
    map: MapOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Import products from CSV, JSONL or Parquet."""
    _import("items", path, store, home, map, strict, fmt)


@import_app.command("users")
def import_users(
    path: Path,
    store: StoreOpt = None,
    home: HomeOpt = None,
    map: MapOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Import shoppers from CSV, JSONL or Parquet."""
    _import("users", path, store, home, map, strict, fmt)


@import_app.command("events")
def import_events(
    path: Path,
    store: StoreOpt = None,
    home: HomeOpt = None,
    map: MapOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Import behaviour events (idempotent on event id) from CSV, JSONL or Parquet."""
    _import("events", path, store, home, map, strict, fmt)


@import_app.command("benchmark")
def import_benchmark(folder: Path, store: StoreOpt = None, home: HomeOpt = None) -> None:
    """Import a public benchmark folder (UniSRec, LC-Rec JSON or S3-Rec), keeping its split."""
    from shopmind.catalog.folders import write_benchmark
    from shopmind.catalog.formats import FormatError, read_benchmark

    try:
        data = read_benchmark(folder)
    except FormatError as exc:
        raise fail(str(exc)) from exc
    with using_home(home), open_store(store) as db:
        say_benchmark(write_benchmark(db, data))


def say_benchmark(written: BenchmarkWritten) -> None:
    cli.console.print(
        f"{written.name} ({written.format}): {written.items} items, {written.users} "
        f"shoppers, {written.new_events} new events"
    )
