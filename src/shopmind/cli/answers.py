"""What the engine answers about one shopper, from the command line: their profile."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from shopmind import cli
from shopmind.cli import HomeOpt, StoreOpt, app, fail, home_folder, open_store, using_home


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
    from shopmind.bundle import BundleStore
    from shopmind.engine import Engine

    with using_home(home), open_store(store) as db:
        bundle = BundleStore(home_folder()).active()
        if bundle is None:
            raise fail("no bundle is active: run `shopmind train` first")
        engine = Engine.load(bundle, db)
        found = engine.profile(user_id)
        if not found.activity.events and db.get_user(user_id) is None:
            raise fail(f"nothing is stored about {user_id!r}; see `shopmind stats`", code=1)
        data = found.model_dump(mode="json")
        if vectors:
            for interest, full in zip(data["interests"], found.interests, strict=True):
                interest["vector"] = full.vector
        cli.console.print_json(json.dumps(data))
