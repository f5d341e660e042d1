"""Where shopmind keeps its things on this machine, read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the directory for the default store, bundles and caches.
HOME_ENV = "SHOPMIND_HOME"
#: Environment variable holding the store URL (SQLite file or PostgreSQL server).
STORE_ENV = "SHOPMIND_STORE"


def data_home() -> Path:
    """The shopmind home directory ($SHOPMIND_HOME, else ~/.shopmind), created on demand."""
    raw = os.environ.get(HOME_ENV, "").strip()
    home = Path(raw).expanduser() if raw else Path.home() / ".shopmind"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(
            f"cannot create the shopmind home {home}: {exc.strerror or exc}; "
            f"point ${HOME_ENV} at a writable directory"
        ) from exc
    return home


def default_store_url() -> str:
    """The store URL: $SHOPMIND_STORE, else a SQLite file in :func:`data_home`."""
    url = os.environ.get(STORE_ENV, "").strip()
    if url:
        return url
    return f"sqlite:///{data_home() / 'shopmind.sqlite'}"
