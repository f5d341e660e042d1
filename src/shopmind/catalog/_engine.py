"""Opening the Store's database: URL checks, engine setup per backend, readable errors."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: one process per store file there
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

#: How long a SQLite writer waits for the write lock (another writer's transaction) before
#: giving up with a StoreError.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: How long a PostgreSQL connection attempt may take unless the URL says otherwise.
POSTGRES_CONNECT_TIMEOUT_S = 10

_URL_HELP = (
    "use sqlite:///path/to/shop.sqlite or postgresql+psycopg://user:password@host:5432/dbname"
)


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message names the URL and the fix."""


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by ``***`` (safe to log and show)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def parse_url(url: str) -> URL:
    """Parse and normalise a store URL; ``postgresql://`` means the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"cannot read the store URL {mask_url(url)!r}: {_URL_HELP}") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store URL {mask_url(parsed)!r}: the store runs on SQLite or PostgreSQL, "
            f"not {backend!r}; {_URL_HELP}"
        )
    if backend == "sqlite" and parsed.get_driver_name() != "pysqlite":
        raise StoreError(
            f"store URL {mask_url(parsed)!r}: only the built-in SQLite driver is supported; "
            "write the URL as sqlite:///path/to/shop.sqlite"
        )
    return parsed


def open_engine(url: URL) -> Engine:
    """An engine for a parsed URL, set up for its backend (the database is not touched yet)."""
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return _postgres_engine(url)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"store URL {mask_url(url)!r}: the database driver {url.drivername!r} is not "
            f"installed ({exc}); install the PostgreSQL driver with "
            "pip install 'psycopg[binary]' and use postgresql+psycopg://..."
        ) from exc


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or str(url.database).startswith("file:")


def _sqlite_engine(url: URL) -> Engine:
    kwargs: dict[str, Any] = {}
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if _is_memory(url):
        # One shared connection, or every checkout would see a fresh empty database.
        kwargs["poolclass"] = StaticPool
        connect_args["check_same_thread"] = False
    else:
        path = Path(str(url.database)).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"store URL {mask_url(url)!r}: cannot create the directory {path.parent} "
                f"({exc.strerror or exc}); choose a writable location"
            ) from exc
        url = url.set(database=str(path))
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's BEGIN (below) own transactions: pysqlite's implicit ones do not
    # cover every statement, so a rollback could otherwise leave writes behind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Deleted rows are overwritten with zeros, not just unlinked (erasure, see erasures).
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # A write takes SQLite's write lock at BEGIN: it never fails half-way for want of it.
    write = connection.get_execution_options().get("shopmind_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def writer_lock(url: URL) -> WriterLock:
    """The lock a SQLite file's writers take before their transaction (a no-op elsewhere).

    SQLite has one writer at a time. Left to itself, a writer that finds the lock taken
    polls for it, sleeping up to 100 ms between tries, so under contention some writers
    wait seconds while newcomers get in first. Writers queue here instead: first come
    first served within a process, and in turn across processes (file locks on
    ``<database>-lock`` and ``<database>-lock-queue``), and each one holds SQLite's lock
    only for its own short transaction.
    """
    if url.get_backend_name() != "sqlite" or _is_memory(url):
        return WriterLock(None)
    database = Path(str(url.database)).expanduser()
    return WriterLock(database.with_name(database.name + "-lock"))


class WriterLock:
    """First come, first served among this process's threads; a file lock across processes
    (none at all without a file: PostgreSQL has row locks, an in-memory store one process)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._held = False
        self._file: IO[bytes] | None = None
        self._queue: IO[bytes] | None = None

    @property
    def serializes(self) -> bool:
        """Whether writers take turns here (a SQLite file)."""
        return self._path is not None

    def __call__(self) -> AbstractContextManager[None]:
        """``with lock():`` holds it."""
        return nullcontext() if self._path is None else self._held_lock()

    def close(self) -> None:
        for handle in (self._file, self._queue):
            if handle is not None:
                handle.close()
        self._file = self._queue = None

    @contextmanager
    def _held_lock(self) -> Iterator[None]:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        self._acquire(deadline)
        try:
            self._lock_file()
        except BaseException:
            self._release()
            raise
        try:
            yield
        finally:
            if fcntl is not None and self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._release()

    def _acquire(self, deadline: float) -> None:
        with self._mutex:
            if not self._held and not self._waiting:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        if turn.acquire(timeout=max(deadline - time.monotonic(), 0)):
            return  # the releaser handed the lock over
        with self._mutex:
            try:
                self._waiting.remove(turn)
            except ValueError:
                return  # handed over just as the wait ended: it is ours
        raise self._busy()

    def _release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()  # straight to the next in line
            else:
                self._held = False

    def _lock_file(self) -> None:
        # A turnstile: a process waits for the lock while holding the queue lock, so the
        # process that just let go cannot take it straight back (it queues behind), and
        # processes take turns. The kernel wakes a waiter the moment the lock is free.
        # Only one thread per process gets here (the in-process turn comes first).
        if fcntl is None or self._path is None:
            return
        if self._file is None:
            self._file = self._path.open("ab")
            self._queue = self._path.with_name(self._path.name + "-queue").open("ab")
        assert self._queue is not None
        fcntl.flock(self._queue, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._queue, fcntl.LOCK_UN)

    def _busy(self) -> StoreError:
        database = str(self._path).removesuffix("-lock")
        return StoreError(
            f"store {database}: another writer held the "
            f"write lock for {SQLITE_BUSY_TIMEOUT_MS / 1000:.0f} s; check for a stuck process "
            "writing to this file (an import, a second server), or move to PostgreSQL for many "
            "concurrent writers"
        )


def _postgres_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _fix(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return (
            "check that the directory is writable, that the file is a shopmind SQLite "
            "database, and that no other program holds a long write lock on it"
        )
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    return (
        f"check the PostgreSQL server is running and reachable at {where}, and that the "
        f"user, password and database {url.database!r} are right (create it with: "
        f"createdb {url.database or 'DBNAME'})"
    )


@contextmanager
def database_errors(url: URL) -> Iterator[None]:
    """Turn driver errors about reaching or opening the database into a :class:`StoreError`."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"store {mask_url(url)!r}: {reason}; {_fix(url)}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated or "not a database" in str(exc.orig):
            reason = str(exc.orig).strip().splitlines()[0]
            raise StoreError(f"store {mask_url(url)!r}: {reason}; {_fix(url)}") from exc
        raise
