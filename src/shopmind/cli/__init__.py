"""The `shopmind` command line: Typer commands grouped by job.

- :mod:`.data`: generate, import, stats, export-user, delete-user
- :mod:`.evaluate`: evaluate
- :mod:`.service`: train, bundles, serve
- :mod:`.demo`: demo
- :mod:`.answers`: profile, segments, audience

This module holds the app, its consoles and what the commands share: the ``--store`` and
``--home`` options and the checks of options made before any work starts. Commands print
through ``shopmind.cli.console`` and ``shopmind.cli.err``, looked up when they run.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from shopmind import __version__
from shopmind.cli._flags import App
from shopmind.config import HOME_ENV, OLD_STORE_ENV, STORE_ENV, data_home, store_url_from_env

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

app = App(
    name="shopmind",
    help="E-commerce recommendations driven by a language model.",
    no_args_is_help=True,
    add_completion=False,
)

console = Console()
err = Console(stderr=True)

#: ``--store`` and ``--home``: every command that touches data takes both, worded once here.
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar=STORE_ENV,
        help="Store URL: sqlite:///path.sqlite or postgresql+psycopg://user@host/db "
        "(default: shopmind.sqlite in the home, see --home).",
    ),
]
HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar=HOME_ENV,
        help="The shopmind home: the folder of the default SQLite store, bundles/ and caches "
        "(default: ~/.shopmind).",
    ),
]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
    )
    if os.environ.get(STORE_ENV) and os.environ.get(OLD_STORE_ENV):
        store_url_from_env()  # says the old name is ignored (--store reads STORE_ENV itself)


@app.command()
def version() -> None:
    """Print the shopmind version."""
    console.print(__version__)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; returns the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def using_home(home: Path | None) -> Iterator[None]:
    """Run a command with ``home`` as the shopmind home (its default store, bundles and
    caches); None leaves the environment's (else ~/.shopmind)."""
    before = os.environ.get(HOME_ENV)
    if home is not None:
        os.environ[HOME_ENV] = str(home.expanduser().resolve())
    try:
        yield
    finally:
        if home is not None:
            if before is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = before


def home_folder() -> Path:
    """The shopmind home in use (created if need be), or a one-line error saying why not."""
    try:
        return data_home()
    except OSError as exc:
        raise fail(str(exc)) from exc


@contextmanager
def open_store(url: str | None) -> Iterator[Store]:
    """The Store at ``url`` (default: the home's), or a one-line error naming the problem."""
    from shopmind.catalog.store import Store, StoreError

    try:
        store = Store(url)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    try:
        yield store
    finally:
        store.close()


def model_names(models: str, option: str = "--models") -> list[str]:
    """The comma-separated model names, checked before any work starts."""
    from shopmind.models.registry import model_names as known

    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [name for name in names if name not in known()]
    if unknown or not names:
        what = f"unknown model(s) {', '.join(unknown)}" if unknown else "no model named"
        raise fail(f"{option} {models!r}: {what}; choose from {', '.join(known())}")
    return names


def cutoffs(k: str) -> tuple[int, ...]:
    """The comma-separated cutoffs of ``--k``, checked before any work starts."""
    try:
        ks = tuple(int(x) for x in k.split(","))
    except ValueError:
        ks = ()
    if not ks or min(ks) < 1:
        raise fail(f"--k {k!r}: give positive cutoffs separated by commas, e.g. 10,50")
    return ks


def parse_duration(text: str, option: str) -> float:
    """Seconds from "90", "90s", "20m" or "1h"; a clear error naming the option otherwise."""
    raw = text.strip().lower()
    scale = {"s": 1.0, "m": 60.0, "h": 3600.0}.get(raw[-1:])
    number = raw[:-1] if scale is not None else raw
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise fail(f"{option} {text!r}: give a duration such as 90s, 20m or 1h")
    return seconds


def run() -> None:  # pragma: no cover - console entry for `python -m shopmind`
    sys.exit(app())


# The commands register themselves on `app` when their modules are imported.
from shopmind.cli import answers, data, demo, evaluate, service  # noqa: E402

__all__ = ["answers", "app", "data", "demo", "evaluate", "service"]
