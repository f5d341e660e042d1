"""The `shopmind` command line: demo, generate, import, evaluate, stats, privacy."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from shopmind import __version__
from shopmind.config import HOME_ENV, data_home

if TYPE_CHECKING:
    from shopmind.bundle import TrainConfig
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
    with _open_store(store) as db:
        _write_benchmark(db, data)


def _write_benchmark(db: Any, data: Any) -> None:
    """Write a read benchmark (a ``read_benchmark`` result) into the store, keeping its split
    in each event's context, in one transaction; say what was written."""
    with db.batch() as writer:
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


DemoModelsOpt = Annotated[
    str | None,
    typer.Option(
        "--bundle-models",
        help="Models the served bundle blends, comma-separated "
        "(default: shopmind train's pop,itemknn,content).",
    ),
]


@app.command()
def demo(
    home: Annotated[
        Path | None,
        typer.Option(
            help="Data directory for the SQLite store, bundles and caches "
            "(default: $SHOPMIND_HOME, else ~/.shopmind).",
        ),
    ] = None,
    store: StoreOpt = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Import this folder instead of generating a shop: a public benchmark folder "
            "(UniSRec, LC-Rec JSON, S3-Rec) or a folder with items/users/events files "
            "(.csv, .jsonl or .parquet).",
        ),
    ] = None,
    items: Annotated[int, typer.Option(help="Products in the synthetic shop.")] = 3_000,
    users: Annotated[int, typer.Option(help="Shoppers in the synthetic shop.")] = 3_000,
    events: Annotated[int, typer.Option(help="Approximate events.")] = 150_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    models: Annotated[str, typer.Option(help="Models to evaluate and compare.")] = DEFAULT_MODELS,
    bundle_models: DemoModelsOpt = None,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API and web UI at the end.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port to serve on (on 127.0.0.1).")] = 8000,
) -> None:
    """The main job: a shop in the Store, evaluated and trained into a bundle, then served."""
    from shopmind.pipeline import evaluate_models, generate_shop, snapshot_split

    config = _synthetic_config(seed, items, users, events)
    names = _model_names(models)
    train_config = _demo_train_config(bundle_models)
    logging.getLogger("faiss").setLevel(logging.WARNING)  # its CPU-feature probing is noise here
    if home is not None:
        # Everything under one folder: the store, the bundles, the embedding cache, encoders.
        os.environ[HOME_ENV] = str(home.expanduser().resolve())
    home_dir = data_home()
    url = store or f"sqlite:///{home_dir / 'shopmind.sqlite'}"
    if serve:
        _check_port_free(port)
    with _open_store(url) as db:
        console.rule("[bold]shopmind demo")
        console.print(f"data directory: {home_dir}\nstore: {db.safe_url}")
        if data is not None:
            _import_shop_folder(db, data)
        elif db.counts()["events"] == 0:
            generate_shop(db, config, console)
        else:
            console.print(
                "the store already holds a shop; using it (pass another --home or --store for "
                "a fresh one)"
            )
        console.print(f"store now holds: {db.counts()}")
        try:
            split, target = snapshot_split(db, ["purchase"]), "purchase"
        except ValueError:
            try:  # an imported shop without enough purchases: its next event of any type
                split, target = snapshot_split(db), "event"
            except ValueError as exc:
                raise _fail(str(exc)) from exc
        console.print(
            f"evaluating on {len(split.test)} shoppers' last {target} (validation: the one "
            "before it), every item a candidate"
        )
        results = evaluate_models(split, names, ks=(10, 50), mask_history=False, console=console)
        what = "synthetic shop" if data is None else data.name
        show_table(f"{what}: next {target}, test, full ranking", results, (10, 50))
        _train_demo_bundle(db, train_config, home_dir)
    if not serve:
        console.print("not serving (--no-serve); start the service with: shopmind serve")
        return
    _serve_demo(url, home_dir, port)


def _demo_train_config(bundle_models: str | None) -> TrainConfig:
    """The bundle's config: shopmind train's defaults, or those models with its parameters."""
    from shopmind.bundle import TrainConfig

    defaults = TrainConfig()
    if bundle_models is None:
        return defaults
    names = _model_names(bundle_models)
    return TrainConfig(models={name: defaults.models.get(name, {}) for name in names})


def _train_demo_bundle(db: Any, config: TrainConfig, home: Path) -> None:
    """Train, write and activate a bundle; print what it serves."""
    from shopmind.pipeline import train

    console.print(f"training the bundle to serve: {', '.join(config.models)}")
    try:
        bundle = train(db, config, home=home, console=console)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    blend = ", ".join(f"{name} {weight:.2f}" for name, weight in bundle.blend.items())
    console.print(f"bundle [bold]{bundle.version}[/] is active (blend: {blend})")
    if bundle.metrics:
        ks = tuple(config.ks)
        table = Table(title="the bundle: validation, full ranking")
        table.add_column("model")
        cols = [f"{m}@{k}" for k in ks for m in ("recall", "ndcg")]
        for c in cols:
            table.add_column(c, justify="right")
        for model, row in bundle.metrics.items():
            table.add_row(model, *(f"{row[c]:.4f}" if c in row else "–" for c in cols))
        console.print(table)


def _import_shop_folder(db: Any, folder: Path) -> None:
    """Import --data: a folder of items/users/events files, or a public benchmark folder."""
    from shopmind.catalog.formats import FormatError, read_benchmark
    from shopmind.catalog.importers import ImportFailed, import_file

    if not folder.is_dir():
        raise _fail(
            f"--data {folder}: give a folder (a public benchmark folder, or one with "
            "items/users/events .csv, .jsonl or .parquet files)"
        )
    files = {kind: _shop_file(folder, kind) for kind in ("items", "users", "events")}
    with console.status(f"importing {folder}"):
        if files["items"] is not None and files["events"] is not None:
            for kind, path in files.items():
                if path is None:
                    continue
                try:
                    report = import_file(db, cast(ImportKind, kind), path)
                except (ImportFailed, FileNotFoundError) as exc:
                    raise _fail(str(exc)) from exc
                if report.errors:
                    err.print(report.format_errors())
                console.print(
                    f"{path}: {report.rows_loaded} of {report.rows_read} rows loaded, "
                    f"{len(report.errors)} bad"
                )
            return
        try:
            bench = read_benchmark(folder)
        except FormatError as exc:
            raise _fail(
                f"--data {folder}: no items.* and events.* files and not a benchmark folder: {exc}"
            ) from exc
        _write_benchmark(db, bench)


def _shop_file(folder: Path, kind: str) -> Path | None:
    found = [folder / f"{kind}.{ext}" for ext in ("csv", "jsonl", "parquet")]
    return next((path for path in found if path.exists()), None)


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise _fail(
                f"port {port} on 127.0.0.1 is taken ({exc.strerror}); pass another --port"
            ) from exc


def _serve_demo(store_url: str, home: Path, port: int) -> None:
    """Serve the API and the web UI on loopback (open unless keys are set) until Ctrl+C."""
    import uvicorn

    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings

    base = f"http://127.0.0.1:{port}"
    settings = ServeSettings(store_url=store_url, home=home, host="127.0.0.1", port=port)
    access = (
        "running open on loopback: no API keys, reachable from this machine only"
        if settings.is_open
        else "API keys required (SHOPMIND_READ_KEYS / SHOPMIND_ADMIN_KEYS); the pages ask for one"
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))

    def announce() -> None:
        # The URLs are printed once the bundle is loaded and the port answers, not before.
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.1)
        console.rule("[bold]serving")
        console.print(
            f"storefront  {base}/\ndashboard   {base}/dashboard\nAPI docs    {base}/docs\n"
            f"{access} (Ctrl+C stops it)"
        )

    threading.Thread(target=announce, name="demo-announce", daemon=True).start()
    server.run()


# --- the service: train a bundle, list bundles, serve the API ------------------------------


@app.command()
def train(
    store: StoreOpt = None,
    models: Annotated[
        str, typer.Option(help="Models in the bundle, comma-separated.")
    ] = "pop,itemknn,content",
    home: Annotated[
        Path | None, typer.Option(help="Where bundles/ lives (default: SHOPMIND_HOME).")
    ] = None,
    validate: Annotated[
        bool,
        typer.Option(help="Measure each model on validation first; the blend weighs by it."),
    ] = True,
    activate: Annotated[bool, typer.Option(help="Make the new bundle the active one.")] = True,
    keep: Annotated[int, typer.Option(help="Bundles kept on disk.")] = 5,
) -> None:
    """Snapshot the Store, fit the models and write a versioned bundle (and activate it)."""
    from shopmind.bundle import TrainConfig as _TrainConfig
    from shopmind.pipeline import train as train_bundle

    names = _model_names(models)
    defaults = _TrainConfig().models
    config = _TrainConfig(
        models={n: defaults.get(n, {}) for n in names}, validate_models=validate, keep=keep
    )
    with _open_store(store) as db:
        try:
            bundle = train_bundle(db, config, home=home, activate=activate, console=console)
        except ValueError as exc:
            raise _fail(str(exc)) from exc
    console.print(f"bundle [bold]{bundle.version}[/] written to {bundle.path}")
    console.print_json(json.dumps({"blend": bundle.blend, "metrics": bundle.metrics}))


@app.command()
def bundles(
    home: Annotated[
        Path | None, typer.Option(help="Where bundles/ lives (default: SHOPMIND_HOME).")
    ] = None,
    activate: Annotated[
        str | None, typer.Option(help="Make this version the active bundle.")
    ] = None,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Activate the bundle before the active one.")
    ] = False,
) -> None:
    """List the bundles (the active one starred), or activate / roll back one."""
    from shopmind.bundle import BundleStore

    store = BundleStore(home)
    try:
        if rollback:
            previous = store.previous()
            if previous is None:
                raise _fail("there is no older bundle to roll back to")
            store.activate(previous)
        elif activate:
            store.activate(activate)
    except KeyError as exc:
        raise _fail(f"{exc.args[0]}; see `shopmind bundles` for the versions") from exc
    table = Table(title=f"bundles in {store.root}")
    for column in ("", "version", "created", "models", "blend ndcg@10"):
        table.add_column(column, no_wrap=True)
    active = store.active_version()
    for bundle in store.bundles():
        ndcg = bundle.metrics.get("blend", {}).get("ndcg@10")
        table.add_row(
            "*" if bundle.version == active else "",
            bundle.version,
            bundle.created,
            ",".join(bundle.model_names),
            "-" if ndcg is None else f"{ndcg:.4f}",
        )
    console.print(table)


@app.command()
def serve(
    store: StoreOpt = None,
    home: Annotated[
        Path | None, typer.Option(help="Where bundles/ lives (default: SHOPMIND_HOME).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (e.g. one per core); they share the port.")
    ] = 1,
) -> None:
    """Serve the HTTP API (and the web UI) over the active bundle.

    API keys come from SHOPMIND_READ_KEYS and SHOPMIND_ADMIN_KEYS (comma-separated); without
    any key the API runs open, which is allowed only on a loopback address. With several
    workers each process loads the engine and follows the others' changes (a bundle switch,
    items posted or deleted) within SHOPMIND_FOLLOW_SECONDS (default 2).
    """
    import uvicorn

    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings, is_loopback

    overrides: dict[str, Any] = {"host": host, "port": port}
    if store:
        overrides["store_url"] = store
    if home:
        overrides["home"] = home
    settings = ServeSettings(**overrides)
    if settings.is_open and not is_loopback(host):
        raise _fail(
            f"refusing to serve an open API on {host}: set SHOPMIND_READ_KEYS and "
            "SHOPMIND_ADMIN_KEYS, or bind 127.0.0.1"
        )
    if settings.is_open:
        err.print("[yellow]running open[/]: no API keys set; every endpoint is public on loopback")
    console.print(f"serving on http://{host}:{port} (API docs at /docs)")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    # Worker processes build the app from the environment: pass the options on through it.
    os.environ["SHOPMIND_STORE_URL"] = settings.resolved_store_url()
    os.environ["SHOPMIND_HOME"] = str(settings.resolved_home())
    uvicorn.run(
        "shopmind.serve.app:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
    )


def run() -> None:  # pragma: no cover - console entry for `python -m shopmind`
    sys.exit(app())
