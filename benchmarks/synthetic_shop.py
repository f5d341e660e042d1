"""How long the synthetic shop takes to generate, to load into SQLite and to snapshot, here.

    .venv/bin/python benchmarks/synthetic_shop.py [--events 1000000 --items 100000
        --users 50000 --repeats 3]

Measures ``generate(config)`` (median of ``--repeats`` runs), one ``write_to_store`` into a
fresh SQLite store in a temporary folder, re-sending the same events (idempotent: must add 0)
and ``Dataset.from_store`` (median of ``--repeats``). Writes
benchmarks/results/synthetic_shop.md and benchmarks/results/synthetic_shop.json.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from machine import machine_summary
from shopmind.catalog.store import Store
from shopmind.data.dataset import Dataset
from shopmind.evaluation.report import write_json
from shopmind.synthetic import SyntheticConfig, generate, write_to_store

HERE = Path(__file__).parent
RESULTS = HERE / "results"

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def repeated(fn: Callable[[], T], repeats: int, label: str) -> tuple[T, list[float]]:
    """The last result of ``repeats`` timed calls and every call's time."""
    value, seconds = timed(fn)
    runs = [seconds]
    print(f"{label} 1/{repeats}: {seconds:.2f}s")
    for r in range(2, repeats + 1):
        del value  # free the previous result before building the next
        value, seconds = timed(fn)
        runs.append(seconds)
        print(f"{label} {r}/{repeats}: {seconds:.2f}s")
    return value, runs


def summary(runs: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(runs), 3), "runs": [round(r, 3) for r in runs]}


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the temporary store goes (default: TMP)"
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    config = SyntheticConfig(
        seed=args.seed, n_items=args.items, n_users=args.users, n_events=args.events
    )

    shop, generate_runs = repeated(lambda: generate(config), args.repeats, "generate")

    with tempfile.TemporaryDirectory(prefix="shopmind-bench-", dir=args.workdir) as tmp:
        path = Path(tmp) / "shop.sqlite"
        with Store(f"sqlite:///{path}") as store:
            _, write_seconds = timed(lambda: write_to_store(shop, store))
            print(f"write_to_store: {write_seconds:.2f}s")
            added, resend_seconds = timed(lambda: store.append_event_columns(shop.events))
            print(f"re-sending the events: {added} added in {resend_seconds:.2f}s")
            counts = store.counts()
            dataset, snapshot_runs = repeated(
                lambda: Dataset.from_store(store), args.repeats, "Dataset.from_store"
            )
        store_bytes = sum(f.stat().st_size for f in Path(tmp).iterdir())

    generated = {"items": len(shop.items), "users": len(shop.users), "events": shop.n_events}
    payload: dict[str, Any] = {
        "machine": machine_summary(),
        "config": config.model_dump(mode="json"),
        "repeats": args.repeats,
        "generated": generated,
        "generate_seconds": summary(generate_runs),
        "write_to_store_seconds": round(write_seconds, 3),
        "write_events_per_second": round(shop.n_events / write_seconds),
        "resend_events": {"added": int(added), "seconds": round(resend_seconds, 3)},
        "store_counts": counts,
        "store_file_mib": round(store_bytes / 2**20, 1),
        "snapshot_seconds": summary(snapshot_runs),
        "snapshot": {
            "users": dataset.n_users,
            "items": dataset.n_items,
            "events": dataset.n_events,
        },
        "peak_rss_mib": peak_rss_mib(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "synthetic_shop.json", payload)
    (args.out / "synthetic_shop.md").write_text(render(payload))
    print(f"wrote {args.out / 'synthetic_shop.md'} and synthetic_shop.json")
    if added != 0 or counts["events"] != shop.n_events:
        print(
            f"UNEXPECTED: re-sending added {added} events; the store holds {counts['events']} "
            f"of {shop.n_events}",
            file=sys.stderr,
        )
        sys.exit(1)


def render(p: dict[str, Any]) -> str:
    g, c = p["generated"], p["config"]
    gen, snap = p["generate_seconds"], p["snapshot_seconds"]
    runs = ", ".join(f"{r:.2f}" for r in gen["runs"])
    snap_runs = ", ".join(f"{r:.2f}" for r in snap["runs"])
    rows = [
        ("`generate(config)`", f"{gen['median']:.2f} s", f"median of {p['repeats']} ({runs})"),
        (
            "`write_to_store` into a fresh SQLite file",
            f"{p['write_to_store_seconds']:.2f} s",
            f"one run; {p['write_events_per_second']:,} events/s; "
            f"file {p['store_file_mib']:.0f} MiB",
        ),
        (
            "re-sending the same events",
            f"{p['resend_events']['seconds']:.2f} s",
            f"{p['resend_events']['added']} added (idempotent on event id)",
        ),
        (
            "`Dataset.from_store` snapshot",
            f"{snap['median']:.2f} s",
            f"median of {p['repeats']} ({snap_runs})",
        ),
    ]
    lines = [
        "# Synthetic shop: generation, loading and snapshot times\n",
        f"Shop asked for: {c['n_items']:,} items, {c['n_users']:,} shoppers, "
        f"~{c['n_events']:,} events (seed {c['seed']}); generated {g['items']:,} items, "
        f"{g['users']:,} shoppers, {g['events']:,} events. "
        f"Peak memory of the process: {p['peak_rss_mib']:,.0f} MiB.",
        "Produced by `.venv/bin/python benchmarks/synthetic_shop.py`.\n",
        f"Machine: {p['machine']}\n",
        "| step | time | notes |",
        "| --- | ---: | --- |",
        *(f"| {step} | {t} | {notes} |" for step, t, notes in rows),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
