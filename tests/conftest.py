"""Shared fixtures."""

from __future__ import annotations

# -- PostgreSQL: a throwaway server the tests start themselves ---------------------------------
#
# `postgres_server` (session) runs initdb + pg_ctl in a temporary directory on 127.0.0.1 and a
# free port; `postgres_url` (per test) gives the URL of an emptied database on it.
# Without the PostgreSQL binaries the tests are skipped, except under CI=true where that is a
# failure. As root the server runs as the `postgres` user (PostgreSQL refuses to run as root).
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shopmind.catalog.store import Store

_INSTALL_HINT = "install it with: apt-get install postgresql"


@pytest.fixture(scope="session", autouse=True)
def shopmind_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session gets its own shopmind home: nothing lands in ~/.shopmind.

    The embedding cache and exported encoders live there too, so they are shared by the
    session's tests (as they are by a shop's retrains).
    """
    home = tmp_path_factory.mktemp("shopmind-home")
    before = os.environ.get("SHOPMIND_HOME")
    os.environ["SHOPMIND_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("SHOPMIND_HOME", None)
    else:
        os.environ["SHOPMIND_HOME"] = before


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL cluster."""

    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set and PostgreSQL tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def _pg_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> tuple[list[str], int | None]:
    """The command prefix that runs PostgreSQL tools as a non-root user, and that user's uid."""
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        _missing("running as root and there is no `postgres` user to run the server as")
        raise  # unreachable: _missing raises
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if runuser:
        return [runuser, "-u", "postgres", "--"], uid
    return ["su", "-s", "/bin/sh", "-c", '"$0" "$@"', "--", "postgres"], uid


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(
            f"{what} failed ({' '.join(cmd)}):\n{done.stdout}\n{done.stderr}", pytrace=False
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server in a temporary directory, stopped at the end of the session."""
    bindir = _pg_bindir()
    if bindir is None:
        _missing(
            f"initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin; {_INSTALL_HINT}"
        )
    assert bindir is not None
    prefix, uid = _as_server_user()
    # Not under pytest's tmp_path: that is private to root and the server user must reach it.
    root = Path(tempfile.mkdtemp(prefix="shopmind-pg-"))
    data, log = root / "data", root / "server.log"
    if uid is not None:
        os.chown(root, uid, -1)
    started = False
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        _run([*prefix, *initdb, "--encoding=UTF8", "--no-locale", "--no-sync"], "initdb")
        port = _free_port()
        options = (
            f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
        _run([*pg_ctl, "-o", options, "-l", str(log), "-w", "-t", "60", "start"], "pg_ctl start")
        started = True
        yield PostgresServer(host="127.0.0.1", port=port, user="postgres")
    finally:
        if started:
            subprocess.run(
                [*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, check=False
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of an empty database on the test server (emptied afresh for every test)."""
    import psycopg

    # One database, its schema dropped and re-created per test: ~10x faster than CREATE DATABASE.
    name = "shopmind_test"
    server = f"host={postgres_server.host} port={postgres_server.port} user=postgres"
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            admin.execute(f'CREATE DATABASE "{name}"')
        # Connections a failed test left open would hold locks on the old tables.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
    with psycopg.connect(f"{server} dbname={name}", autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return postgres_server.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    with Store(url) as opened:
        yield opened


@pytest.fixture
def unisrec_toy(tmp_path: Path) -> Path:
    """A tiny UniSRec/RecBole split folder: U0 buys A0..A4, U1 buys A2 A1 A0.

    The train rows list a user's prefixes newest first, as the real files do.
    """
    folder = tmp_path / "toy"
    folder.mkdir()
    head = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    (folder / "Toy.train.inter").write_text(head + "0\t0 1\t2\n0\t0\t1\n")
    (folder / "Toy.valid.inter").write_text(head + "0\t0 1 2\t3\n1\t2\t1\n")
    (folder / "Toy.test.inter").write_text(head + "0\t0 1 2 3\t4\n1\t2 1\t0\n")
    (folder / "Toy.item2index").write_text("".join(f"A{k}\t{k}\n" for k in range(5)))
    (folder / "Toy.user2index").write_text("U0\t0\nU1\t1\n")
    (folder / "Toy.text").write_text(
        "item_id:token\ttext:token_seq\n"
        + "".join(f"A{k}\tThing {k}. Cat. Brand.\n" for k in range(5))
    )
    return folder
