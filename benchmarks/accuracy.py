"""Accuracy of every classic model on the real benchmark splits, with the published protocols.

Hyper-parameters are chosen on VALIDATION NDCG@10 over the grids in
shopmind.evaluation.runner.GRIDS; the table reports TEST figures, full ranking over all items.

    .venv/bin/python benchmarks/accuracy.py [--datasets DIR] [--models pop,itemknn,...]

Writes benchmarks/results/accuracy.md and benchmarks/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from machine import machine_summary
from shopmind.evaluation.report import markdown_table, write_json
from shopmind.evaluation.runner import GRIDS, load_benchmark_split, run_model, summary_row

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DEFAULT_DATASETS = HERE.parent.parent / "shared" / "datasets"

#: (folder, label) and the published protocol's masking is read from the folder's format.
DATASETS = [("amazon-scientific", "amazon-scientific"), ("amazon-beauty", "amazon-beauty")]

#: Test R@10 / N@10 of an independent harness with the same protocol, measured on this machine.
REFERENCE = {
    "amazon-scientific": {
        "pop": (0.0309, 0.0171),
        "itemknn": (0.1173, 0.0804),
        "ease": (0.1102, 0.0739),
        "als": (0.0937, 0.0467),
    },
    "amazon-beauty": {
        "itemknn": (0.0735, 0.0431),
        "ease": (0.0637, 0.0336),
        "als": (0.0485, 0.0251),
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--models", default="pop,itemknn,userknn,ease,als")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    names = args.models.split(",")

    # Rows of models not run now are kept from the last run (other benchmarks add rows too).
    payload: dict[str, dict[str, dict[str, object]]] = _existing(args.out / "accuracy.json")
    trials: dict[str, dict[str, object]] = _existing(args.out / "accuracy_trials.json")
    for folder, label in DATASETS:
        path = args.datasets / folder
        if not path.is_dir():
            print(f"skipping {label}: {path} not found")
            continue
        split, mask, _ = load_benchmark_split(path)
        print(
            f"{label}: {len(split.test)} test users, {split.train.n_items} items, "
            f"history masked={mask}"
        )
        payload.setdefault(label, {})
        trials.setdefault(label, {})
        for name in names:
            start = time.perf_counter()
            run = run_model(
                name,
                split,
                mask_history=mask,
                grid=GRIDS.get(name, {}),
                bootstrap=1000,
                progress=print,
            )
            payload[label][name] = summary_row(run)
            trials[label][name] = run.trials
            print(
                f"  {name}: {payload[label][name]} ({time.perf_counter() - start:.0f}s with tuning)"
            )

    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "accuracy.json", payload)
    write_json(args.out / "accuracy_trials.json", trials)
    (args.out / "accuracy.md").write_text(render(payload))
    print(f"wrote {args.out / 'accuracy.md'} and accuracy.json")


def _existing(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def render(payload: dict[str, dict[str, dict[str, object]]]) -> str:
    cols = ["recall@10", "R@10 95% CI", "ndcg@10", "N@10 95% CI", "recall@50", "ndcg@50"]
    cols += ["train_seconds", "ref R@10", "ref N@10", "params"]
    parts = [
        "# Accuracy on the real benchmark splits\n",
        "Test figures, full ranking over all items; hyper-parameters chosen on validation",
        "NDCG@10. amazon-scientific keeps history items in the ranking (UniSRec/RecBole",
        "protocol); amazon-beauty removes them (S3-Rec protocol). `ref` = an independent",
        "harness with the same protocol on this machine. The model option `seen=demote`",
        "(chosen on validation where it wins) makes a model rank items already in the",
        "shopper's history below all others; the evaluator still ranks every item.",
        "Produced by `.venv/bin/python benchmarks/accuracy.py`.\n",
        f"Machine: {machine_summary()}\n",
    ]
    for label, rows in payload.items():
        table = {}
        for name, row in rows.items():
            ref = REFERENCE.get(label, {}).get(name)
            table[name] = {
                **row,
                "R@10 95% CI": _interval(row, "recall@10"),
                "N@10 95% CI": _interval(row, "ndcg@10"),
                "ref R@10": ref[0] if ref else None,
                "ref N@10": ref[1] if ref else None,
                "params": json.dumps(row["params"]),
            }
        parts.append(f"## {label}\n\n" + markdown_table(table, cols))
    return "\n".join(parts)


def _interval(row: dict[str, object], metric: str) -> str:
    ci = row.get("ci95")
    if not isinstance(ci, dict) or metric not in ci:
        return ""
    low, high = ci[metric]
    return f"{low:.4f}–{high:.4f}"


if __name__ == "__main__":
    main()
