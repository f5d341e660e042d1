"""`shopmind evaluate`: models compared by full-ranking metrics on a split's test part."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shopmind import cli
from shopmind.cli import (
    HomeOpt,
    StoreOpt,
    app,
    cutoffs,
    fail,
    home_folder,
    model_names,
    open_store,
    using_home,
)
from shopmind.training.config import COMPARED_MODELS, PROTOCOL_KS

#: The cutoffs `evaluate` reports unless told otherwise: the published protocols'.
EVALUATE_KS = ",".join(str(k) for k in PROTOCOL_KS)


@app.command()
def evaluate(
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="A benchmark folder (format recognised from its files), evaluated with its "
            "given split; default: the Store."
        ),
    ] = None,
    store: StoreOpt = None,
    home: HomeOpt = None,
    models: Annotated[str, typer.Option(help="Comma-separated model names.")] = ",".join(
        COMPARED_MODELS
    ),
    k: Annotated[str, typer.Option(help="Cutoffs, comma-separated.")] = EVALUATE_KS,
    mask_history: Annotated[
        bool | None,
        typer.Option(
            "--mask-history/--no-mask-history",
            help="Remove history items from rankings "
            "(default: the dataset protocol's choice; off for the Store).",
        ),
    ] = None,
    tune: Annotated[
        bool,
        typer.Option(
            "--tune/--no-tune",
            help="Choose each model's hyper-parameters on validation over a small grid "
            "(default: no tuning, each model's default parameters).",
        ),
    ] = False,
    target: Annotated[
        str | None,
        typer.Option(
            help="Store only: event type(s) that count as targets, comma-separated, e.g. "
            "purchase (default: any item event)."
        ),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap samples for 95% intervals (0 = off).")
    ] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write results as JSON here.")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write the table as Markdown here.")] = None,
    bundle: Annotated[
        str | None,
        typer.Option(
            "--bundle",
            help="Score what a bundle serves (VERSION, or 'active') on the Store's held-out "
            "test rows, through the engine's own pipeline; --models and --tune do not apply.",
        ),
    ] = None,
) -> None:
    """Full-ranking evaluation of models on a split's test part, each fitted on its train part.

    The Store is split leave-last-out (each shopper's last target is the test, the one before
    it validation) unless it holds a benchmark's given split. With --tune each model's
    hyper-parameters are chosen on validation first.
    """
    from shopmind.catalog.formats import FormatError
    from shopmind.evaluation.runner import evaluate_models
    from shopmind.training.snapshot import store_split

    ks = cutoffs(k)
    if bundle is not None:
        _evaluate_bundle(bundle, store, home, ks, bootstrap, json_out)
        return
    names = model_names(models)
    with using_home(home):
        try:
            if dataset is not None:
                from shopmind.evaluation.runner import load_benchmark_split

                split, protocol_mask, name = load_benchmark_split(dataset)
            else:
                with open_store(store) as db:
                    split = store_split(db, target.split(",") if target else None)
                protocol_mask, name = False, "store"
        except (FormatError, ValueError) as exc:
            raise fail(str(exc)) from exc
        mask = protocol_mask if mask_history is None else mask_history
        results = evaluate_models(
            split,
            names,
            ks=ks,
            mask_history=mask,
            tune=tune,
            bootstrap=bootstrap,
            console=cli.console,
        )
    kept = "history masked" if mask else "history kept"
    cli.console.print(
        results_table(
            f"{name}: test, {len(split.test)} shoppers, full ranking over {split.train.n_items} "
            f"items ({kept}{', tuned on validation' if tune else ''})",
            results,
            ks,
        )
    )
    if json_out:
        from shopmind.evaluation.report import write_json

        write_json(json_out, {name: results})
    if markdown:
        from shopmind.evaluation.report import markdown_table

        cols = [f"{m}@{x}" for x in ks for m in ("recall", "ndcg")] + ["train_seconds"]
        markdown.write_text(f"# {name}\n\n" + markdown_table(results, cols))


def _evaluate_bundle(
    version: str,
    store: str | None,
    home: Path | None,
    ks: tuple[int, ...],
    bootstrap: int,
    json_out: Path | None,
) -> None:
    from shopmind.bundle import BundleStore
    from shopmind.evaluation.bundle import evaluate_bundle

    with using_home(home):
        bundles = BundleStore(home_folder())
        try:
            chosen = bundles.active() if version == "active" else bundles.get(version)
        except KeyError as exc:
            raise fail(f"--bundle {version}: {exc.args[0]}; see `shopmind bundles`") from exc
        if chosen is None:
            raise fail("--bundle active: no bundle is active; run `shopmind train` first")
        with open_store(store) as db:
            try:
                done = evaluate_bundle(chosen, db, ks, bootstrap=bootstrap)
            except ValueError as exc:
                raise fail(str(exc)) from exc
    metrics = done.result.metrics
    row = {f"{m}@{x}": round(metrics[f"{m}@{x}"], 4) for x in ks for m in ("recall", "ndcg")}
    table = Table(
        title=f"bundle {done.version}: test ({done.split}), {done.rows} shoppers, what the "
        f"engine serves, full ranking over {done.n_items} items"
    )
    for column in row:
        table.add_column(column, justify="right")
    table.add_row(*(f"{v:.4f}" for v in row.values()))
    cli.console.print(table)
    if json_out:
        from shopmind.evaluation.report import write_json

        payload = {"bundle": done.version, "split": done.split, "rows": done.rows, **row}
        if done.result.ci:
            payload["ci95"] = {
                m: [round(x, 4) for x in v] for m, v in done.result.ci.items() if m in row
            }
        write_json(json_out, payload)


def results_table(title: str, results: dict[str, dict[str, Any]], ks: tuple[int, ...]) -> Table:
    """Test metrics per model at each cutoff, and each model's training seconds."""
    table = Table(title=title)
    table.add_column("model")
    cols = [f"{m}@{x}" for x in ks for m in ("recall", "ndcg")]
    for c in [*cols, "train s"]:
        table.add_column(c, justify="right")
    for model, row in results.items():
        table.add_row(model, *(f"{row[c]:.4f}" for c in cols), f"{row['train_seconds']:.1f}")
    return table
