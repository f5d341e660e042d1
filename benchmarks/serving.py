"""HTTP serving speed: the real app under uvicorn on loopback, loaded by wrk.

    .venv/bin/python benchmarks/serving.py [--items 100000 --users 50000 --events 1000000
        --concurrency 1,4,16,64 --duration 10 --text encode|random --budget 25 --workdir DIR
        --prepare]

Builds the synthetic shop into a SQLite store in ``--workdir`` (reused when it already holds
one), trains the bundle `shopmind train` builds (models tuned on validation, the ranker) within
``--budget`` minutes,
starts ``create_app`` under uvicorn (``--workers`` processes, default one per core, API keys
on) in a subprocess pinned to nothing, and loads it with wrk (C, closed loop: each connection
sends its next request when the last one answered) for ``--duration`` seconds per endpoint
and concurrency:

- ``health``: ``GET /health``, the framework's own floor in the same run;
- ``recommendations``: ``GET /v1/users/{id}/recommendations?k=10``, random known shoppers,
  computed online (history read from the store, candidates from every model, blended);
- ``similar``: ``GET /v1/items/{id}/similar?k=10``, random items;
- ``search``: ``GET /v1/search?q=...&user_id=...&k=10``, the synthetic catalogue's planted
  queries of every kind (:mod:`shopmind.synthetic.queries`) for random known shoppers: query
  understanding, BM25 and the query's embedding and vector search, fused, re-ranked by the
  shopper's history (hybrid + personalised, as served);
- ``events``: ``POST /v1/events`` with batches of ``--batch`` new events (unique ids; deleted
  from the store after the run, so a re-run over the same ``--workdir`` measures the same shop).
- ``storefront``: the realistic mix of reads and writes: ``concurrency`` simulated shoppers
  (:mod:`shopmind.synthetic.storefront`, one thread each, closed loop), each visit a
  recommendations list, its impression and the clicks and carts it led to (one events batch),
  and now and then a purchase (a second batch). A Python client (httpx) rather than wrk, on the
  same 2 cores: its rows give requests/s of the mix and each kind's latency; its events are
  deleted after the run like the ``events`` row's.

``--text random`` gives the content model seeded random unit vectors instead of encoding
every item's text (quick, but unlike text: an HNSW search over random vectors is slower and
less exact than over real embeddings); encoding 100k texts takes ~6-25 min on this 2-core
machine, once (the embedding cache keeps them). ``--prepare`` builds the shop and the bundle
and stops (a later run over the same ``--workdir`` reuses both). Writes
benchmarks/results/serving.md and serving.json (``{endpoint: [{concurrency, rps, p50_ms,
p95_ms, p99_ms, errors}, ...]}``) and the load average before and after each run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from machine import machine_summary
from shopmind.bundle import BundleStore
from shopmind.catalog.store import Store
from shopmind.evaluation.report import write_json
from shopmind.synthetic import SyntheticConfig, generate, write_to_store
from shopmind.training.config import SERVED_MODELS, TrainConfig

HERE = Path(__file__).parent
RESULTS = HERE / "results"
READ_KEY, ADMIN_KEY = "bench-read", "bench-admin"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- the shop and the bundle --------------------------------------------------------------


def prepare(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The store and an active bundle in ``workdir`` (built once, reused by later runs)."""
    url = f"sqlite:///{workdir / 'shop.sqlite'}"
    facts: dict[str, Any] = {}
    if args.store_from and not (workdir / "shop.sqlite").exists():
        shutil.copy(args.store_from, workdir / "shop.sqlite")
    with Store(url) as store:
        if store.counts()["events"] == 0:
            start = time.perf_counter()
            shop = generate(
                SyntheticConfig(
                    seed=args.seed, n_items=args.items, n_users=args.users, n_events=args.events
                )
            )
            write_to_store(shop, store)
            facts["generate_and_write_s"] = round(time.perf_counter() - start, 1)
            log(f"shop written in {facts['generate_and_write_s']}s")
        facts["store"] = store.counts()
        bundles = BundleStore(workdir)
        if bundles.active() is None:
            if args.text == "random":
                _random_text()
            from shopmind.training.train import train

            start = time.perf_counter()
            # What `shopmind train` builds: models tuned on validation, the ranker, within
            # the budget.
            config = TrainConfig.for_models(args.models.split(","), budget_seconds=args.budget * 60)
            bundle = train(store, config, home=workdir)
            facts["train_s"] = round(time.perf_counter() - start, 1)
            log(f"bundle {bundle.version} trained in {facts['train_s']}s")
        active = bundles.active()
        assert active is not None
        facts["bundle"] = active.version
        facts["models"] = active.model_names
        facts["blend"] = active.blend
        ranking = active.manifest.ranking
        facts["scorer"] = ranking.scorer if ranking is not None else "blend"
        facts["per_source"] = dict(ranking.per_source) if ranking is not None else {}
    return facts


def _random_text() -> None:
    """Stand-in embeddings: seeded random unit vectors of the encoder's 384 dimensions."""
    import shopmind.models.content as content

    def embed_items(items: Any, **_: Any) -> np.ndarray:
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((len(items.title), 384)).astype(np.float32)
        out: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return out

    content.embed_items = embed_items  # type: ignore[assignment]


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(workdir: Path, port: int, workers: int) -> None:
    """Run the app (subprocess entry point), as ``shopmind serve --workers`` does."""
    import uvicorn

    # The settings come from the environment, as every worker process reads them.
    os.environ |= {
        "SHOPMIND_STORE": f"sqlite:///{workdir / 'shop.sqlite'}",
        "SHOPMIND_HOME": str(workdir),
        "SHOPMIND_READ_KEYS": READ_KEY,
        "SHOPMIND_ADMIN_KEYS": ADMIN_KEY,
    }
    uvicorn.run(
        "shopmind.serve.worker:create_worker_app",
        factory=True,
        workers=workers,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def start_server(workdir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    logfile = (workdir / "server.log").open("wb")
    command = [
        sys.executable, __file__, "--serve", "--workdir", str(workdir), "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    up = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited; see {workdir / 'server.log'}")
        try:  # a fresh connection each time, so every worker gets asked
            up = up + 1 if httpx.get(f"{base}/health", timeout=2).json().get("bundle") else 0
        except httpx.HTTPError:
            up = 0
        if up >= 20:  # 20 answers in a row: every worker has loaded the bundle
            return process, base
        time.sleep(0.05 if up else 1)
    process.terminate()
    raise RuntimeError("the server did not come up in 10 minutes")


# --- wrk --------------------------------------------------------------------------------------

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"errors": %d, "non2xx": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def lua_get(paths: list[str]) -> str:
    table = ",".join(json.dumps(p) for p in paths)
    return (
        textwrap.dedent(
            f"""
        local paths = {{{table}}}
        wrk.headers["X-API-Key"] = "{READ_KEY}"
        math.randomseed(os.time())
        request = function()
          return wrk.format("GET", paths[math.random(#paths)])
        end
        """
        )
        + _DONE
    )


def lua_events(users: list[str], items: list[str], batch: int) -> str:
    user_table = ",".join(json.dumps(u) for u in users)
    item_table = ",".join(json.dumps(i) for i in items)
    return (
        textwrap.dedent(
            f"""
        local users = {{{user_table}}}
        local items = {{{item_table}}}
        local counter = 0
        local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1000000000))
        wrk.method = "POST"
        wrk.headers["X-API-Key"] = "{ADMIN_KEY}"
        wrk.headers["Content-Type"] = "application/json"
        setup = function(thread)
          thread:set("tid", tostring(math.random(1000000000)))
        end
        request = function()
          counter = counter + 1
          local rows = {{}}
          for j = 1, {batch} do
            rows[j] = string.format(
              '{{"event_id":"b%s-%s-%d-%d","user_id":"%s","item_id":"%s","type":"view"}}',
              prefix, tid or "t", counter, j, users[math.random(#users)],
              items[math.random(#items)])
          end
          local body = '{{"events":[' .. table.concat(rows, ",") .. ']}}'
          return wrk.format(nil, "/v1/events", nil, body)
        end
        """
        )
        + _DONE
    )


def forget_posted_events(workdir: Path) -> int:
    """Delete the events the ``events`` load posted (ids ``b<time>-...``; the shop's own are
    ``e...``), so a later run over the same ``--workdir`` measures the same shop: otherwise
    every sampled shopper would carry a few hundred more events into the next run."""
    with sqlite3.connect(workdir / "shop.sqlite") as db:
        deleted = db.execute("DELETE FROM events WHERE event_id GLOB 'b[0-9]*-*'").rowcount
    if deleted:
        log(f"deleted the {deleted} events the load test posted")
    return int(deleted)


def run_wrk(base: str, script: str, concurrency: int, duration: int, path: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    before = load()
    threads = min(2, concurrency)
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            handle.name,
            base + path,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(handle.name).unlink()
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "concurrency": concurrency,
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "errors": raw["errors"] + raw["non2xx"],
        "load_before": before,
        "load_after": load(),
    }


def percentile_ms(seconds: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of latencies in seconds, in milliseconds."""
    ordered = sorted(seconds)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def run_storefront(
    base: str, shop: Any, concurrency: int, duration: int, seed: int = 0
) -> dict[str, Any]:
    """``concurrency`` simulated shoppers browsing for ``duration`` seconds (closed loop)."""
    import threading

    from shopmind.synthetic.storefront import StorefrontSimulator

    before = load()
    deadline = time.perf_counter() + duration
    sims: list[Any] = []
    errors: list[str] = []

    def shopper(n: int) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN_KEY}, timeout=30) as client:
            # "b<digit>…-": the ids forget_posted_events deletes after the run.
            sim = StorefrontSimulator(shop, client, seed=seed + n, prefix=f"b0-sim{n}-")
            sims.append(sim)
            users = [u.id for u in shop.users]
            rng = random.Random(seed + n)
            while time.perf_counter() < deadline:
                try:
                    sim.visit(rng.choice(users))
                except (RuntimeError, httpx.HTTPError) as exc:
                    errors.append(str(exc)[:200])

    started = time.perf_counter()
    threads = [threading.Thread(target=shopper, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    reads = [x for s in sims for x in s.tally.latency["read"]]
    writes = [x for s in sims for x in s.tally.latency["write"]]
    visits = sum(sum(s.tally.visits.values()) for s in sims)

    return {
        "concurrency": concurrency,
        "rps": round((len(reads) + len(writes)) / seconds, 1),
        "visits_per_s": round(visits / seconds, 1),
        "writes_share": round(len(writes) / max(1, len(reads) + len(writes)), 3),
        "p50_ms": percentile_ms(reads + writes, 0.5),
        "p95_ms": percentile_ms(reads + writes, 0.95),
        "p99_ms": percentile_ms(reads + writes, 0.99),
        "read_p50_ms": percentile_ms(reads, 0.5),
        "read_p99_ms": percentile_ms(reads, 0.99),
        "write_p50_ms": percentile_ms(writes, 0.5),
        "write_p99_ms": percentile_ms(writes, 0.99),
        "errors": len(errors),
        "load_before": before,
        "load_after": load(),
    }


def search_paths(workdir: Path, users: list[str]) -> list[str]:
    """Search requests: the catalogue's planted queries, each for a random known shopper."""
    from urllib.parse import quote

    from shopmind.synthetic.queries import english_queries

    with Store(f"sqlite:///{workdir / 'shop.sqlite'}") as store:
        items = list(store.iter_items())
    queries = english_queries(items, per_leaf=3, seed=0)
    rng = random.Random(1)
    return [f"/v1/search?q={quote(q.text)}&user_id={rng.choice(users)}&k=10" for q in queries]


# --- where one recommendation's time goes ------------------------------------------------------


def profile(workdir: Path, users: list[str], items: list[str]) -> dict[str, float]:
    """Median milliseconds of each stage of a recommendation, in this process, one request at
    a time: the history read, then the slate's own per-stage timings."""
    from shopmind.engine import Engine
    from shopmind.engine.history import read_history

    with Store(f"sqlite:///{workdir / 'shop.sqlite'}") as store:
        bundle = BundleStore(workdir).active()
        assert bundle is not None
        engine = Engine.load(bundle, store)
        steps: dict[str, list[float]] = {}

        def note(name: str, seconds: float) -> None:
            steps.setdefault(name, []).append(seconds * 1000)

        for user in users[:200]:
            start = time.perf_counter()
            read_history(store, user, engine.items, engine.history_limit)
            note("history (store read)", time.perf_counter() - start)
            start = time.perf_counter()
            answer = engine.recommend(user, 10)
            note("recommend, end to end", time.perf_counter() - start)
            assert answer.slate is not None
            for stage, seconds in answer.slate.timings.items():
                note(f"stage: {stage}", seconds)
        for user in users[:200]:
            start = time.perf_counter()
            engine.recommend(user, 10, placement="cross_category")
            note("cross-category row, end to end", time.perf_counter() - start)
        for item in items[:200]:
            start = time.perf_counter()
            engine.similar_items(item, 10)
            note("similar_items, end to end", time.perf_counter() - start)
            start = time.perf_counter()
            engine.related("complementary", item, 10)
            note("complementary, end to end", time.perf_counter() - start)
        for path in search_paths(workdir, users)[:300]:
            query, user = _search_args(path)
            start = time.perf_counter()
            engine.search(query, user, 10)
            note("search (hybrid + personalised), end to end", time.perf_counter() - start)
    return {name: round(float(np.median(v)), 2) for name, v in steps.items()}


def _search_args(path: str) -> tuple[str, str]:
    from urllib.parse import parse_qs, urlparse

    args = parse_qs(urlparse(path).query)
    return args["q"][0], args["user_id"][0]


# --- the report -------------------------------------------------------------------------------


def markdown(results: dict[str, list[dict[str, Any]]], facts: dict[str, Any]) -> str:
    lines = [
        "# Serving speed",
        "",
        f"Machine: {facts['machine']}. Tool: wrk {facts['wrk']} (C, closed loop, "
        f"{facts['duration']} s per row, up to 2 client threads), on the same 2 cores as the "
        "server: its own CPU use is part of the picture (see below).",
        "",
        f"Shop: {facts['store']}. Bundle {facts['bundle']}: models {facts['models']}, scorer "
        f"{facts.get('scorer', 'blend')}, candidates per source {facts.get('per_source')}, the "
        f"default rules. Text vectors: {facts['text']}.",
        "",
        f"Server: `create_app` under uvicorn, {facts['workers']} worker process(es) as "
        "`shopmind serve --workers` runs them (uvloop, httptools), API keys on, "
        "SQLite store (WAL). Every recommendation is computed online: the shopper's last 100 "
        "events are read from the store; each source proposes its best "
        "items among those the filters allow (the content "
        "model from its HNSW index, item-kNN from the history items' neighbours, the others "
        "from their scores, trending from its counts); over the union every source scores "
        "every candidate, the features are computed, the scorer ranks them, the default "
        "rules and diversity apply, and the top 10 are explained.",
        "",
        "| endpoint | concurrency | req/s | p50 ms | p95 ms | p99 ms | errors "
        "| load before → after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for endpoint, rows in results.items():
        for r in rows:
            lines.append(
                f"| {endpoint} | {r['concurrency']} | {r['rps']} | {r['p50_ms']} | "
                f"{r['p95_ms']} | {r['p99_ms']} | {r['errors']} | "
                f"{r['load_before'][0]} → {r['load_after'][0]} |"
            )
    batch = facts["batch"]
    best_events = max((r["rps"] for r in results.get("events", [])), default=0.0)
    lines += [
        "",
        f"Events are posted in batches of {batch}: the best events row is "
        f"{best_events * batch:,.0f} events/s.",
        "",
    ]
    if results.get("storefront"):
        lines += [
            "## The storefront's mix of reads and writes",
            "",
            "Simulated shoppers (`shopmind.synthetic.storefront`), one thread each, closed loop:",
            "a visit is a recommendations list (k=10), then one events batch (the impression and",
            "the clicks and carts it led to), and for some a purchase batch. A Python client on",
            "the same 2 cores as the server (slower than wrk: rates are of the mix, not a peak).",
            "",
            "| shoppers | req/s | visits/s | writes share | list p50 / p99 ms | "
            "events p50 / p99 ms | errors |",
            "| ---: | ---: | ---: | ---: | --- | --- | ---: |",
            *[
                f"| {r['concurrency']} | {r['rps']} | {r['visits_per_s']} | {r['writes_share']} "
                f"| {r['read_p50_ms']} / {r['read_p99_ms']} | {r['write_p50_ms']} / "
                f"{r['write_p99_ms']} | {r['errors']} |"
                for r in results["storefront"]
            ],
            "",
        ]
    lines += [
        "## Where one recommendation's time goes",
        "",
        "Median ms per step, `Engine.recommend` called directly in the benchmark process (no "
        "HTTP), one request at a time, 200 random shoppers:",
        "",
        "| step | ms |",
        "| --- | ---: |",
        *[f"| {k} | {v} |" for k, v in facts["profile"].items()],
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--concurrency", default="1,4,16,64")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7, help="the synthetic shop's seed")
    parser.add_argument("--text", choices=("encode", "random"), default="encode")
    parser.add_argument(
        "--endpoints",
        default="health,recommendations,similar,complementary,cross-category,profile,events",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--budget", type=float, default=25.0, help="minutes for `shopmind train` (its default: 25)"
    )
    parser.add_argument(
        "--models", default=",".join(SERVED_MODELS), help="comma-separated (a bundle's models)"
    )
    parser.add_argument(
        "--store-from", type=Path, default=None, help="copy this SQLite shop instead of generating"
    )
    parser.add_argument(
        "--results", default="serving", help="results file name (benchmarks/results/NAME.md)"
    )
    parser.add_argument(
        "--prepare", action="store_true", help="build the shop and bundle in --workdir, then stop"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2, help="server processes (one per core)")
    args = parser.parse_args()
    if args.serve:
        serve(args.workdir, args.port, args.workers)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shopmind-serving-"))
    workdir.mkdir(parents=True, exist_ok=True)
    facts = prepare(args, workdir)
    if args.prepare:
        log(f"prepared {workdir}: {facts}")
        return
    with Store(f"sqlite:///{workdir / 'shop.sqlite'}") as store:
        users = [u.id for u, _ in zip(store.iter_users(), range(args.users), strict=False)]
        items = [i.id for i, _ in zip(store.iter_items(), range(args.items), strict=False)]
    rng = random.Random(0)
    users, items = (
        rng.sample(users, min(2000, len(users))),
        rng.sample(items, min(2000, len(items))),
    )
    scripts = {
        "health": (lua_get(["/health"]), "/health"),
        "recommendations": (
            lua_get([f"/v1/users/{u}/recommendations?k=10" for u in users]),
            "/v1/users",
        ),
        "similar": (lua_get([f"/v1/items/{i}/similar?k=10" for i in items]), "/v1/items"),
        "complementary": (
            lua_get([f"/v1/items/{i}/complementary?k=10" for i in items]),
            "/v1/items",
        ),
        "cross-category": (
            lua_get([f"/v1/users/{u}/cross-category?k=10" for u in users]),
            "/v1/users",
        ),
        "profile": (lua_get([f"/v1/users/{u}/profile" for u in users]), "/v1/users"),
        "search": (lua_get(search_paths(workdir, users)), "/v1/search"),
        "events": (lua_events(users, items, args.batch), "/v1/events"),
    }
    shop = None
    if "storefront" in args.endpoints.split(","):  # the planted truth its shoppers act by
        shop = generate(
            SyntheticConfig(
                seed=args.seed, n_items=args.items, n_users=args.users, n_events=args.events
            )
        )
    server, base = start_server(workdir, args.workers)
    log(f"server up at {base}")
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        for endpoint in args.endpoints.split(","):
            for c in (int(x) for x in args.concurrency.split(",")):
                if endpoint == "storefront":
                    row = run_storefront(base, shop, c, args.duration)
                    results.setdefault(endpoint, []).append(row)
                    log(f"{endpoint} c={c}: {row}")
                    continue
                script, path = scripts[endpoint]
                row = run_wrk(base, script, c, args.duration, path)
                results.setdefault(endpoint, []).append(row)
                log(f"{endpoint} c={c}: {row}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        forget_posted_events(workdir)
    facts |= {
        "machine": machine_summary(),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1],
        "duration": args.duration,
        "batch": args.batch,
        "text": "seeded random unit vectors (stand-ins)"
        if args.text == "random"
        else "the items' texts encoded by the default language model",
        "workers": args.workers,
        "profile": profile(workdir, users, items),
    }
    log(f"profile: {facts['profile']}")
    RESULTS.mkdir(exist_ok=True)
    shape = {
        e: [
            {k: r[k] for k in ("concurrency", "rps", "p50_ms", "p95_ms", "p99_ms", "errors")}
            for r in rows
        ]
        for e, rows in results.items()
    }
    write_json(RESULTS / f"{args.results}.json", shape)
    (RESULTS / f"{args.results}.md").write_text(markdown(results, facts))
    (RESULTS / f"{args.results}_details.json").write_text(
        json.dumps({"facts": facts, "runs": results}, indent=2, default=str) + "\n"
    )
    log(f"wrote benchmarks/results/{args.results}.md and .json")


if __name__ == "__main__":
    main()
