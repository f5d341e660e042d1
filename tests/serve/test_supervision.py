"""`shopmind serve` as a process: its workers end with it, a busy port is a clear error, and
the access log names no shopper."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.supervision import alive, children

SHOPMIND = str(Path(sys.executable).parent / "shopmind")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def _serve(home: Path, port: int, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    env = {**os.environ, "SHOPMIND_READ_KEYS": "", "SHOPMIND_FOLLOW_SECONDS": "0.5"}
    env.pop("SHOPMIND_STORE", None)
    log = home / "serve.log"
    command = [SHOPMIND, "serve", "--port", str(port), "--home", str(home), *options]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "shopmind serve did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield server, log
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=60)


def test_the_workers_end_when_the_master_is_killed_and_the_port_is_free_again(
    tmp_path: Path,
) -> None:
    port = _free_port()
    with _serve(tmp_path, port, "--workers", "2") as (server, log):
        deadline = time.monotonic() + 60
        while log.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        workers = [p for p in children(server.pid) if b"resource_tracker" not in _cmd(p)]
        assert len(workers) == 2, workers
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        killed = time.monotonic()
        while (any(map(alive, workers)) or not _port_free(port)) and time.monotonic() < killed + 15:
            time.sleep(0.1)
        left = [pid for pid in workers if alive(pid)]
        for pid in left:  # do not leave them behind when the test fails
            os.kill(pid, signal.SIGKILL)
        assert not left, f"workers {left} outlived their master"
        assert _port_free(port)
    # And a new server can start on the port.
    with _serve(tmp_path, port) as (_, _log):
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200


def _cmd(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_serve_says_which_port_is_busy_and_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app,
            ["serve", "--port", str(port), "--home", str(tmp_path)],
            env={"SHOPMIND_READ_KEYS": ""},
        )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"port {port} on 127.0.0.1 is already in use" in text
    assert f"pid {os.getpid()}" in text  # what holds it: this test
    assert "--port" in text


def test_the_access_log_names_no_shopper(tmp_path: Path) -> None:
    port = _free_port()
    with _serve(tmp_path, port) as (_, log):
        base = f"http://127.0.0.1:{port}"
        for path in (
            "/v1/users/alice@example.com/recommendations?k=3",
            "/v1/users/alice%40example.com/events",
            "/?user=alice%40example.com",
        ):
            httpx.get(base + path)
        deadline = time.monotonic() + 10
        while log.read_text().count('"GET /') < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    text = log.read_text()
    assert "alice" not in text, text[-2000:]
    # The same shopper hashes the same however the id is spelt, so requests still group.
    hashed = {
        line.split("/v1/users/")[1].split("/")[0]
        for line in text.splitlines()
        if "/v1/users/" in line
    }
    assert len(hashed) == 1 and hashed.pop().startswith("~"), text[-2000:]
    assert "?user=~" in text
