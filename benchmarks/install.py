"""How long the README's install takes on a fresh machine, with the pip a new venv ships.

    .venv/bin/python benchmarks/install.py [--variants lock,bounds,...] [--timeout 900]
    .venv/bin/python benchmarks/install.py --variants before --before 7faa243

Each variant copies the project's files (as they are in the work tree) into a new temporary
folder, makes a venv there with ``python3 -m venv`` (so pip is the version that venv ships,
23.2.1 with Python 3.11.7), points pip at an empty download cache (as on a new machine), and
times one install command, stopping it at ``--timeout``. Variants:

- ``lock``: the README's Quick start install, ``pip install -c constraints.txt -e .``;
- ``lock-test``: the test command's install, ``pip install -c constraints.txt -e '.[test]'``;
- ``bounds``: ``pip install -e .`` without the lock (pyproject.toml's bounds alone);
- ``upgraded``: ``pip install --upgrade pip`` first, then the lock install;
- ``uv``: ``uv pip install -c constraints.txt -e .`` (uv installed beforehand, not timed);
- ``before``: ``pip install -e .`` with the pyproject.toml of ``--before REF`` (no bounds, no
  lock).

Also times the lock's regeneration by each tool (``--lock-tools``: uv and pip-tools), and writes
the venv's size and its biggest packages. Writes benchmarks/results/install.md and install.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import machine_summary

HERE = Path(__file__).parent
ROOT = HERE.parent
RESULTS = HERE / "results"
TOOLS_PIN = ("uv>=0.9,<1", "pip-tools>=7.4,<8")

COMMANDS = {
    "lock": ["{pip}", "install", "-c", "constraints.txt", "-e", "."],
    "lock-test": ["{pip}", "install", "-c", "constraints.txt", "-e", ".[test]"],
    "bounds": ["{pip}", "install", "-e", "."],
    "upgraded": ["{pip}", "install", "-c", "constraints.txt", "-e", "."],
    "uv": ["{uv}", "pip", "install", "--python", "{python}", "-c", "constraints.txt", "-e", "."],
    "before": ["{pip}", "install", "-e", "."],
}
WHAT = {
    "lock": "the README's Quick start install: stock pip, `-c constraints.txt -e .`",
    "lock-test": "the test command's install: stock pip, `-c constraints.txt -e '.[test]'`",
    "bounds": "stock pip, `-e .`, pyproject.toml's bounds without the lock",
    "upgraded": "`pip install --upgrade pip` (timed too), then the lock install",
    "uv": "uv (installed beforehand), `uv pip install -c constraints.txt -e .`",
    "before": "stock pip, `-e .`, the pyproject.toml before the bounds (no lock)",
}


def project_copy(before: str | None) -> Path:
    """The work tree's tracked and new files in a fresh folder (the old pyproject for before)."""
    folder = Path(tempfile.mkdtemp(prefix="shopmind-install-bench-")) / "shopmind"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / raw.decode()
        if source.is_file():
            target = folder / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if before is not None:
        old = subprocess.run(
            ["git", "show", f"{before}:pyproject.toml"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        (folder / "pyproject.toml").write_text(old)
        (folder / "constraints.txt").unlink(missing_ok=True)
    return folder


def size_mb(path: Path) -> float:
    done = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[0])


def biggest(venv: Path, count: int = 12) -> list[tuple[str, float]]:
    site = next(venv.glob("lib/python*/site-packages"))
    sizes = [(p.name, size_mb(p)) for p in site.iterdir() if p.is_dir()]
    return sorted(sizes, key=lambda x: -x[1])[:count]


def one_variant(name: str, timeout: float, before: str | None, uv: Path | None) -> dict[str, Any]:
    folder = project_copy(before if name == "before" else None)
    cache = folder.parent / "pip-cache"
    env = {**os.environ, "PIP_CACHE_DIR": str(cache), "UV_CACHE_DIR": str(cache)}
    env.pop("VIRTUAL_ENV", None)
    try:
        subprocess.run([sys.executable, "-m", "venv", ".venv"], cwd=folder, check=True)
        venv = folder / ".venv"
        pip_version = subprocess.run(
            [str(venv / "bin/pip"), "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[1]
        fill = {"pip": str(venv / "bin/pip"), "python": str(venv / "bin/python"), "uv": str(uv)}
        command = [part.format(**fill) for part in COMMANDS[name]]
        if name == "uv":  # uv does not read pip's configuration: the same links and indexes
            command += ["--find-links", "/opt/wheels"] if Path("/opt/wheels").is_dir() else []
        load_before = os.getloadavg()
        start = time.perf_counter()
        if name == "upgraded":
            subprocess.run(
                [fill["pip"], "install", "-q", "--upgrade", "pip"], cwd=folder, env=env, check=True
            )
        log = folder.parent / "install.log"
        with log.open("w") as out:
            try:
                done = subprocess.run(
                    command,
                    cwd=folder,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
                status: str | int = done.returncode
            except subprocess.TimeoutExpired:
                status = "timeout"
        seconds = time.perf_counter() - start
        result: dict[str, Any] = {
            "variant": name,
            "what": WHAT[name],
            "pip": pip_version,
            "status": status,
            "seconds": round(seconds, 1),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        }
        text = log.read_text(errors="replace")
        result["transformers_releases_tried"] = text.count("Downloading transformers-")
        if status == 0:
            result["venv_mb"] = size_mb(venv)
            result["biggest_mb"] = biggest(venv)
        return result
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


def tool_venv() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="shopmind-lock-tools-"))
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    subprocess.run([str(folder / "bin/pip"), "install", "-q", *TOOLS_PIN], check=True)
    return folder


def lock_times(tools: Path) -> dict[str, float]:
    """Seconds each tool takes to resolve pyproject.toml (with the test extra) into pins."""
    out: dict[str, float] = {}
    links = ["--find-links", "/opt/wheels"] if Path("/opt/wheels").is_dir() else []
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "uv pip compile": [
                str(tools / "bin/uv"),
                "pip",
                "compile",
                "pyproject.toml",
                "--extra",
                "test",
                "-q",
                "-o",
                f"{tmp}/uv.txt",
                *links,
            ],
            "pip-compile (pip-tools)": [
                str(tools / "bin/pip-compile"),
                "pyproject.toml",
                "--extra",
                "test",
                "-q",
                "--no-emit-find-links",
                "-o",
                f"{tmp}/piptools.txt",
                "--cache-dir",
                f"{tmp}/cache",
            ],
        }
        env = {**os.environ, "UV_CACHE_DIR": f"{tmp}/cache", "PIP_CACHE_DIR": f"{tmp}/cache"}
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
            out[name] = round(time.perf_counter() - start, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default="lock,lock-test,bounds,upgraded,uv")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--before", default=None, help="git ref of the pyproject for 'before'")
    parser.add_argument("--lock-tools", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    if "before" in names and args.before is None:
        parser.error("--variants before needs --before REF (the commit without the bounds)")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "install.json"
    payload: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    payload["machine"] = machine_summary()
    runs = payload.setdefault("runs", {})
    tools = tool_venv() if (args.lock_tools or "uv" in names) else None
    try:
        if args.lock_tools and tools is not None:
            payload["lock_seconds"] = lock_times(tools)
            print("lock:", payload["lock_seconds"])
        for name in names:
            result = one_variant(name, args.timeout, args.before, tools and tools / "bin/uv")
            print(json.dumps(result))
            runs[name] = result
    finally:
        if tools is not None:
            shutil.rmtree(tools, ignore_errors=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    write_markdown(payload)


def write_markdown(payload: dict[str, Any]) -> None:
    lines = [
        "# Installing shopmind on a fresh machine",
        "",
        f"Machine: {payload['machine']}. Each run: a copy of the project in a new folder, a new "
        "venv (`python3 -m venv`), an empty pip download cache; PyPI over the network, torch's "
        "CPU wheel from the machine's disk. `benchmarks/install.py`.",
        "",
        "| variant | pip | result | seconds | transformers releases tried | venv "
        "| load before → after |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for run in payload["runs"].values():
        result = "ok" if run["status"] == 0 else str(run["status"])
        venv = f"{run['venv_mb'] / 1024:.2f} GB" if "venv_mb" in run else "–"
        load = f"{run['load_before'][0]} → {run['load_after'][0]}"
        lines.append(
            f"| {run['what']} | {run['pip']} | {result} | {run['seconds']} | "
            f"{run['transformers_releases_tried']} | {venv} | {load} |"
        )
    if "lock_seconds" in payload:
        lines += ["", "Regenerating the lock (`pyproject.toml` → pins, test extra included):", ""]
        lines += [f"- {tool}: {s} s" for tool, s in payload["lock_seconds"].items()]
    with_sizes = [r for r in payload["runs"].values() if "biggest_mb" in r]
    if with_sizes:
        run = max(with_sizes, key=lambda r: r["venv_mb"])
        lines += ["", f"What takes the space ({run['variant']} venv, MB):", ""]
        lines += ["| package | MB |", "| --- | ---: |"]
        lines += [f"| {name} | {mb:.0f} |" for name, mb in run["biggest_mb"]]
    lines += ["", "Load: 1-minute load averages of the 2 cores.", ""]
    (RESULTS / "install.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
