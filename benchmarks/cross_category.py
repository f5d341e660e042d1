"""Cross-category recommendation on amazon-scientific: the slice of next items in a new category.

**The slice**: test rows whose target's category (the category graph's level; the default,
the leaf) appears nowhere in the shopper's history. On it, and on the whole test split,
Recall@10 / NDCG@10 (full ranking, the published protocol's split, through the served
pipeline's stages) of:

- the served bundle ("recommended for you"),
- each of its models alone (its own source, ranked by its own score),
- the cross-category row (``GET /v1/users/{id}/cross-category``: the items of categories the
  graph links to the shopper's, ranked by the served ranker),
- "popular items of the linked categories" (the row's ``linked`` source alone),
- the served list with at least 20% of it from new categories (``placements.for_you.
  new_categories = 0.2``, the share set beforehand, not chosen on test).

Paired 90% bootstrap intervals of the row's NDCG@10 gain over each baseline on the slice. The
relations are mined by the training step's own function (``Complements.build``, default
settings) from the events the bundle's models were fitted on.

    python benchmarks/cross_category.py --home /tmp/ranking-homes/amazon-scientific

Writes ``benchmarks/results/cross_category.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from ranking import load_average, opened
from shopmind.data.dataset import Dataset
from shopmind.data.split import EvalSet
from shopmind.engine import Engine
from shopmind.evaluation.metrics import bootstrap_ci
from shopmind.evaluation.pipeline import score_served, served_lists
from shopmind.evaluation.report import write_json
from shopmind.models.base import Recommender
from shopmind.models.registry import make_model
from shopmind.ranking import BlendScorer, Pipeline, RuleSet, Sources
from shopmind.ranking.context import RankingContext
from shopmind.ranking.features import feature_names
from shopmind.ranking.rules import Placement
from shopmind.ranking.sources import LINKED, PER_SOURCE
from shopmind.relations.complements import Complements, RelationsConfig
from shopmind.training.tune import POINTS

RESULTS = Path(__file__).parent / "results"
KS = (10,)
MIX_SHARE = 0.2


def slice_rows(rows: EvalSet, found: Complements, paths: list[tuple[str, ...]]) -> np.ndarray:
    """The rows whose target's category is not among their history's (graph level)."""
    cat, _ = found.codes(paths)
    out = []
    for r in range(len(rows)):
        history = rows.histories.row(r)
        history = history[(history >= 0) & (history < len(cat))]
        target = rows.targets[r].indices
        mine = set(cat[history].tolist())
        if len(target) and cat[target[0]] >= 0 and cat[target[0]] not in mine:
            out.append(r)
    return np.asarray(out, np.int64)


def alone(name: str, rules: RuleSet) -> Pipeline:
    return Pipeline(
        Sources({name: PER_SOURCE}),
        BlendScorer({name: 1.0}, feature_names((name,))),
        rules,
        (name,),
    )


def choose_graph(
    train: Dataset, ctx: RankingContext, engine: Engine, valid: EvalSet, rules: RuleSet
) -> tuple[Recommender, dict[str, Any]]:
    """The graph model at each of training's points, the best by validation NDCG@10."""
    scores: dict[str, float] = {}
    best: tuple[float, Recommender | None, dict[str, Any]] = (-1.0, None, {})
    for point in POINTS["graph"]:
        start = time.perf_counter()
        model = make_model("graph", **point).fit(train)
        seconds = time.perf_counter() - start
        local = dataclasses.replace(ctx, models={**ctx.models, "graph": model})
        served = served_lists(alone("graph", rules), local, engine.items, valid, max(KS))
        ndcg = float(score_served(served, valid, KS).metrics["ndcg@10"])
        scores[json.dumps(point)] = round(ndcg, 4)
        print("graph", point, round(ndcg, 4), f"fit {seconds:.1f}s", flush=True)
        if ndcg > best[0]:
            best = (ndcg, model, {"point": point, "fit_seconds": round(seconds, 1)})
    assert best[1] is not None
    return best[1], {**best[2], "validation_ndcg@10": scores}


def measure(per_row: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    part = per_row[rows] if len(rows) else np.zeros(0)
    return {"ndcg@10": round(float(part.mean()), 4) if len(part) else 0.0}


def run(home: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"home": str(home)}
    with opened(home) as o:
        engine, train, test = o.engine, o.train, o.test
        assert train is not None
        index = engine.items.indices(train.items.to_list())
        if not np.array_equal(index, np.arange(train.n_items)):
            raise SystemExit("the bundle's item order is not the snapshot's; retrain the home")
        out["bundle"] = o.bundle.version
        text = engine.context().text_rows(np.arange(train.n_items))
        start = time.perf_counter()
        config = RelationsConfig()
        engine.complements = Complements.build(train, config, text)
        engine._context = None
        out["relations"] = {
            "config": config.model_dump(),
            "seconds": round(time.perf_counter() - start, 1),
        }
        ctx = engine.context()
        paths = list(ctx.items.side.category)
        rows = slice_rows(test, engine.complements, paths)
        out["test_rows"] = len(test)
        out["slice_rows"] = len(rows)
        out["level"] = config.level
        rules = engine.rules
        mixed = rules.model_copy(
            update={
                "placements": {
                    **rules.placements,
                    "for_you": Placement(
                        recent=rules.placement("for_you").recent, new_categories=MIX_SHARE
                    ),
                }
            }
        )
        lists: dict[str, tuple[Pipeline, str]] = {
            "served bundle": (engine.recommendations, "for_you")
        }
        for name in engine.models:
            lists[f"{name} alone"] = (alone(name, rules), "for_you")
        lists["cross-category row"] = (engine.cross, "cross_category")
        lists["popular items of the linked categories"] = (alone(LINKED, rules), "cross_category")
        mix = Pipeline(
            engine.recommendations.sources,
            engine.recommendations.scorer,
            mixed,
            engine.recommendations.feature_sources,
        )
        lists[f"served, ≥ {MIX_SHARE:.0%} new categories"] = (mix, "for_you")
        # The graph model (research: not in the served bundle), its point chosen on validation.
        graph, chosen = choose_graph(train, ctx, engine, o.valid, rules)
        out["graph"] = chosen
        ctx = dataclasses.replace(ctx, models={**ctx.models, "graph": graph})
        lists["graph alone (research)"] = (alone("graph", rules), "for_you")
        per_row: dict[str, dict[str, np.ndarray]] = {}
        results: dict[str, Any] = {}
        for label, (pipeline, placement) in lists.items():
            start = time.perf_counter()
            served = served_lists(pipeline, ctx, engine.items, test, max(KS), placement)
            scored = score_served(served, test, KS)
            per_row[label] = scored.per_row
            results[label] = {
                "whole": {m: round(float(v), 4) for m, v in scored.metrics.items()},
                "slice": {
                    "recall@10": round(float(scored.per_row["recall@10"][rows].mean()), 4),
                    "ndcg@10": round(float(scored.per_row["ndcg@10"][rows].mean()), 4),
                },
                "seconds": round(time.perf_counter() - start, 1),
            }
            print(label, results[label], flush=True)
        out["lists"] = results
        row = per_row["cross-category row"]["ndcg@10"][rows]
        gains = {}
        for label in results:
            if label == "cross-category row":
                continue
            diff = row - per_row[label]["ndcg@10"][rows]
            low, high = bootstrap_ci(diff, samples=1000, level=0.9) if len(diff) else (0.0, 0.0)
            gains[label] = {
                "mean": round(float(diff.mean()), 4),
                "ci90": [round(low, 4), round(high, 4)],
            }
        out["row_gain_on_slice"] = gains
        singles = [k for k in results if k.endswith(" alone")]
        best = max(singles, key=lambda k: results[k]["slice"]["ndcg@10"])
        out["best_single_on_slice"] = best
        out["row_beats"] = {
            "popular items of the linked categories": gains[
                "popular items of the linked categories"
            ]["ci90"][0]
            > 0,
            best: gains[best]["ci90"][0] > 0,
        }
        start = time.perf_counter()
        users = [train.users.id(int(u)) for u in test.users[:200]]
        for u in users:
            engine.recommend(u, 10, placement="cross_category")
        out["served_ms_mean"] = round((time.perf_counter() - start) * 1000 / max(len(users), 1), 2)
    return out


def markdown(result: Mapping[str, Any]) -> str:
    r = result["real"]
    lines = [
        "# Cross-category recommendation",
        "",
        f"Machine: {result['machine']}. Load before → after: {result['load_before']} → "
        f"{result['load_after']}. Command: `python benchmarks/cross_category.py "
        f"--home {r['home']}`.",
        "",
        f"amazon-scientific, bundle {r['bundle']}; the category graph at level {r['level']} "
        f"(0: the leaf), mined in {r['relations']['seconds']} s. **The slice**: {r['slice_rows']} "
        f"of {r['test_rows']} test rows have their next item in a category absent from their "
        "history.",
        "",
        "| list | slice R@10 | slice N@10 | whole test R@10 | whole test N@10 |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[
            f"| {k} | {v['slice']['recall@10']:.4f} | {v['slice']['ndcg@10']:.4f} | "
            f"{v['whole']['recall@10']:.4f} | {v['whole']['ndcg@10']:.4f} |"
            for k, v in r["lists"].items()
        ],
        "",
        "The cross-category row's NDCG@10 gain on the slice (paired, 90% bootstrap interval):",
        "",
        "| over | mean | 90% interval |",
        "| --- | ---: | --- |",
        *[
            f"| {k} | {v['mean']:+.4f} | [{v['ci90'][0]:+.4f}, {v['ci90'][1]:+.4f}] |"
            for k, v in r["row_gain_on_slice"].items()
        ],
        "",
        f"The graph model (GF-CF over shoppers and leaf categories, research: not served) at "
        f"the point validation chose, {json.dumps(r['graph']['point'])} (validation NDCG@10 of "
        f"each point: {r['graph']['validation_ndcg@10']}; fit {r['graph']['fit_seconds']} s).",
        "",
        f"Best single model on the slice: {r['best_single_on_slice']}. The row beats "
        + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in r["row_beats"].items())
        + " (the interval's low end above 0).",
        "",
        f"`Engine.recommend(placement='cross_category')` in process: {r['served_ms_mean']} ms per "
        "answer (mean over 200 test shoppers, history read from the store).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a benchmarks/ranking.py home")
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine_summary(), "load_before": load_average()}
    result["real"] = run(args.home)
    result["load_after"] = load_average()
    write_json(RESULTS / "cross_category.json", result)
    (RESULTS / "cross_category.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
