"""Where shopmind keeps its things on this machine, read from the environment."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: Environment variable naming the directory for the default store, bundles and caches.
HOME_ENV = "SHOPMIND_HOME"
#: Environment variable holding the store URL (SQLite file or PostgreSQL server); the one
#: name of the setting, as ``--store`` is its one option.
STORE_ENV = "SHOPMIND_STORE"
#: The store URL's old name: still read, with a warning naming STORE_ENV, for a transition.
OLD_STORE_ENV = "SHOPMIND_STORE_URL"


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


def store_url_from_env() -> str | None:
    """$SHOPMIND_STORE, or (deprecated, with a warning) $SHOPMIND_STORE_URL; None if neither."""
    url = os.environ.get(STORE_ENV, "").strip()
    old = os.environ.get(OLD_STORE_ENV, "").strip()
    if old and url:
        log.warning("$%s is ignored: $%s is set and names the store", OLD_STORE_ENV, STORE_ENV)
    elif old:
        log.warning(
            "$%s is deprecated and will stop working: rename it to $%s", OLD_STORE_ENV, STORE_ENV
        )
        return old
    return url or None


def default_store_url() -> str:
    """The store URL: $SHOPMIND_STORE, else a SQLite file in :func:`data_home`."""
    return store_url_from_env() or f"sqlite:///{data_home() / 'shopmind.sqlite'}"
