"""Item audiences on amazon-scientific: is an item's next buyer among the shoppers ranked first?

The way the managed services report item-affinity segments: for each item bought in a split,
rank every shopper of the split by the audience score (the served bundle's models run in
reverse, ``shopmind.profiles.audience``), and see whether the actual buyer is in the top 1%.

- **hits@1%**: the share of items with at least one of their buyers in their top 1%;
- **recall@1%**: the share of (item, buyer) pairs whose buyer is in the item's top 1%;
- **coverage**: the share of items for which the method ranks at least 1% of shoppers above 0.

Against **popularity of category**: shoppers ranked by how many of their history items are in
the item's leaf category (then in its top-level one). The blend variant (which models, how
they are scaled) is chosen on the validation split; the test split is reported.

    python benchmarks/audiences.py --home /tmp/ranking-homes/amazon-scientific

(the home ``benchmarks/ranking.py`` trains the served bundle in). Writes
``benchmarks/results/audiences.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from ranking import load_average, opened
from shopmind.data.split import EvalSet
from shopmind.engine import Engine
from shopmind.evaluation.report import write_json
from shopmind.profiles.audience import Audience, blend

RESULTS = Path(__file__).parent / "results"
Scorer = Callable[[int], np.ndarray]


def variants(audience: Audience, engine: Engine, rows: EvalSet) -> dict[str, Scorer]:
    models = engine.models

    def served(item: int) -> np.ndarray:
        return blend(audience.scores(item, models), audience.weights, len(rows))[0]

    def only(name: str) -> Scorer:
        def score(item: int) -> np.ndarray:
            per = audience.scores(item, models)
            return np.nan_to_num(per.get(name, np.zeros(len(rows))), nan=0.0)

        return score

    out: dict[str, Scorer] = {"served blend": served}
    out |= {f"{name} alone": only(name) for name in audience.states}
    out["popularity of category"] = category_baseline(engine, rows)
    return out


def category_baseline(engine: Engine, rows: EvalSet) -> Scorer:
    """Shoppers by their history items in the item's leaf category, then in its top level."""
    side = engine.side
    leaf = np.array([" > ".join(p) for p in side.category], dtype=object)
    root = np.array([p[0] if p else "" for p in side.category], dtype=object)
    h = rows.histories
    row_of = np.repeat(np.arange(len(rows)), h.lengths)
    known = h.items >= 0
    items, owner = h.items[known], row_of[known]

    def score(item: int) -> np.ndarray:
        in_leaf = np.bincount(owner[leaf[items] == leaf[item]], minlength=len(rows))
        in_root = np.bincount(owner[root[items] == root[item]], minlength=len(rows))
        return in_leaf + in_root / (1.0 + in_root.max(initial=0))

    return score


def measure(score: Scorer, rows: EvalSet) -> dict[str, float]:
    targets = rows.targets.tocsc()
    n = len(rows)
    cut = max(1, math.ceil(0.01 * n))
    hits = pairs = found = covered = items = 0
    for item in np.flatnonzero(np.diff(targets.indptr)).tolist():
        buyers = targets.indices[targets.indptr[item] : targets.indptr[item + 1]]
        s = np.asarray(score(item), np.float64)
        order = np.lexsort((np.arange(n), -s))[:cut]
        top = set(order[s[order] > 0].tolist())
        in_top = sum(1 for b in buyers.tolist() if b in top)
        items += 1
        hits += in_top > 0
        found += in_top
        pairs += len(buyers)
        covered += len(top) >= cut
    return {
        "items": items,
        "pairs": pairs,
        "hits@1%": round(hits / max(items, 1), 4),
        "recall@1%": round(found / max(pairs, 1), 4),
        "coverage": round(covered / max(items, 1), 4),
    }


def run(home: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"home": str(home), "shoppers_in_top": "1%"}
    with opened(home) as o:
        out["bundle"] = o.bundle.version
        out["models"] = list(o.engine.models)
        for name, rows in (("validation", o.valid), ("test", o.test)):
            start = time.perf_counter()
            audience = Audience.build(
                [str(u) for u in rows.users], rows.histories, o.engine.models, o.bundle.blend
            )
            out.setdefault("weights", audience.weights)
            split: dict[str, Any] = {"shoppers": len(rows)}
            for label, score in variants(audience, o.engine, rows).items():
                split[label] = measure(score, rows)
            split["seconds"] = round(time.perf_counter() - start, 1)
            out[name] = split
    valid = out["validation"]
    candidates = [
        k for k in valid if isinstance(valid[k], Mapping) and k != "popularity of category"
    ]
    out["best_on_validation"] = max(candidates, key=lambda k: valid[k]["recall@1%"])
    return out


def markdown(result: Mapping[str, Any]) -> str:
    lines = [
        "# Item audiences",
        "",
        f"Machine: {result['machine']}; load before → after {result['load_before']} → "
        f"{result['load_after']}. Command: `python benchmarks/audiences.py --home "
        f"{result['home']}`.",
        "",
        f"amazon-scientific (published split, rich categories), the served bundle "
        f"{result['bundle']} (models {', '.join(result['models'])}; reverse blend weights "
        f"{result['weights']}). For every item bought in a split, all the split's shoppers are "
        "ranked; the top 1% is the audience. Chosen on validation: "
        f"**{result['best_on_validation']}**.",
        "",
    ]
    for split in ("validation", "test"):
        part = result[split]
        lines += [
            f"## {split} ({part['shoppers']} shoppers, {part['seconds']} s)",
            "",
            "| method | items | hits@1% | recall@1% | coverage |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for label, m in part.items():
            if isinstance(m, Mapping):
                lines.append(
                    f"| {label} | {m['items']} | {m['hits@1%']:.4f} | {m['recall@1%']:.4f} | "
                    f"{m['coverage']:.4f} |"
                )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine_summary(), "load_before": load_average()}
    result |= run(args.home)
    result["load_after"] = load_average()
    write_json(RESULTS / "audiences.json", result)
    (RESULTS / "audiences.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
