"""Reliability under failure and load: kill -9 during ingestion, hot swaps under load, 32
concurrent writers during a retrain, and how long an erasure takes to reach what is served.

    .venv/bin/python benchmarks/reliability.py [--workdir DIR] [--parts kill,swap,erasure,writers]
        [--items 3000 --users 3000 --events 150000 --budget 2] [--rounds 4 --senders 4 --batch 50]
        [--switches 30 --swap-clients 8] [--writers 32 --writer-batch 20 --idle-seconds 10]
        [--max-seconds 600]

Every server is ``shopmind serve --workers 2`` for real, on 127.0.0.1 and a free port, with
API keys on, over the demo-size synthetic shop in a SQLite store in ``--workdir``, built and
trained once as the demo trains (its models within its 2-minute budget: a retrain repeats it),
then reused; a fresh folder spends ~2 minutes encoding the item texts. Each part starts from
that same shop (the store is restored).

- ``kill``: ``--rounds`` rounds; in each, ``--senders`` clients send batches of ``--batch``
  events with unique ids while, a few seconds in, one worker (odd rounds) or the master (even
  rounds) gets SIGKILL; the server is then restarted (a new ``shopmind serve``, which must
  find the port free). At the end every batch is read back from the SQLite file: sent,
  acknowledged, stored whole, stored in part, lost (acknowledged but not stored: must be 0) and
  duplicated (an event id stored twice: must be 0). Also: the worker processes left alive after
  the master's SIGKILL, and how long until the port was free again.
- ``swap``: ``--swap-clients`` clients ask for recommendations and similar items while the
  active bundle is switched ``--switches`` times between two bundles: non-200 answers and
  dropped connections must be 0.
- ``writers``: ``--writers`` clients (in ``--writer-processes`` processes) post event batches
  of ``--writer-batch``, first for ``--idle-seconds`` with nothing else going on, then during
  a retrain (``POST /v1/admin/retrain`` of the default models, until the job is done): p50 /
  p99 / max latency.
- ``erasure``: a shopper with purchases is deleted; the time from the acknowledged ``DELETE``
  until both workers serve a bundle trained after it, whether the older bundles were purged
  and a rollback refused, and whether the SQLite files still hold the shopper's id.

The whole run stops at ``--max-seconds`` (default 600) whatever is left. Writes
benchmarks/results/reliability.md and reliability.json with the machine and the load averages
before and after each part; a figure is only as good as the machine was quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from machine import machine_summary
from shopmind.evaluation.report import write_json
from shopmind.supervision import alive, children

HERE = Path(__file__).parent
RESULTS = HERE / "results"
READ_KEY, ADMIN_KEY = "reliability-read", "reliability-admin"
ADMIN = {"X-API-Key": ADMIN_KEY}
READ = {"X-API-Key": READ_KEY}
SHOPMIND = [sys.executable, "-c", "from shopmind.cli import app; app()"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(seconds: list[float]) -> dict[str, float | int]:
    if not seconds:
        return {"n": 0}
    ms = np.asarray(seconds) * 1000
    return {
        "n": len(seconds),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
    }


# --- processes ----------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Server:
    """``shopmind serve --workers N`` on 127.0.0.1 over the workdir's store and bundles."""

    def __init__(self, workdir: Path, port: int, workers: int = 2) -> None:
        self.workdir, self.port, self.workers = workdir, port, workers
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self, timeout: float = 180) -> float:
        """Start it and wait until every worker answers; returns the seconds it took."""
        env = {
            **os.environ,
            "SHOPMIND_READ_KEYS": READ_KEY,
            "SHOPMIND_ADMIN_KEYS": ADMIN_KEY,
            "SHOPMIND_FOLLOW_SECONDS": "1",
        }
        env.pop("SHOPMIND_STORE", None)
        logfile = self.workdir / f"serve-{self.port}-{len(self.logs)}.log"
        self.logs.append(logfile)
        command = [*SHOPMIND, "serve", "--workers", str(self.workers), "--port", str(self.port)]
        command += ["--home", str(self.workdir), "--store", store_url(self.workdir)]
        start = time.perf_counter()
        with logfile.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"shopmind serve exited: {logfile.read_text()[-2000:]}")
            started = logfile.read_text(errors="replace").count("Application startup complete")
            if started >= self.workers and self.healthy():
                return time.perf_counter() - start
            time.sleep(0.2)
        raise RuntimeError(f"shopmind serve did not start in {timeout} s: {logfile}")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def master(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> list[int]:
        # The workers are children of the master (multiprocessing spawn: the resource
        # tracker is one too, and it runs no server).
        return [p for p in children(self.master) if b"resource_tracker" not in _cmdline(p)]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@contextmanager
def serving(workdir: Path) -> Iterator[Server]:
    server = Server(workdir, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- the shop -----------------------------------------------------------------------------


def store_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'shop.sqlite'}"


def prepare(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The demo-size shop in ``workdir`` and two bundles (built once, reused later)."""
    from shopmind.bundle import BundleStore
    from shopmind.catalog.store import Store
    from shopmind.synthetic import SyntheticConfig, generate, write_to_store
    from shopmind.training.config import SERVED_MODELS, TrainConfig
    from shopmind.training.train import train

    os.environ["SHOPMIND_HOME"] = str(workdir)
    facts: dict[str, Any] = {}
    with Store(store_url(workdir)) as store:
        if store.counts()["events"] == 0:
            start = time.perf_counter()
            shop = SyntheticConfig(n_items=args.items, n_users=args.users, n_events=args.events)
            write_to_store(generate(shop), store)
            facts["shop_seconds"] = round(time.perf_counter() - start, 1)
        bundles = BundleStore(workdir)
        if bundles.active_version() is None:
            log("training the default bundle (the first run encodes the item texts)")
            start = time.perf_counter()
            # What the demo serves: its models within its budget (a retrain repeats it).
            config = TrainConfig.for_models(SERVED_MODELS, budget_seconds=args.budget * 60)
            train(store, config, home=workdir)
            facts["first_train_seconds"] = round(time.perf_counter() - start, 1)
        facts["counts"] = store.counts()
    # Every part starts from this shop (the kill and writer parts add events, the erasure
    # part deletes a shopper): the store is restored from this copy before each.
    shutil.copy(workdir / "shop.sqlite", workdir / "pristine.sqlite")
    return facts


def restore(workdir: Path) -> None:
    """The store as :func:`prepare` left it (no server may be running)."""
    for stale in workdir.glob("shop.sqlite-*"):
        stale.unlink()
    shutil.copy(workdir / "pristine.sqlite", workdir / "shop.sqlite")


def second_bundle(workdir: Path) -> str:
    """A quick other bundle to switch to (popularity and item-kNN), not activated."""
    from shopmind.catalog.store import Store
    from shopmind.training.config import TrainConfig
    from shopmind.training.train import train

    fast = TrainConfig(models={"pop": {}, "itemknn": {"neighbors": 50}}, validate_models=False)
    with Store(store_url(workdir)) as store:
        return train(store, fast, home=workdir, activate=False).version


def shop_ids(workdir: Path, n: int = 500) -> tuple[list[str], list[str]]:
    with sqlite3.connect(workdir / "shop.sqlite") as db:
        users = [r[0] for r in db.execute("SELECT id FROM users ORDER BY id LIMIT ?", (n,))]
        items = [r[0] for r in db.execute("SELECT id FROM items ORDER BY id LIMIT ?", (n,))]
    return users, items


def event_batch(
    prefix: str, size: int, users: list[str], items: list[str], n: int
) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{prefix}-{i}",
            "user_id": users[(n * 7 + i) % len(users)],
            "item_id": items[(n * 13 + i * 3) % len(items)],
            "type": "view",
        }
        for i in range(size)
    ]


# --- kill -9 while ingesting --------------------------------------------------------------


def part_kill(args: argparse.Namespace, workdir: Path, deadline: float) -> dict[str, Any]:
    users, items = shop_ids(workdir)
    server = Server(workdir, free_port())
    sent: dict[str, int] = {}
    acked: set[str] = set()
    lock = threading.Lock()
    rounds: list[dict[str, Any]] = []
    tag = f"k{int(time.time())}"
    server.start()
    try:
        for round_ in range(1, args.rounds + 1):
            if time.monotonic() > deadline:
                break
            stop = threading.Event()

            def send(
                sender: int, round_: int = round_, stop: threading.Event = stop, base: str = ""
            ) -> None:
                n = 0
                with httpx.Client(base_url=base, headers=ADMIN, timeout=30) as client:
                    while not stop.is_set():
                        n += 1
                        batch_id = f"{tag}-r{round_}-s{sender}-b{n}"
                        events = event_batch(batch_id, args.batch, users, items, n)
                        with lock:
                            sent[batch_id] = len(events)
                        try:
                            answer = client.post("/v1/events", json={"events": events})
                        except httpx.HTTPError:
                            time.sleep(0.05)  # the server is down: try the next batch
                            continue
                        if answer.status_code == 200:
                            body = answer.json()
                            if body["accepted"] + body["duplicates"] == len(events):
                                with lock:
                                    acked.add(batch_id)

            threads = [
                threading.Thread(target=send, args=(s,), kwargs={"base": server.base})
                for s in range(args.senders)
            ]
            for thread in threads:
                thread.start()
            time.sleep(args.kill_after)
            victim = "worker" if round_ % 2 else "master"
            record: dict[str, Any] = {"round": round_, "killed": victim}
            workers = server.worker_pids()
            if victim == "worker":
                os.kill(workers[0], signal.SIGKILL)
                time.sleep(args.kill_after)  # the master starts a new worker meanwhile
                stop.set()
                for thread in threads:
                    thread.join()
                server.stop()
                record["restart_seconds"] = round(server.start(), 1)
            else:
                os.kill(server.master, signal.SIGKILL)
                assert server.process is not None
                server.process.wait()
                killed_at = time.perf_counter()
                while any(alive(p) for p in workers) and time.perf_counter() - killed_at < 30:
                    time.sleep(0.05)
                record["after_master_killed"] = {
                    "workers": len(workers),
                    "still_alive": sum(alive(p) for p in workers),
                    "seconds_until_gone": round(time.perf_counter() - killed_at, 2),
                }
                while not port_free(server.port) and time.perf_counter() - killed_at < 30:
                    time.sleep(0.05)
                record["port_free_after_s"] = round(time.perf_counter() - killed_at, 2)
                stop.set()
                for thread in threads:
                    thread.join()
                for pid in workers:  # orphans the old supervision left behind
                    if alive(pid):
                        os.kill(pid, signal.SIGKILL)
                try:
                    record["restart_seconds"] = round(server.start(), 1)
                except RuntimeError as exc:
                    record["restart_error"] = str(exc)[-300:]
                    server = Server(workdir, free_port())
                    server.start()
            rounds.append(record)
            log(f"kill round {round_}: {record}")
    finally:
        server.stop()
    with sqlite3.connect(workdir / "shop.sqlite") as db:
        rows = db.execute(
            "SELECT event_id, count(*) FROM events WHERE event_id LIKE ? GROUP BY event_id",
            (f"{tag}-%",),
        ).fetchall()
    stored_per_batch: dict[str, int] = {}
    duplicated = 0
    for event_id, count in rows:
        batch_id = event_id.rsplit("-", 1)[0]
        stored_per_batch[batch_id] = stored_per_batch.get(batch_id, 0) + 1
        duplicated += count - 1
    whole = sum(1 for b, n in stored_per_batch.items() if n == sent.get(b))
    return {
        "rounds": rounds,
        "batches_sent": len(sent),
        "batches_acknowledged": len(acked),
        "batches_stored_whole": whole,
        "batches_stored_in_part": len(stored_per_batch) - whole,
        "batches_lost": sum(1 for b in acked if stored_per_batch.get(b) != sent[b]),
        "events_duplicated": duplicated,
        "stored_not_acknowledged": sum(1 for b in stored_per_batch if b not in acked),
        "batch_size": args.batch,
    }


# --- hot swaps under load -----------------------------------------------------------------


def part_swap(args: argparse.Namespace, workdir: Path, deadline: float) -> dict[str, Any]:
    from shopmind.bundle import BundleStore

    active = BundleStore(workdir).active_version()
    assert active is not None
    other = second_bundle(workdir)
    users, items = shop_ids(workdir)
    statuses: dict[int, int] = {}
    failures: list[str] = []
    bundles: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(worker: int) -> None:
        n = 0
        while not stop.is_set():
            # A new connection now and then, so both workers are asked.
            with httpx.Client(base_url=server.base, headers=READ, timeout=60) as client:
                for _ in range(20):
                    if stop.is_set():
                        break
                    n += 1
                    path = (
                        f"/v1/users/{users[(worker * 37 + n) % len(users)]}/recommendations"
                        if n % 2
                        else f"/v1/items/{items[(worker * 11 + n) % len(items)]}/similar"
                    )
                    try:
                        answer = client.get(path)
                        version = answer.json().get("bundle")
                    except (httpx.HTTPError, ValueError) as exc:
                        with lock:
                            failures.append(repr(exc))
                        continue
                    with lock:
                        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                        bundles[version] = bundles.get(version, 0) + 1

    switch_seconds: list[float] = []
    with serving(workdir) as server:
        threads = [
            threading.Thread(target=client_loop, args=(w,)) for w in range(args.swap_clients)
        ]
        for thread in threads:
            thread.start()
        with httpx.Client(base_url=server.base, headers=ADMIN, timeout=120) as admin:
            for n in range(args.switches):
                if time.monotonic() > deadline:
                    break
                target = other if n % 2 == 0 else active
                start = time.perf_counter()
                answer = admin.post(f"/v1/admin/bundles/{target}/activate")
                switch_seconds.append(time.perf_counter() - start)
                if answer.status_code != 200:
                    failures.append(f"activate {target}: {answer.status_code} {answer.text[:200]}")
                time.sleep(args.swap_pause)
            admin.post(f"/v1/admin/bundles/{active}/activate")
        stop.set()
        for thread in threads:
            thread.join()
    answered = sum(statuses.values())
    return {
        "switches": len(switch_seconds),
        "clients": args.swap_clients,
        "requests": answered + len(failures),
        "non_200": answered - statuses.get(200, 0),
        "dropped": len(failures),
        "failures": failures[:5],
        "answers_by_bundle": bundles,
        "activate_seconds": percentiles(switch_seconds),
    }


# --- concurrent writers during a retrain --------------------------------------------------


PHASES = ("idle", "during_retrain")


def writer_process(
    base: str,
    first: int,
    threads: int,
    batch: int,
    ids: tuple[list[str], list[str]],
    tag: str,
    phase: Any,
    stop: Any,
    out: Any,
) -> None:
    """``threads`` writers in a process of their own (a Python client's threads share one
    interpreter lock: measured from one process, the client's own waits would be counted)."""
    users, items = ids
    latencies: dict[str, list[float]] = {name: [] for name in PHASES}
    errors = dict.fromkeys(PHASES, 0)
    lock = threading.Lock()

    def writer(w: int) -> None:
        n = 0
        with httpx.Client(base_url=base, headers=ADMIN, timeout=120) as client:
            while not stop.is_set():
                n += 1
                events = event_batch(f"{tag}-{w}-{n}", batch, users, items, n + w)
                name = PHASES[phase.value]
                start = time.perf_counter()
                try:
                    ok = client.post("/v1/events", json={"events": events}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - start
                with lock:
                    if ok:
                        latencies[name].append(took)
                    else:
                        errors[name] += 1

    running = [threading.Thread(target=writer, args=(first + w,)) for w in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    out.put((latencies, errors))


def part_writers(args: argparse.Namespace, workdir: Path, deadline: float) -> dict[str, Any]:
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    phase, stop, results = spawn.Value("i", 0), spawn.Event(), spawn.Queue()
    tag = f"w{int(time.time())}"
    out: dict[str, Any] = {
        "writers": args.writers,
        "batch": args.writer_batch,
        "client_processes": args.writer_processes,
    }
    with serving(workdir) as server:
        per = -(-args.writers // args.writer_processes)
        clients = [
            spawn.Process(
                target=writer_process,
                args=(
                    server.base,
                    first,
                    min(per, args.writers - first),
                    args.writer_batch,
                    shop_ids(workdir),
                    tag,
                    phase,
                    stop,
                    results,
                ),
            )
            for first in range(0, args.writers, per)
        ]
        for client in clients:
            client.start()
        time.sleep(args.idle_seconds)
        with httpx.Client(base_url=server.base, headers=ADMIN, timeout=60) as admin:
            phase.value = 1
            started = time.perf_counter()
            job = admin.post("/v1/admin/retrain").json()["job"]
            status = "running"
            while status in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.5)
                status = admin.get(f"/v1/admin/retrain/{job}").json()["status"]
            took = round(time.perf_counter() - started, 1)
            out["retrain_job"] = {"status": status, "seconds": took}
        stop.set()
        gathered = [results.get(timeout=180) for _ in clients]
        for client in clients:
            client.join(timeout=60)
    for name in PHASES:
        latencies = [x for got, _ in gathered for x in got[name]]
        seconds = args.idle_seconds if name == "idle" else out["retrain_job"]["seconds"]
        out[name] = {
            **percentiles(latencies),
            "errors": sum(errors[name] for _, errors in gathered),
            "events_per_s": round(len(latencies) * args.writer_batch / max(seconds, 1e-9)),
        }
    return out


# --- the erasure bound --------------------------------------------------------------------


def part_erasure(args: argparse.Namespace, workdir: Path, deadline: float) -> dict[str, Any]:
    with sqlite3.connect(workdir / "shop.sqlite") as db:
        user, purchases = db.execute(
            "SELECT user_id, count(*) AS n FROM events WHERE type = 'purchase' "
            "GROUP BY user_id ORDER BY n DESC LIMIT 1"
        ).fetchone()
    out: dict[str, Any] = {"purchases": purchases}
    with (
        serving(workdir) as server,
        httpx.Client(base_url=server.base, headers=ADMIN, timeout=60) as admin,
    ):
        # Serve a fresh bundle of the default models (what the erasure's retrain trains
        # again), so that the older ones are there for a rollback to refuse.
        pristine = admin.get("/v1/bundles").json()["active"]
        job = admin.post("/v1/admin/retrain").json()["job"]
        while admin.get(f"/v1/admin/retrain/{job}").json()["status"] == "running":
            time.sleep(0.5)
        out["retrain_before"] = admin.get(f"/v1/admin/retrain/{job}").json()
        time.sleep(3)  # the other worker follows
        out["older_bundle"] = pristine
        before = admin.get("/v1/bundles").json()
        old = before["active"]
        start = time.perf_counter()
        answer = admin.delete(f"/v1/users/{user}")
        acked = time.perf_counter()
        out["delete_ms"] = round((acked - start) * 1000, 1)
        out["delete_status"] = answer.status_code
        first = None
        while time.monotonic() < deadline:
            seen = set()
            for _ in range(6):  # fresh connections reach both workers
                try:
                    seen.add(httpx.get(f"{server.base}/health", timeout=10).json()["bundle"])
                except httpx.HTTPError:
                    seen.add(None)
            if first is None and seen - {old, None}:
                first = time.perf_counter()
            if not seen & {old, None}:
                break
            time.sleep(0.25)
        done = time.perf_counter()
        out["seconds_until_first_worker_serves_new_bundle"] = (
            None if first is None else round(first - acked, 1)
        )
        out["seconds_until_every_worker_does"] = round(done - acked, 1)
        after = admin.get("/v1/bundles").json()
        out["bundles_before"] = len(before["bundles"])
        out["bundles_after"] = len(after["bundles"])
        out["old_bundles_left"] = sorted(
            b["version"] for b in after["bundles"] if b["version"] <= old
        )
        out["rollback_status"] = admin.post("/v1/admin/rollback").status_code
    needle = user.encode()
    out["id_in_sqlite_files"] = {
        path.name: needle in path.read_bytes()
        for path in sorted(workdir.glob("shop.sqlite*"))
        if path.is_file()
    }
    return out


# --- the report ---------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Reliability: kill -9, hot swaps, concurrent writers, erasure",
        "",
        f"Machine: {results['machine']}. Shop: {results['shop'].get('counts')}. "
        "Every server: `shopmind serve --workers 2` on 127.0.0.1, API keys on, SQLite store.",
        "",
    ]
    parts = results["parts"]
    if "kill" in parts:
        k = parts["kill"]
        lines += [
            "## kill -9 while ingesting",
            "",
            f"{len(k['rounds'])} rounds, {k['batch_size']} events per batch.",
            "",
            "| batches sent | acknowledged | stored whole | stored in part | lost | events "
            "duplicated | stored, not acknowledged |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {k['batches_sent']} | {k['batches_acknowledged']} | {k['batches_stored_whole']} "
            f"| {k['batches_stored_in_part']} | **{k['batches_lost']}** | "
            f"**{k['events_duplicated']}** | {k['stored_not_acknowledged']} |",
            "",
            "| round | killed | workers left alive | until gone s | port free after s "
            "| restart s |",
            "| ---: | --- | ---: | ---: | ---: | ---: |",
        ]
        for r in k["rounds"]:
            gone = r.get("after_master_killed", {})
            restart = r.get("restart_seconds", r.get("restart_error", "-"))
            lines.append(
                f"| {r['round']} | {r['killed']} | {gone.get('still_alive', '-')} | "
                f"{gone.get('seconds_until_gone', '-')} | {r.get('port_free_after_s', '-')} "
                f"| {restart} |"
            )
        lines += [f"\nLoad: {k['load']}", ""]
    if "swap" in parts:
        s = parts["swap"]
        lines += [
            "## Hot swaps under load",
            "",
            "| switches | clients | requests | non-200 | dropped | activate p50 / max ms |",
            "| ---: | ---: | ---: | ---: | ---: | --- |",
            f"| {s['switches']} | {s['clients']} | {s['requests']} | **{s['non_200']}** | "
            f"**{s['dropped']}** | {s['activate_seconds'].get('p50_ms')} / "
            f"{s['activate_seconds'].get('max_ms')} |",
            f"\nLoad: {s['load']}",
            "",
        ]
    if "writers" in parts:
        w = parts["writers"]
        lines += [
            f"## {w['writers']} concurrent writers ({w['batch']} events per batch)",
            "",
            "| phase | batches | p50 ms | p99 ms | max ms | errors | events/s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name in ("idle", "during_retrain"):
            p = w[name]
            lines.append(
                f"| {name} | {p['n']} | {p.get('p50_ms')} | {p.get('p99_ms')} | "
                f"{p.get('max_ms')} | {p['errors']} | {p['events_per_s']} |"
            )
        lines += [f"\nRetrain job: {w['retrain_job']}. Load: {w['load']}", ""]
    if "erasure" in parts:
        e = parts["erasure"]
        lines += [
            "## Erasure reaching the models",
            "",
            f"A shopper with {e['purchases']} purchases deleted (`DELETE` answered "
            f"{e['delete_status']} in {e['delete_ms']} ms).",
            "",
            f"- first worker serves a bundle trained without them after "
            f"**{e['seconds_until_first_worker_serves_new_bundle']} s**, every worker after "
            f"**{e['seconds_until_every_worker_does']} s**;",
            f"- bundles on disk {e['bundles_before']} → {e['bundles_after']}; older bundles "
            f"left: {e['old_bundles_left'] or 'none'}; rollback answered "
            f"{e['rollback_status']};",
            f"- the shopper's id in the SQLite files: {e['id_in_sqlite_files']}.",
            f"\nLoad: {e['load']}",
            "",
        ]
    lines.append(f"Total {results['seconds']} s. Load: 1-minute averages before → after each part.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--parts", default="kill,swap,erasure,writers")
    parser.add_argument("--items", type=int, default=3_000)
    parser.add_argument("--users", type=int, default=3_000)
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument(
        "--budget", type=float, default=2.0, help="training minutes (the demo's: 2)"
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--kill-after", type=float, default=4.0, help="seconds into a round")
    parser.add_argument("--switches", type=int, default=30)
    parser.add_argument("--swap-clients", type=int, default=8)
    parser.add_argument("--swap-pause", type=float, default=0.5)
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--writer-batch", type=int, default=20)
    parser.add_argument("--writer-processes", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--output", type=Path, default=RESULTS / "reliability")
    args = parser.parse_args()
    begin = time.perf_counter()
    deadline = time.monotonic() + args.max_seconds
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shopmind-reliability-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"workdir {workdir}")
    results: dict[str, Any] = {"machine": machine_summary(), "args": vars(args), "parts": {}}
    results["shop"] = prepare(args, workdir)
    runs = {"kill": part_kill, "swap": part_swap, "writers": part_writers, "erasure": part_erasure}
    for name in args.parts.split(","):
        if time.monotonic() > deadline:
            log(f"out of time: {name} not run")
            break
        restore(workdir)
        before = load()
        log(f"part {name}")
        results["parts"][name] = runs[name](args, workdir, deadline)
        results["parts"][name]["load"] = f"{before[0]} → {load()[0]}"
        log(f"{name}: {json.dumps(results['parts'][name])[:600]}")
    results["seconds"] = round(time.perf_counter() - begin, 1)
    earlier = args.output.with_suffix(".json")
    if earlier.exists():  # a re-run of some parts keeps the others' last figures
        kept = json.loads(earlier.read_text()).get("parts", {})
        results["parts"] = {**kept, **results["parts"]}
    write_json(args.output.with_suffix(".json"), results)
    args.output.with_suffix(".md").write_text(markdown(results))
    log(f"wrote {args.output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
