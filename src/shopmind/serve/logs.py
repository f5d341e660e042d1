"""Shopper ids kept out of the access log.

uvicorn logs every request's path, and the API's paths name shoppers
(``/v1/users/alice@example.com/recommendations``, the storefront's ``?user=``). A filter on
the ``uvicorn.access`` logger replaces each such id with ``~`` and a keyed hash of it (the
store's salt, so every worker writes the same hash for the same shopper and requests can
still be told apart, but the id cannot be read back or guessed from a list of emails without
the store).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from shopmind.catalog.erasures import subject_hash

ACCESS_LOGGER = "uvicorn.access"
#: The id after ``/users/`` in a path, and a ``user=`` query parameter.
_IDS = re.compile(r"(/users/|[?&]user=)([^/?&#\s\"]+)")


class RedactShoppers(logging.Filter):
    """Replace shopper ids in a log record's message and arguments with keyed hashes."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._key = key

    def redact(self, text: str) -> str:
        return _IDS.sub(lambda m: m.group(1) + self._hash(m.group(2)), text)

    def _hash(self, given: str) -> str:
        # The same shopper spelt %40 or @ is one shopper.
        return "~" + subject_hash(self._key, unquote(given), "log")[:16]

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.redact(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        return True


def redact_access_log(key: bytes) -> RedactShoppers:
    """Put the filter on uvicorn's access logger (replacing one put there before)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    for old in [f for f in logger.filters if isinstance(f, RedactShoppers)]:
        logger.removeFilter(old)
    found = RedactShoppers(key)
    logger.addFilter(found)
    return found


__all__ = ["ACCESS_LOGGER", "RedactShoppers", "redact_access_log"]
