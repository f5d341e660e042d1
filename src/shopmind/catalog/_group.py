"""Group commit: the event batches of concurrent requests appended in one SQLite transaction.

SQLite lets one connection write at a time. When every request thread takes its turn for
its own small transaction, each turn costs a thread hand-over (and, in Python, a wait for
the interpreter lock), and the turns, not the writing, bound how many batches land per
second. Here request threads queue their rows and wait; one writer thread per Store takes
everything queued, appends each request's rows under a savepoint of its own (so requests
land or fail one by one, and each learns how many of its events were new), commits once and
wakes them. A request is answered only after the commit: acknowledged means stored.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from shopmind.catalog._engine import SQLITE_BUSY_TIMEOUT_MS, StoreError
from shopmind.catalog._writer import EventRow, StoreWriter

log = logging.getLogger(__name__)

#: Rows one transaction takes at most (then the next group starts at once).
GROUP_ROWS = 20_000


@dataclass
class _Request:
    rows: list[EventRow]
    done: threading.Event = field(default_factory=threading.Event)
    added: int = 0
    error: BaseException | None = None


class GroupWriter:
    """Appends queued event rows for many threads, one transaction per group."""

    def __init__(self, connect: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._connect = connect
        self._queue: deque[_Request] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def append(self, rows: list[EventRow]) -> int:
        """Append ``rows`` (skipping event ids already stored) once committed; how many
        were new."""
        request = _Request(rows)
        with self._wake:
            if self._closed:
                raise StoreError("the store is closed; open a new Store")
            self._queue.append(request)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="shopmind-group-commit", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        # The writer gives up on the write lock after the busy timeout and says so here.
        if not request.done.wait(timeout=3 * SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise StoreError("the store's writer did not answer; is the database file stuck?")
        if request.error is not None:
            raise request.error
        return request.added

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            group = self._next_group()
            if group is None:
                return
            try:
                with self._connect() as conn:
                    writer = StoreWriter(conn)
                    for request in group:
                        savepoint = conn.begin_nested()
                        try:
                            request.added = writer.append_rows(request.rows)
                            savepoint.commit()
                        except Exception as exc:  # this request fails, the others land
                            savepoint.rollback()
                            request.error = exc
            except BaseException as exc:  # the commit (or the lock) failed: nothing landed
                for request in group:
                    request.error = request.error or exc
                if not isinstance(exc, Exception):
                    raise
            finally:
                for request in group:
                    request.done.set()

    def _next_group(self) -> list[_Request] | None:
        with self._wake:
            while not self._queue:
                if self._closed:
                    return None
                self._wake.wait()
            return list(_take(self._queue, GROUP_ROWS))


def _take(queue: deque[_Request], limit: int) -> Iterator[_Request]:
    rows = 0
    while queue and (rows == 0 or rows + len(queue[0].rows) <= limit):
        request = queue.popleft()
        rows += len(request.rows)
        yield request
