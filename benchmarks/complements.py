"""Complementary items: are the planted pairs found, and on real data is the next item in another
category among the last one's complements?

1. **The synthetic shop** ``shopmind demo`` builds: of the items with item-level complements,
   how often the top one is the item's planted partner (precision) and, over the planted
   sources, how often the partner is among the ten answered complements (recall@10, the
   category graph completing rarely bought items); planted substitutes (the anchor's own leaf)
   among the answers; the strongest category-graph edges against the planted leaf links.
2. **amazon-scientific** (category paths from the rich catalogue): for each shopper whose next
   item B lies in another leaf category than their last item A, NDCG@10 of B among A's
   complements (``Engine.related("complementary")``, the served pipeline), against A's
   text-similar neighbours, its co-interaction neighbours and the served similar items, with
   90% bootstrap intervals. The relations are mined by the training step's own function
   (``Complements.build``) from the events the bundle's models were fitted on; the settings
   are compared on the validation split and the test split is reported for the one chosen.

    python benchmarks/complements.py --home /tmp/ranking-homes/amazon-scientific

(the home ``benchmarks/ranking.py`` trains the served bundle in). Writes
``benchmarks/results/complements.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from ranking import load_average, opened
from shopmind.data.dataset import Dataset
from shopmind.data.split import EvalSet
from shopmind.engine import Engine
from shopmind.evaluation.metrics import bootstrap_ci
from shopmind.evaluation.report import write_json
from shopmind.relations.complements import Complements, RelationsConfig
from shopmind.synthetic import SyntheticConfig, generate
from shopmind.synthetic import vocabulary as vocab

RESULTS = Path(__file__).parent / "results"
K = 10
#: The settings compared on validation: the default, a shorter window, no "bought after".
SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "next 3 events": {"window_events": 3},
    "bought with only": {"later_weight": 0.0},
    "support 1": {"min_support": 1.0, "min_category_support": 2.0},
}


# --- 1. the synthetic shop ---------------------------------------------------------------------


def synthetic(config: SyntheticConfig) -> dict[str, Any]:
    shop = generate(config)
    data = Dataset.from_columns(shop.items, shop.users, shop.events)
    start = time.perf_counter()
    mined = Complements.build(data, RelationsConfig())
    seconds = time.perf_counter() - start
    ids, cat = data.items, data.item_side.category
    partner = {ids.index(a): ids.index(b) for a, b in shop.truth.complementary_pairs}
    m = mined.strength
    tops = {}
    for a in range(data.n_items):
        row = slice(m.indptr[a], m.indptr[a + 1])
        if row.start < row.stop:
            tops[a] = int(m.indices[row][np.argmax(m.data[row])])
    allowed = np.ones(data.n_items, bool)
    pop = np.bincount(data.item, minlength=data.n_items).astype(np.float64)
    answered = {a: mined.of(a, K, allowed, cat, pop)[0].tolist() for a in range(data.n_items)}
    planted_leaves = {
        (
            " > ".join(vocab.LEAVES[vocab.LEAF_INDEX[a]].path),
            " > ".join(vocab.LEAVES[vocab.LEAF_INDEX[b]].path),
        )
        for a, b in vocab.COMPLEMENTARY_LEAVES
    }
    strongest = mined.graph.strongest(20)
    return {
        "shop": config.model_dump(mode="json"),
        "events": data.n_events,
        "seconds": round(seconds, 2),
        "items_with_item_level_complements": len(tops),
        "precision_top1": round(float(np.mean([partner.get(a) == b for a, b in tops.items()])), 4),
        "planted_sources": len(partner),
        "recall_at_10": round(float(np.mean([b in answered[a] for a, b in partner.items()])), 4),
        "partner_first": round(
            float(np.mean([answered[a][:1] == [b] for a, b in partner.items()])), 4
        ),
        "same_leaf_answers": sum(cat[g] == cat[a] for a, got in answered.items() for g in got),
        "answers": sum(len(g) for g in answered.values()),
        "strongest_edges_planted": round(
            float(np.mean([(e.source, e.target) in planted_leaves for e in strongest])), 4
        ),
        "strongest_edges": [
            [e.source, e.target, e.support, round(e.confidence, 3), round(e.lift, 2)]
            for e in strongest[:10]
        ],
    }


# --- 2. amazon-scientific ----------------------------------------------------------------------

Lister = Callable[[int], list[int]]


def cross_leaf_rows(rows: EvalSet, engine: Engine) -> list[tuple[int, int]]:
    """(last item, next item) of the rows whose next item is in another leaf than the last."""
    cat = engine.side.category
    out = []
    for r in range(len(rows)):
        history = rows.histories.row(r)
        history = history[history >= 0]
        targets = rows.targets[r].indices
        if not len(history) or len(targets) != 1:
            continue
        a, b = int(history[-1]), int(targets[0])
        if cat[a] and cat[b] and cat[a] != cat[b]:
            out.append((a, b))
    return out


def ndcg(lister: Lister, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    gains = np.zeros(len(pairs))
    for j, (a, b) in enumerate(pairs):
        got = lister(a)[:K]
        if b in got:
            gains[j] = 1.0 / np.log2(got.index(b) + 2)
    low, high = bootstrap_ci(gains, samples=1000, level=0.9) if len(gains) else (0.0, 0.0)
    return {
        "ndcg@10": round(float(gains.mean()), 4) if len(gains) else 0.0,
        "hit@10": round(float((gains > 0).mean()), 4) if len(gains) else 0.0,
        "ci90": [round(low, 4), round(high, 4)],
    }


def listers(engine: Engine, mined: Complements | None) -> dict[str, Lister]:
    ids = engine.items

    def served(kind: str) -> Lister:
        def run(a: int) -> list[int]:
            answer = engine.related(kind, ids.id(a), K)  # type: ignore[arg-type]
            return [r.index for r in answer.items]

        return run

    similar = engine.similar
    out: dict[str, Lister] = {}
    if mined is not None:
        out["complements (served pipeline)"] = served("complementary")
    if similar is not None:
        for label, blend in (("text-similar neighbours", 0.0), ("co-interaction neighbours", 1.0)):

            def neighbours(a: int, blend: float = blend) -> list[int]:
                found, _ = similar.similar([a], K, blend=blend)
                return [int(i) for i in found[0] if i >= 0]

            out[label] = neighbours
        out["similar items (served)"] = served("similar")
    return out


def real(home: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"home": str(home)}
    with opened(home) as o:
        engine, train = o.engine, o.train
        assert train is not None
        index = engine.items.indices(train.items.to_list())
        if not np.array_equal(index, np.arange(train.n_items)):
            raise SystemExit("the bundle's item order is not the snapshot's; retrain the home")
        out["bundle"] = o.bundle.version
        text = engine.context().text_rows(np.arange(train.n_items))
        splits = {
            "validation": cross_leaf_rows(o.valid, engine),
            "test": cross_leaf_rows(o.test, engine),
        }
        out["rows"] = {name: len(p) for name, p in splits.items()}
        out["rows_all"] = {"validation": len(o.valid), "test": len(o.test)}
        results: dict[str, dict[str, Any]] = {}
        for label, setting in SETTINGS.items():
            start = time.perf_counter()
            mined = Complements.build(train, RelationsConfig(**setting), text)
            build = time.perf_counter() - start
            engine.complements = mined
            engine._context = None  # the context holds the complements it was built with
            lister = listers(engine, mined)["complements (served pipeline)"]
            results[label] = {
                "setting": setting,
                "build_seconds": round(build, 2),
                "items_with_item_level_complements": int(
                    (np.diff(mined.strength.indptr) > 0).sum()
                ),
                "graph_edges": sum(
                    e.origin == "behaviour" for es in mined.graph.edges.values() for e in es
                ),
                "validation": ndcg(lister, splits["validation"]),
            }
        chosen = max(results, key=lambda k: results[k]["validation"]["ndcg@10"])
        out["settings"] = results
        out["chosen"] = chosen
        engine.complements = Complements.build(train, RelationsConfig(**SETTINGS[chosen]), text)
        engine._context = None
        out["test"] = {
            label: ndcg(f, splits["test"])
            for label, f in listers(engine, engine.complements).items()
        }
        out["validation"] = {
            label: ndcg(f, splits["validation"])
            for label, f in listers(engine, engine.complements).items()
        }
        start = time.perf_counter()
        for a, _ in splits["test"][:300]:
            engine.related("complementary", engine.items.id(a), K)
        out["served_ms_mean"] = round(
            (time.perf_counter() - start) * 1000 / max(min(300, len(splits["test"])), 1), 2
        )
    return out


# --- the report --------------------------------------------------------------------------------


def markdown(result: Mapping[str, Any]) -> str:
    s = result["synthetic"]
    lines = [
        "# Complementary items",
        "",
        f"Machine: {result['machine']}. Load before → after: {result['load_before']} → "
        f"{result['load_after']}. Command: `python benchmarks/complements.py"
        + (f" --home {result['real']['home']}" if result.get("real") else "")
        + "`.",
        "",
        "## The synthetic shop (planted pairs)",
        "",
        f"The shop `shopmind demo` builds ({s['events']} events); mined in {s['seconds']} s "
        "with the default settings.",
        "",
        "| what | value |",
        "| --- | ---: |",
        f"| items with item-level complements | {s['items_with_item_level_complements']} |",
        "| precision: their top complement is their planted partner | "
        f"**{s['precision_top1']:.3f}** |",
        f"| planted sources | {s['planted_sources']} |",
        f"| recall@10: the partner among the ten answered | **{s['recall_at_10']:.3f}** |",
        f"| the partner answered first | {s['partner_first']:.3f} |",
        "| answers in the anchor's own leaf (planted substitutes) | "
        f"{s['same_leaf_answers']} of {s['answers']} |",
        "| the 20 strongest category edges that are planted leaf links | "
        f"{s['strongest_edges_planted']:.2f} |",
        "",
        "The strongest category edges (source → target, weighted shoppers, confidence, lift):",
        "",
        *[
            f"- {a} → {b}: {sup:g}, {c:.3f}, {lift:.1f}"
            for a, b, sup, c, lift in s["strongest_edges"]
        ],
        "",
    ]
    r = result.get("real")
    if r:
        lines += [
            "## amazon-scientific: the next item in another leaf",
            "",
            f"Bundle {r['bundle']}. Rows whose next item is in another leaf category than the "
            f"last one: validation {r['rows']['validation']} of {r['rows_all']['validation']}, "
            f"test {r['rows']['test']} of {r['rows_all']['test']}.",
            "",
            "Settings compared on validation (NDCG@10 of the next item among the last one's "
            "complements, the served pipeline):",
            "",
            "| setting | items with their own complements | behaviour edges | build s "
            "| validation NDCG@10 |",
            "| --- | ---: | ---: | ---: | ---: |",
            *[
                f"| {k}{' (chosen)' if k == r['chosen'] else ''} | "
                f"{v['items_with_item_level_complements']} | {v['graph_edges']} | "
                f"{v['build_seconds']} | {v['validation']['ndcg@10']:.4f} |"
                for k, v in r["settings"].items()
            ],
            "",
            f"Test, with the chosen setting ({r['chosen']}); 90% bootstrap intervals:",
            "",
            "| list of the last item | NDCG@10 | hit@10 | 90% interval of NDCG@10 "
            "| validation NDCG@10 |",
            "| --- | ---: | ---: | --- | ---: |",
            *[
                f"| {k} | {v['ndcg@10']:.4f} | {v['hit@10']:.4f} | "
                f"[{v['ci90'][0]:.4f}, {v['ci90'][1]:.4f}] | {r['validation'][k]['ndcg@10']:.4f} |"
                for k, v in r["test"].items()
            ],
            "",
            f"`Engine.related('complementary')` in process: {r['served_ms_mean']} ms per answer "
            "(mean over up to 300 test anchors).",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=None, help="a benchmarks/ranking.py home")
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine_summary(), "load_before": load_average()}
    result["synthetic"] = synthetic(SyntheticConfig())
    if args.home is not None:
        result["real"] = real(args.home)
    result["load_after"] = load_average()
    write_json(RESULTS / "complements.json", result)
    (RESULTS / "complements.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
