"""Readers of the public benchmark formats, on tiny folders written by the test."""

import json
from pathlib import Path

import numpy as np
import pytest

from shopmind.catalog.formats import FormatError, detect_format, read_benchmark
from shopmind.data import Dataset, as_given


def test_unisrec_rebuilds_sequences_and_keeps_the_given_split(unisrec_toy: Path) -> None:
    tmp_path = unisrec_toy
    assert detect_format(tmp_path) == "unisrec"
    data = read_benchmark(tmp_path)
    ds = Dataset.from_columns(data.items, data.users, data.events)
    assert ds.items.ids() == [f"A{k}" for k in range(5)]  # file order kept
    assert ds.items.ids(ds.histories([ds.users.index("U0")]).row(0)) == [
        "A0",
        "A1",
        "A2",
        "A3",
        "A4",
    ]
    split = as_given(ds)
    u0 = int(np.flatnonzero(split.test.users == ds.users.index("U0"))[0])
    assert ds.items.ids(split.test.targets[u0].indices) == ["A4"]
    assert ds.items.ids(split.valid.targets[u0].indices) == ["A3"]
    assert split.train.n_events == 3 + 1  # U0: A0 A1 A2, U1: A2
    assert data.items[1].title.startswith("Thing 1")


def test_unisrec_joins_the_rich_catalogue_by_title(unisrec_toy: Path) -> None:
    rich = unisrec_toy / "rich"
    rich.mkdir()
    records = {
        "0": {
            "title": "Thing 1.",
            "description": "A fine thing.",
            "brand": "Acme",
            "categories": "Top,Mid,Leaf",
        },
        "1": {
            "title": "Thing 9.",
            "description": "Not in the split.",
            "brand": "X",
            "categories": "A",
        },
    }
    (rich / "Toy.item.json").write_text(json.dumps(records))
    items = read_benchmark(unisrec_toy).items
    assert items[1].title == "Thing 1."
    assert items[1].description == "A fine thing." and items[1].brand == "Acme"
    assert items[1].category_path == ("Top", "Mid", "Leaf")
    # No rich record: the whole UniSRec text stays the title.
    assert items[0].title == "Thing 0. Cat. Brand." and items[0].category_path == ()


def test_unisrec_rows_that_do_not_chain_are_refused(unisrec_toy: Path) -> None:
    tmp_path = unisrec_toy
    head = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    (tmp_path / "Toy.valid.inter").write_text(head + "0\t0 4 2\t3\n1\t2\t1\n")
    with pytest.raises(FormatError, match="do not chain"):
        read_benchmark(tmp_path)


def test_lcrec_json_reads_rich_items(tmp_path: Path) -> None:
    items = {
        str(k): {"title": f"T{k}", "description": "d", "brand": "B", "categories": "Root,Mid,Leaf"}
        for k in range(4)
    }
    (tmp_path / "Toy.item.json").write_text(json.dumps(items))
    (tmp_path / "Toy.inter.json").write_text(json.dumps({"0": [0, 1, 2, 3], "1": [3, 2]}))
    data = read_benchmark(tmp_path)
    assert data.items[0].category_path == ("Root", "Mid", "Leaf")
    split = as_given(Dataset.from_columns(data.items, data.users, data.events))
    assert len(split.test) == 1  # user 1 has too few items to be evaluated


def test_s3rec_reads_sequences_and_attributes(tmp_path: Path) -> None:
    (tmp_path / "Toy.txt").write_text("1 1 2 3\n2 3 2 1 4\n")
    (tmp_path / "Toy_item2attributes.json").write_text(json.dumps({"1": [5, 6]}))
    data = read_benchmark(tmp_path)
    assert [i.id for i in data.items] == ["1", "2", "3", "4"]
    assert data.items[0].attributes == {"attribute_ids": "5 6"}
    split = as_given(Dataset.from_columns(data.items, data.users, data.events))
    assert len(split.test) == 2


def test_unknown_folder_names_the_expected_files(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"\*.train.inter"):
        read_benchmark(tmp_path)
    with pytest.raises(FormatError, match="no such folder"):
        read_benchmark(tmp_path / "missing")
