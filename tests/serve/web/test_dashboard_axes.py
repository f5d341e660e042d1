"""The dashboard's "Events by day" chart over event histories of several shapes, in Chromium.

Each shape is a real store (events only, no bundle) served by the real app: the chart is drawn
from what ``GET /v1/stats`` answers for it. Its axis labels must be readable (no two overlap,
all inside the chart, numbers as people write them) and days without events must read as zero.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopmind.catalog.store import Store

from .conftest import TrainedShop, serving

CHART = '[data-testid="chart-events-by-day"]'
#: Numbers as people write them: "12,345", "3.14", "0.75", "0.0123" (three significant digits at
#: most, no trailing zero), "2.5k", "3.4M" -- never "0.7500".
HUMAN_NUMBER = re.compile(
    r"^(\d{1,3}(,\d{3})*(\.\d?[1-9])?|0\.0*[1-9](\d?[1-9])?|\d{1,3}(\.[1-9])?[kMB])$"
)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _few_days() -> dict[date, int]:
    # Busy days: the y axis reaches the thousands.
    every = _days(date(2026, 3, 2), date(2026, 3, 7))
    return {d: 1_400 + 700 * (i % 3) for i, d in enumerate(every)}


def _five_months() -> dict[date, int]:
    return {d: 3 + (i * 7) % 11 for i, d in enumerate(_days(date(2025, 10, 6), date(2026, 3, 1)))}


def _two_years() -> dict[date, int]:
    # Daily events with a weekly rhythm and a few quiet days (which are zeros).
    every = _days(date(2024, 3, 1), date(2026, 2, 27))
    return {d: 2 + (d.weekday() * 3) % 8 + i // 100 for i, d in enumerate(every) if i % 37 != 5}


BURSTS = ((date(2019, 5, 6), date(2019, 5, 15)), (date(2025, 11, 3), date(2025, 11, 12)))


def _bursts() -> dict[date, int]:
    return {d: 40 + 5 * (i % 4) for a, b in BURSTS for i, d in enumerate(_days(a, b))}


SHAPES = {
    "a few days": _few_days,
    "five months": _five_months,
    "two years": _two_years,
    "bursts years apart": _bursts,
}
#: What the x-axis labels of each shape look like: dates, months or years.
LABELS = {
    "a few days": re.compile(r"^[A-Z][a-z]{2} \d{1,2}(, \d{4})?$"),
    "five months": re.compile(r"^[A-Z][a-z]{2} (\d{1,2}(, \d{4})?|\d{4})$"),
    "two years": re.compile(r"^([A-Z][a-z]{2} )?\d{4}$"),
    "bursts years apart": re.compile(r"^\d{4}$"),
}


def _store_with(path: Path, counts: dict[date, int]) -> str:
    """A store at ``path`` holding ``counts[day]`` view events on each day (spread over hours)."""
    url = f"sqlite:///{path / 'shop.sqlite'}"
    stamps: list[int] = []
    for day, n in counts.items():
        midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        stamps.extend((midnight + np.arange(n) * (86_399_000 // n)).tolist())
    n = len(stamps)
    with Store(url) as store:
        store.append_event_columns(
            {
                "id": [f"e{i}" for i in range(n)],
                "user_id": [f"u{i % 17}" for i in range(n)],
                "item_id": [f"i{i % 23}" for i in range(n)],
                "type": ["view"] * n,
                "value": [float("nan")] * n,
                "query": [None] * n,
                "timestamp_ms": stamps,
            }
        )
    return url


@pytest.fixture(scope="module", params=list(SHAPES))
def shaped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[date, int], str]]:
    """(shape, its counts per day, the URL of the app serving a store of them)."""
    shape = str(request.param)
    counts = SHAPES[shape]()
    home = tmp_path_factory.mktemp("axes")
    with serving(TrainedShop(home, _store_with(home, counts), bundle="")) as url:
        yield shape, counts, url


def _texts(page: Any, selector: str) -> list[str]:
    # SVG elements have no innerText.
    texts: list[str] = page.locator(selector).evaluate_all("ns => ns.map(n => n.textContent)")
    return texts


def _open_dashboard(page: Any, url: str) -> None:
    page.goto(url + "/dashboard")
    page.wait_for_selector('[data-testid="stats"][data-state="ready"]')


def _line(page: Any) -> list[tuple[float, float]]:
    """The points of the chart's line, in the plot's coordinates (y grows downwards)."""
    d = page.get_attribute(f'{CHART} [data-testid="line"]', "d")
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def _zero_y(page: Any) -> float:
    """The y of the plot's zero line (its lowest grid line)."""
    ys = page.locator(f"{CHART} line.grid").evaluate_all("ls => ls.map(l => l.getAttribute('y1'))")
    return max(float(y) for y in ys)


def _check_x_labels(page: Any, shape: str, first: date, last: date) -> None:
    """A few labels of the shape's kind, in order, apart, and inside the plot area."""
    selector = f'{CHART} [data-testid="x-tick"]'
    texts = _texts(page, selector)
    ticks = page.locator(selector)
    boxes = [ticks.nth(i).bounding_box() for i in range(ticks.count())]
    assert 2 <= len(boxes) <= 12, texts
    assert all(LABELS[shape].match(text) for text in texts), (shape, texts)
    for left, right in itertools.pairwise(boxes):
        assert left["x"] + left["width"] <= right["x"], f"labels overlap: {texts}"
    # The plot area spans the grid lines: the labels, the first and last too, stay within it.
    grid = page.locator(f"{CHART} line.grid").first.bounding_box()
    svg = page.locator(f'{CHART} [data-testid="plot"]').bounding_box()
    for box in boxes:
        assert grid["x"] - 0.5 <= box["x"], f"{texts} start left of the plot"
        assert box["x"] + box["width"] <= grid["x"] + grid["width"] + 0.5, f"{texts} end right"
        assert svg["y"] <= box["y"] <= box["y"] + box["height"] <= svg["y"] + svg["height"]
    values = ticks.evaluate_all("ts => ts.map(t => t.dataset.value)")
    days = [date.fromisoformat(v) for v in values]
    assert days == sorted(days) and first <= days[0] and days[-1] <= last


def _check_y_labels(page: Any, busiest: int) -> None:
    """Round numbers as people write them, from 0 to at least the busiest day."""
    texts = _texts(page, f'{CHART} [data-testid="y-tick"]')
    assert texts[0] == "0"
    assert all(HUMAN_NUMBER.match(t) and not re.search(r"\.\d{4}", t) for t in texts), texts
    top = page.locator(f'{CHART} [data-testid="y-tick"]').last.get_attribute("data-value")
    assert float(top or 0) >= busiest
    if busiest >= 1_000:
        assert any(text.endswith("k") for text in texts), texts


def test_the_time_axis_reads_well_for_any_history(
    page: Any, shaped: tuple[str, dict[date, int], str]
) -> None:
    shape, counts, url = shaped
    _open_dashboard(page, url)
    first, last = min(counts), max(counts)
    _check_x_labels(page, shape, first, last)
    _check_y_labels(page, max(counts.values()))

    # The line runs over every day from the first to the last, at its count; a day without
    # events is at zero, so no segment longer than a day leaves the zero line.
    points, zero = _line(page), _zero_y(page)
    xs = [x for x, _ in points]
    assert xs == sorted(xs) and xs[0] == 0
    per_day = xs[-1] / (last - first).days
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if (x1 - x0) / per_day > 1.5:
            assert y0 == y1 == zero, f"a segment of {(x1 - x0) / per_day:.0f} days off zero"
    drawn = {first + timedelta(days=round(x / per_day)): y for x, y in points}
    for day in _days(first, last):
        if counts.get(day):
            assert drawn[day] < zero, day
        else:
            assert drawn.get(day, zero) == zero, day


def test_the_gap_between_bursts_is_drawn_as_days_of_nothing(page: Any, tmp_path: Path) -> None:
    with serving(TrainedShop(tmp_path, _store_with(tmp_path, _bursts()), bundle="")) as url:
        _open_dashboard(page, url)
        points, zero = _line(page), _zero_y(page)
    (first, end_a), (start_b, last) = BURSTS
    per_day = points[-1][0] / (last - first).days
    x_end_a, x_start_b = (end_a - first).days * per_day, (start_b - first).days * per_day
    # No segment joins the last day of the first burst to the first day of the second ...
    for (x0, _), (x1, _) in itertools.pairwise(points):
        assert not (x0 <= x_end_a + 1e-6 and x1 >= x_start_b - 1e-6), (x0, x1)
    # ... the line drops to zero the day after the first burst and stays there until the
    # day before the second.
    in_gap = [(round(x / per_day), y) for x, y in points if x_end_a < x < x_start_b]
    assert in_gap == [((end_a - first).days + 1, zero), ((start_b - first).days - 1, zero)]


def test_chart_numbers_are_formatted_for_people(page: Any, base_url: str) -> None:
    page.goto(base_url + "/dashboard")
    page.wait_for_selector('[data-testid="stats"][data-state="ready"]')
    formatted = page.evaluate(
        """async () => {
            const { formatNumber, formatTick } = await import("/static/charts.js");
            return {
                n: [12345, 7, 0.75, 0.12345, 0.1 + 0.2, 3.14159, 1234.5678].map(formatNumber),
                tick: [0, 250, 1234, 12500, 3400000, 0.25].map(formatTick),
            };
        }"""
    )
    assert formatted == {
        "n": ["12,345", "7", "0.75", "0.123", "0.3", "3.14", "1,234.57"],
        "tick": ["0", "250", "1.2k", "12.5k", "3.4M", "0.25"],
    }
    # The metric plots' axes too: no four-decimal numbers anywhere on the dashboard's charts.
    page.wait_for_selector('[data-testid="active-bundle"][data-state="ready"]')
    labels = _texts(page, '[data-testid="y-tick"]')
    assert labels and all(HUMAN_NUMBER.match(t) and not re.search(r"\.\d{4}", t) for t in labels)
    values = _texts(page, '[data-testid="plot-by-model"] text.value')
    assert values and all(HUMAN_NUMBER.match(text) for text in values), values
