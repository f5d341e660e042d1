"""Retrain jobs: one at a time per shopmind home, recorded in ``<home>/jobs``, each trained in
a process of its own.

- **One at a time.** Starting a job takes a file lock (``jobs/retrain.lock``) that the job
  holds until it ends; asking for a retrain while one runs — from any server process of this
  home — answers with the running job instead of starting another (:meth:`RetrainJobs.start`).
- **Crash-recovered.** A job's record (``jobs/<id>.json``) names the process running it (pid
  and host). The kernel drops the lock when that process dies however it dies, so a record
  still "running" while nobody holds the lock is a job that died: it is marked ``failed``
  with the reason when read (:meth:`RetrainJobs.get`) or when a service starts
  (:meth:`RetrainJobs.recover`).
- **Its own process.** The fitting runs in a child process (``python -m
  shopmind.training.jobs``) on one core (:data:`RETRAIN_THREADS`) at a lower CPU priority
  (:data:`RETRAIN_NICE`), so a retrain does not take the interpreter lock, or the cores
  first, from the requests a server answers; the child ends with the process that started
  it (:func:`shopmind.supervision.die_with_parent`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from shopmind.config import OLD_STORE_ENV, STORE_ENV
from shopmind.files import atomic_write
from shopmind.supervision import alive
from shopmind.training.config import TrainConfig

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: one process per home there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: The CPU priority (nice value added) of the process a retrain fits in, unless
#: ``SHOPMIND_RETRAIN_NICE`` says otherwise (0: the same as the server's). At 5 it gets about
#: a third of the CPU a server process gets when both want more than there is. A retrain an
#: erasure waits for runs at 0: the erasure's bound is its training time.
RETRAIN_NICE = 5
NICE_ENV = "SHOPMIND_RETRAIN_NICE"
#: Threads the training process's numerical libraries use (OpenMP, BLAS), unless their own
#: variables say otherwise: one, so a retrain takes one core and leaves the rest to serving
#: (more threads than free cores spin: on a busy 2-core machine a retrain took 118 s with
#: two threads and 66 s with one).
RETRAIN_THREADS = 1
_THREAD_ENVS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Statuses of a job that has ended.
FINAL = ("done", "failed")
_HOST = socket.gethostname()
#: The pid of the process that started a training process, passed on to it.
_PARENT_ENV = "_SHOPMIND_JOB_PARENT"


class RetrainJobs:
    """The retrain jobs of one shopmind home."""

    def __init__(self, home: Path) -> None:
        self.folder = home / "jobs"
        self._lock_path = self.folder / "retrain.lock"
        self._records = threading.Lock()
        self._children: set[subprocess.Popen[str]] = set()

    # --- starting one ---------------------------------------------------------------------

    def start(
        self, run: Callable[[str], dict[str, Any]], after: Callable[[], None] | None = None
    ) -> tuple[str, bool]:
        """Start ``run(job)`` in a thread holding the retrain lock, unless a job holds it.

        Returns the job id and whether it was started now (False: the one already running).
        ``run``'s result is merged into the job's record when it is done; ``after`` is called
        once the lock is released.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(50):
            handle = self._try_lock()
            if handle is not None:
                break
            running = self._current()
            if running is not None:
                return running, False
            time.sleep(0.02)  # held for a moment by a process recovering a dead job
        else:
            raise RuntimeError(f"{self._lock_path} is held, but names no running job")
        job = uuid.uuid4().hex[:12]
        record = {"job": job, "status": "running", "started": _now(), "pid": os.getpid()}
        try:
            # The pointer first: a running record is never older than the pointer to it.
            atomic_write(self.folder / "current", job)
            self._write(job, {**record, "host": _HOST})
        except BaseException:
            _unlock(handle)
            raise
        thread = threading.Thread(
            target=self._run, args=(job, handle, run, after), name=f"retrain-{job}", daemon=True
        )
        thread.start()
        return job, True

    def _run(
        self,
        job: str,
        handle: IO[bytes],
        run: Callable[[str], dict[str, Any]],
        after: Callable[[], None] | None,
    ) -> None:
        try:
            result = run(job)
            self.update(job, status="done", finished=_now(), **result)
        except Exception as exc:  # the job reports it; the running engine is untouched
            log.exception("retrain job %s failed", job)
            self.update(job, status="failed", error=f"{type(exc).__name__}: {exc}", finished=_now())
        finally:
            _unlock(handle)
        if after is not None:
            try:
                after()
            except Exception:
                log.exception("after retrain job %s", job)

    # --- the records ----------------------------------------------------------------------

    def get(self, job: str) -> dict[str, Any]:
        """A job's record (started by any process); KeyError when unknown. A job whose
        process died is marked failed first."""
        record = self._read(job)
        if record.get("status") not in FINAL:
            record = self._recover(job) or record
        return record

    def recover(self) -> list[str]:
        """Mark failed every job whose process died (a service calls it when it starts)."""
        if not self.folder.exists():
            return []
        failed = []
        for path in sorted(self.folder.glob("*.json")):
            job = path.stem
            try:
                if self._read(job).get("status") not in FINAL and self._recover(job):
                    failed.append(job)
            except (KeyError, ValueError):
                continue
        return failed

    def update(self, job: str, **fields: Any) -> None:
        with self._records:
            self._write(job, {**self._read(job), **fields})

    def _recover(self, job: str) -> dict[str, Any] | None:
        """If the job's process died, mark it failed: when another job has started since
        (only the newest can run), or when no process holds the lock."""
        if self._pointer() != job:
            return self._mark_dead(job)
        handle = self._try_lock()
        if handle is None:
            return None  # it is running
        try:
            return self._mark_dead(job)
        finally:
            _unlock(handle)

    def _mark_dead(self, job: str) -> dict[str, Any]:
        with self._records:
            record = self._read(job)  # again: it may have ended just now
            if record.get("status") in FINAL:
                return record
            where = f"pid {record.get('pid', '?')} on {record.get('host', '?')}"
            gone = record.get("host") == _HOST and not alive(record.get("pid"))
            reason = "was killed or crashed" if gone else "stopped without finishing it"
            record.update(
                status="failed",
                error=f"the process running this job ({where}) {reason}; start another",
                finished=_now(),
            )
            self._write(job, record)
        log.warning("retrain job %s: its process (%s) %s; marked failed", job, where, reason)
        return record

    def _pointer(self) -> str | None:
        try:
            return (self.folder / "current").read_text().strip()
        except OSError:
            return None

    def _current(self) -> str | None:
        job = self._pointer()
        try:
            record = self._read(job or "")
        except (KeyError, ValueError):
            return None
        return job if record.get("status") not in FINAL else None

    def _read(self, job: str) -> dict[str, Any]:
        path = self.folder / f"{job}.json"
        if not job.isalnum() or not path.exists():
            raise KeyError(job)
        record: dict[str, Any] = json.loads(path.read_text())
        return record

    def _write(self, job: str, record: dict[str, Any]) -> None:
        atomic_write(self.folder / f"{job}.json", json.dumps(record))

    def _try_lock(self) -> IO[bytes] | None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = self._lock_path.open("ab")
        if fcntl is None:
            return handle
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    # --- the training process -------------------------------------------------------------

    def train_in_child(
        self, job: str, store_url: str, home: Path, config: TrainConfig, *, urgent: bool = False
    ) -> str:
        """Fit ``config`` into a new bundle (not activated) in a child process; its version.

        ``urgent`` (an erasure waits for it) trains at the server's own priority.
        """
        with _spec(config) as spec:
            env = {**os.environ, STORE_ENV: store_url, _PARENT_ENV: str(os.getpid())}
            env.pop(OLD_STORE_ENV, None)
            if urgent:
                env[NICE_ENV] = "0"
            for name in _THREAD_ENVS:
                env.setdefault(name, str(RETRAIN_THREADS))
            command = [sys.executable, "-m", "shopmind.training.jobs", "--home", str(home)]
            command += ["--config", str(spec)]
            with tempfile.TemporaryFile("w+") as errors:
                child = subprocess.Popen(
                    command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
                )
                self._children.add(child)
                try:
                    self.update(job, child_pid=child.pid)
                    out, _ = child.communicate()
                finally:
                    self._children.discard(child)
                errors.seek(0)
                tail = errors.read()[-2_000:].strip()
        if child.returncode < 0:
            raise RuntimeError(f"the training process was stopped (signal {-child.returncode})")
        if child.returncode != 0:
            last = tail.splitlines()[-1] if tail else f"exit status {child.returncode}"
            raise RuntimeError(f"the training process failed: {last}")
        return str(json.loads(out.strip().splitlines()[-1])["bundle"])

    def stop_children(self) -> None:
        """End the training processes this object started (the service is stopping)."""
        for child in list(self._children):
            child.terminate()


def _unlock(handle: IO[bytes]) -> None:
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def _spec(config: TrainConfig) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix="shopmind-retrain-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(config.model_dump_json())
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    """The training process: fit the config into a bundle, print ``{"bundle": version}``."""
    from shopmind.catalog.store import Store
    from shopmind.supervision import die_with_parent
    from shopmind.training.train import train

    parser = argparse.ArgumentParser(prog="python -m shopmind.training.jobs")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    parent = os.environ.get(_PARENT_ENV, "")
    if parent.isdigit():
        die_with_parent(int(parent), sig=signal.SIGTERM)
    nice = os.environ.get(NICE_ENV, "").strip()
    os.nice(int(nice) if nice.lstrip("-").isdigit() else RETRAIN_NICE)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = TrainConfig.model_validate_json(args.config.read_text())
    try:
        with Store(os.environ[STORE_ENV]) as store:
            bundle = train(store, config, home=args.home, activate=False)
    except Exception as exc:
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        raise SystemExit(1) from None
    sys.stdout.write(json.dumps({"bundle": bundle.version}) + "\n")


if __name__ == "__main__":
    main()
