"""Encoder throughput and fidelity of each inference path (torch, ONNX, ONNX int8).

Encodes every item text of amazon-scientific (the whole UniSRec text, cut at 128 tokens, batch
64) with each backend, times it ``--repeats`` times (the backends take turns, so a busy machine
slows them alike) and reports the median items/s, plus the cosine of each path's vectors to the
torch ones. Model load and the one-time ONNX export are timed apart from encoding.

    .venv/bin/python benchmarks/encoder_throughput.py [--datasets DIR] [--repeats 3]

Writes benchmarks/results/encoder_throughput.md and .json. ``measure_throughput`` is the
reusable part (benchmarks/language_model.py imports it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from shopmind.catalog.formats import read_benchmark
from shopmind.config import HOME_ENV
from shopmind.evaluation.report import write_json
from shopmind.text.backends import BACKENDS, quantization_target
from shopmind.text.encoder import EncoderSettings, SentenceTransformerEncoder

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DEFAULT_DATASETS = HERE.parent.parent / "shared" / "datasets"
DATASET = "amazon-scientific"
BATCH_SIZE = 64
MAX_SEQ_LENGTH = 128


def measure_throughput(
    texts: list[str],
    repeats: int = 3,
    *,
    backends: Sequence[str] = BACKENDS,
    batch_size: int = BATCH_SIZE,
    max_seq_length: int = MAX_SEQ_LENGTH,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Backend → {items_per_s (median wall clock), items_per_s_min/max, items_per_cpu_s
    (median, per CPU-second of this process: less sensitive to other jobs on the machine),
    mean/min_cos_to_torch, load_seconds (export already made), first_load_seconds (incl. any
    export)}.

    Uses the current $SHOPMIND_HOME for the ONNX exports. torch is always measured: it is the
    reference the cosines are taken against.
    """
    say = progress or (lambda _: None)
    names = ["torch", *(b for b in backends if b != "torch")]
    encoders: dict[str, SentenceTransformerEncoder] = {}
    loads: dict[str, tuple[float, float]] = {}
    for name in names:
        settings = EncoderSettings(
            backend=name,  # type: ignore[arg-type]
            batch_size=batch_size,
            max_seq_length=max_seq_length,
        )
        start = time.perf_counter()
        first = SentenceTransformerEncoder(settings)
        first_load = time.perf_counter() - start
        del first
        start = time.perf_counter()
        encoder = SentenceTransformerEncoder(settings)
        loads[name] = (first_load, time.perf_counter() - start)
        encoder.encode(texts[:batch_size])  # warm-up: first-call allocations, lazy inits
        encoders[name] = encoder
        say(f"  {name}: first load {first_load:.1f}s, load {loads[name][1]:.1f}s")

    rates: dict[str, list[float]] = {name: [] for name in names}
    cpu_rates: dict[str, list[float]] = {name: [] for name in names}
    vectors: dict[str, np.ndarray] = {}
    for repeat in range(repeats):
        for name, encoder in encoders.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            vectors[name] = encoder.encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - start))
            cpu_rates[name].append(len(texts) / (time.process_time() - cpu_start))
        say(
            f"  repeat {repeat + 1}/{repeats}: "
            + ", ".join(f"{n} {rates[n][-1]:.1f}/s" for n in names)
        )

    reference = vectors["torch"]
    out: dict[str, dict[str, float]] = {}
    for name in names:
        cos = np.sum(vectors[name].astype(np.float64) * reference, axis=1)
        out[name] = {
            "items_per_s": float(statistics.median(rates[name])),
            "items_per_s_min": float(min(rates[name])),
            "items_per_s_max": float(max(rates[name])),
            "items_per_cpu_s": float(statistics.median(cpu_rates[name])),
            "mean_cos_to_torch": float(cos.mean()),
            "min_cos_to_torch": float(cos.min()),
            "load_seconds": loads[name][1],
            "first_load_seconds": loads[name][0],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="encode only the first N texts")
    parser.add_argument(
        "--keep-home",
        action="store_true",
        help=f"use the current ${HOME_ENV} (reusing its exports) instead of a fresh temporary one",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    folder = args.datasets / DATASET
    if not folder.is_dir():
        sys.exit(
            f"{folder} not found: give the folder holding {DATASET}/ with --datasets "
            "(the UniSRec files: Scientific.text, Scientific.*.inter, ...)"
        )
    texts = [item.title for item in read_benchmark(folder).items]
    if args.limit:
        texts = texts[: args.limit]
    print(f"{DATASET}: {len(texts)} item texts; {args.repeats} timed repeats per backend")

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="shopmind-encoders-") as scratch:
        if not args.keep_home:
            os.environ[HOME_ENV] = scratch  # first load then includes the one-time export
        results = measure_throughput(texts, args.repeats, progress=print)
    load_after = os.getloadavg()[0]

    payload: dict[str, Any] = {
        "dataset": DATASET,
        "n_texts": len(texts),
        "repeats": args.repeats,
        "batch_size": BATCH_SIZE,
        "max_seq_length": MAX_SEQ_LENGTH,
        "model": EncoderSettings().model,
        "int8_preset": quantization_target(),
        "threads": _threads(),
        "machine": machine_summary(),
        "load_average": {"before": load_before, "after": load_after},
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "encoder_throughput.json", payload)
    (args.out / "encoder_throughput.md").write_text(render(payload))
    print(render(payload))
    print(f"wrote {args.out / 'encoder_throughput.md'} and encoder_throughput.json")


def render(payload: dict[str, Any]) -> str:
    results: dict[str, dict[str, float]] = payload["results"]
    torch_rate = results["torch"]["items_per_s"]
    lines = [
        "# Encoder throughput by inference path\n",
        f"All {payload['n_texts']} item texts of {payload['dataset']} (the whole UniSRec text),",
        f"{payload['model']}, max_seq_length {payload['max_seq_length']}, batch "
        f"{payload['batch_size']}, CPU. Median of {payload['repeats']} timed passes (backends take",
        "turns each pass); load and the one-time ONNX export / int8 quantisation are not in the",
        "items/s. Items per CPU-s divides by the CPU time of this process (all its threads),",
        "which other jobs on the machine disturb less than wall-clock time.",
        "Cosines are per item, against the torch vectors of the same text.",
        f"int8 = ONNX Runtime dynamic quantisation, preset `{payload['int8_preset']}`.",
        "Produced by `.venv/bin/python benchmarks/encoder_throughput.py`.\n",
        f"Machine: {payload['machine']}; threads: {payload['threads']}; load average "
        f"{payload['load_average']['before']:.1f} before, {payload['load_average']['after']:.1f} "
        "after (other jobs were running when it is above the core count).\n",
        "| backend | items/s (median) | items/s range | × torch | items per CPU-s "
        "| mean cos to torch | min cos to torch | load s | first load s (incl. export) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['items_per_s']:.1f} "
            f"| {row['items_per_s_min']:.1f}–{row['items_per_s_max']:.1f} "
            f"| {row['items_per_s'] / torch_rate:.2f} | {row['items_per_cpu_s']:.1f} "
            f"| {row['mean_cos_to_torch']:.5f} | {row['min_cos_to_torch']:.5f} "
            f"| {row['load_seconds']:.1f} | {row['first_load_seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _threads() -> str:
    import onnxruntime
    import torch

    return (
        f"torch {torch.get_num_threads()}, onnxruntime {onnxruntime.__version__} "
        f"default intra-op ({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
