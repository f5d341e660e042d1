"""Progress of long batch work that shows on a terminal and in a log file alike.

On a terminal a Rich bar shows the current step and goes away when the work is done. Written
to a file or a pipe such a bar would leave nothing behind, so there every step prints a plain
line when it starts and one when it finishes, with its seconds, and a long step says how it
is getting on every ``every`` seconds: what :meth:`Steps.beat` last told, or that it is still
working.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

#: Seconds between two "still working" lines of a long step (files and pipes only).
EVERY_SECONDS = 30.0


class Heartbeat:
    """Says a message through ``say`` at most once every ``every`` seconds."""

    def __init__(
        self,
        say: Callable[[str], None],
        every: float = EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.say = say
        self.every = every
        self.clock = clock
        self.started = self.last = clock()

    def beat(self, message: str | Callable[[], str]) -> bool:
        """Say ``message`` (text, or a function making it) if ``every`` seconds have passed."""
        now = self.clock()
        if now - self.last < self.every:
            return False
        self.last = now
        self.say(message() if callable(message) else message)
        return True

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started


class Steps:
    """Named steps of one job: a transient bar on a terminal, timed plain lines elsewhere.

    ``console=None`` shows nothing. Use as a context manager; :meth:`step` starts the next
    step (finishing the one before), :meth:`advance` moves the bar, :meth:`beat` reports on
    a long step. Off a terminal a step that says nothing for ``every`` seconds gets a "still
    working" line.
    """

    def __init__(
        self,
        console: Console | None,
        total: int | None = None,
        *,
        every: float = EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.total = total
        self.every = every
        self.clock = clock
        self.plain = console is not None and not console.is_terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._current: str | None = None
        self._started = 0.0
        self._heartbeat: Heartbeat | None = None
        self._lock = threading.Lock()  # the ticker thread reads the step the caller changes
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Steps:
        if self.console is not None and not self.plain:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=self.total)
        elif self.plain:
            self._ticker = threading.Thread(target=self._tick, name="steps", daemon=True)
            self._ticker.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if kind is None:
                self._finish()
            self._current = None
        if self._bar is not None:
            self._bar.stop()

    def step(self, description: str) -> None:
        """Finish the current step, if any, and start ``description``."""
        with self._lock:
            self._finish()
            self._current, self._started = description, self.clock()
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, description=description)
            elif self.plain:
                self._say(f"{description} …")
                self._heartbeat = Heartbeat(self._say, self.every, self.clock)

    def advance(self, steps: int = 1) -> None:
        """Move the bar on (one unit of ``total``)."""
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, steps)

    def beat(self, detail: str | Callable[[], str]) -> None:
        """How a long step is getting on: in the bar, or a line at most every ``every`` s."""
        with self._lock:
            current, heartbeat = self._current, self._heartbeat
            if current is None:
                return
            if self._bar is not None and self._task is not None:
                text = detail() if callable(detail) else detail
                self._bar.update(self._task, description=f"{current}: {text}")
            elif heartbeat is not None:
                heartbeat.beat(
                    lambda: (
                        f"{current}: {detail() if callable(detail) else detail} "
                        f"({heartbeat.elapsed:.0f} s so far)"
                    )
                )

    def _tick(self) -> None:
        # Wakes often; the step's heartbeat keeps the lines ``every`` seconds apart.
        while not self._stop.wait(min(self.every / 4, 1.0)):
            self.beat("still working")

    def _finish(self) -> None:
        if self._current is not None and self.plain:
            self._say(f"{self._current}: done in {self.clock() - self._started:.1f} s")
        self._current, self._heartbeat = None, None

    def _say(self, line: str) -> None:
        assert self.console is not None
        self.console.print(line, markup=False, highlight=False)
