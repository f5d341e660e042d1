"""Bundles and erasures: a bundle records its snapshot's mark, training that saw a shopper
erased under it trains again, and bundles holding an erased shopper are purged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shopmind.bundle import BundleStore
from shopmind.bundle.erasure import erased_in, purge_erased
from shopmind.catalog.schema import Event
from shopmind.catalog.store import Store
from shopmind.synthetic import SyntheticConfig, generate, write_to_store
from shopmind.training import train as training
from shopmind.training.config import TrainConfig

FAST = TrainConfig(models={"pop": {}, "itemknn": {"neighbors": 20}}, validate_models=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'shop.sqlite'}") as opened:
        write_to_store(
            generate(SyntheticConfig(seed=3, n_items=160, n_users=80, n_events=3_000)), opened
        )
        yield opened


def _buy(store: Store, user: str, items: list[str], tag: str) -> None:
    now = datetime.now(UTC)
    store.append_events(
        Event(id=f"{tag}-{n}", user_id=user, item_id=item, type="purchase", timestamp=now)
        for n, item in enumerate(items)
    )


def test_a_bundle_records_the_snapshot_it_was_trained_on(store: Store, tmp_path: Path) -> None:
    before = training.train(store, FAST, home=tmp_path)
    _buy(store, "late", ["i00001"], "late")  # after the snapshot: not in it
    mark = before.manifest.snapshot
    assert mark is not None and mark.erasure == 0 and mark.events_seq > 0
    store.delete_user("late")
    assert erased_in(before, store) == []  # erased, but never in this bundle
    store.delete_user("u00001")
    [erasure] = erased_in(before, store)
    assert erasure.first_seq is not None and erasure.first_seq <= mark.events_seq
    after = training.train(store, FAST, home=tmp_path)
    assert after.manifest.snapshot is not None and after.manifest.snapshot.erasure == 2
    assert erased_in(after, store) == []


def test_a_shopper_erased_while_training_ran_is_trained_out(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = training.snapshot
    calls: list[int] = []

    def snapshot_then_erase(store: Store, upto_seq: int | None = None) -> object:
        data = real(store, upto_seq)
        calls.append(data.n_events)
        if len(calls) == 1:  # the delete is acknowledged while the first training runs
            store.delete_user("u00002")
        return data

    monkeypatch.setattr(training, "snapshot", snapshot_then_erase)
    bundle = training.train(store, FAST, home=tmp_path)
    assert len(calls) == 2 and calls[1] < calls[0]  # trained again, without them
    assert BundleStore(tmp_path).versions() == [bundle.version]  # the first one is gone
    assert BundleStore(tmp_path).active_version() == bundle.version
    assert erased_in(bundle, store) == []


def test_training_gives_up_when_erasures_keep_coming(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = training.snapshot
    users = iter(f"u{n:05d}" for n in range(10, 20))

    def snapshot_then_erase(store: Store, upto_seq: int | None = None) -> object:
        data = real(store, upto_seq)
        store.delete_user(next(users))
        return data

    monkeypatch.setattr(training, "snapshot", snapshot_then_erase)
    with pytest.raises(training.ErasedDuringTraining):
        training.train(store, FAST, home=tmp_path)
    assert BundleStore(tmp_path).versions() == []


def test_purging_deletes_every_bundle_but_the_active_one_holding_an_erased_shopper(
    store: Store, tmp_path: Path
) -> None:
    first = training.train(store, FAST, home=tmp_path, activate=False).version
    _buy(store, "newcomer", ["i00003", "i00004"], "new")
    second = training.train(store, FAST, home=tmp_path, activate=False).version
    active = training.train(store, FAST, home=tmp_path).version
    bundles = BundleStore(tmp_path)
    assert purge_erased(bundles, store) == ([], False)
    store.delete_user("newcomer")  # in the second and the active bundles, not the first
    assert purge_erased(bundles, store) == ([second], True)
    assert bundles.versions() == [first, active]
    # Once another bundle is active, the old active one goes too.
    bundles.activate(first)
    assert purge_erased(bundles, store) == ([active], False)


def test_the_bundle_of_the_newer_snapshot_stays_active(store: Store, tmp_path: Path) -> None:
    older = training.train(store, FAST, home=tmp_path, activate=False)
    newer = training.train(store, FAST, home=tmp_path, activate=False)
    bundles = BundleStore(tmp_path)
    assert bundles.activate_if_newer(newer.version)
    assert not bundles.activate_if_newer(older.version)  # finished last, snapshot older
    assert bundles.active_version() == newer.version
    # train() itself activates by the same rule.
    bundles.activate(older.version)
    assert bundles.activate_if_newer(newer.version)
