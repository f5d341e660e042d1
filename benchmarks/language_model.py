"""The language model, measured on amazon-scientific (UniSRec split, rich/ text joined on).

    .venv/bin/python benchmarks/language_model.py [--datasets DIR] [--skip-finetune]
        [--finetune-method adapter|full] [--finetuned FOLDER] [--also-finetuned FOLDER]

- content model (interest vectors over item embeddings), test R@10/N@10/R@50/N@50, base
  encoder vs the encoder fine-tuned on training co-interactions (settings chosen on VALIDATION);
- cold start: the interactions of a seeded random 10% of items are removed from training;
  test rows whose target is one of them, for popularity, item-kNN and the content models;
- similar items: share of the top-10 neighbours in the item's own leaf category (rich/ paths),
  by text, by co-interaction and blended; and NDCG@10 of the next item among the similar
  items of the shopper's last item (the blend weight chosen on validation);
- encoding throughput of each inference path and ANN recall@10 / latency vs exact search,
  copied from the results of benchmarks/encoder_throughput.py and benchmarks/ann.py, which
  are run alone on a quiet machine (``--measure-speed`` measures them here instead).

The fine-tuned encoder is trained here (``--finetune-method adapter``, the default, takes
minutes) unless ``--finetuned FOLDER`` names one; ``--also-finetuned FOLDER`` reports another
beside it (e.g. a full fine-tune from benchmarks/finetune_encoder.py, which takes an hour).

Writes benchmarks/results/language_model.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from ann import ann_report
from encoder_throughput import measure_throughput
from machine import machine_summary
from shopmind.data.dataset import Dataset
from shopmind.data.split import EvalSet, Split
from shopmind.evaluation import evaluate
from shopmind.evaluation.report import markdown_table, write_json
from shopmind.evaluation.runner import GRIDS, load_benchmark_split, run_model, summary_row
from shopmind.models.registry import make_model
from shopmind.models.similar import SimilarItems, similar_items_ndcg, tune_blend
from shopmind.text.embed import embed_items
from shopmind.text.encoder import EncoderSettings
from shopmind.text.finetune import METHODS, finetune_encoder
from shopmind.text.item_text import item_texts
from shopmind.text.whitening import Whitening

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DEFAULT_DATASETS = HERE.parent.parent / "shared" / "datasets"
KS = (10, 50)
COLD_SHARE, COLD_SEED = 0.10, 0
WHITEN_DIMS = 256  # the content model's default


def metrics_of(run: Any) -> dict[str, Any]:
    row = summary_row(run, KS)
    row.pop("ci95", None)
    # Whitening on and off, each at its best other settings (validation).
    row["valid_ndcg@10_by_whiten"] = {
        str(w): round(max(t["ndcg@10"] for t in run.trials if t["params"]["whiten"] == w), 4)
        for w in sorted({t["params"]["whiten"] for t in run.trials})
    }
    return row


def unwhitened(split: Split, mask: bool, run: Any) -> dict[str, Any]:
    """Test figures of the best settings without whitening (chosen on validation)."""
    best = max((t for t in run.trials if t["params"]["whiten"] == 0), key=lambda t: t["ndcg@10"])
    model = make_model("content", **best["params"]).fit(split.train)
    result = evaluate(model, split.test, ks=KS, mask_history=mask)
    row: dict[str, Any] = {m: round(v, 4) for m, v in result.metrics.items()}
    row["params"] = {k: v for k, v in best["params"].items() if k != "encoder"}
    return row


def content_run(split: Split, mask: bool, settings: EncoderSettings) -> Any:
    return run_model(
        "content",
        split,
        mask_history=mask,
        ks=KS,
        grid=GRIDS["content"],
        fixed={"encoder": settings.model_dump()},
        progress=print,
    )


def select_by_content(split: Split, mask: bool, base: EncoderSettings) -> Any:
    """Validation NDCG@10 of the default content model with the encoder in ``folder``."""

    def select(folder: Path) -> float:
        settings = base.model_copy(update={"model": str(folder)})
        model = make_model("content", encoder=settings.model_dump(), seen="demote")
        model.fit(split.train)
        return float(evaluate(model, split.valid, ks=(10,), mask_history=mask).metrics["ndcg@10"])

    return select


def cold_slice(split: Split) -> tuple[Dataset, EvalSet, int]:
    """The cold-start slice: training without every interaction of a seeded random 10% of
    items, the test rows whose target is one of them, and how many items were held out."""
    train = split.train
    rng = np.random.default_rng(COLD_SEED)
    cold = np.zeros(train.n_items, dtype=bool)
    cold[rng.choice(train.n_items, int(COLD_SHARE * train.n_items), replace=False)] = True
    targets = split.test.targets.tocsr()
    first = targets.indices[targets.indptr[:-1]]
    rows = np.flatnonzero(cold[first])
    test = EvalSet(split.test.users[rows], split.test.histories.take(rows), targets[rows])
    return train.subset(~cold[train.item]), test, int(cold.sum())


def cold_start(split: Split, mask: bool, models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each model trained without the cold items, on the test rows that want one of them."""
    warm_train, test, n_cold = cold_slice(split)
    out: dict[str, Any] = {"cold_items": n_cold, "test_rows": len(test)}
    for label, params in models.items():
        model = make_model(params["model"], **{k: v for k, v in params.items() if k != "model"})
        model.fit(warm_train)
        result = evaluate(model, test, ks=KS, mask_history=mask)
        out[label] = {
            m: round(result.metrics[m], 4) for m in ("recall@10", "ndcg@10", "recall@50", "ndcg@50")
        }
        print(f"cold start {label}: {out[label]}")
    return out


def leaf_agreement(ids: np.ndarray, queries: np.ndarray, leaves: np.ndarray) -> float:
    """Share of returned neighbours in the query item's leaf category (items with a path)."""
    same = [
        np.mean(leaves[row[row >= 0]] == leaves[q])
        for q, row in zip(queries, ids, strict=True)
        if (row >= 0).any()
    ]
    return float(np.mean(same))


def similar_items_quality(
    split: Split, vectors: np.ndarray, knn_params: dict[str, Any]
) -> dict[str, Any]:
    knn = make_model("itemknn", **knn_params).fit(split.train)
    similar = SimilarItems.build(vectors, knn.similarity)  # type: ignore[attr-defined]
    leaves = np.array([p[-1] if p else "" for p in split.train.item_side.category], dtype=object)
    touched = np.bincount(split.train.item, minlength=split.train.n_items) > 0
    queries = np.flatnonzero((leaves != "") & touched & similar.has_text)
    best, by_blend = tune_blend(similar, split.valid)
    out: dict[str, Any] = {
        "queries": len(queries),
        "blend_chosen_on_valid": best,
        "valid_next_item_ndcg@10_by_blend": {str(b): round(v, 4) for b, v in by_blend.items()},
    }
    for label, blend in (("text", 0.0), ("co_interaction", 1.0), ("blended", best)):
        ids, _ = similar.similar(queries, 10, blend=blend)
        has = split.test.histories.lengths > 0
        last = split.test.histories.items[split.test.histories.indptr[1:][has] - 1]
        next_ids, _ = similar.similar(last, 10, blend=blend)
        out[label] = {
            "same_leaf@10": round(leaf_agreement(ids, queries, leaves), 4),
            "test_next_item_ndcg@10": round(
                similar_items_ndcg(next_ids, split.test.targets[np.flatnonzero(has)], 10), 4
            ),
        }
        print(f"similar items {label}: {out[label]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--skip-finetune", action="store_true")
    parser.add_argument("--finetune-method", choices=METHODS, default="adapter")
    parser.add_argument("--finetune-pairs", type=int, default=-1, help="-1: the method's default")
    parser.add_argument("--finetune-epochs", type=int, default=None)
    parser.add_argument(
        "--finetuned",
        type=Path,
        help="use this fine-tuned encoder folder (from text.finetune) instead of training one",
    )
    parser.add_argument(
        "--also-finetuned",
        type=Path,
        action="append",
        default=[],
        help="another fine-tuned folder to report beside it (e.g. a full fine-tune); repeatable",
    )
    parser.add_argument(
        "--finetune-only",
        action="store_true",
        help="only fine-tune (as the full run does) and write results/finetune_<method>.json",
    )
    parser.add_argument(
        "--measure-speed",
        action="store_true",
        help="measure throughput and ANN latency here instead of reading the quiet-machine "
        "results of benchmarks/encoder_throughput.py and benchmarks/ann.py",
    )
    args = parser.parse_args()
    folder = args.datasets / "amazon-scientific"
    if not folder.is_dir():
        raise SystemExit(f"{folder} not found: pass --datasets pointing at ../shared/datasets")
    split, mask, _ = load_benchmark_split(folder)
    texts = item_texts(split.train.item_side)
    payload: dict[str, Any] = {"machine": machine_summary()}

    base = EncoderSettings()
    if args.finetune_only:
        load = [round(x, 1) for x in os.getloadavg()]
        tuned_folder = _finetune(split, mask, texts, base, args)
        manifest = json.loads((tuned_folder / "shopmind_finetune.json").read_text())
        payload |= {"fine_tuning": manifest, "folder": str(tuned_folder), "load_average": load}
        write_json(args.out / f"finetune_{args.finetune_method}.json", payload)
        return
    # Through the cache: the content runs below then reuse these vectors instead of encoding again.
    vectors = embed_items(split.train.item_side, settings=base)
    if args.measure_speed:
        payload["throughput"] = measure_throughput(texts)
        payload["ann"] = ann_report(vectors)
    else:
        payload["throughput"] = _read("encoder_throughput")["results"]
        payload["ann"] = _read("ann").get("real")
        if payload["ann"] is None:
            raise SystemExit("benchmarks/results/ann.json has no real-embedding rows: rerun ann.py")
    print("throughput", payload["throughput"])

    runs = {"base": content_run(split, mask, base)}
    payload["content"] = {
        "base": metrics_of(runs["base"]),
        "base_unwhitened": unwhitened(split, mask, runs["base"]),
    }
    # The faster int8 path: is its effect on the metrics small enough to make it the default?
    int8 = base.model_copy(update={"backend": "onnx-int8"})
    payload["content"]["base_onnx_int8"] = metrics_of(content_run(split, mask, int8))
    cold_models: dict[str, dict[str, Any]] = {
        "pop": {"model": "pop"},
        "itemknn": {"model": "itemknn", **_chosen("itemknn")},
        "content_base": {"model": "content", **runs["base"].params},
    }
    tuned_folders: dict[str, Path] = {}
    if not args.skip_finetune:
        tuned_folders["fine_tuned"] = args.finetuned or _finetune(split, mask, texts, base, args)
    for extra in args.also_finetuned:
        method = json.loads((extra / "shopmind_finetune.json").read_text()).get("method", "full")
        tuned_folders[f"fine_tuned_{method}"] = extra
    payload["fine_tuning"] = {}
    tuned_vectors: dict[str, np.ndarray] = {}
    for label, tuned_folder in tuned_folders.items():
        manifest = json.loads((tuned_folder / "shopmind_finetune.json").read_text())
        payload["fine_tuning"][label] = {
            "method": manifest.get("method", "full"),
            "wall_seconds": manifest["wall_seconds"],
            "pairs": manifest["pairs"],
            "epochs": manifest["epochs"],
            "learning_rate": manifest["learning_rate"],
            "max_seq_length": manifest["max_seq_length"],
            "valid_by_epoch": manifest["scores"],
            "chosen_epoch": manifest["chosen_epoch"],
            "improved": manifest["improved"],
            "folder": str(tuned_folder),
        }
        # The saved epoch is evaluated even when validation preferred the base model, so the
        # table shows what fine-tuning did.
        tuned = base.model_copy(update={"model": str(tuned_folder)})
        runs[label] = content_run(split, mask, tuned)
        payload["content"][label] = metrics_of(runs[label])
        cold_models[f"content_{label}"] = {"model": "content", **runs[label].params}
        tuned_vectors[label] = embed_items(split.train.item_side, settings=tuned)
    payload["cold_start"] = cold_start(split, mask, cold_models)
    knn = _chosen("itemknn")
    knn.pop("seen", None)
    payload["similar_items"] = {"base": similar_items_quality(split, vectors, knn)}
    whitened = Whitening.fit(vectors, WHITEN_DIMS).transform(vectors)
    payload["similar_items"]["base_whitened"] = similar_items_quality(split, whitened, knn)
    for label, tuned_vector in tuned_vectors.items():
        payload["similar_items"][label] = similar_items_quality(split, tuned_vector, knn)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "language_model.json", payload)
    (args.out / "language_model.md").write_text(render(payload))
    print(f"wrote {args.out / 'language_model.md'} and language_model.json")


def _read(name: str) -> dict[str, Any]:
    """A speed result measured alone on a quiet machine by its own script."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run benchmarks/{name}.py or pass --measure-speed")
    found: dict[str, Any] = json.loads(path.read_text())
    return found


def _finetune(split: Split, mask: bool, texts: list[str], base: EncoderSettings, args: Any) -> Path:
    start = time.perf_counter()
    result = finetune_encoder(
        split.train,
        texts,
        base=base,
        method=args.finetune_method,
        epochs=args.finetune_epochs,
        max_pairs=args.finetune_pairs,
        select=select_by_content(split, mask, base),
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"fine-tuned in {time.perf_counter() - start:.0f}s, peak RSS {peak:.2f} GiB")
    return result.path


def _chosen(name: str) -> dict[str, Any]:
    """The parameters benchmarks/accuracy.py chose on validation for a classic model."""
    accuracy = json.loads((RESULTS / "accuracy.json").read_text())
    return dict(accuracy["amazon-scientific"][name]["params"])


def render(payload: dict[str, Any]) -> str:
    parts = [
        "# The language model on amazon-scientific\n",
        "UniSRec split, full ranking over all 4,385 items, history items kept in the ranking",
        "(the published protocol); settings chosen on validation NDCG@10, test figures shown.",
        "Item text: title, brand, category path and description (rich/ joined by title).",
        "Produced by `.venv/bin/python benchmarks/language_model.py`.\n",
        f"Machine: {payload['machine']}\n",
        "## Content model (test)\n",
        markdown_table(
            payload["content"],
            [
                "recall@10",
                "ndcg@10",
                "recall@50",
                "ndcg@50",
                "valid_ndcg@10_by_whiten",
                "train_seconds",
                "params",
            ],
        ),
    ]
    for label, ft in payload.get("fine_tuning", {}).items():
        how = (
            "a linear adapter on the frozen encoder's embeddings"
            if ft["method"] == "adapter"
            else "every transformer weight"
        )
        parts += [
            f"\n## Fine-tuning: `{label}` ({how})\n",
            f"{ft['pairs']} co-interaction pairs, {ft['epochs']} epoch(s), "
            f"learning rate {ft['learning_rate']}, {ft['max_seq_length']} tokens; "
            f"{ft['wall_seconds']} s wall with validation selection; chosen epoch "
            f"{ft['chosen_epoch']} (0 = the base model; validation by epoch: "
            f"{ft['valid_by_epoch']}). Folder: `{ft['folder']}`.\n",
        ]
    cold = payload["cold_start"]
    parts += [
        f"\n## Cold start ({cold['cold_items']} items held out of training, "
        f"{cold['test_rows']} test rows whose target is one of them)\n",
        markdown_table(
            {k: v for k, v in cold.items() if isinstance(v, dict)},
            ["recall@10", "ndcg@10", "recall@50", "ndcg@50"],
        ),
        "\n## Similar items\n",
    ]
    for encoder, table in payload["similar_items"].items():
        rows = {k: v for k, v in table.items() if isinstance(v, dict) and "same_leaf@10" in v}
        parts += [
            f"Encoder {encoder}: blend weight chosen on validation "
            f"{table['blend_chosen_on_valid']} (validation next-item NDCG@10 by blend "
            f"{table['valid_next_item_ndcg@10_by_blend']}).\n",
            markdown_table(rows, ["same_leaf@10", "test_next_item_ndcg@10"]),
            "",
        ]
    parts += [
        "\n## Encoding throughput (items/s, all 4,385 item texts)\n",
        "From `benchmarks/results/encoder_throughput.md` (its own run; the load it saw is "
        "stated there) unless this run "
        "was given `--measure-speed`.\n",
        markdown_table(
            payload["throughput"],
            ["items_per_s", "mean_cos_to_torch", "min_cos_to_torch", "load_seconds"],
        ),
        "\n## Vector index on the item embeddings\n",
        "From `benchmarks/results/ann.md` (its own run on the same base embeddings; the load "
        "it saw is stated there) unless "
        "this run was given `--measure-speed`.\n",
        "```json\n" + json.dumps(payload["ann"], indent=2) + "\n```\n",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    main()
