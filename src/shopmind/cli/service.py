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
    parse_duration,
    using_home,
)
from shopmind.config import HOME_ENV, OLD_STORE_ENV, STORE_ENV
from shopmind.training.config import BUDGET_SECONDS, SERVED_MODELS


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
            help="Choose on validation: each model's parameters, the models kept, the scorer "
            "(without: each model's defaults fitted on everything, blended alike).",
        ),
    ] = True,
    activate: Annotated[
        bool,
        typer.Option("--activate/--no-activate", help="Make the new bundle the active one."),
    ] = True,
    keep: Annotated[
        int, typer.Option(help="Bundles kept on disk (the active one is always kept).")
    ] = 5,
    budget: Annotated[
        str,
        typer.Option(
            help="Time to spend choosing and fitting: seconds, or 90s, 20m, 1h "
            "(the sequential model and the tuning grids stop when their share is spent)."
        ),
    ] = f"{BUDGET_SECONDS // 60}m",
    scorer: Annotated[
        str,
        typer.Option(
            help="The scorer to serve: auto (the best on held-out validation shoppers), "
            "blend, logistic or lightgbm."
        ),
    ] = "auto",
    tune: Annotated[
        bool,
        typer.Option("--tune/--no-tune", help="Try each model's points on validation."),
    ] = True,
) -> None:
    """Snapshot the Store, choose and fit the models and the ranker on validation, write a
    versioned bundle (and activate it).

    Models are fitted on the training part (a benchmark's given split, else all but each
    shopper's last two targets); validation chooses their parameters, which to keep and the
    scorer; the test part stays held out for `shopmind evaluate --bundle`.
    """
    from shopmind.training.config import TrainConfig
    from shopmind.training.train import train as train_bundle

    names = model_names(models)
    if scorer not in ("auto", "blend", "logistic", "lightgbm"):
        raise fail(f"--scorer {scorer!r}: choose auto, blend, logistic or lightgbm")
    config = TrainConfig.for_models(
        names,
        validate_models=validate,
        keep=keep,
        budget_seconds=parse_duration(budget, "--budget"),
        scorer=scorer,
        tune=tune,
    )
    with using_home(home), open_store(store) as db:
        try:
            bundle = train_bundle(
                db, config, home=home_folder(), activate=activate, console=cli.console
            )
        except ValueError as exc:
            raise fail(str(exc)) from exc
    cli.console.print(f"bundle [bold]{bundle.version}[/] written to {bundle.path}")
    ranking = bundle.manifest.ranking
    summary: dict[str, Any] = {"models": bundle.model_names, "metrics": bundle.metrics}
    if ranking is not None:
        summary |= {
            "scorer": ranking.scorer,
            "dropped": ranking.chosen.get("dropped", {}),
            "seconds": ranking.chosen.get("seconds"),
        }
    cli.console.print_json(json.dumps(summary))


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
    from shopmind.bundle.erasure import HoldsErasedData, check_servable, erased_in
    from shopmind.catalog.store import StoreError, safe_url

    with using_home(home):
        try:
            ours = safe_url(store)
        except StoreError as exc:
            raise fail(str(exc)) from exc
        kept = BundleStore(home_folder())
        try:
            if rollback or activate:
                with open_store(store) as db:  # no bundle holding an erased shopper
                    if rollback:
                        current = kept.active_version()
                        older = [v for v in kept.versions() if current is None or v < current]
                        clean = [v for v in older if not erased_in(kept.get(v), db)]
                        if not clean:
                            why = f" ({len(older)} hold erased shoppers)" if older else ""
                            raise fail(f"there is no older bundle to roll back to{why}")
                        kept.activate(clean[-1])
                    elif activate:
                        check_servable(kept.get(activate), db)
                        kept.activate(activate)
        except KeyError as exc:
            raise fail(f"{exc.args[0]}; see `shopmind bundles` for the versions") from exc
        except HoldsErasedData as exc:
            raise fail(str(exc)) from exc
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
    items posted or deleted) within SHOPMIND_FOLLOW_SECONDS (default 2); the workers stop
    when this process does, even when it is killed outright. A port already in use is an
    error (exit status 2) naming what holds it.
    """
    import uvicorn

    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings, is_loopback
    from shopmind.serve.worker import SUPERVISOR_ENV

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
        busy = _port_in_use(host, port)
        if busy is not None:
            raise fail(busy)
        cli.console.print(f"serving on http://{host}:{port} (API docs at /docs)")
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
            return
        # Worker processes build the app from the environment: pass the options on through it.
        os.environ[STORE_ENV] = settings.resolved_store_url()
        os.environ.pop(OLD_STORE_ENV, None)  # read (and warned about) once, here
        os.environ[HOME_ENV] = str(settings.resolved_home())
        os.environ[SUPERVISOR_ENV] = str(os.getpid())  # the workers end with this process
        uvicorn.run(
            "shopmind.serve.worker:create_worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
        )


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served (in use, or not an address here), or None."""
    import errno
    import socket

    from shopmind.supervision import port_holders

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        return f"cannot serve on {host}: {exc.strerror}; give --host an address of this machine"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return f"cannot serve on {host}:{port}: {exc.strerror}"
        else:
            return None
    holders = port_holders(port)
    who = "; ".join(f"pid {pid}: {command[:120]}" for pid, command in holders)
    stop = f"stop it (kill {' '.join(str(pid) for pid, _ in holders)})" if holders else "stop it"
    return (
        f"port {port} on {host} is already in use"
        + (f" by {who}" if who else "")
        + f"; {stop}, or serve on another port with --port"
    )
