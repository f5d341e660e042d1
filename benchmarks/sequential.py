"""The sequential recommender (sasrec) on the real splits: accuracy, ablations, cold items, time.

    .venv/bin/python benchmarks/sequential.py --part main --dataset amazon-beauty
    .venv/bin/python benchmarks/sequential.py --part main --dataset amazon-scientific
    .venv/bin/python benchmarks/sequential.py --part ablation     # Scientific: item repr, loss
    .venv/bin/python benchmarks/sequential.py --part cold         # Scientific: cold-item slice
    .venv/bin/python benchmarks/sequential.py --part features     # synthetic shop: types, gaps
    .venv/bin/python benchmarks/sequential.py --part softmax      # full vs sampled softmax cost

Every fit stops early on VALIDATION NDCG@10 and every choice (grid point, blend partner and
weight) is made on validation; tables report TEST, full ranking, the published protocols.
Each part merges its results into benchmarks/results/sequential.json and re-renders
sequential.md; ``main`` also merges the sasrec (and blend) rows into accuracy.json/.md.
Wall times are single runs on a shared 2-core machine: each carries the load averages
(``os.getloadavg``) read just before and after it, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import json
import logging
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from accuracy import render as render_accuracy
from language_model import cold_slice
from machine import machine_summary
from shopmind.data import Dataset, leave_last_out
from shopmind.data.split import Split
from shopmind.evaluation import evaluate
from shopmind.evaluation.report import markdown_table, write_json
from shopmind.evaluation.runner import ModelRun, load_benchmark_split, summary_row
from shopmind.models import Recommender, make_model
from shopmind.models.base import Holdout
from shopmind.models.sasrec import SASRec

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DEFAULT_DATASETS = HERE.parent.parent / "shared" / "datasets"
KS = (10, 50)

#: The chosen settings per dataset: ``fixed`` for every trial, ``grid`` chosen on validation.
MAIN: dict[str, dict[str, Any]] = {
    "amazon-scientific": {
        "fixed": {"dropout": 0.5, "seen": "demote", "patience": 5, "item_repr": "sum"},
        "grid": [{}, {"lr": [2e-3], "temperature": [0.2]}, {"dim": [128]}],
    },
    "amazon-beauty": {
        "fixed": {"dropout": 0.5, "patience": 4, "lr": 2e-3, "loss": "sampled", "negatives": 4096},
        "grid": [
            {},
            {"loss": ["ce"], "patience": [3]},
            {"loss": ["ce"], "lr": [1e-3], "patience": [5], "watch_rows": [0]},
            # Random batches (not grouped by length), no time-gap input (this file has no
            # times) and RecBole's feed-forward (no inner dropout).
            {
                "loss": ["ce"],
                "lr": [1e-3],
                "patience": [5, 3],
                "watch_rows": [0],
                "time_gaps": [False],
                "by_length": [False],
                "inner_dropout": [False],
            },
        ],
    },
}
#: The ablation's common settings (SASRec's usual ones; Scientific validation prefers demote).
ABLATION_BASE: dict[str, Any] = {"dropout": 0.5, "seen": "demote", "patience": 5}
#: Classic partners a blend may use (their settings as chosen in accuracy.json).
BLEND_PARTNERS = ("ease", "itemknn")
BLEND_WEIGHTS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed_fit(
    params: dict[str, Any], train: Dataset, holdout: Holdout | None
) -> tuple[SASRec, dict[str, Any]]:
    """Fit sasrec; the model and its training record (seconds, epochs, load, RSS)."""
    before = load_average()
    start = time.perf_counter()
    model = make_model("sasrec", **params).fit(train, holdout)
    seconds = time.perf_counter() - start
    assert isinstance(model, SASRec) and model.report is not None
    record = {
        "train_seconds": round(seconds, 1),
        "epochs_run": len(model.report.epochs),
        "best_epoch": model.report.best_epoch,
        "seconds_per_epoch": round(seconds / max(len(model.report.epochs), 1), 2),
        "load_before": before,
        "load_after": load_average(),
        "peak_rss_mib": peak_rss_mib(),
    }
    print(f"  fit {params}: {record}", flush=True)
    return model, record


def metrics(result: Any) -> dict[str, float]:
    return {
        m: round(result.metrics[m], 4) for m in ("recall@10", "ndcg@10", "recall@50", "ndcg@50")
    }


def grid_points(grid: list[dict[str, list[Any]]]) -> list[dict[str, Any]]:
    from shopmind.evaluation.runner import grid_points as points

    return points(grid)


class Blend:
    """A weighted sum of two models' per-row standardised scores (anything with ``score``)."""

    def __init__(self, first: Recommender, second: Recommender, weight: float) -> None:
        self.first, self.second, self.weight = first, second, weight
        self.n_items = first.n_items

    def score(self, histories: Any) -> np.ndarray:
        a = _standardise(self.first.score(histories))
        b = _standardise(self.second.score(histories))
        out: np.ndarray = (1 - self.weight) * a + self.weight * b
        return out


def _standardise(scores: np.ndarray) -> np.ndarray:
    # Demoted items score float32-min: keep them last without wrecking the row's statistics.
    low = scores <= np.finfo(np.float32).min / 2
    clean = np.where(low, np.nan, scores)
    mean = np.nanmean(clean, axis=1, keepdims=True)
    std = np.nanstd(clean, axis=1, keepdims=True) + 1e-6
    out = (clean - mean) / std
    return np.where(low, -1e6, out).astype(np.float32)


def part_main(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    label = args.dataset
    split, mask, _ = load_benchmark_split(args.datasets / label)
    print(f"{label}: {len(split.test)} test rows, {split.train.n_items} items, masked={mask}")
    setting = dict(MAIN[label])
    if args.fixed:  # a further trial, added to those of earlier runs (validation decides)
        setting["fixed"] = {**setting["fixed"], **json.loads(args.fixed)}
        setting["grid"] = [{}]
    holdout = Holdout(split.valid, mask)
    trials, best = [], None
    for point in grid_points(setting["grid"]):
        params = {**setting["fixed"], **point, "threads": args.threads}
        model, record = timed_fit(params, split.train, holdout)
        valid = evaluate(model, split.valid, ks=KS, mask_history=mask)
        test = evaluate(model, split.test, ks=KS, mask_history=mask)
        trials.append({"params": params, "valid": metrics(valid), "test": metrics(test), **record})
        if best is None or valid.metrics["ndcg@10"] > best[0].metrics["ndcg@10"]:
            best = (valid, params, model, record)
    assert best is not None
    valid, params, model, record = best
    test = evaluate(model, split.test, ks=KS, mask_history=mask, bootstrap=1000)
    run = ModelRun("sasrec", params, valid, test, record["train_seconds"], trials)
    out: dict[str, Any] = {
        "params": params,
        "valid": metrics(valid),
        "test": metrics(test),
        "training": record,
        "valid_ndcg_by_epoch": [round(e["ndcg@10"], 4) for e in model.report.epochs]
        if model.report
        else [],
        "trials": trials,
    }
    # Earlier runs' trials stay; their choice stays too unless this run beats it on validation.
    path = args.out / "sequential.json"
    earlier = json.loads(path.read_text()).get("main", {}).get(label) if path.exists() else None
    if earlier is not None:
        out["trials"] = earlier["trials"] + trials
        before, now = earlier["valid"]["ndcg@10"], round(valid.metrics["ndcg@10"], 4)
        # A tie on validation goes to the faster fit (e.g. a shorter patience, same model).
        if before > now or (
            before == now and earlier["training"]["train_seconds"] <= record["train_seconds"]
        ):
            print(f"  kept the earlier choice (validation {earlier['valid']['ndcg@10']})")
            payload.setdefault("main", {})[label] = {**earlier, "trials": out["trials"]}
            return
    rows: dict[str, dict[str, Any]] = {"sasrec": summary_row(run, KS)}
    blend = None if args.no_blend else best_blend(split, mask, model, label, record)
    if blend is not None:
        out["blend"] = blend["summary"]
        rows["sasrec+" + blend["summary"]["partner"]] = blend["row"]
    payload.setdefault("main", {})[label] = out
    merge_accuracy(label, rows, out["trials"])


def best_blend(
    split: Split, mask: bool, model: SASRec, label: str, record: dict[str, Any]
) -> dict[str, Any] | None:
    """sasrec blended with a classic model: partner and weight chosen on validation."""
    chosen = json.loads((RESULTS / "accuracy.json").read_text()).get(label, {})
    best: tuple[float, str, float, Recommender] | None = None
    by_weight: dict[str, dict[str, float]] = {}
    for partner in BLEND_PARTNERS:
        if partner not in chosen:
            continue
        other = make_model(partner, **chosen[partner]["params"]).fit(split.train)
        by_weight[partner] = {}
        for weight in BLEND_WEIGHTS:
            blend = Blend(model, other, weight)
            value = evaluate(blend, split.valid, ks=(10,), mask_history=mask).metrics["ndcg@10"]
            by_weight[partner][str(weight)] = round(value, 4)
            if best is None or value > best[0]:
                best = (value, partner, weight, other)
    if best is None:
        return None
    _, partner, weight, other = best
    test = evaluate(
        Blend(model, other, weight), split.test, ks=KS, mask_history=mask, bootstrap=1000
    )
    valid = evaluate(Blend(model, other, weight), split.valid, ks=KS, mask_history=mask)
    params = {"sasrec": "as chosen above", partner: chosen[partner]["params"], "weight": weight}
    # Training time: the sequential model's (the classic partner trains in seconds).
    run = ModelRun(f"sasrec+{partner}", params, valid, test, record["train_seconds"])
    summary = {
        "partner": partner,
        "weight": weight,
        "valid_ndcg@10_by_weight": by_weight,
        "test": metrics(test),
    }
    print(f"  blend: {summary}")
    return {"summary": summary, "row": summary_row(run, KS)}


def merge_accuracy(label: str, rows: dict[str, dict[str, Any]], trials: list[Any]) -> None:
    path, trials_path = RESULTS / "accuracy.json", RESULTS / "accuracy_trials.json"
    payload = json.loads(path.read_text()) if path.exists() else {}
    payload.setdefault(label, {}).update(rows)
    write_json(path, payload)
    all_trials = json.loads(trials_path.read_text()) if trials_path.exists() else {}
    all_trials.setdefault(label, {})["sasrec"] = trials
    write_json(trials_path, all_trials)
    (RESULTS / "accuracy.md").write_text(render_accuracy(payload))


def part_ablation(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """Scientific: item representation and loss, everything else as the main setting."""
    label = "amazon-scientific"
    split, mask, _ = load_benchmark_split(args.datasets / label)
    base = {**ABLATION_BASE, "threads": args.threads}
    variants = {
        "id, ce": {"item_repr": "id"},
        "text, ce": {"item_repr": "text"},
        "id+text sum, ce": {"item_repr": "sum"},
        "id+text gate, ce": {"item_repr": "gate"},
        "id, bce": {"item_repr": "id", "loss": "bce"},
        "id+text sum, bce": {"item_repr": "sum", "loss": "bce"},
        "id+text sum, sampled 1024": {"item_repr": "sum", "loss": "sampled"},
    }
    chosen = [v for v in args.variants.split(";") if v] if args.variants else list(variants)
    table = payload.setdefault("ablation", {})
    for name in chosen:
        model, record = timed_fit(
            {**base, **variants[name]}, split.train, Holdout(split.valid, mask)
        )
        valid = evaluate(model, split.valid, ks=(10,), mask_history=mask).metrics["ndcg@10"]
        test = evaluate(model, split.test, ks=KS, mask_history=mask)
        table[name] = {"valid ndcg@10": round(valid, 4), **metrics(test), **record}


def part_cold(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """The language-model benchmark's cold slice: 10% of items removed from training."""
    label = "amazon-scientific"
    split, mask, _ = load_benchmark_split(args.datasets / label)
    warm_train, test, n_cold = cold_slice(split)
    out: dict[str, Any] = {"cold_items": n_cold, "test_rows": len(test)}
    fixed = {**MAIN[label]["fixed"], "threads": args.threads}
    holdout = Holdout(split.valid, mask)
    models: dict[str, Any] = {
        "pop": lambda: make_model("pop").fit(warm_train),
        "content": lambda: make_model("content", seen="demote").fit(warm_train),
        "sasrec id+text sum": lambda: timed_fit({**fixed, "item_repr": "sum"}, warm_train, holdout)[
            0
        ],
        "sasrec id": lambda: timed_fit({**fixed, "item_repr": "id"}, warm_train, holdout)[0],
        "sasrec id+text sum, id dropout 0.3": lambda: timed_fit(
            {**fixed, "item_repr": "sum", "id_dropout": 0.3}, warm_train, holdout
        )[0],
    }
    wanted = [v for v in args.variants.split(";") if v] if args.variants else list(models)
    for name in wanted:
        build = models[name]
        model = build()
        on_slice = evaluate(model, test, ks=KS, mask_history=mask)
        on_all = evaluate(model, split.test, ks=(10,), mask_history=mask)
        out[name] = {**metrics(on_slice), "all test ndcg@10": round(on_all.metrics["ndcg@10"], 4)}
        print(f"  cold {name}: {out[name]}", flush=True)
    payload["cold"] = out


def part_features(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """Event-type and time-gap inputs, on the synthetic shop (the benchmarks have neither:
    all their events are purchases one synthetic second apart)."""
    from shopmind.synthetic import SyntheticConfig, generate

    config = SyntheticConfig(n_items=2_000, n_users=3_000, n_events=150_000, seed=7)
    shop = generate(config)
    data = Dataset.from_columns(shop.items, shop.users, shop.events)
    split = leave_last_out(data, target_types=["purchase"])
    out: dict[str, Any] = {
        "shop": config.model_dump(mode="json", include={"n_items", "n_users", "n_events", "seed"})
    }
    variants = {
        "items + positions": {"event_types": False, "time_gaps": False},
        "+ event types": {"event_types": True, "time_gaps": False},
        "+ time gaps": {"event_types": False, "time_gaps": True},
        "+ event types + time gaps": {"event_types": True, "time_gaps": True},
    }
    wanted = [v for v in args.variants.split(";") if v] if args.variants else list(variants)
    for name in wanted:
        flags = variants[name]
        params = {"dropout": 0.3, "patience": 5, "threads": args.threads, **flags}
        model, record = timed_fit(params, split.train, Holdout(split.valid, False))
        test = evaluate(model, split.test, ks=KS, mask_history=False)
        out[name] = {**metrics(test), **record}
    payload["features"] = out


def part_softmax(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """Seconds per training step of the loss alone (forward + backward), full vs sampled."""
    import torch

    from shopmind.models.sequential.training import Plan, _loss

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    positions, dim = 2_304, 64  # a batch of 256 Beauty-like histories
    out: dict[str, Any] = {
        "positions_per_step": positions,
        "dim": dim,
        "load_before": load_average(),
    }
    for n_items in (4_385, 12_101, 50_000, 100_000):
        row: dict[str, float] = {}
        for loss in ("ce", "sampled"):
            plan = Plan(loss, 1024, 1, 256, 1e-3, 0.0, 1, 50, 0)  # type: ignore[arg-type]
            table = torch.randn(n_items, dim, requires_grad=True)
            states = torch.randn(positions, dim, requires_grad=True)
            targets = torch.randint(n_items, (positions,))
            gen = torch.Generator().manual_seed(0)
            times = []
            for _ in range(4):
                start = time.perf_counter()
                _loss(states, targets, table, plan, gen).backward()
                times.append(time.perf_counter() - start)
            row[f"{loss} ms/step"] = round(1000 * float(np.median(times[1:])), 1)
        out[str(n_items)] = row
        print(f"  softmax {n_items}: {row}", flush=True)
    out["load_after"] = load_average()
    payload["softmax"] = out


def write_payload(folder: Path, payload: dict[str, Any]) -> None:
    payload["machine"] = machine_summary()
    write_json(folder / "sequential.json", payload)
    (folder / "sequential.md").write_text(render(payload))


def render(payload: dict[str, Any]) -> str:
    parts = [
        "# The sequential recommender (sasrec)\n",
        "Test figures, full ranking over all items, the published protocols (Scientific keeps",
        "history items in the ranking; Beauty removes them). Every fit stops early on validation",
        "NDCG@10; grid points and blends are chosen on validation. Produced by",
        "`.venv/bin/python benchmarks/sequential.py --part ...`. Wall times are single runs on a",
        "shared machine: the load averages (1, 5, 15 min) before and after each fit are given.\n",
        f"Machine: {payload.get('machine', machine_summary())}\n",
    ]
    for label, main in payload.get("main", {}).items():
        parts += [
            f"## {label}\n",
            f"Chosen: `{json.dumps(main['params'])}`\n",
            markdown_table({"sasrec": {**main["test"], **main["training"]}}, MAIN_COLUMNS),
        ]
        if "blend" in main:
            blend = main["blend"]
            by_weight = json.dumps(blend["valid_ndcg@10_by_weight"])
            parts += [
                f"Blend with `{blend['partner']}` at weight {blend['weight']} (chosen on "
                f"validation; validation NDCG@10 by weight: `{by_weight}`): "
                f"test `{json.dumps(blend['test'])}`\n",
            ]
        trials = {
            json.dumps({k: v for k, v in t["params"].items() if k != "threads"}): {
                "valid ndcg@10": t["valid"]["ndcg@10"],
                "test recall@10": t.get("test", {}).get("recall@10"),
                "test ndcg@10": t.get("test", {}).get("ndcg@10"),
                "train_seconds": t["train_seconds"],
                "best_epoch": t["best_epoch"],
            }
            for t in main["trials"]
        }
        parts += [
            "Every trial (validation chooses; test shown for the record):\n",
            markdown_table(
                trials,
                ["valid ndcg@10", "test recall@10", "test ndcg@10", "train_seconds", "best_epoch"],
            ),
        ]
    if "ablation" in payload:
        parts += [
            "## Ablation on amazon-scientific (test)\n",
            f"Common settings: `{json.dumps(ABLATION_BASE)}` (lr 1e-3, dim 64, 2 layers).\n",
            markdown_table(
                payload["ablation"],
                ["valid ndcg@10", *METRICS, "train_seconds", "best_epoch", "load_before"],
            ),
        ]
    if "cold" in payload:
        cold = payload["cold"]
        rows = {k: v for k, v in cold.items() if isinstance(v, dict)}
        parts += [
            "## Cold items (amazon-scientific)\n",
            f"The language-model benchmark's slice: every training interaction of a seeded 10% of "
            f"items ({cold['cold_items']}) removed; the {cold['test_rows']} test rows whose target "
            "is one of them.\n",
            markdown_table(rows, [*METRICS, "all test ndcg@10"]),
        ]
    if "features" in payload:
        feats = payload["features"]
        rows = {k: v for k, v in feats.items() if k != "shop"}
        parts += [
            "## Event types and time gaps (synthetic shop, next purchase, leave-last-out)\n",
            f"Shop: `{json.dumps(feats['shop'])}`; history items kept in the ranking.\n",
            markdown_table(rows, [*METRICS, "train_seconds", "best_epoch", "epochs_run"]),
        ]
    if "softmax" in payload:
        soft = payload["softmax"]
        rows = {k: v for k, v in soft.items() if isinstance(v, dict)}
        parts += [
            "## Full vs sampled softmax: loss cost per step\n",
            f"{soft['positions_per_step']} positions, dim {soft['dim']}, 1024 sampled negatives; "
            f"load {soft['load_before']} → {soft['load_after']}.\n",
            markdown_table(rows, ["ce ms/step", "sampled ms/step"]),
        ]
    if "log" in payload:
        parts += ["## What was tried\n", *[f"- {line}" for line in payload["log"]], ""]
    return "\n".join(parts)


METRICS = ["recall@10", "ndcg@10", "recall@50", "ndcg@50"]
MAIN_COLUMNS = [
    *METRICS,
    "train_seconds",
    "epochs_run",
    "best_epoch",
    "seconds_per_epoch",
    "peak_rss_mib",
    "load_before",
    "load_after",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part",
        required=True,
        choices=["main", "ablation", "cold", "features", "softmax", "render"],
    )
    parser.add_argument("--dataset", default="amazon-scientific", choices=list(MAIN))
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--fixed", default="", help="main: one more trial with these (JSON)")
    parser.add_argument("--no-blend", action="store_true", help="main: skip the blend")
    parser.add_argument("--variants", default="", help="ablation rows to run (separated by ;)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    path = args.out / "sequential.json"
    payload: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    parts = {
        "main": part_main,
        "ablation": part_ablation,
        "cold": part_cold,
        "features": part_features,
        "softmax": part_softmax,
        "render": lambda args, payload: None,  # re-render sequential.md from the JSON
    }
    before = copy.deepcopy(payload)
    parts[args.part](args, payload)
    # Other parts may run at the same time: merge into the newest file, under a lock.
    args.out.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / "shopmind-sequential.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        latest: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        # Only what this run changed: entries it merely read may be stale by now.
        for key, value in payload.items():
            if isinstance(value, dict) and isinstance(latest.get(key), dict):
                old = before.get(key, {})
                latest[key].update({k: v for k, v in value.items() if old.get(k) != v})
            elif before.get(key) != value:
                latest[key] = value
        write_payload(args.out, latest)
    print(f"wrote {args.out / 'sequential.md'}")


if __name__ == "__main__":
    main()
