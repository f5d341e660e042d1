"""How long `shopmind demo` takes on a fresh data directory, from the command to serving.

    .venv/bin/python benchmarks/demo.py [--runs 1] [--items 3000 --users 3000 --events 150000]

Runs ``shopmind demo --home <new temporary folder> --port <free port>`` (the default shop unless
told otherwise), timestamps the milestones in its output (shop in the store, evaluation table,
bundle active, URLs printed) and the first ``GET /health`` that answers with the active bundle,
then stops it. A fresh folder means nothing is cached: the encoder's ONNX export and every item
embedding are made during the run, as on a new machine. Records the load averages before and
after, since the cores may be shared. Writes benchmarks/results/demo.md and demo.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from machine import machine_summary
from shopmind.evaluation.report import write_json

HERE = Path(__file__).parent
RESULTS = HERE / "results"
#: Output line fragments that mark the end of each stage, in order.
MILESTONES = {
    "shop in the store": "store now holds",
    "evaluation table printed": "The synthetic shop plants its structure",  # under the table
    "bundle trained and active": "is active: ",
    "URLs printed": "API docs",
}
LIMIT_SECONDS = 180.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_run(shop: list[str]) -> dict[str, Any]:
    """Time one demo on a fresh home until its API answers; then stop it."""
    home = Path(tempfile.mkdtemp(prefix="shopmind-demo-bench-"))
    log = Path(tempfile.mkstemp(prefix="shopmind-demo-bench-", suffix=".log")[1])
    port = free_port()
    command = [sys.executable, "-c", "from shopmind.cli import app; app()", "demo"]
    command += ["--home", str(home), "--port", str(port), *shop]
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("SHOPMIND_STORE", None)
    load_before = os.getloadavg()
    seen: dict[str, float] = {}
    start = time.perf_counter()
    demo = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )

    def watch() -> None:
        assert demo.stdout is not None
        with log.open("w") as out:
            for line in demo.stdout:
                out.write(line)
                out.flush()
                for name, marker in MILESTONES.items():
                    if marker in line and name not in seen:
                        seen[name] = time.perf_counter() - start

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    serving = None
    try:
        while serving is None:
            if demo.poll() is not None:
                raise SystemExit(f"the demo exited with {demo.returncode}; see {log}")
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
                if health.get("bundle"):
                    serving = time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    finally:
        demo.terminate()
        demo.wait(timeout=60)
        reader.join(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
        print(f"the demo's output: {log}")
    return {
        "seconds_to_serving": round(serving, 1),
        "milestones": {name: round(seen[name], 1) for name in MILESTONES if name in seen},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--items", type=int, default=3_000)
    parser.add_argument("--users", type=int, default=3_000)
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()
    shop = ["--items", str(args.items), "--users", str(args.users), "--events", str(args.events)]
    RESULTS.mkdir(exist_ok=True)
    runs = []
    for r in range(args.runs):
        result = one_run(shop)
        print(f"run {r + 1}: serving after {result['seconds_to_serving']}s {result}")
        runs.append(result)
    payload = {
        "machine": machine_summary(),
        "command": "shopmind demo " + " ".join(shop),
        "limit_seconds": LIMIT_SECONDS,
        "runs": runs,
    }
    write_json(RESULTS / "demo.json", payload)
    lines = [
        "# `shopmind demo`: from the command to serving",
        "",
        f"Machine: {payload['machine']}. Command: `{payload['command']}` on a fresh data "
        "directory each run (nothing cached: ONNX export and all item embeddings included). "
        f"Target: under {LIMIT_SECONDS:.0f} s to serving.",
        "",
        "| run | "
        + " | ".join(MILESTONES)
        + " | serving (/health answers) | load before → after |",
        "| --- |" + " --- |" * (len(MILESTONES) + 2),
    ]
    for r, run in enumerate(runs, 1):
        marks = " | ".join(f"{run['milestones'].get(name, '–')} s" for name in MILESTONES)
        load = f"{run['load_before'][0]} → {run['load_after'][0]}"
        lines.append(f"| {r} | {marks} | **{run['seconds_to_serving']} s** | {load} |")
    lines += ["", "Load: 1-minute load averages of the 2 cores (other jobs may share them).", ""]
    (RESULTS / "demo.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
