"""The schema's bounds: every time inside one configurable window, numbers finite and in
range, text a database stores; the same rule for the API and the importers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shopmind.catalog.bounds import MAX_ID_LENGTH, time_window
from shopmind.catalog.formats import read_benchmark
from shopmind.catalog.importers import import_file
from shopmind.catalog.schema import Event, Item, User, bounded_time, parse_timestamp
from shopmind.catalog.store import Store
from shopmind.synthetic import SyntheticConfig, generate

#: Times the issue sent, and others no shop has: each is refused, naming the accepted range.
FAR_OFF = [
    "9999-12-31T23:59:59-23:59",  # year 10000 in UTC
    "0001-01-01T00:00:00+23:59",  # year 0 in UTC
    "3000-01-01",
    "1989-12-31T23:59:59Z",
    1e20,
    1e300,
    -1,
    253_402_300_800_000,  # the first millisecond of the year 10000
]
NOT_TIMES: list[Any] = [True, False, math.nan, math.inf, -math.inf, "tomorrow", [], {}]


def _event(**fields: Any) -> Event:
    return Event(id="e", user_id="u", item_id="i", type="view", **fields)


@pytest.mark.parametrize("value", FAR_OFF)
def test_far_past_and_future_times_are_refused_saying_the_range(value: Any) -> None:
    with pytest.raises(
        ValueError, match="outside the accepted time range: from 1990-01-01T00:00:00Z"
    ):
        bounded_time(value)
    for build in (
        lambda: _event(timestamp=value),
        lambda: Item(id="i", created_at=value),
        lambda: User(id="u", created_at=value),
    ):
        with pytest.raises(ValidationError, match="1 day past the current time"):
            build()


@pytest.mark.parametrize("value", NOT_TIMES)
def test_booleans_nan_infinities_and_words_are_not_times(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _event(timestamp=value)
    assert [e["loc"] for e in caught.value.errors()] == [("timestamp",)]
    with pytest.raises(ValueError):
        parse_timestamp(value)


def test_times_inside_the_window_are_kept_and_given_in_utc() -> None:
    now = datetime.now(UTC)
    assert bounded_time("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert bounded_time(1_700_000_000) == bounded_time(1_700_000_000_000)
    assert bounded_time("1990-01-01T00:00:00Z") == datetime(1990, 1, 1, tzinfo=UTC)
    soon = now + timedelta(hours=23)  # a clock a little ahead is fine
    assert _event(timestamp=soon).timestamp == soon
    with pytest.raises(ValidationError):
        _event(timestamp=now + timedelta(days=2))


def test_the_window_is_set_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_EARLIEST_TIME", "2020-01-01")
    monkeypatch.setenv("SHOPMIND_MAX_FUTURE_SECONDS", "0")
    assert time_window().earliest == datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="from 2020-01-01T00:00:00Z"):
        _event(timestamp="2019-06-01")
    with pytest.raises(ValidationError, match="0 seconds past the current time"):
        _event(timestamp=datetime.now(UTC) + timedelta(minutes=5))
    monkeypatch.setenv("SHOPMIND_EARLIEST_TIME", "last tuesday")
    with pytest.raises(ValueError, match="SHOPMIND_EARLIEST_TIME"):
        time_window()
    monkeypatch.setenv("SHOPMIND_EARLIEST_TIME", "1990-01-01")
    monkeypatch.setenv("SHOPMIND_MAX_FUTURE_SECONDS", "-5")
    with pytest.raises(ValueError, match="SHOPMIND_MAX_FUTURE_SECONDS"):
        time_window()


def test_the_synthetic_shop_and_the_benchmark_formats_pass(unisrec_toy: Path) -> None:
    """Their times are their own (2018-01-01 on for benchmarks): inside the default window."""
    shop = generate(SyntheticConfig(seed=3, n_items=160, n_users=20, n_events=300))
    assert all(Event.model_validate(e.model_dump()) for e in shop.iter_events())
    assert all(Item.model_validate(i.model_dump()) for i in shop.items)
    assert all(User.model_validate(u.model_dump()) for u in shop.users)
    data = read_benchmark(unisrec_toy)
    assert len(list(data.iter_events())) == len(data.events["id"])
    assert all(Item.model_validate(i.model_dump()) for i in data.items)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Item(id="i", price=1e300), "price"),
        (lambda: Item(id="i", price=math.nan), "price"),
        (lambda: Item(id="i", attributes={"weight": math.inf}), "attributes.weight"),
        (lambda: Item(id="i", title="a\x00b"), "title"),
        (lambda: Item(id="i", brand="\ud800"), "brand"),
        (lambda: Item(id="x" * (MAX_ID_LENGTH + 1)), "id"),
        (lambda: User(id="u", attributes={"tier": math.nan}), "attributes.tier"),
        (lambda: _event(timestamp="2024-01-01", value=1e300), "value"),
        (lambda: _event(timestamp="2024-01-01", value=math.nan), "value"),
        (lambda: _event(timestamp="2024-01-01", context={"x": math.nan}), "context"),
        (lambda: _event(timestamp="2024-01-01", context={"x": "\x00"}), "context"),
        (
            lambda: _event(
                timestamp="2024-01-01", context={"x": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}
            ),
            "context",
        ),
    ],
)
def test_numbers_are_finite_and_in_range_and_text_is_storable(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    assert field in {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


def test_an_import_reports_far_off_times_as_row_errors_saying_the_range(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "id,user_id,item_id,type,timestamp\n"
        "e1,u1,i1,view,2024-05-01T12:00:00Z\n"
        "e2,u1,i2,view,3000-01-01\n"
        "e3,u1,i3,view,9999-12-31T23:59:59-23:59\n"
        "e4,u1,i4,view,1e300\n"
    )
    report = import_file(store, "events", path)
    assert report.rows_loaded == 1
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "timestamp"),
        (4, "timestamp"),
        (5, "timestamp"),
    ]
    assert all("from 1990-01-01T00:00:00Z" in e.reason for e in report.errors)
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "old", "created_at": "0001-01-01T00:00:00+23:59"}\n{"id": "ok"}\n')
    report = import_file(store, "items", items)
    assert [(e.line, e.field) for e in report.errors] == [(1, "created_at")]
    assert store.get_item("old") is None and store.get_item("ok") is not None
