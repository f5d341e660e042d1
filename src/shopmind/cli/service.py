"""The service: train a bundle, list and activate bundles, serve the API."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

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
    using_home,
)
from shopmind.config import HOME_ENV, OLD_STORE_ENV, STORE_ENV
from shopmind.training.config import SERVED_MODELS


@app.command()
def train(
    store: StoreOpt = None,
    home: HomeOpt = None,
    models: Annotated[str, typer.Option(help="Models in the bundle, comma-separated.")] = ",".join(
        SERVED_MODELS
    ),
    validate: Annotated[
        bool,
        typer.Option(
            "--validate/--no-validate",
            help="Measure each model on validation first; the blend weighs them by it "
            "(without: equal weights).",
        ),
    ] = True,
    activate: Annotated[
        bool,
        typer.Option("--activate/--no-activate", help="Make the new bundle the active one."),
    ] = True,
    keep: Annotated[
        int, typer.Option(help="Bundles kept on disk (the active one is always kept).")
    ] = 5,
) -> None:
    """Snapshot the Store, fit the models and write a versioned bundle (and activate it)."""
    from shopmind.training.config import TrainConfig
    from shopmind.training.train import train as train_bundle

    names = model_names(models)
    config = TrainConfig.for_models(names, validate_models=validate, keep=keep)
    with using_home(home), open_store(store) as db:
        try:
            bundle = train_bundle(
                db, config, home=home_folder(), activate=activate, console=cli.console
            )
        except ValueError as exc:
            raise fail(str(exc)) from exc
    cli.console.print(f"bundle [bold]{bundle.version}[/] written to {bundle.path}")
    cli.console.print_json(json.dumps({"blend": bundle.blend, "metrics": bundle.metrics}))


@app.command()
def bundles(
    store: StoreOpt = None,
    home: HomeOpt = None,
    activate: Annotated[
        str | None, typer.Option(help="Make this version the active bundle.")
    ] = None,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Activate the bundle before the active one.")
    ] = False,
) -> None:
    """List the bundles (the active one starred), or activate / roll back one.

    The store each bundle was trained on is shown; one trained on another store than
    --store is marked, since serving it over this store answers with items it may not hold.
    """
    from shopmind.bundle import BundleStore
    from shopmind.catalog.store import StoreError, safe_url

    with using_home(home):
        try:
            ours = safe_url(store)
        except StoreError as exc:
            raise fail(str(exc)) from exc
        kept = BundleStore(home_folder())
        try:
            if rollback:
                previous = kept.previous()
                if previous is None:
                    raise fail("there is no older bundle to roll back to")
                kept.activate(previous)
            elif activate:
                kept.activate(activate)
        except KeyError as exc:
            raise fail(f"{exc.args[0]}; see `shopmind bundles` for the versions") from exc
    table = Table(title=f"bundles in {kept.root} (store: {ours})")
    for column in ("", "version", "created", "models", "blend ndcg@10"):
        table.add_column(column, no_wrap=True)
    table.add_column("trained on")  # a long store URL wraps, the columns before it do not
    active = kept.active_version()
    for bundle in kept.bundles():
        ndcg = bundle.metrics.get("blend", {}).get("ndcg@10")
        source = bundle.manifest.data.store
        table.add_row(
            "*" if bundle.version == active else "",
            bundle.version,
            bundle.created,
            ",".join(bundle.model_names),
            "-" if ndcg is None else f"{ndcg:.4f}",
            "this store" if source == ours else f"[yellow]another store[/]: {source}",
        )
    cli.console.print(table)


@app.command()
def serve(
    store: StoreOpt = None,
    home: HomeOpt = None,
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

    with using_home(home):
        overrides: dict[str, Any] = {"host": host, "port": port, "home": home_folder()}
        if store:
            overrides["store"] = store
        settings = ServeSettings(**overrides)
        if settings.is_open and not is_loopback(host):
            raise fail(
                f"refusing to serve an open API on {host}: set SHOPMIND_READ_KEYS and "
                "SHOPMIND_ADMIN_KEYS, or bind 127.0.0.1"
            )
        if settings.is_open:
            cli.err.print(
                "[yellow]running open[/]: no API keys set; every endpoint is public on loopback"
            )
        cli.console.print(f"serving on http://{host}:{port} (API docs at /docs)")
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
            return
        # Worker processes build the app from the environment: pass the options on through it.
        os.environ[STORE_ENV] = settings.resolved_store_url()
        os.environ.pop(OLD_STORE_ENV, None)  # read (and warned about) once, here
        os.environ[HOME_ENV] = str(settings.resolved_home())
        uvicorn.run(
            "shopmind.serve.app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
        )
