"""The service's settings: one object, read from ``SHOPMIND_*`` environment variables."""

from __future__ import annotations

import hmac
import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shopmind.config import OLD_STORE_ENV, data_home, default_store_url, store_url_from_env

Keys = Annotated[list[str], NoDecode]


class ServeSettings(BaseSettings):
    """Where the data is, who may call what, and how big a request may be.

    Keys come from ``SHOPMIND_READ_KEYS``, ``SHOPMIND_INGEST_KEYS`` and ``SHOPMIND_ADMIN_KEYS``
    (comma-separated; one key may be listed under several): each list grants its scope
    (:mod:`shopmind.serve.auth`). With no key at all the API runs open, which ``shopmind serve``
    allows only on a loopback address.
    """

    # forbid: a misspelt setting passed in code fails at once (unknown variables are ignored).
    model_config = SettingsConfigDict(env_prefix="SHOPMIND_", extra="forbid")

    #: The Store URL (``SHOPMIND_STORE``, as ``--store``; default: the home's SQLite file).
    store: str | None = None
    #: The shopmind home holding ``bundles/`` (default: $SHOPMIND_HOME, else ~/.shopmind).
    home: Path | None = None
    #: Keys with the ``read`` scope: recommendations, similar items, the catalogue, stats.
    read_keys: Keys = Field(default_factory=list)
    #: Keys with the ``ingest`` scope: posting events only (a storefront's tracking script).
    ingest_keys: Keys = Field(default_factory=list)
    #: Keys with the ``admin`` scope: everything (shoppers' data, writes, bundles).
    admin_keys: Keys = Field(default_factory=list)
    #: Rows per batch request (items, users, events) at most; past it: 413.
    max_batch: int = Field(default=1_000, ge=1)
    #: Request body size at most, in bytes; past it: 413.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1_024)
    #: Items per answer at most (``k`` is at most 1000 in any case).
    max_k: int = Field(default=100, ge=1, le=1000)
    #: The address ``shopmind serve`` binds (an open API is refused off loopback).
    host: str = "127.0.0.1"
    port: int = 8000
    #: Bundles kept on disk after a retrain.
    keep_bundles: int = Field(default=5, ge=1)
    #: Every this many seconds a process catches up with what others changed: the active
    #: bundle, items posted or deleted (0: never; right for one process and no other writer).
    follow_seconds: float = Field(default=2.0, ge=0.0)
    #: Retrain on a schedule: every this many hours after the newest bundle (0: never).
    retrain_every_hours: float = Field(default=0.0, ge=0.0)
    #: Retrain once this many new behaviour events arrived since the newest bundle's
    #: snapshot (0: never).
    retrain_after_events: int = Field(default=0, ge=0)
    #: A retrained bundle is activated only when its validation NDCG@10 is at least this
    #: share below the active one's (0.05: may be at most 5% lower); else it is kept inactive.
    retrain_tolerance: float = Field(default=0.05, ge=0.0, le=1.0)
    #: The online metrics' attribution window: a cart or purchase up to this many hours
    #: after an impression of the item counts for it.
    attribution_hours: float = Field(default=24.0, gt=0.0, le=24 * 90)

    @model_validator(mode="before")
    @classmethod
    def _old_store_name(cls, data: Any) -> Any:
        """The store URL's deprecated name still works for now, with a warning."""
        if isinstance(data, dict) and data.get("store") is None and os.environ.get(OLD_STORE_ENV):
            return {**data, "store": store_url_from_env()}
        return data

    @field_validator("read_keys", "ingest_keys", "admin_keys", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def is_open(self) -> bool:
        """True when no key is configured: every endpoint is public (any one key, even an
        ingest key alone, closes every scoped endpoint to callers without a key)."""
        return not (self.read_keys or self.ingest_keys or self.admin_keys)

    def scopes_of(self, key: str) -> frozenset[str]:
        """The scopes the lists grant ``key`` (compared in constant time with every key)."""
        lists = (("read", self.read_keys), ("ingest", self.ingest_keys))
        granted = {scope for scope, keys in (*lists, ("admin", self.admin_keys)) if _in(key, keys)}
        return frozenset(granted)

    def resolved_home(self) -> Path:
        return self.home if self.home is not None else data_home()

    def resolved_store_url(self) -> str:
        if self.store:
            return self.store
        if self.home is not None:
            return f"sqlite:///{self.home / 'shopmind.sqlite'}"
        return default_store_url()


def _in(key: str, keys: list[str]) -> bool:
    # Every configured key is compared, in constant time: no early exit to time.
    found = False
    for known in keys:
        found |= hmac.compare_digest(key.encode(), known.encode())
    return found


def is_loopback(host: str) -> bool:
    """True for localhost / 127.0.0.0/8 / ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
