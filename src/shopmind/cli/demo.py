"""`shopmind demo`: a shop in the Store, models compared, a bundle trained, the service up."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from shopmind import cli
from shopmind.cli import (
    HomeOpt,
    StoreOpt,
    app,
    fail,
    home_folder,
    model_names,
    open_store,
    parse_duration,
    using_home,
)
from shopmind.cli.data import (
    DEFAULT_SHOP,
    EventsOpt,
    ItemsOpt,
    SeedOpt,
    UsersOpt,
    generate_shop,
    say_benchmark,
    synthetic_config,
)
from shopmind.cli.evaluate import results_table
from shopmind.config import default_store_url
from shopmind.progress import Steps
from shopmind.training.config import COMPARED_MODELS, METRIC_KS, SERVED_MODELS, TrainConfig

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

#: Said under the comparison on the synthetic shop, whose scores come from what it plants.
PLANTED_NOTE = (
    "The synthetic shop plants its structure (shopper segments, complementary pairs, price "
    "preferences, item text that names its category): the content model's high score here "
    "comes from structure planted in the synthetic shop, not a claim about real data."
)


@app.command()
def demo(
    home: HomeOpt = None,
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
    items: ItemsOpt = DEFAULT_SHOP.n_items,
    users: UsersOpt = DEFAULT_SHOP.n_users,
    events: EventsOpt = DEFAULT_SHOP.n_events,
    seed: SeedOpt = DEFAULT_SHOP.seed,
    models: Annotated[
        str, typer.Option(help="Models to compare on the test split, comma-separated.")
    ] = ",".join(COMPARED_MODELS),
    bundle_models: Annotated[
        str,
        typer.Option(
            "--bundle-models",
            help="Models the served bundle blends, comma-separated (the default: shopmind "
            "train's).",
        ),
    ] = ",".join(SERVED_MODELS),
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API and web UI at the end.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port to serve on (on 127.0.0.1).")] = 8000,
    budget: Annotated[
        str,
        typer.Option(
            help="Time the bundle's training may spend choosing and fitting (90s, 5m, ...); "
            "the demo's is short, `shopmind train`'s default is 25m."
        ),
    ] = "2m",
) -> None:
    """The main job: a shop in the Store, evaluated, trained into a bundle and served.

    The synthetic shop (--items, --users, --events, --seed) is generated only into an
    empty store; a store that holds a shop already is used as it is.
    """
    config = synthetic_config(seed, items, users, events)
    names = model_names(models)
    train_config = TrainConfig.for_models(
        model_names(bundle_models, "--bundle-models"),
        budget_seconds=parse_duration(budget, "--budget"),
    )
    logging.getLogger("faiss").setLevel(logging.WARNING)  # its CPU-feature probing is noise here
    if serve:
        _check_port_free(port)
    # Everything under one folder: the store, the bundles, the embedding cache, encoders.
    with using_home(home):
        home_dir = home_folder()
        url = store or default_store_url()
        with open_store(url) as db:
            cli.console.rule("[bold]shopmind demo")
            cli.console.print(f"data directory: {home_dir}\nstore: {db.safe_url}")
            if data is not None:
                _import_shop_folder(db, data)
            elif db.counts()["events"] == 0:
                generate_shop(db, config)
            else:
                cli.console.print(
                    "the store already holds a shop; using it (pass another --home or --store "
                    "for a fresh one)"
                )
            cli.console.print(f"store now holds: {db.counts()}")
            what = "synthetic shop" if data is None else data.name
            target = _compare(db, names, what, synthetic=data is None)
            _train_demo_bundle(db, train_config, home_dir, target)
        if not serve:
            cli.console.print("not serving (--no-serve); start the service with: shopmind serve")
            return
        _serve_demo(url, home_dir, port)


def _compare(db: Store, names: list[str], what: str, *, synthetic: bool) -> str:
    """Compare the models on the test split and print their table; returns the target."""
    from shopmind.evaluation.runner import evaluate_models
    from shopmind.training.snapshot import store_split

    try:
        split, target = store_split(db, ["purchase"]), "purchase"
    except ValueError:
        try:  # an imported shop without enough purchases: its next event of any type
            split, target = store_split(db), "event"
        except ValueError as exc:
            raise fail(str(exc)) from exc
    n_items, shoppers = split.train.n_items, len(split.test)
    cli.console.print(
        f"comparing {', '.join(names)} on {shoppers} shoppers' last {target} (validation: the "
        "one before it), every item a candidate"
    )
    results = evaluate_models(split, names, ks=METRIC_KS, console=cli.console)
    title = (
        f"{what}: models compared on the test split — each of {shoppers} shoppers' last "
        f"{target}, ranked among all {n_items} items (full ranking, history kept)"
    )
    cli.console.print(results_table(title, results, METRIC_KS))
    if synthetic:
        cli.console.print(PLANTED_NOTE)
    return target


def _train_demo_bundle(db: Store, config: TrainConfig, home: Path, target: str) -> None:
    """Train, write and activate a bundle; print what it serves and its validation table."""
    from shopmind.training.train import train

    cli.console.print(f"training the bundle to serve: {', '.join(config.models)}")
    try:
        bundle = train(db, config, home=home, console=cli.console)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    ranking = bundle.manifest.ranking
    scorer = ranking.scorer if ranking is not None else "blend"
    cli.console.print(
        f"bundle [bold]{bundle.version}[/] is active: {', '.join(bundle.model_names)}, "
        f"ranked by {scorer}"
    )
    dropped = ranking.chosen.get("dropped", {}) if ranking is not None else {}
    for name, why in dropped.items():
        cli.console.print(f"  left out {name}: {why}")
    if not bundle.metrics:
        return
    ks = tuple(config.ks)
    one = next((row for m, row in bundle.metrics.items() if m not in ("blend", "served")), {})
    held = int(bundle.metrics.get("served", {}).get("rows", 0))
    table = Table(
        title=f"the bundle on validation — each shopper's second-to-last {target}, among all "
        f"{bundle.manifest.data.items} items: each model alone on {int(one.get('rows', 0))} "
        f"shoppers; 'blend' and 'served' ({scorer}) through the whole served pipeline on "
        f"{held} shoppers held out from the ranker"
    )
    table.add_column("model")
    cols = [f"{m}@{k}" for k in ks for m in ("recall", "ndcg")]
    for c in cols:
        table.add_column(c, justify="right")
    for model, row in bundle.metrics.items():
        table.add_row(model, *(f"{row[c]:.4f}" if c in row else "–" for c in cols))
    cli.console.print(table)


def _import_shop_folder(db: Store, folder: Path) -> None:
    """Import --data: a folder of items/users/events files, or a public benchmark folder."""
    from shopmind.catalog.folders import import_folder
    from shopmind.catalog.importers import ImportFailed

    with Steps(cli.console) as steps:
        steps.step(f"importing {folder}")
        try:
            done = import_folder(db, folder)
        except ImportFailed as exc:
            raise fail(f"--data {exc}") from exc
    for report in done.reports:
        if report.errors:
            cli.err.print(report.format_errors())
        cli.console.print(
            f"{report.file}: {report.rows_loaded} of {report.rows_read} rows loaded, "
            f"{len(report.errors)} bad"
        )
    if done.benchmark is not None:
        say_benchmark(done.benchmark)


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise fail(
                f"port {port} on 127.0.0.1 is taken ({exc.strerror}); pass another --port"
            ) from exc


def _serve_demo(store_url: str, home: Path, port: int) -> None:
    """Serve the API and the web UI on loopback (open unless keys are set) until Ctrl+C."""
    import uvicorn

    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings

    base = f"http://127.0.0.1:{port}"
    settings = ServeSettings(store=store_url, home=home, host="127.0.0.1", port=port)
    access = (
        "running open on loopback: no API keys, reachable from this machine only"
        if settings.is_open
        else "API keys required (SHOPMIND_READ_KEYS / SHOPMIND_ADMIN_KEYS); the pages ask for one"
    )
    app_ = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app_, host="127.0.0.1", port=port, log_level="warning"))

    def announce() -> None:
        # The URLs are printed once the bundle is loaded and the port answers, not before.
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.1)
        cli.console.rule("[bold]serving")
        cli.console.print(
            f"storefront  {base}/\ndashboard   {base}/dashboard\nAPI docs    {base}/docs\n"
            f"{access} (Ctrl+C stops it)"
        )

    threading.Thread(target=announce, name="demo-announce", daemon=True).start()
    server.run()
