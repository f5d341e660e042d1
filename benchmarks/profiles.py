"""Shopper profiles: are the planted departments and price bands found, and what a profile costs.

1. Quality, on the synthetic shop ``shopmind demo`` builds (3,000 shoppers, ~150k events):
   every shopper's profile from the whole event log (``build_profiles``, the batch path), at
   the shop's last event. Reported: how often the profile's top department is the shopper's
   planted one (shoppers with at least 5 item events), how often the price band is, each
   against the best guess made without a profile (the commonest planted value), and the
   batch's wall time and peak memory.
2. Serving cost, over a prepared 100k-item / 1M-event shop (``benchmarks/serving.py
   --prepare --workdir DIR``): ``Engine.profile`` for sampled shoppers, one at a time, in
   this process: the Store read and the build, median and p99. A profile is read from the
   Store on every request, so an event's "incremental update" costs nothing beyond its
   append; what grows is the read, reported against the shopper's event count.

    python benchmarks/profiles.py [--workdir /tmp/servenc]

Writes ``benchmarks/results/profiles.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from machine import machine_summary
from shopmind.data.dataset import ItemSide
from shopmind.evaluation.report import write_json
from shopmind.profiles import ProfileItems, build_profiles
from shopmind.profiles.segments import find_segments
from shopmind.synthetic import SyntheticConfig, generate

RESULTS = Path(__file__).parent / "results"
CLEAR_SHARE = 0.85


def load() -> list[float]:
    return [round(float(x), 2) for x in Path("/proc/loadavg").read_text().split()[:3]]


def quality(config: SyntheticConfig) -> dict[str, Any]:
    shop = generate(config)
    ev = shop.events
    start = time.perf_counter()
    items = ProfileItems.build(ItemSide.from_items(shop.items))
    index = {item.id: i for i, item in enumerate(shop.items)}
    item = np.array([index.get(i, -1) if i else -1 for i in ev["item_id"]], np.int64)
    profiles = build_profiles(
        ev["user_id"], item, ev["type"], ev["value"], ev["timestamp_ms"], items,
        as_of_ms=float(ev["timestamp_ms"].max()),
    )  # fmt: skip
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    model, members = find_segments(profiles)
    segment_seconds = time.perf_counter() - start
    truth = shop.truth
    label = {u: s for s, users in members.items() for u in users}
    segmented = sorted(label)
    ari = adjusted_rand_score(
        [truth.user_segment[u] for u in segmented], [label[u] for u in segmented]
    )
    users, counts = np.unique(ev["user_id"][item >= 0], return_counts=True)
    active = [u for u, n in zip(users.tolist(), counts.tolist(), strict=True) if n >= 5]
    found = float(
        np.mean([profiles[u].top_category(1) == truth.user_department[u] for u in active])
    )
    # The ceiling: the department most of the shopper's item events fall in. A profile cannot
    # know more than the events it is built from, so this is what "found" can be held against.
    department = {it.id: it.category_path[0] if it.category_path else "" for it in shop.items}
    mode: dict[str, Counter[str]] = {}
    known = item >= 0
    for u, i in zip(ev["user_id"][known].tolist(), ev["item_id"][known].tolist(), strict=True):
        mode.setdefault(u, Counter())[department[i]] += 1
    ceiling = float(
        np.mean([mode[u].most_common(1)[0][0] == truth.user_department[u] for u in active])
    )
    departments = list(truth.user_department.values())
    commonest = max(set(departments), key=departments.count)
    guess = float(np.mean([truth.user_department[u] == commonest for u in active]))
    banded = [u for u, p in profiles.items() if p.price.band is not None]
    band = float(np.mean([profiles[u].price.band == truth.user_price_band[u] for u in banded]))
    bands = list(truth.user_price_band.values())
    band_guess = max(bands.count(b) for b in set(bands)) / len(bands)
    by_events = {}
    for low, high in ((5, 20), (20, 50), (50, 100), (100, 10**9)):
        group = [u for u, n in zip(users.tolist(), counts.tolist(), strict=True) if low <= n < high]
        if group:
            hit = np.mean([profiles[u].top_category(1) == truth.user_department[u] for u in group])
            by_events[f"{low}-{high if high < 10**9 else ''}"] = (len(group), round(float(hit), 3))
    return {
        "shop": config.model_dump(mode="json"),
        "shoppers": len(profiles),
        "events": len(ev["user_id"]),
        "batch_seconds": round(seconds, 2),
        "profiles_per_second": round(len(profiles) / seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "department": {
            "shoppers": len(active),
            "found": round(found, 4),
            "mode_of_events": round(ceiling, 4),
            "commonest_department_guess": round(guess, 4),
            "by_item_events": by_events,
        },
        "segments": {
            "seconds": round(segment_seconds, 2),
            "planted": len(truth.segment_names),
            "chosen_k": model.chosen_k,
            "silhouette": model.scores,
            "adjusted_rand_index": round(float(ari), 4),
            "found": [
                {"id": s.id, "name": s.name, "size": s.size, "description": s.description}
                for s in model.segments
            ],
        },
        "price_band": {
            "shoppers": len(banded),
            "found": round(band, 4),
            "commonest_band_guess": round(band_guess, 4),
        },
    }


def serving(workdir: Path, n: int) -> dict[str, Any]:
    from shopmind.bundle import BundleStore
    from shopmind.catalog.store import Store
    from shopmind.engine import Engine
    from shopmind.engine.history import read_events

    with Store(f"sqlite:///{workdir / 'shop.sqlite'}") as store:
        bundle = BundleStore(workdir).active()
        assert bundle is not None, f"no bundle in {workdir}: run serving.py --prepare first"
        engine = Engine.load(bundle, store)
        users = [u.id for u in store.iter_users()]
        sample = random.Random(0).sample(users, min(n, len(users)))
        for user in sample[:20]:  # the catalogue's profile arrays are built on first use
            engine.profile(user)
        reads, totals, sizes = [], [], []
        for user in sample:
            start = time.perf_counter()
            events = read_events(store, user, engine.items, engine.profile_config.max_events)
            reads.append(time.perf_counter() - start)
            start = time.perf_counter()
            engine.profile(user)
            totals.append(time.perf_counter() - start)
            sizes.append(len(events))
        counts = store.counts()
    sizes_a, totals_a = np.array(sizes), np.array(totals) * 1000
    by_size = {}
    for low, high in ((0, 20), (20, 50), (50, 100), (100, 10**9)):
        keep = (sizes_a >= low) & (sizes_a < high)
        if keep.any():
            by_size[f"{low}-{high if high < 10**9 else ''}"] = (
                int(keep.sum()), round(float(np.median(totals_a[keep])), 2)
            )  # fmt: skip
    return {
        "shop": {k: counts[k] for k in ("items", "users", "events")},
        "bundle": bundle.version,
        "shoppers": len(sample),
        "read_ms_p50": round(float(np.median(reads)) * 1000, 2),
        "profile_ms_p50": round(float(np.median(totals_a)), 2),
        "profile_ms_p99": round(float(np.quantile(totals_a, 0.99)), 2),
        "median_events": float(np.median(sizes_a)),
        "profile_ms_by_events": by_size,
    }


def batch(store_url: str, label: str) -> dict[str, Any]:
    """What `shopmind train` adds to a bundle for profiles: every shopper's profile from the
    store's snapshot, the segments, the rule facts; wall time and peak memory (this process)."""
    from shopmind.catalog.store import Store
    from shopmind.profiles import ProfileConfig
    from shopmind.profiles.segments import SegmentConfig, snapshot_segments
    from shopmind.training.snapshot import snapshot

    with Store(store_url) as store:
        start = time.perf_counter()
        data = snapshot(store)
        read = time.perf_counter() - start
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    model, _, _ = snapshot_segments(data, ProfileConfig(), SegmentConfig(), time.time() * 1000)
    seconds = time.perf_counter() - start
    return {
        "shop": label,
        "shoppers": data.n_users,
        "events": data.n_events + len(data.search_user),
        "snapshot_seconds": round(read, 1),
        "profiles_segments_facts_seconds": round(seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mib": round(before, 1),
        "chosen_k": model.chosen_k,
        "silhouette": model.scores,
    }


def markdown(result: dict[str, Any]) -> str:
    q, c = result["quality"], result["quality_clear"]
    d, b = q["department"], q["price_band"]
    lines = [
        "# Shopper profiles",
        "",
        f"Machine: {result['machine']}. Load before → after: {result['load_before']} → "
        f"{result['load_after']}. Command: `python benchmarks/profiles.py"
        + (f" --workdir {result['workdir']}" if result.get("workdir") else "")
        + "".join(f" --batch {b['shop']}=…" for b in result.get("batch", []))
        + "`.",
        "",
        "## Planted structure found (synthetic shop, the batch path)",
        "",
        f"{q['shoppers']} shoppers, {q['events']} events (the shop `shopmind demo` builds). "
        f"Every profile from the whole log in {q['batch_seconds']} s "
        f"({q['profiles_per_second']} profiles/s, one core), peak RSS {q['peak_rss_mib']} MiB.",
        "",
        "| what | shoppers | found by the profile | the ceiling: mode of the events "
        "| best guess without one |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| top department = the planted one (≥ 5 item events) | {d['shoppers']} | "
        f"{d['found']:.3f} | {d['mode_of_events']:.3f} | {d['commonest_department_guess']:.3f} |",
        f"| price band = the planted one | {b['shoppers']} | {b['found']:.3f} | | "
        f"{b['commonest_band_guess']:.3f} |",
        "",
        "The default personas split their weight between two departments (Fashion 0.5 / Beauty "
        "0.5 to Electronics 0.75 / Office 0.25, each shopper drawn around them), so a shopper "
        "with a few sessions has no department their events could reveal: the department most "
        "of their item events fall in is the planted one for only the ceiling's share. The same "
        f"shop with each persona's first department at {c['shop']['primary_share']:.0%} of its "
        "weight (`SyntheticConfig(primary_share=...)`) plants one clear department per shopper:",
        "",
        "| shop | shoppers (≥ 5 item events) | top department found | ceiling | segments k "
        "| adjusted Rand index | price band found |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {label} | {x['department']['shoppers']} | {x['department']['found']:.3f} | "
            f"{x['department']['mode_of_events']:.3f} | {x['segments']['chosen_k']} | "
            f"{x['segments']['adjusted_rand_index']:.3f} | {x['price_band']['found']:.3f} |"
            for label, x in (("default (the demo's)", q), ("one clear department", c))
        ],
        "",
        "The top department found on the clear shop, by the shopper's item events: "
        + ", ".join(
            f"{k}: {hit:.3f} ({n})" for k, (n, hit) in c["department"]["by_item_events"].items()
        )
        + ".",
        "",
        f"Segments: {q['segments']['planted']} planted; k-means on the profiles' top-level "
        f"category shares and price position, k = 2..10, the best silhouette chose "
        f"**k = {q['segments']['chosen_k']}** "
        f"({', '.join(f'{k}: {v:.3f}' for k, v in q['segments']['silhouette'].items())}); "
        f"adjusted Rand index against the planted segments **"
        f"{q['segments']['adjusted_rand_index']:.3f}**; {q['segments']['seconds']} s.",
        "",
        "| segment | shoppers | description (made from its members' profiles) |",
        "| --- | ---: | --- |",
        *[
            f"| {s['id']}: {s['name']} | {s['size']} | {s['description']} |"
            for s in q["segments"]["found"]
        ],
        "",
        "The top department found, by the shopper's item events:",
        "",
        "| item events | shoppers | found |",
        "| --- | ---: | ---: |",
        *[f"| {k} | {n} | {hit:.3f} |" for k, (n, hit) in d["by_item_events"].items()],
        "",
    ]
    if result.get("batch"):
        lines += [
            "## The batch at training time (profiles of every shopper, segments, rule facts)",
            "",
            "| shop | shoppers | events | snapshot s | profiles, segments, facts s | peak RSS MiB "
            "| k |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *[
                f"| {b['shop']} | {b['shoppers']} | {b['events']} | {b['snapshot_seconds']} | "
                f"{b['profiles_segments_facts_seconds']} | {b['peak_rss_mib']} | {b['chosen_k']} |"
                for b in result["batch"]
            ],
            "",
        ]
    s = result.get("serving")
    if s:
        lines += [
            "## Serving cost (`Engine.profile`, in process, one at a time)",
            "",
            f"Shop: {s['shop']}; bundle {s['bundle']}; {s['shoppers']} sampled shoppers "
            f"(median {s['median_events']:.0f} events each).",
            "",
            "| step | median ms | p99 ms |",
            "| --- | ---: | ---: |",
            f"| the Store read (every event of the shopper) | {s['read_ms_p50']} | |",
            f"| the whole profile (read + build) | {s['profile_ms_p50']} | {s['profile_ms_p99']} |",
            "",
            "| shopper's events | shoppers | median ms |",
            "| --- | ---: | ---: |",
            *[f"| {k} | {n} | {ms} |" for k, (n, ms) in s["profile_ms_by_events"].items()],
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=None, help="a serving.py --prepare folder")
    parser.add_argument("--shoppers", type=int, default=500)
    parser.add_argument(
        "--batch", action="append", default=[], metavar="LABEL=STORE_URL",
        help="time the training-time batch over this store (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine_summary(), "load_before": load()}
    result["quality"] = quality(SyntheticConfig())
    # The same shop with one clear department per shopper: the personas' first department gets
    # 85% of their weight (the default's personas split 50/50 to 75/25, so a shopper with a few
    # sessions has no department a profile could find; see the ceiling in the table).
    result["quality_clear"] = quality(SyntheticConfig(primary_share=CLEAR_SHARE))
    result["batch"] = [
        batch(url, label) for label, _, url in (b.partition("=") for b in args.batch)
    ]
    if args.workdir is not None:
        result["workdir"] = str(args.workdir)
        result["serving"] = serving(args.workdir, args.shoppers)
    result["load_after"] = load()
    write_json(RESULTS / "profiles.json", result)
    (RESULTS / "profiles.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
