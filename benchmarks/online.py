"""The online loop, end to end: an A/B test between the bundle `shopmind train` builds and a
popularity-only bundle, run by simulated shoppers against a live server.

    .venv/bin/python benchmarks/online.py [--visits 15000 --budget 2 --workdir DIR --seed 0]

Builds the synthetic shop (the demo's: 3,000 products, 3,000 shoppers, ~150k events) in
``--workdir``, trains the bundle `shopmind train` builds (within ``--budget`` minutes, as the
demo does) and a second one of the popularity model alone, starts the real app under uvicorn
(2 worker processes, API keys on), and starts an experiment over the API: control
"popularity" (the popularity bundle) against "served" (the trained one), half the shoppers
each, assigned by hashed shopper id. Then ``--visits`` visits of the storefront simulator
(:mod:`shopmind.synthetic.storefront`): a random shopper of the shop asks for their
recommendations (k=10), records the impression as the web storefront does, and clicks,
carts and buys by a position-based click model over their *planted* preferences (which no
model sees). Purchases come back without the request id: the attribution window links them.

The figures are the server's (``GET /v1/experiments/{id}``: impressions, attributed clicks,
carts, purchases, delta-method intervals, the z-test); the simulator's own tally of what it
did is printed beside them as a check. Writes benchmarks/results/online.md and online.json
(``--results NAME``: NAME.md and NAME.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from machine import machine_summary
from serving import ADMIN_KEY, load, log, percentile_ms, start_server
from shopmind.bundle import BundleStore
from shopmind.catalog.store import Store
from shopmind.evaluation.report import write_json
from shopmind.synthetic import SyntheticConfig, generate, write_to_store
from shopmind.synthetic.storefront import StorefrontSimulator
from shopmind.training.config import TrainConfig

HERE = Path(__file__).parent
RESULTS = HERE / "results"
POPULARITY = TrainConfig(models={"pop": {}}, search=None)


def prepare(workdir: Path, budget_minutes: float, seed: int) -> tuple[Any, dict[str, Any]]:
    """The shop in a store, the trained bundle (active) and the popularity one."""
    from shopmind.training.train import train

    shop = generate(SyntheticConfig(seed=seed))
    url = f"sqlite:///{workdir / 'shop.sqlite'}"
    facts: dict[str, Any] = {}
    bundles = BundleStore(workdir)
    with Store(url) as store:
        if store.counts()["events"] == 0:
            write_to_store(shop, store)
        facts["store"] = store.counts()
        marker = workdir / "bundles.json"
        if marker.exists():
            facts |= json.loads(marker.read_text())
        else:
            started = time.perf_counter()
            served = train(store, TrainConfig(budget_seconds=budget_minutes * 60), home=workdir)
            facts["train_s"] = round(time.perf_counter() - started, 1)
            popular = train(store, POPULARITY, home=workdir, activate=False)
            facts |= {"served": served.version, "popularity": popular.version}
            marker.write_text(
                json.dumps({k: facts[k] for k in ("served", "popularity", "train_s")})
            )
    for name in ("served", "popularity"):
        manifest = bundles.get(facts[name]).manifest
        figures = manifest.metrics.get("served") or manifest.metrics.get("blend") or {}
        facts[f"{name}_validation_ndcg@10"] = figures.get("ndcg@10")
        facts[f"{name}_models"] = manifest.models
    return shop, facts


def markdown(results: dict[str, Any], facts: dict[str, Any], tally: Any) -> str:
    exp = results["experiment"]
    lines = [
        "# Online: an A/B test run by simulated shoppers against a live server",
        "",
        "Product figures: the bundle `shopmind train` builds and a popularity-only bundle, served",
        "by the real app (uvicorn, 2 workers) as two arms of one experiment; every number below",
        "is the server's own (`GET /v1/experiments/{id}`), from the impressions the simulator",
        "recorded and the clicks, carts and purchases it sent, attributed by the server.",
        "",
        f"Command: `{facts['command']}`",
        "",
        f"Machine: {facts['machine']}; load average before {facts['load_before']}, after "
        f"{facts['load_after']}.",
        "",
        f"Shop: the synthetic demo shop (seed {facts['seed']}): {facts['store']['items']:,} "
        f"products, {facts['store']['users']:,} shoppers, {facts['store']['events']:,} events "
        "before the run.",
        f"Arms: control `popularity` = bundle {facts['popularity']} "
        f"({', '.join(facts['popularity_models'])}; validation NDCG@10 "
        f"{facts['popularity_validation_ndcg@10']}), treatment `served` = bundle "
        f"{facts['served']} ({', '.join(facts['served_models'])}; validation NDCG@10 "
        f"{facts['served_validation_ndcg@10']}); 50% of shoppers each, by hashed shopper id.",
        f"Simulation: {facts['visits']:,} visits (k=10, recommendations), click model "
        f"{facts['click_model']}; {facts['seconds']:.0f} s.",
        "",
        "| arm | shoppers | impressions | clicks | CTR [95% CI] | add-to-cart rate | "
        "conversion rate | revenue / impression |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for arm in results["arms"]:
        m = arm["metrics"]
        ctr = m["ctr"]
        lines.append(
            f"| {arm['name']} | {arm['shoppers']:,} | {arm['impressions']:,} | "
            f"{arm['clicks']:,} | {ctr['value']:.4f} [{ctr['low']:.4f}, {ctr['high']:.4f}] | "
            f"{m['atc_rate']['value']:.4f} | {m['cvr']['value']:.4f} | "
            f"{m['revenue_per_impression']['value']:.3f} |"
        )
    test = results["arms"][1]["versus_control"]
    lines += [
        "",
        f"**served − popularity, CTR**: {test['difference']:+.4f} "
        f"({100 * test['relative']:+.1f}%), 95% CI [{test['low']:+.4f}, {test['high']:+.4f}], "
        f"z = {test['z']:.2f}, p = {test['p_value']:.2g} → "
        f"{'significant' if test['significant'] else 'not significant'} at α = {test['alpha']}; "
        f"{test['impressions_needed']:,} impressions per arm would see this difference with 80% "
        f"power ({test['more_impressions']:,} more needed).",
        "",
        "The interval and the test treat the shopper, the unit of assignment, as the unit of",
        "analysis (delta method over per-shopper sums), not each impression.",
        "",
        "Check: what the simulator itself did, by the arm each answer named — "
        + "; ".join(
            f"{arm}: {tally.impressions[arm]:,} impressions, {tally.clicks[arm]:,} clicks, "
            f"{tally.carts[arm]:,} carts, {tally.purchases[arm]:,} purchases"
            for arm in sorted(tally.impressions)
        )
        + ". The server's attributed counts are the same.",
        "",
        "What each arm's lists offered, by the planted truth the shoppers click by: the mean "
        "fit of the items shown "
        + ", ".join(f"{arm} {tally.mean_fit(arm):.3f}" for arm in sorted(tally.impressions))
        + "; the share of them in the shopper's own department "
        + ", ".join(f"{arm} {tally.own_share(arm):.3f}" for arm in sorted(tally.impressions))
        + ".",
        "",
        f"Attribution of the run: {facts['attributed']}.",
        "",
        f"Latency the simulated shoppers saw (one at a time, Python client on the same 2 "
        f"cores): a list p50 {facts['read_p50_ms']:.1f} ms, p99 {facts['read_p99_ms']:.1f} ms; "
        f"an events batch p50 {facts['write_p50_ms']:.1f} ms, p99 {facts['write_p99_ms']:.1f} ms.",
        "",
        f"Experiment {exp['id']}: {exp['decision'] or 'running when measured'}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=15_000)
    parser.add_argument("--budget", type=float, default=2.0, help="minutes to train (the demo's)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--results", default="online", help="benchmarks/results/NAME.md and .json")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shopmind-online-"))
    workdir.mkdir(parents=True, exist_ok=True)
    shop, facts = prepare(workdir, args.budget, args.seed)
    log(f"bundles: {facts}")
    server, base = start_server(workdir, args.workers)
    headers = {"X-API-Key": ADMIN_KEY}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for stale in client.get("/v1/experiments").json()["experiments"]:
                if stale["status"] == "running":
                    client.post(f"/v1/admin/experiments/{stale['id']}/end")
            arms = [
                {"name": "popularity", "bundle": facts["popularity"], "share": 0.5},
                {"name": "served", "share": 0.5},
            ]
            started = client.post(
                "/v1/admin/experiments", json={"name": "served vs popularity", "arms": arms}
            )
            started.raise_for_status()
            experiment = started.json()["id"]
            time.sleep(3)  # every worker follows the experiment (SHOPMIND_FOLLOW_SECONDS: 2)
            simulator = StorefrontSimulator(shop, client, seed=args.seed, k=10)
            facts["load_before"] = load()
            t0 = time.perf_counter()
            tally = simulator.run(args.visits)
            facts["seconds"] = time.perf_counter() - t0
            facts["load_after"] = load()
            time.sleep(1)
            results = client.get(f"/v1/experiments/{experiment}").json()
            online = client.get("/v1/metrics/online", params={"by": "arm"}).json()
    finally:
        server.terminate()
        server.wait(timeout=30)
    reads, writes = tally.latency["read"], tally.latency["write"]
    facts |= {
        "command": "python benchmarks/online.py "
        f"--visits {args.visits} --budget {args.budget:g} --seed {args.seed}"
        + (f" --results {args.results}" if args.results != "online" else ""),
        "machine": machine_summary(),
        "seed": args.seed,
        "visits": args.visits,
        "click_model": str(simulator.model).removeprefix("ClickModel"),
        "attributed": online["attributed"],
        "read_p50_ms": 1000 * statistics.median(reads),
        "read_p99_ms": percentile_ms(reads, 0.99),
        "write_p50_ms": 1000 * statistics.median(writes),
        "write_p99_ms": percentile_ms(writes, 0.99),
    }
    for arm in results["arms"]:
        name = arm["name"]
        assert arm["clicks"] == tally.clicks[name], (arm, tally.clicks)
        assert arm["impressions"] == tally.impressions[name], (arm, tally.impressions)
    RESULTS.mkdir(exist_ok=True)
    write_json(
        RESULTS / f"{args.results}.json",
        {
            "facts": facts,
            "results": results,
            "tally": {
                k: dict(getattr(tally, k))
                for k in (
                    "visits",
                    "impressions",
                    "clicks",
                    "carts",
                    "purchases",
                    "fit",
                    "own_department",
                )
            },
        },
    )
    (RESULTS / f"{args.results}.md").write_text(markdown(results, facts, tally))
    log((RESULTS / f"{args.results}.md").read_text())


if __name__ == "__main__":
    main()
