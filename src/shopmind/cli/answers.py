"""Answers from the command line: a profile, the segments, an item's audience and complements,
search."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shopmind import cli
from shopmind.cli import HomeOpt, StoreOpt, app, fail, home_folder, open_store, using_home

if TYPE_CHECKING:
    from shopmind.engine import Engine


@contextmanager
def active_engine(home: Path | None, store: str | None) -> Iterator[Engine]:
    """The active bundle's engine over the store (a clear error when no bundle is active)."""
    from shopmind.bundle import BundleStore
    from shopmind.engine import Engine

    with using_home(home), open_store(store) as db:
        bundle = BundleStore(home_folder()).active()
        if bundle is None:
            raise fail("no bundle is active: run `shopmind train` first")
        yield Engine.load(bundle, db)


@app.command()
def profile(
    user_id: str,
    store: StoreOpt = None,
    home: HomeOpt = None,
    vectors: Annotated[
        bool, typer.Option("--vectors", help="Include the interest vectors (384 numbers each).")
    ] = False,
) -> None:
    """Print a shopper's profile as JSON: category and brand affinities with their evidence,
    price band, activity (RFM, sessions, funnel, lifecycle) and interests, read from their
    events in the Store now against the active bundle's catalogue."""
    with active_engine(home, store) as engine:
        found = engine.profile(user_id)
        if not found.activity.events and engine.store.get_user(user_id) is None:
            raise fail(f"nothing is stored about {user_id!r}; see `shopmind stats`", code=1)
        data = found.model_dump(mode="json")
        if vectors:
            for interest, full in zip(data["interests"], found.interests, strict=True):
                interest["vector"] = full.vector
        cli.console.print_json(json.dumps(data))


@app.command()
def segments(
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """The active bundle's segments, biggest first: name, size, KPIs and description, and
    how their number was chosen."""
    from rich.table import Table

    from shopmind.bundle import BundleStore
    from shopmind.profiles.segments import SegmentModel

    with using_home(home):
        bundle = BundleStore(home_folder()).active()
        if bundle is None:
            raise fail("no bundle is active: run `shopmind train` first")
        folder = bundle.segments_folder
        if folder is None:
            raise fail(f"bundle {bundle.version} holds no segments: train with segments on")
        model, _ = SegmentModel.load(folder)
    if as_json:
        cli.console.print_json(model.model_dump_json())
        return
    scores = ", ".join(f"k={k}: {v:.3f}" for k, v in model.scores.items())
    table = Table(
        title=f"{model.chosen_k} segments of bundle {bundle.version} (silhouette {scores})"
    )
    for column in ("id", "name", "size", "conversion", "avg order", "revenue", "description"):
        table.add_column(column, no_wrap=column not in ("name", "description"))
    for s in model.segments:
        k = s.kpis
        table.add_row(
            s.id,
            s.name,
            str(s.size),
            "-" if k.conversion is None else f"{100 * k.conversion:.1f}%",
            "-" if k.average_order_value is None else f"{k.average_order_value:.2f}",
            f"{100 * k.revenue_share:.0f}%",
            s.description,
        )
    cli.console.print(table)


@app.command()
def audience(
    item_id: str,
    store: StoreOpt = None,
    home: HomeOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100_000, help="Shoppers wanted.")] = 100,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print CSV (user_id,score,reason).")
    ] = False,
) -> None:
    """The shoppers most likely to buy ITEM_ID next (the active bundle's models run in
    reverse), best first, each with why; as JSON, or CSV for a campaign tool."""
    import csv
    import sys

    with active_engine(home, store) as engine:
        bundle = engine.bundle
        try:
            members = engine.audience_of(item_id, k)
        except KeyError:
            raise fail(f"no item {item_id!r} in the active bundle's catalogue", code=1) from None
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["user_id", "score", "reason"])
        writer.writerows([m.user_id, m.score, m.reason] for m in members)
        return
    rows = [{"user_id": m.user_id, "score": m.score, "sources": m.sources, "reason": m.reason}
            for m in members]  # fmt: skip
    cli.console.print_json(
        json.dumps({"item_id": item_id, "bundle": bundle.version, "members": rows})
    )


@app.command()
def complements(
    item_id: str,
    store: StoreOpt = None,
    home: HomeOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Items wanted.")] = 10,
) -> None:
    """What goes with ITEM_ID: what shoppers went on to after it in other categories (look-
    alikes rejected), or through its category's links for a new item; as JSON, each with why."""
    with active_engine(home, store) as engine:
        bundle = engine.bundle
        try:
            answer = engine.related("complementary", item_id, k)
        except KeyError:
            raise fail(f"no item {item_id!r} in the active bundle's catalogue", code=1) from None
        rows = [
            {
                "item_id": r.item_id,
                "title": engine.side.title[r.index],
                "category": " > ".join(engine.side.category[r.index]),
                "score": round(r.score, 6),
                "evidence": r.models,
                "reason": r.reason,
            }
            for r in answer.items
        ]
    out = {"item_id": item_id, "bundle": bundle.version, "items": rows, "reason": answer.reason}
    cli.console.print_json(json.dumps(out))


@app.command()
def search(
    query: str,
    user: Annotated[
        str | None, typer.Option("--user", help="Re-rank for this shopper's history.")
    ] = None,
    store: StoreOpt = None,
    home: HomeOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Items wanted.")] = 10,
) -> None:
    """Search the catalogue for QUERY (words, a price such as 'under 50' or '50元以内', a
    brand): how the query was read and the results as JSON, each with its reason and the
    shares of its score from the words, the meaning and the shopper's history."""
    with active_engine(home, store) as engine:
        answer = engine.search(query, user, k)
        found = answer.slate.interpretation if answer.slate is not None else None
        rows = [
            {
                "item_id": r.item_id,
                "title": engine.side.title[r.index],
                "price": engine.item_record(r.index)["price"],
                "score": round(r.score, 6),
                "shares": r.explanation.sources if r.explanation else {},
                "reason": r.reason,
            }
            for r in answer.items
        ]
        out = {
            "query": query,
            "user_id": user,
            "bundle": engine.version,
            "interpretation": found.to_json() if found is not None else None,
            "items": rows,
            "reason": answer.reason,
        }
    cli.console.print_json(json.dumps(out, ensure_ascii=False))
