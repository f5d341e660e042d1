"""Which bundles hold the influence of shoppers erased after their snapshot, and purging them.

A bundle's manifest records its training snapshot's mark (:class:`SnapshotMark`); the Store
logs every erasure. A bundle holds an erased shopper when the erasure came after its mark and
the shopper's first removed event was within it (:func:`shopmind.catalog.erasures.erased_since`).
Such a bundle is never activated again, and is deleted unless it is the one being served —
that one is rebuilt (``Service`` retrains) and then deleted in turn.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shopmind.bundle.store import Bundle, BundleStore
from shopmind.catalog import erasures
from shopmind.catalog.erasures import Erasure

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

log = logging.getLogger(__name__)


class HoldsErasedData(ValueError):
    """The bundle was trained on events of shoppers erased since: it may not be served."""


def erased_in(bundle: Bundle, store: Store) -> list[Erasure]:
    """The erasures whose shopper's events ``bundle`` was trained on."""
    mark = bundle.manifest.snapshot
    return erasures.erased_since(mark, erasures.after(store, mark.erasure if mark else 0))


def check_servable(bundle: Bundle, store: Store) -> None:
    """Raise :class:`HoldsErasedData` when ``bundle`` holds a shopper erased since."""
    found = erased_in(bundle, store)
    if found:
        raise HoldsErasedData(
            f"bundle {bundle.version} was trained on the events of {len(found)} shopper(s) "
            "erased since; it cannot be served again (train a new one: shopmind train)"
        )


def purge_erased(bundles: BundleStore, store: Store) -> tuple[list[str], bool]:
    """Delete every bundle but the active one that holds an erased shopper.

    Returns the versions deleted and whether the active bundle holds one too (then it must
    be rebuilt; it is deleted once another is active).
    """
    kept = bundles.bundles()
    if not kept:
        return [], False
    marks = [b.manifest.snapshot for b in kept]
    oldest = min((m.erasure if m is not None else 0) for m in marks)
    since = erasures.after(store, oldest)
    if not since:
        return [], False
    active = bundles.active_version()
    deleted, active_holds = [], False
    for bundle, mark in zip(kept, marks, strict=True):
        if not erasures.erased_since(mark, since):
            continue
        if bundle.version == active:
            active_holds = True
            continue
        try:
            bundles.remove(bundle.version)
        except KeyError:  # activated or removed by another process meanwhile
            continue
        deleted.append(bundle.version)
    if deleted:
        log.info("deleted %d bundle(s) holding erased shoppers: %s", len(deleted), deleted)
    return deleted, active_holds
