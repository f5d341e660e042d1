"""Importing CSV, JSON Lines and Parquet files: validation, error report, transactions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopmind.catalog.importers import ImportFailed, ImportReport, RowError, import_file
from shopmind.catalog.schema import Event, Item, User
from shopmind.catalog.store import Store, StoreWriter

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    keys = list(dict.fromkeys(key for record in records for key in record))
    pq.write_table(pa.table({key: [record.get(key) for record in records] for key in keys}), path)
    return path


ITEMS = [
    {
        "id": "i1",
        "title": "Kettle",
        "category_path": "Home > Kitchen",
        "price": 20.5,
        "colour": "red",
    },
    {"id": "i2", "title": "Mug", "category_path": '["Home", "Kitchen", "Cups"]', "price": None},
]
EXPECTED_ITEMS = [
    Item(
        id="i1",
        title="Kettle",
        category_path=("Home", "Kitchen"),
        price=20.5,
        attributes={"colour": "red"},
    ),
    Item(id="i2", title="Mug", category_path=("Home", "Kitchen", "Cups")),
]


def items_file(tmp_path: Path, fmt: str) -> Path:
    if fmt == "csv":
        return write(
            tmp_path / "items.csv",
            "id,title,category_path,price,colour\n"
            'i1,Kettle,Home > Kitchen,20.5,red\ni2,Mug,"[""Home"", ""Kitchen"", ""Cups""]",,\n',
        )
    if fmt == "jsonl":
        return write_jsonl(tmp_path / "items.jsonl", ITEMS)
    return write_parquet(tmp_path / "items.parquet", ITEMS)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_items_from_each_format(store: Store, tmp_path: Path, fmt: str) -> None:
    report = import_file(store, "items", items_file(tmp_path, fmt))
    assert report.ok and (report.rows_read, report.rows_loaded) == (2, 2)
    assert list(store.iter_items()) == EXPECTED_ITEMS


USERS = [{"id": "u1", "country": "FR", "created_at": "2024-05-01T12:00:00Z"}, {"id": "u2"}]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_users_from_each_format(store: Store, tmp_path: Path, fmt: str) -> None:
    if fmt == "csv":
        path = write(
            tmp_path / "users.csv", "id,country,created_at\nu1,FR,2024-05-01T12:00:00Z\nu2,,\n"
        )
    elif fmt == "jsonl":
        path = write_jsonl(tmp_path / "users.jsonl", USERS)
    else:
        path = write_parquet(tmp_path / "users.parquet", USERS)
    report = import_file(store, "users", path)
    assert report.ok and report.rows_loaded == 2
    assert store.get_user("u1") == User(id="u1", attributes={"country": "FR"}, created_at=T0)
    assert store.get_user("u2") == User(id="u2")


EVENTS = [
    {
        "id": "e1",
        "user_id": "u1",
        "item_id": "i1",
        "type": "view",
        "timestamp": 1714564800,
        "page": "home",
    },
    {
        "id": "e2",
        "user_id": "u1",
        "item_id": None,
        "type": "search",
        "query": "red kettle",
        "timestamp": 1714564801,
    },
    {
        "id": "e3",
        "user_id": "u2",
        "item_id": "i2",
        "type": "rating",
        "value": 4.0,
        "timestamp": 1714564802,
    },
]


def events_file(tmp_path: Path, fmt: str) -> Path:
    if fmt == "csv":
        return write(
            tmp_path / "events.csv",
            "id,user_id,item_id,type,query,value,timestamp,page\n"
            "e1,u1,i1,view,,,1714564800,home\n"
            "e2,u1,,search,red kettle,,1714564801,\n"
            "e3,u2,i2,rating,,4.0,1714564802,\n",
        )
    if fmt == "jsonl":
        return write_jsonl(tmp_path / "events.jsonl", EVENTS)
    return write_parquet(tmp_path / "events.parquet", EVENTS)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_events_from_each_format_and_reimport_adds_nothing(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    path = events_file(tmp_path, fmt)
    report = import_file(store, "events", path)
    assert report.ok and (report.rows_read, report.rows_loaded) == (3, 3)
    view, search = store.user_events("u1")
    assert (view.item_id, view.context, view.timestamp) == ("i1", {"page": "home"}, T0)
    assert (search.type, search.item_id, search.query) == ("search", None, "red kettle")
    assert store.user_events("u2")[0].value == 4.0
    again = import_file(store, "events", path)
    assert again.ok and (again.rows_read, again.rows_loaded) == (3, 0)
    assert store.counts()["events"] == 3


def test_mapping_renames_columns_and_keeps_the_rest(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "shop.csv", "sku,name,cost,id\nA-1,Lamp,9.99,legacy-7\n")
    report = import_file(
        store, "items", path, mapping={"id": "sku", "title": "name", "price": "cost"}
    )
    assert report.ok
    assert store.get_item("A-1") == Item(
        id="A-1", title="Lamp", price=9.99, attributes={"id": "legacy-7"}
    )


def test_mapping_must_name_known_fields_and_present_columns(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "shop.csv", "sku,name\nA-1,Lamp\n")
    with pytest.raises(ImportFailed, match=r"unknown field.*colour"):
        import_file(store, "items", path, mapping={"id": "sku", "colour": "name"})
    with pytest.raises(ImportFailed, match="--map id=SKU names a column the file does not have"):
        import_file(store, "items", path, mapping={"id": "SKU"})


def test_missing_required_column_names_file_field_and_fix(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "item_id,title\ni1,Kettle\n")
    with pytest.raises(ImportFailed) as caught:
        import_file(store, "items", path)
    message = str(caught.value)
    assert str(path) in message and "'id'" in message and "--map id=item_id" in message
    events = write_jsonl(tmp_path / "events.jsonl", [{"id": "e1", "user_id": "u1", "type": "view"}])
    with pytest.raises(ImportFailed, match=r"'timestamp'.*--map timestamp="):
        import_file(store, "events", events)


def test_csv_error_report_has_exact_lines(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "events.csv",
        "id,user_id,item_id,type,timestamp\n"  # line 1
        'e1,u1,i1,view,"2024-05-01\nT12:00:00Z"\n'  # lines 2-3: a quoted newline (bad time)
        "\n"  # line 4: blank
        "e2,u1,i1,teleport,1714564800\n"  # line 5: unknown type
        "e3,u1,,view,1714564800\n"  # line 6: a view needs an item
        "e4,u1,i1,view\n"  # line 7: a cell short
        "e5,u1,i1,view,1714564800\n",  # line 8: good
    )
    report = import_file(store, "events", path)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 1, 4)
    assert not report.ok
    lines = report.format_errors().splitlines()
    assert [e.line for e in report.errors] == [2, 5, 6, 7]
    assert lines[0].startswith(f"{path}:2: timestamp: ")
    assert lines[1].startswith(f"{path}:5: type: unknown event type 'teleport'")
    assert lines[2] == f"{path}:6: (row): a view event needs an item_id"
    assert lines[3] == f"{path}:7: (row): 4 cells, but the header has 5 columns"
    assert [e.id for e in store.user_events("u1")] == ["e5"]


def test_jsonl_error_report_has_exact_lines(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "items.jsonl",
        '{"id": "i1", "price": 3}\n'
        "\n"
        "{not json\n"
        "[1, 2]\n"
        '{"id": "i4", "price": "cheap", "colour": ["red"]}\n'
        '{"id": 5, "price": -1}\n',
    )
    report = import_file(store, "items", path)
    assert [str(e) for e in report.errors] == [
        f"{path}:3: (row): not valid JSON (Expecting property name enclosed in double quotes "
        "at column 2)",
        f"{path}:4: (row): expected a JSON object, got list",
        f"{path}:5: price: Input should be a valid number, unable to parse string as a number "
        "(got 'cheap')",
        f"{path}:5: colour: expected text, a number or true/false, got list",
        f"{path}:6: price: price must be a finite number >= 0, got -1.0",
    ]
    assert report.rows_loaded == 1 and store.get_item("i1") == Item(id="i1", price=3.0)


def test_parquet_errors_name_the_row_number(store: Store, tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path / "users.parquet",
        [{"id": 1, "created_at": "yesterday"}, {"id": 2, "created_at": None}],
    )
    report = import_file(store, "users", path)
    assert [(e.line, e.field) for e in report.errors] == [(1, "created_at")]
    assert store.get_user("2") == User(id="2")  # numeric ids become text
    assert store.get_user("1") is None


def test_strict_rejects_the_whole_file(store: Store, tmp_path: Path) -> None:
    rows = "".join(f"i{n},Item {n},{n}\n" for n in range(12_000))
    path = write(tmp_path / "items.csv", "id,title,price\n" + rows + "bad,Bad,-5\n" + rows)
    report = import_file(store, "items", path, strict=True)
    assert report.errors == [
        RowError(str(path), 12_002, "price", "price must be a finite number >= 0, got -5.0")
    ]
    assert (report.rows_read, report.rows_loaded) == (24_001, 0)
    assert store.counts()["items"] == 0
    lenient = import_file(store, "items", path)
    assert (lenient.rows_loaded, store.counts()["items"]) == (24_000, 12_000)


def test_a_crash_midway_writes_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "".join(f"e{n},u1,i1,view,{1714564800 + n}\n" for n in range(12_000))
    path = write(tmp_path / "events.csv", "id,user_id,item_id,type,timestamp\n" + rows)
    calls = []
    append = StoreWriter.append_events

    def crash_on_second_chunk(self: StoreWriter, events: list[Event]) -> int:
        calls.append(len(events))
        if len(calls) == 2:
            raise OSError("disk on fire")
        return append(self, events)

    monkeypatch.setattr(StoreWriter, "append_events", crash_on_second_chunk)
    with pytest.raises(OSError, match="disk on fire"):
        import_file(store, "events", path)
    assert calls == [5_000, 5_000]
    assert store.counts()["events"] == 0


def test_bytes_that_are_not_utf8_fail_their_own_row(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(b"id,city\nu1,Z\xc3\xbcrich\nu2,Z\xfcrich\nu3,Paris\n")
    report = import_file(store, "users", path)
    assert [str(e) for e in report.errors] == [
        f"{path}:3: (row): not UTF-8 text; re-save the file as UTF-8"
    ]
    assert [u.attributes["city"] for u in store.iter_users()] == ["Zürich", "Paris"]
    jsonl = tmp_path / "users.jsonl"
    jsonl.write_bytes(b'{"id": "u4"}\n{"id": "u5", "city": "Z\xfcrich"}\n')
    assert [e.line for e in import_file(store, "users", jsonl).errors] == [2]


def test_format_comes_from_the_suffix_or_the_argument(store: Store, tmp_path: Path) -> None:
    tsv = write(tmp_path / "users.tsv", "id\tcountry\nu1\tFR\n")
    assert import_file(store, "users", tsv).rows_loaded == 1
    odd = write(tmp_path / "users.txt", "id;tier\nu2;gold\n")
    with pytest.raises(ImportFailed, match="cannot tell the format"):
        import_file(store, "users", odd)
    assert import_file(store, "users", odd, format="csv", delimiter=";").ok
    assert store.get_user("u2") == User(id="u2", attributes={"tier": "gold"})
    with pytest.raises(ImportFailed, match="no such file"):
        import_file(store, "users", tmp_path / "absent.csv")


def test_explicit_attribute_and_context_columns_merge_with_unknown_ones(
    store: Store, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "events.jsonl",
        [
            {
                "id": "e1",
                "user_id": "u1",
                "item_id": "i1",
                "type": "view",
                "timestamp": "2024-05-01T12:00:00Z",
                "context": {"split": "train"},
                "device": "phone",
            }
        ],
    )
    assert import_file(store, "events", path).ok
    assert store.user_events("u1")[0].context == {"device": "phone", "split": "train"}
    assert next(store.scan_events())["split"].tolist() == ["train"]


def test_format_errors_truncates() -> None:
    report = ImportReport(
        file="f.csv", kind="items", errors=[RowError("f.csv", n, "id", "empty") for n in range(5)]
    )
    assert (
        report.format_errors(max=2)
        == "f.csv:0: id: empty\nf.csv:1: id: empty\n... and 3 more errors"
    )
