"""The `shopmind` command line: demo, generate, import, evaluate, stats, privacy."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from shopmind import __version__

if TYPE_CHECKING:
    from shopmind.catalog.synthetic import SyntheticConfig

app = typer.Typer(
    name="shopmind",
    help="E-commerce recommendations driven by a language model.",
    no_args_is_help=True,
    add_completion=False,
)
import_app = typer.Typer(help="Import the shop's data into the Store.", no_args_is_help=True)
app.add_typer(import_app, name="import")

console = Console()
err = Console(stderr=True)

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="SHOPMIND_STORE",
        help="Store URL: sqlite:///path.sqlite or postgresql+psycopg://user@host/db "
        "(default: a SQLite file under SHOPMIND_HOME).",
    ),
]
DEFAULT_MODELS = "pop,itemknn,userknn,ease,als,content"
TABLE_METRICS = ("recall@10", "ndcg@10", "recall@50", "ndcg@50")


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
    )


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def _open_store(url: str | None) -> Iterator[Any]:
    from shopmind.catalog.store import Store, StoreError

    try:
        store = Store(url)
    except StoreError as exc:
        raise _fail(str(exc)) from exc
    try:
        yield store
    finally:
        store.close()


def _synthetic_config(seed: int, items: int, users: int, events: int) -> SyntheticConfig:
    """The generator's config from the command's options, or a one-line error naming them."""
    from pydantic import ValidationError

    from shopmind.catalog.synthetic import SyntheticConfig

    options = {"seed": "--seed", "n_items": "--items", "n_users": "--users", "n_events": "--events"}
    try:
        return SyntheticConfig(seed=seed, n_items=items, n_users=users, n_events=events)
    except ValidationError as exc:
        problems = "; ".join(
            f"{options.get(str(e['loc'][0]), str(e['loc'][0])) + ': ' if e['loc'] else ''}"
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise _fail(f"cannot build that synthetic shop: {problems}") from None


def _model_names(models: str) -> list[str]:
    """The comma-separated model names, checked before any work starts."""
    from shopmind.models.registry import model_names

    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [name for name in names if name not in model_names()]
    if unknown or not names:
        what = f"unknown model(s) {', '.join(unknown)}" if unknown else "no model named"
        raise _fail(f"--models {models!r}: {what}; choose from {', '.join(model_names())}")
    return names


def _cutoffs(k: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(x) for x in k.split(","))
    except ValueError:
        ks = ()
    if not ks or min(ks) < 1:
        raise _fail(f"--k {k!r}: give positive cutoffs separated by commas, e.g. 10,50")
    return ks


@app.command()
def version() -> None:
    """Print the shopmind version."""
    console.print(__version__)


@app.command()
def generate(
    store: StoreOpt = None,
    items: Annotated[int, typer.Option(help="Number of products.")] = 2_000,
    users: Annotated[int, typer.Option(help="Number of shoppers.")] = 1_000,
    events: Annotated[int, typer.Option(help="Approximate number of events.")] = 60_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same shop).")] = 7,
    truth: Annotated[
        Path | None, typer.Option(help="Write the planted truth as JSON here.")
    ] = None,
) -> None:
    """Generate the synthetic shop (with planted structure) into the Store."""
    from shopmind.pipeline import generate_shop

    config = _synthetic_config(seed, items, users, events)
    with _open_store(store) as db:
        shop = generate_shop(db, config, console)
        if truth is not None:
            truth.write_text(shop.truth.model_dump_json(indent=2) + "\n")
        console.print(f"store {db.safe_url}: {db.counts()}")


@app.command()
def stats(store: StoreOpt = None) -> None:
    """Counts of items, shoppers and events in the Store."""
    with _open_store(store) as db:
        console.print_json(json.dumps(db.counts()))


@app.command("export-user")
def export_user(user_id: str, store: StoreOpt = None) -> None:
    """Print, as JSON, everything the Store holds about a shopper."""
    with _open_store(store) as db:
        console.print_json(json.dumps(db.export_user(user_id), default=str))


@app.command("delete-user")
def delete_user(user_id: str, store: StoreOpt = None) -> None:
    """Delete a shopper and all their events."""
    with _open_store(store) as db:
        removed = db.delete_user(user_id)
        console.print(f"deleted shopper {user_id!r} and {removed} events")


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise _fail(f"--map {pair!r}: write it as field=column, e.g. --map id=product_id")
        mapping[field.strip()] = column.strip()
    return mapping


ImportKind = Literal["items", "users", "events"]


def _import(
    kind: ImportKind,
    path: Path,
    store: str | None,
    mapping: list[str] | None,
    strict: bool,
    fmt: str | None,
) -> None:
    from shopmind.catalog.importers import ImportFailed, import_file

    with _open_store(store) as db:
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
            raise _fail(str(exc)) from exc
        if report.errors:
            err.print(report.format_errors())
        state = "rejected (--strict)" if strict and report.errors else "loaded"
        console.print(
            f"{path}: {report.rows_read} rows read, {report.rows_loaded} {state}, "
            f"{len(report.errors)} bad"
        )
        if report.errors:
            raise typer.Exit(1)


def _format(fmt: str | None) -> Literal["csv", "jsonl", "parquet"] | None:
    if fmt not in (None, "csv", "jsonl", "parquet"):
        raise _fail(f"--format {fmt}: choose csv, jsonl or parquet")
    return cast(Literal["csv", "jsonl", "parquet"] | None, fmt)


MapOpt = Annotated[
    list[str] | None, typer.Option("--map", help="Column mapping field=column (repeatable).")
]
StrictOpt = Annotated[bool, typer.Option(help="Reject the whole file if any row is bad.")]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="csv, jsonl or parquet (default: from suffix).")
]


@import_app.command("items")
def import_items(
    path: Path,
    store: StoreOpt = None,
    map: MapOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Import products from CSV, JSONL or Parquet."""
    _import("items", path, store, map, strict, fmt)


@import_app.command("users")
def import_users(
    path: Path,
    store: StoreOpt = None,
    map: MapOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Import shoppers from CSV, JSONL or Parquet."""
    _import("users", path, store, map, strict, fmt)


@import_app.command("events")
def import_events(
    path: Path,
    store: StoreOpt = None,
    map: MapOpt = None,
    strict: StrictOpt = False,
    fmt: FormatOpt = None,
) -> None:
    """Import behaviour events (idempotent on event id) from CSV, JSONL or Parquet."""
    _import("events", path, store, map, strict, fmt)


@import_app.command("benchmark")
def import_benchmark(folder: Path, store: StoreOpt = None) -> None:
    """Import a public benchmark folder (UniSRec, LC-Rec JSON or S3-Rec), keeping its split."""
    from shopmind.catalog.formats import FormatError, read_benchmark

    try:
        data = read_benchmark(folder)
    except FormatError as exc:
        raise _fail(str(exc)) from exc
    with _open_store(store) as db, db.batch() as writer:
        writer.upsert_items(data.items)
        writer.upsert_users(data.users)
        added = writer.append_event_columns(
            {**data.events, "context": [{"split": s} for s in data.events["split"]]}
        )
    console.print(
        f"{data.name} ({data.format}): {len(data.items)} items, {len(data.users)} "
        f"shoppers, {added} new events"
    )


@app.command()
def evaluate(
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="A benchmark folder (format recognised from its files); default: the Store."
        ),
    ] = None,
    store: StoreOpt = None,
    models: Annotated[str, typer.Option(help="Comma-separated model names.")] = DEFAULT_MODELS,
    k: Annotated[str, typer.Option(help="Cutoffs, comma-separated.")] = "10,50",
    mask_history: Annotated[
        bool | None,
        typer.Option(
            "--mask-history/--no-mask-history",
            help="Remove history items from rankings "
            "(default: the dataset protocol's choice; off for the Store).",
        ),
    ] = None,
    tune: Annotated[
        bool, typer.Option(help="Choose hyper-parameters on validation over a grid.")
    ] = False,
    target: Annotated[
        str | None,
        typer.Option(help="Store only: event type(s) that count as targets, e.g. purchase."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap samples for 95% intervals (0 = off).")
    ] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write results as JSON here.")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write the table as Markdown here.")] = None,
) -> None:
    """Full-ranking evaluation of models, tuned on validation, reported on test."""
    from shopmind.catalog.formats import FormatError
    from shopmind.pipeline import evaluate_models, snapshot_split

    ks = _cutoffs(k)
    names = _model_names(models)
    try:
        if dataset is not None:
            from shopmind.evaluation.runner import load_benchmark_split

            split, protocol_mask, name = load_benchmark_split(dataset)
        else:
            with _open_store(store) as db:
                split = snapshot_split(db, target.split(",") if target else None)
            protocol_mask, name = False, "store"
    except (FormatError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    mask = protocol_mask if mask_history is None else mask_history
    results = evaluate_models(
        split, names, ks=ks, mask_history=mask, tune=tune, bootstrap=bootstrap, console=console
    )
    show_table(
        f"{name}: test, full ranking ({'history masked' if mask else 'history kept'})", results, ks
    )
    payload = {name: results}
    if json_out:
        from shopmind.evaluation.report import write_json

        write_json(json_out, payload)
    if markdown:
        from shopmind.evaluation.report import markdown_table

        cols = [f"{m}@{x}" for x in ks for m in ("recall", "ndcg")] + ["train_seconds"]
        markdown.write_text(f"# {name}\n\n" + markdown_table(results, cols))


def show_table(title: str, results: dict[str, dict[str, Any]], ks: tuple[int, ...]) -> None:
    table = Table(title=title)
    table.add_column("model")
    cols = [f"{m}@{x}" for x in ks for m in ("recall", "ndcg")]
    for c in [*cols, "train s"]:
        table.add_column(c, justify="right")
    for model, row in results.items():
        table.add_row(model, *(f"{row[c]:.4f}" for c in cols), f"{row['train_seconds']:.1f}")
    console.print(table)


@app.command()
def demo(
    store: StoreOpt = None,
    items: Annotated[int, typer.Option(help="Products in the synthetic shop.")] = 3_000,
    users: Annotated[int, typer.Option(help="Shoppers in the synthetic shop.")] = 3_000,
    events: Annotated[int, typer.Option(help="Approximate events.")] = 150_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    models: Annotated[str, typer.Option(help="Models to train and compare.")] = DEFAULT_MODELS,
) -> None:
    """The main job: build the synthetic shop in the Store, train the models, evaluate them."""
    from shopmind.pipeline import evaluate_models, generate_shop, snapshot_split

    config = _synthetic_config(seed, items, users, events)
    names = _model_names(models)
    with _open_store(store) as db:
        console.rule("[bold]shopmind demo")
        console.print(f"store: {db.safe_url}")
        if db.counts()["events"] == 0:
            generate_shop(db, config, console)
        else:
            console.print(
                "the store already holds a shop; using it (pass another --store for a fresh one)"
            )
        console.print(f"store now holds: {db.counts()}")
        try:
            split = snapshot_split(db, ["purchase"])
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        console.print(
            f"evaluating on {len(split.test)} shoppers' last purchase (validation: the one "
            "before it), every item a candidate"
        )
    results = evaluate_models(split, names, ks=(10, 50), mask_history=False, console=console)
    show_table("synthetic shop: next purchase, test, full ranking", results, (10, 50))


def run() -> None:  # pragma: no cover - console entry for `python -m shopmind`
    sys.exit(app())
