"""Retrain jobs: one at a time across processes, failed when their process died, and the
bundle of the newest snapshot wins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from shopmind.bundle import BundleStore
from shopmind.catalog.store import Store
from shopmind.training.config import TrainConfig
from shopmind.training.jobs import RetrainJobs

Shop = Any
ClientFor = Callable[..., TestClient]
FAST = TrainConfig(models={"pop": {}, "itemknn": {"neighbors": 20}}, validate_models=False)


def _wait(api: TestClient, job: str, seconds: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        record: dict[str, Any] = api.get(f"/v1/admin/retrain/{job}").json()
        if record["status"] in ("done", "failed"):
            return record
        time.sleep(0.25)
    raise AssertionError(f"retrain job {job} still running after {seconds} s")


def test_a_second_retrain_while_one_runs_answers_with_the_same_job_in_every_process(
    own_shop: Shop, client_for: ClientFor
) -> None:
    # Two apps over one home are two server processes as far as the jobs can tell: they
    # share nothing but the files.
    with client_for(own_shop, follow_seconds=0) as a, client_for(own_shop, follow_seconds=0) as b:
        first = a.post("/v1/admin/retrain")
        again = a.post("/v1/admin/retrain")
        other = b.post("/v1/admin/retrain")
        assert first.status_code == again.status_code == other.status_code == 202
        job = first.json()["job"]
        assert again.json()["job"] == job and other.json()["job"] == job
        record = _wait(b, job)
        assert record["status"] == "done", record
        assert record["pid"] == os.getpid() and record["host"]
        # Once it is done, a retrain is a new job.
        assert a.post("/v1/admin/retrain").json()["job"] != job
    assert len(list((own_shop.home / "jobs").glob("*.json"))) == 2


def _hold_a_job(home: Path) -> tuple[subprocess.Popen[str], str]:
    """A process that starts a retrain job that never ends; returns it and the job id."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from shopmind.training.jobs import RetrainJobs\n"
        "job, _ = RetrainJobs(Path(sys.argv[1])).start(lambda job: time.sleep(600) or {})\n"
        "print(job, flush=True)\n"
        "time.sleep(600)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(home)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    return holder, holder.stdout.readline().strip()


def test_a_job_whose_process_was_killed_is_marked_failed_with_the_reason(
    own_shop: Shop, client_for: ClientFor
) -> None:
    holder, job = _hold_a_job(own_shop.home)
    try:
        with client_for(own_shop, follow_seconds=0) as api:
            # While its process lives the job runs, and a retrain answers with it.
            assert api.get(f"/v1/admin/retrain/{job}").json()["status"] == "running"
            assert api.post("/v1/admin/retrain").json()["job"] == job
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=30)
            record = api.get(f"/v1/admin/retrain/{job}").json()
            assert record["status"] == "failed", record
            assert f"pid {holder.pid}" in record["error"] and "killed" in record["error"]
            assert record["finished"]
    finally:
        holder.kill()
        holder.wait()
    # Recorded on disk, so every process reports it the same way.
    on_disk = json.loads((own_shop.home / "jobs" / f"{job}.json").read_text())
    assert on_disk["status"] == "failed"


def test_a_service_starting_marks_the_jobs_of_dead_processes_failed(own_shop: Shop) -> None:
    holder, job = _hold_a_job(own_shop.home)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert RetrainJobs(own_shop.home).recover() == [job]
    assert RetrainJobs(own_shop.home).get(job)["status"] == "failed"


def test_a_retrain_finishing_after_a_newer_one_does_not_replace_it(
    own_shop: Shop, client_for: ClientFor
) -> None:
    from shopmind.training.train import train

    with Store(own_shop.url) as store:
        slower = train(store, FAST, home=own_shop.home, activate=False).version  # older snapshot
        newer = train(store, FAST, home=own_shop.home).version
    bundles = BundleStore(own_shop.home)
    assert bundles.active_version() == newer
    # The older snapshot's bundle, finishing last, is kept but not activated...
    assert not bundles.activate_if_newer(slower)
    assert bundles.active_version() == newer
    with client_for(own_shop, follow_seconds=0) as api:
        service = api.app.state.service  # type: ignore[attr-defined]
        assert not service._activate_if_newer(slower)
        assert api.get("/health").json()["bundle"] == newer
        # ...while an explicit activation (a rollback) still may choose it.
        assert api.post(f"/v1/admin/bundles/{slower}/activate").status_code == 200
        # A retrain job's bundle replaces it: its snapshot is newer than both.
        record = _wait(api, api.post("/v1/admin/retrain").json()["job"])
        assert record["status"] == "done" and record["activated"], record
        assert api.get("/health").json()["bundle"] == record["bundle"]
