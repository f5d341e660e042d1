"""A whole shop from a folder: its items/users/events files, or a public benchmark folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopmind.catalog.folders import import_folder, shop_files
from shopmind.catalog.importers import ImportFailed
from shopmind.catalog.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'shop.sqlite'}") as opened:
        yield opened


def test_a_folder_of_shop_files_is_imported_file_by_file(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "items.csv").write_text("id,title,price\nP1,Kettle,20\nP2,Mug,-1\n")
    (folder / "events.jsonl").write_text(
        json.dumps(
            {"id": "e1", "user_id": "U1", "item_id": "P1", "type": "view", "timestamp": 1.7e9}
        )
        + "\n"
    )
    (folder / "notes.txt").write_text("not a shop file\n")
    assert set(shop_files(folder)) == {"items", "events"}
    done = import_folder(store, folder)
    assert done.benchmark is None
    assert [(r.kind, r.rows_read, r.rows_loaded) for r in done.reports] == [
        ("items", 2, 1),
        ("events", 1, 1),
    ]
    assert str(done.reports[0].errors[0]).startswith(f"{folder / 'items.csv'}:3: price")
    assert store.counts()["items"] == 1 and store.counts()["events"] == 1


def test_any_other_folder_is_read_as_a_benchmark_keeping_its_split(
    store: Store, unisrec_toy: Path
) -> None:
    done = import_folder(store, unisrec_toy)
    assert done.reports == [] and done.benchmark is not None
    assert (done.benchmark.name, done.benchmark.format) == ("Toy", "unisrec")
    assert (done.benchmark.items, done.benchmark.users, done.benchmark.new_events) == (5, 2, 8)
    assert import_folder(store, unisrec_toy).benchmark.new_events == 0  # type: ignore[union-attr]
    splits = {e.context["split"] for e in store.user_events("U0")}
    assert splits == {"train", "valid", "test"}


def test_a_file_or_a_folder_of_nothing_known_is_refused_naming_it(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "x.csv").write_text("id\n1\n")
    with pytest.raises(ImportFailed, match="give a folder"):
        import_folder(store, tmp_path / "x.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailed, match=r"events\.\* files and not a benchmark"):
        import_folder(store, tmp_path / "empty")
