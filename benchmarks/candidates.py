"""What the serving engine's candidate stage costs in accuracy: the blend over every item
against the blend over each model's top N proposals, on a real split.

    .venv/bin/python benchmarks/candidates.py [--dataset amazon-scientific] [--sizes 300,100,50]

The engine and the bundle's validation rank in two stages (``shopmind.blend``): each model
proposes its best ``CANDIDATES`` items and the blend ranks their union. Here the served blend
(pop + item-kNN + content, weights proportional to each model's VALIDATION NDCG@10, as
training sets them) ranks the TEST rows of the published split, full ranking, with each
candidate count; "all" lets every item through (the one-stage blend). Writes
benchmarks/results/candidates.md and .json.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import shopmind.blend as blend
from machine import machine_summary
from shopmind.evaluation import evaluate
from shopmind.evaluation.report import write_json
from shopmind.evaluation.runner import load_benchmark_split
from shopmind.models import make_model

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DEFAULT_DATASETS = HERE.parent.parent / "shared" / "datasets"
#: The bundle's default models, as the serving benchmark trains them.
MODELS: dict[str, dict[str, Any]] = {
    "pop": {},
    "itemknn": {"neighbors": 100, "shrink": 10.0, "recency_decay": 0.2},
    "content": {"recency_decay": 0.3},
}
KS = (10, 50)
METRICS = ("recall@10", "ndcg@10", "recall@50", "ndcg@50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="amazon-scientific")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--sizes", default="300,100,50")
    args = parser.parse_args()
    split, mask, _ = load_benchmark_split(args.datasets / args.dataset)
    models = {name: make_model(name, **params).fit(split.train) for name, params in MODELS.items()}
    valid = {
        name: evaluate(model, split.valid, ks=(10,), mask_history=mask).metrics["ndcg@10"]
        for name, model in models.items()
    }
    total = sum(valid.values())
    weights = {name: value / total for name, value in valid.items()}
    rows: dict[str, dict[str, Any]] = {}
    for size in ["all", *args.sizes.split(",")]:
        blend.CANDIDATES = split.train.n_items if size == "all" else int(size)
        result = evaluate(blend.Blend(models, weights), split.test, ks=KS, mask_history=mask)
        rows[size] = {m: round(result.metrics[m], 4) for m in METRICS}
        print(size, rows[size], flush=True)
    payload = {
        "dataset": args.dataset,
        "mask_history": mask,
        "items": split.train.n_items,
        "test_rows": len(split.test),
        "weights": {k: round(v, 4) for k, v in weights.items()},
        "valid_ndcg@10": {k: round(v, 4) for k, v in valid.items()},
        "by_candidates": rows,
        "machine": machine_summary(),
    }
    write_json(RESULTS / "candidates.json", payload)
    lines = [
        "# The candidate stage's cost in accuracy",
        "",
        f"{args.dataset} ({split.train.n_items} items, {len(split.test)} test rows), the "
        "published protocol, full ranking. The served blend of "
        f"{', '.join(MODELS)} with weights proportional to validation NDCG@10 "
        f"({payload['weights']}), ranking the union of each model's top N proposals; "
        "`all` lets every item through. Produced by `.venv/bin/python benchmarks/candidates.py`"
        f" on {payload['machine']}.",
        "",
        "| candidates per model | " + " | ".join(METRICS) + " |",
        "| --- | " + " | ".join("---:" for _ in METRICS) + " |",
    ]
    for size, row in rows.items():
        lines.append(f"| {size} | " + " | ".join(f"{row[m]:.4f}" for m in METRICS) + " |")
    (RESULTS / "candidates.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
