"""Fine-tune the text encoder on amazon-scientific co-interactions and measure what it buys.

A short calibration run measures training pairs/s on this machine; the main run then takes as
many pairs as fit in ``--train-seconds`` (one epoch by default). Model selection uses a
VALIDATION-only proxy built here (the content recommender is plugged in later by
benchmarks/language_model.py): each validation shopper's profile is the mean embedding of
their last 5 training items, every item is ranked by cosine to it, and NDCG@10 of the
validation target is averaged (full ranking, the dataset's published masking protocol).
Also reported, before vs after: the mean cosine of held-out validation pairs (each shopper's
last training item with their validation target), the cosine of random item pairs for
reference, and where the target ranks among all items by cosine to that last item.

    .venv/bin/python benchmarks/finetune_encoder.py [--dataset DIR] [--train-seconds 360]

Writes benchmarks/results/finetune_encoder.md and .json; the fine-tuned folder lands in
$SHOPMIND_HOME/encoders (default ~/.shopmind/encoders).
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from shopmind.data.split import EvalSet
from shopmind.evaluation.report import write_json
from shopmind.evaluation.runner import load_benchmark_split
from shopmind.text.encoder import (
    EncoderSettings,
    SentenceTransformerEncoder,
    model_fingerprint,
    resolve_model,
)
from shopmind.text.finetune import FineTuneResult, co_interaction_pairs, finetune_encoder
from shopmind.text.item_text import item_texts

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DEFAULT_DATASET = HERE.parent.parent / "shared" / "datasets" / "amazon-scientific"
SEQ = 64  # tokens: covers 94 % of Scientific item texts whole (median 45)
PROFILE_ITEMS = 5


class Proxy:
    """Validation NDCG@10 of a mean-of-last-items cosine recommender, per encoder folder."""

    def __init__(self, texts: list[str], valid: EvalSet, mask_history: bool) -> None:
        self.texts = texts
        self.valid = valid
        self.mask_history = mask_history
        self.embeddings: dict[str, np.ndarray] = {}  # by weights fingerprint: survives a rename
        self.encode_seconds: list[float] = []

    def embed(self, folder: Path) -> np.ndarray:
        key = model_fingerprint(folder)
        if key not in self.embeddings:
            settings = EncoderSettings(model=str(folder), backend="torch", max_seq_length=SEQ)
            start = time.perf_counter()
            self.embeddings[key] = SentenceTransformerEncoder(settings).encode(self.texts)
            self.encode_seconds.append(time.perf_counter() - start)
        return self.embeddings[key]

    def __call__(self, folder: Path) -> float:
        score = self.ndcg(self.embed(folder))
        print(f"  proxy valid NDCG@10 of {folder.name}: {score:.4f}")
        return score

    def ndcg(self, vectors: np.ndarray) -> float:
        """Mean NDCG@10 of the validation targets when items are ranked by these vectors."""
        recent = self.valid.histories.last(PROFILE_ITEMS)
        profiles = recent.matrix(len(self.texts), binary=True) @ vectors
        profiles /= np.maximum(np.linalg.norm(profiles, axis=1, keepdims=True), 1e-12)
        target = self.valid.targets.indices  # one target per row in this protocol
        assert len(target) == len(self.valid)
        gains = np.zeros(len(self.valid))
        seen = self.valid.histories.matrix(len(self.texts), binary=True).tocsr()
        for lo in range(0, len(self.valid), 1024):  # chunks of users: bounded memory
            hi = min(lo + 1024, len(self.valid))
            scores = profiles[lo:hi] @ vectors.T
            if self.mask_history:
                rows, cols = seen[lo:hi].nonzero()
                keep = cols != target[lo:hi][rows]
                scores[rows[keep], cols[keep]] = -np.inf
            own = scores[np.arange(hi - lo), target[lo:hi]]
            rank = (scores > own[:, None]).sum(axis=1)
            gains[lo:hi] = np.where(rank < 10, 1.0 / np.log2(rank + 2.0), 0.0)
        gains[recent.lengths == 0] = 0.0  # no history, no profile: a miss
        return float(gains.mean())


def held_out_pairs(valid: EvalSet, texts: list[str]) -> np.ndarray:
    """(last training item, validation target) per shopper, distinct items with distinct texts."""
    last = valid.histories.last(1)
    has = last.lengths > 0
    pairs = np.stack([last.items, valid.targets.indices[has]], axis=1)
    text = np.asarray(texts, dtype=object)
    keep = (pairs[:, 0] != pairs[:, 1]) & (text[pairs[:, 0]] != text[pairs[:, 1]])
    return pairs[keep]


def mean_cosine(vectors: np.ndarray, pairs: np.ndarray) -> float:
    return float(np.mean(np.sum(vectors[pairs[:, 0]] * vectors[pairs[:, 1]], axis=1)))


def centered(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors after removing the mean item vector (the direction every item shares)."""
    out = vectors - vectors.mean(axis=0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def random_pairs(n_items: int, n: int = 20_000, seed: int = 0) -> np.ndarray:
    """Pairs of distinct random items: the cosine any two items have, for reference."""
    pairs = np.random.default_rng(seed).integers(0, n_items, size=(n, 2))
    return pairs[pairs[:, 0] != pairs[:, 1]]


def partner_ranks(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Rank (0 = first) of each pair's second item among all other items, by cosine to the first."""
    ranks = np.empty(len(pairs), dtype=np.int64)
    for lo in range(0, len(pairs), 1024):
        chunk = pairs[lo : lo + 1024]
        scores = vectors[chunk[:, 0]] @ vectors.T
        scores[np.arange(len(chunk)), chunk[:, 0]] = -np.inf
        own = scores[np.arange(len(chunk)), chunk[:, 1]]
        ranks[lo : lo + len(chunk)] = (scores > own[:, None]).sum(axis=1)
    return ranks


def pair_figures(vectors: np.ndarray, held_out: np.ndarray, rand: np.ndarray) -> dict[str, float]:
    ranks = partner_ranks(vectors, held_out)
    return {
        "held_out_cosine": round(mean_cosine(vectors, held_out), 4),
        "random_pair_cosine": round(mean_cosine(vectors, rand), 4),
        "held_out_partner_hit@10": round(float(np.mean(ranks < 10)), 4),
        "held_out_partner_median_rank": float(np.median(ranks)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--train-seconds", type=float, default=360.0)
    parser.add_argument("--max-pairs", type=int, default=None, help="skip the calibration")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--window", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", default="", help="a line for the report (e.g. why --max-pairs)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    load_start = [round(x, 1) for x in os.getloadavg()]

    split, mask, name = load_benchmark_split(args.dataset)
    train = split.train
    texts = item_texts(train.item_side)
    base = EncoderSettings(backend="torch", max_seq_length=SEQ)
    available = len(co_interaction_pairs(train, window=args.window, texts=texts))
    print(
        f"{name}: {train.n_items} items, {train.n_events} training events, "
        f"{available} co-interaction pairs (window {args.window})"
    )

    calibration: dict[str, Any] = {}
    max_pairs = args.max_pairs
    if max_pairs is None:
        with tempfile.TemporaryDirectory() as scratch:
            small = finetune_encoder(
                train,
                texts,
                base=base,
                method="full",
                batch_size=args.batch_size,
                max_pairs=4 * args.batch_size,
                learning_rate=args.learning_rate,
                window=args.window,
                out_dir=Path(scratch),
                progress=False,
            )
        rate = small.n_pairs / small.wall_seconds  # includes loading and saving: conservative
        calibration = {
            "pairs": small.n_pairs,
            "wall_seconds": small.wall_seconds,
            "pairs_per_s": rate,
        }
        steps = max(1, int(rate * args.train_seconds / args.epochs) // args.batch_size)
        max_pairs = min(available, steps * args.batch_size)
        print(f"calibration: {rate:.1f} pairs/s -> {max_pairs} pairs for {args.epochs} epoch(s)")

    proxy = Proxy(texts, split.valid, mask)
    result = finetune_encoder(
        train,
        texts,
        base=base,
        method="full",
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_pairs=max_pairs,
        window=args.window,
        select=proxy,
    )
    payload = report(result, proxy, split.valid, texts, calibration, args, name)
    payload["total_seconds"] = round(time.perf_counter() - started, 1)
    payload["note"] = args.note
    payload["load_average"] = {"start": load_start, "end": [round(x, 1) for x in os.getloadavg()]}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "finetune_encoder.json", payload)
    (args.out / "finetune_encoder.md").write_text(render(payload))
    print(f"wrote {args.out / 'finetune_encoder.md'} and .json; model in {result.path}")


def report(
    result: FineTuneResult,
    proxy: Proxy,
    valid: EvalSet,
    texts: list[str],
    calibration: dict[str, Any],
    args: argparse.Namespace,
    name: str,
) -> dict[str, Any]:
    held_out = held_out_pairs(valid, texts)
    rand = random_pairs(len(texts))
    before = proxy.embed(resolve_model(result.base.model))
    after = proxy.embed(result.path)  # cached: selection encoded every epoch
    valid_by_epoch = {int(s["epoch"]): s["valid"] for s in result.scores}
    train_seconds = result.wall_seconds - sum(proxy.encode_seconds)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "dataset": name,
        "machine": machine_summary(),
        "base_model": result.base.model,
        "max_seq_length": SEQ,
        "window": args.window,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "calibration": calibration,
        "pairs": result.n_pairs,
        "fine_tune_wall_seconds": result.wall_seconds,
        "selection_encode_seconds": round(sum(proxy.encode_seconds), 1),
        "train_seconds_approx": round(train_seconds, 1),
        "pairs_per_s": round(result.n_pairs * args.epochs / train_seconds, 2),
        "peak_rss_mib": round(peak_mib),
        "proxy_valid_ndcg@10": {"base": valid_by_epoch.get(0), "scores": result.scores},
        # Not used for selection: the same proxy on mean-centred embeddings, base vs saved.
        "proxy_valid_ndcg@10_centred": {
            "base": round(proxy.ndcg(centered(before)), 4),
            "fine_tuned": round(proxy.ndcg(centered(after)), 4),
        },
        "chosen_epoch": result.chosen_epoch,
        "improved": result.improved,
        "held_out_pairs": len(held_out),
        "pair_figures": {
            "base": pair_figures(before, held_out, rand),
            "fine_tuned": pair_figures(after, held_out, rand),
        },
        "folder": str(result.path),
    }


def render(payload: dict[str, Any]) -> str:
    scores = payload["proxy_valid_ndcg@10"]["scores"]
    rows = "\n".join(
        f"| {s['epoch']} | {'base model' if s['epoch'] == 0 else 'fine-tuned'} | {s['valid']:.4f} |"
        for s in scores
    )
    figures = payload["pair_figures"]
    pair_rows = [
        f"| {key} | {figures['base'][key]} | {figures['fine_tuned'][key]} |"
        for key in figures["base"]
    ]
    cal = payload["calibration"]
    centred = payload["proxy_valid_ndcg@10_centred"]
    cal_line = (
        f"Calibration: {cal['pairs']} pairs in {cal['wall_seconds']:.1f} s "
        f"({cal['pairs_per_s']:.1f} pairs/s including model load and save).\n"
        if cal
        else f"Training pairs set with --max-pairs {payload['pairs']}. {payload['note']}\n"
    )
    return "\n".join(
        [
            "# Fine-tuning the encoder on co-interactions\n",
            f"Dataset {payload['dataset']} (given split). Base model {payload['base_model']}, "
            f"max_seq_length {payload['max_seq_length']}, MultipleNegativesRankingLoss "
            "(symmetric, in-batch negatives, no duplicate texts in a batch) on pairs of items "
            f"within {payload['window']} steps of each other in TRAINING histories; "
            f"{payload['epochs']} epoch(s), batch {payload['batch_size']}, "
            f"learning rate {payload['learning_rate']}.",
            "Selection is on VALIDATION only, by a proxy (mean embedding of each shopper's last "
            f"{PROFILE_ITEMS} training items, cosine to every item, NDCG@10 of the validation "
            "target, full ranking); test data is never read. Produced by "
            "`.venv/bin/python benchmarks/finetune_encoder.py`.\n",
            f"Machine: {payload['machine']}; 1/5/15-min load average "
            f"{payload['load_average']['start']} at start, {payload['load_average']['end']} at the "
            "end (other jobs shared the 2 cores, so times are pessimistic).\n",
            cal_line,
            "| epoch | model | proxy valid NDCG@10 |",
            "| ---: | --- | ---: |",
            rows,
            "",
            "The same proxy on mean-centred embeddings (the mean item vector removed before the "
            f"cosine; not used for selection): base {centred['base']}, fine-tuned (saved folder) "
            f"{centred['fine_tuned']}.\n",
            "| figure | value |",
            "| --- | ---: |",
            f"| training pairs | {payload['pairs']} |",
            f"| pairs/s (training, approx.) | {payload['pairs_per_s']} |",
            f"| fine-tune wall seconds (incl. selection) | {payload['fine_tune_wall_seconds']} |",
            f"| of which encoding items for selection | {payload['selection_encode_seconds']} |",
            f"| whole script seconds | {payload['total_seconds']} |",
            f"| peak RSS MiB | {payload['peak_rss_mib']} |",
            f"| chosen epoch (0 = base) | {payload['chosen_epoch']} |",
            f"| improved on validation | {payload['improved']} |",
            "",
            f"Held-out validation pairs ({payload['held_out_pairs']}: each shopper's last "
            "training item with their validation target; distinct items and texts). The partner "
            "rank is the target's rank among all other items by cosine to the last item; the "
            "random-pair cosine (20,000 random item pairs) is the level any two items share.\n",
            "| figure | base | fine-tuned |",
            "| --- | ---: | ---: |",
            *pair_rows,
            "",
            f"Saved folder: `{payload['folder']}` (holds the best fine-tuned epoch even when the "
            "base wins; `improved` says which to use).\n",
        ]
    )


if __name__ == "__main__":
    main()
