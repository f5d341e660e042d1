"""Exact vs HNSW vector search: build time, recall@10, single-query latency, batch throughput.

``ann_report(vectors)`` measures one set of unit vectors (``language_model.py`` calls it with the
real item embeddings). Run as a script, it sweeps catalogue sizes on synthetic vectors to find
where HNSW starts to pay, which sets ``shopmind.text.index.EXACT_BELOW``:

    .venv/bin/python benchmarks/ann.py [--sizes 1000,10000,...] [--embeddings items.npy]

The synthetic vectors mimic MiniLM item embeddings (384-d): a shared direction, departments,
topics of ~40 items and families of ~4 near-duplicate variants, tuned so the mean pairwise,
nearest-neighbour and 10th-neighbour cosines match those of amazon-scientific's 4,385 items.
Writes benchmarks/results/ann.md and benchmarks/results/ann.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from shopmind.text.index import EXACT_BELOW, VectorIndex

HERE = Path(__file__).parent
RESULTS = HERE / "results"
SIZES = (1_000, 10_000, 50_000, 100_000, 200_000)
EF_SEARCHES = (32, 64, 128)
#: Share of rows a filter lets through, for the filtered-search columns.
FILTER_SHARES = (0.01, 0.2)


def ann_report(
    vectors: np.ndarray,
    *,
    n_queries: int = 1000,
    k: int = 10,
    seed: int = 0,
    ef_searches: tuple[int, ...] = EF_SEARCHES,
    hnsw_m: int = 32,
    ef_construction: int = 200,
    n_latency: int | None = None,
) -> dict[str, Any]:
    """Exact and HNSW (per ef_search) search of ``vectors`` by ``n_queries`` of its own rows.

    Queries are indexed rows (the "similar items" case), so each query's exact top-1 is itself.
    Recall@k is against exact search; latency is per query issued one at a time (the first
    ``n_latency`` queries, default all); throughput is all queries in one call. The filtered
    columns use a random mask keeping the given share of rows, recall against exact filtered.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    rng = np.random.default_rng(seed)
    n = len(vectors)
    queries = vectors[rng.choice(n, size=min(n_queries, n), replace=False)]
    singles = queries[: n_latency or len(queries)]
    masks = {share: rng.random(n) < share for share in FILTER_SHARES}

    start = time.perf_counter()
    exact = VectorIndex.build(vectors, kind="exact")
    exact_build = time.perf_counter() - start
    truth, _ = exact.search(queries, k)
    filtered_truth = {s: exact.search(singles, k, allowed=m)[0] for s, m in masks.items()}
    rows = [_measure(exact, "exact", None, exact_build, queries, singles, k, truth)]
    rows[0].update(_filtered(exact, singles, k, masks, filtered_truth))

    start = time.perf_counter()
    hnsw = VectorIndex.build(vectors, kind="hnsw", hnsw_m=hnsw_m, ef_construction=ef_construction)
    hnsw_build = time.perf_counter() - start
    for ef in ef_searches:
        hnsw.ef_search = ef
        row = _measure(hnsw, "hnsw", ef, hnsw_build, queries, singles, k, truth)
        row.update(_filtered(hnsw, singles, k, masks, filtered_truth))
        rows.append(row)
    return {
        "items": n,
        "dim": int(vectors.shape[1]),
        "k": k,
        "queries": len(queries),
        "latency_queries": len(singles),
        "hnsw_m": hnsw_m,
        "ef_construction": ef_construction,
        "rows": rows,
    }


def _measure(
    index: VectorIndex,
    kind: str,
    ef: int | None,
    build_s: float,
    queries: np.ndarray,
    singles: np.ndarray,
    k: int,
    truth: np.ndarray,
) -> dict[str, Any]:
    start = time.perf_counter()
    ids, _ = index.search(queries, k)
    batch = time.perf_counter() - start
    latency = _latencies(index, singles, k)
    return {
        "index": kind,
        "ef_search": ef,
        "build_s": round(build_s, 3),
        "recall": round(_recall(ids, truth), 4),
        "median_ms": round(float(np.median(latency)), 3),
        "p99_ms": round(float(np.percentile(latency, 99)), 3),
        "batch_qps": round(len(queries) / batch, 1),
    }


def _filtered(
    index: VectorIndex,
    singles: np.ndarray,
    k: int,
    masks: dict[float, np.ndarray],
    truth: dict[float, np.ndarray],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for share, mask in masks.items():
        ids, _ = index.search(singles, k, allowed=mask)
        latency = _latencies(index, singles, k, mask)
        label = f"{share:.0%}"
        out[f"filtered_{label}_median_ms"] = round(float(np.median(latency)), 3)
        out[f"filtered_{label}_recall"] = round(_recall(ids, truth[share]), 4)
    return out


def _latencies(
    index: VectorIndex, singles: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> np.ndarray:
    index.search(singles[:1], k, allowed=allowed)  # warm-up
    out = np.empty(len(singles))
    for i in range(len(singles)):
        start = time.perf_counter()
        index.search(singles[i : i + 1], k, allowed=allowed)
        out[i] = (time.perf_counter() - start) * 1e3
    return out


def _recall(ids: np.ndarray, truth: np.ndarray) -> float:
    hits = [
        len(np.intersect1d(a[a >= 0], b[b >= 0])) / max(1, (b >= 0).sum())
        for a, b in zip(ids, truth, strict=True)
    ]
    return float(np.mean(hits))


def synthetic_vectors(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors with the neighbourhood structure of MiniLM item embeddings."""
    rng = np.random.default_rng(seed)
    n_topics = max(1, n // 40)
    n_departments = max(1, int(np.sqrt(n_topics)))
    n_families = max(1, n // 4)
    shared = _unit(rng.normal(size=dim))
    departments = _unit(rng.normal(size=(n_departments, dim)))
    topics = _unit(
        0.5 * departments[rng.integers(n_departments, size=n_topics)]
        + 0.45 * _unit(rng.normal(size=(n_topics, dim)))
    )
    families = topics[rng.integers(n_topics, size=n_families)] + 0.8 * _unit(
        rng.normal(size=(n_families, dim))
    )
    items = (
        0.75 * shared
        + families[rng.integers(n_families, size=n)]
        + 0.65 * _unit(rng.normal(size=(n, dim)))
    )
    return _unit(items).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / np.linalg.norm(x, axis=-1, keepdims=True))


def neighbour_cosines(vectors: np.ndarray, n: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean pairwise, median 1st- and 10th-neighbour cosine of ``n`` sampled rows."""
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), size=min(n, len(vectors)), replace=False)]
    sims = sample @ vectors.T
    top = -np.sort(-sims, axis=1)[:, 1:11]  # column 0 is the row itself
    return {
        "mean": round(float(sims.mean()), 3),
        "nn1": round(float(np.median(top[:, 0])), 3),
        "nn10": round(float(np.median(top[:, 9])), 3),
    }


def suggest_threshold(
    sweep: list[dict[str, Any]], *, ef_search: int = 128, budget_ms: float = 1.0
) -> int | None:
    """The smallest size where exact search no longer fits ``budget_ms`` per query while HNSW
    (at ``ef_search``) is at least twice as fast with recall@k >= 0.95; None if none is.

    Below it exact search is cheap enough that HNSW's build time and lost recall do not pay.
    """
    for report in sweep:
        exact = report["rows"][0]
        hnsw = next(r for r in report["rows"] if r["ef_search"] == ef_search)
        slow = exact["median_ms"] >= budget_ms
        if slow and hnsw["median_ms"] * 2 <= exact["median_ms"] and hnsw["recall"] >= 0.95:
            return int(report["items"])
    return None


def _table(reports: list[dict[str, Any]]) -> list[str]:
    head = (
        "| items | index | ef_search | build s | recall@10 | median ms | p99 ms | batch q/s "
        "| 1% filter ms | 1% recall | 20% filter ms | 20% recall |"
    )
    lines = [head, "|" + "---|" * 12]
    for report in reports:
        for r in report["rows"]:
            lines.append(
                f"| {report['items']:,} | {r['index']} | {r['ef_search'] or '-'} "
                f"| {r['build_s']:.2f} | {r['recall']:.4f} | {r['median_ms']:.3f} "
                f"| {r['p99_ms']:.2f} | {r['batch_qps']:,.0f} "
                f"| {r['filtered_1%_median_ms']:.3f} | {r['filtered_1%_recall']:.4f} "
                f"| {r['filtered_20%_median_ms']:.3f} | {r['filtered_20%_recall']:.4f} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument(
        "--embeddings", type=Path, help="a .npy of real unit item embeddings to report as well"
    )
    parser.add_argument("--embeddings-label", help="what the embeddings are (for the report)")
    parser.add_argument("--latency-queries", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]

    real: dict[str, Any] | None = None
    if args.embeddings is not None:
        vectors = np.load(args.embeddings, allow_pickle=False)
        print(f"real embeddings {vectors.shape} from {args.embeddings}")
        real = ann_report(vectors, n_latency=args.latency_queries)
        real["source"] = args.embeddings_label or str(args.embeddings)
        real["neighbour_cosines"] = neighbour_cosines(vectors)

    sweep = []
    for n in (int(s) for s in args.sizes.split(",")):
        begun = time.perf_counter()
        vectors = synthetic_vectors(n)
        report = ann_report(vectors, n_latency=args.latency_queries)
        report["neighbour_cosines"] = neighbour_cosines(vectors)
        sweep.append(report)
        exact, hnsw = report["rows"][0], report["rows"][-1]
        print(
            f"{n:>7,} items: exact {exact['median_ms']:.3f} ms, HNSW {hnsw['median_ms']:.3f} ms "
            f"(recall {hnsw['recall']:.4f}, build {hnsw['build_s']:.1f} s) "
            f"[{time.perf_counter() - begun:.0f} s]"
        )
    suggested = suggest_threshold(sweep)
    payload = {
        "machine": machine_summary(),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "seconds": round(time.perf_counter() - started, 1),
        "exact_below": EXACT_BELOW,
        "suggested_exact_below": suggested,
        "real": real,
        "synthetic": sweep,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ann.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.out / "ann.md").write_text("\n".join(_markdown(payload)) + "\n")
    print(f"suggested EXACT_BELOW: {suggested} (index.py has {EXACT_BELOW})")


def _markdown(payload: dict[str, Any]) -> list[str]:
    lines = [
        "# Vector search: exact (IndexFlatIP) vs HNSW (IndexHNSWFlat, M=32, efConstruction=200)",
        "",
        f"Machine: {payload['machine']}. Load average {payload['load_average'][0]} before, "
        f"{payload['load_average'][1]} after (other jobs shared the cores: absolute times are "
        f"pessimistic, p99 mostly shows scheduling). Total {payload['seconds']:.0f} s.",
        "",
        "Top-10 by inner product of 384-d unit vectors. Queries are 1,000 indexed rows "
        f"(similar items); latency is per single query over the first "
        f"{payload['synthetic'][0]['latency_queries'] if payload['synthetic'] else '-'} of them, "
        "one at a time through `VectorIndex.search` (one OpenMP thread below 16 queries); "
        "batch q/s is all 1,000 in one call. Filter columns: a random mask keeping 1% / 20% of "
        "rows, recall against exact filtered search (below 5% or 4,096 allowed rows the index "
        "scans just the allowed rows exactly; above, FAISS searches with an ID selector).",
        "",
    ]
    if payload["real"] is not None:
        real = payload["real"]
        lines += [
            "## Real item embeddings",
            "",
            f"{real['source']}. Neighbour cosines (mean pairwise / 1st / 10th neighbour): "
            f"{real['neighbour_cosines']['mean']} / {real['neighbour_cosines']['nn1']} / "
            f"{real['neighbour_cosines']['nn10']}.",
            "",
            *_table([real]),
            "",
        ]
    lines += [
        "## Synthetic catalogues",
        "",
        "The real catalogue has 4,385 items, so larger ones are synthetic: Gaussian "
        "departments → topics (~40 items) → families of ~4 variants in 384-d plus a shared "
        "direction, normalised (`synthetic_vectors`). Median neighbour cosines per size "
        "(mean pairwise / 1st / 10th neighbour): "
        + "; ".join(
            f"{r['items']:,}: {r['neighbour_cosines']['mean']} / "
            f"{r['neighbour_cosines']['nn1']} / {r['neighbour_cosines']['nn10']}"
            for r in payload["synthetic"]
        )
        + " (amazon-scientific's MiniLM embeddings: 0.228 / 0.826 / 0.606).",
        "",
        *_table(payload["synthetic"]),
        "",
        "Suggested threshold (smallest size where exact search takes ≥ 1 ms per query and "
        "HNSW at ef_search=128 is at least twice as fast with recall@10 ≥ 0.95): "
        f"{payload['suggested_exact_below']}. "
        f"`shopmind.text.index.EXACT_BELOW` = {payload['exact_below']:,}.",
    ]
    return lines


if __name__ == "__main__":
    main()
