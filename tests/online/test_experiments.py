"""Experiments: validation, sticky hashed assignment, stopping arms, and the statistics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from shopmind.online.experiments import ExperimentError, ExperimentStore
from shopmind.online.stats import compare, ratio

ARMS = [{"name": "control", "share": 0.7}, {"name": "new", "bundle": "X", "share": 0.3}]


def test_assignment_is_sticky_follows_the_shares_and_differs_between_experiments(
    tmp_path: Path,
) -> None:
    store = ExperimentStore(tmp_path)
    first = store.create({"name": "a", "arms": ARMS})
    users = [f"u{i}" for i in range(20_000)]
    arms = [first.assign(u) for u in users]
    assert [first.assign(u) for u in users[:500]] == arms[:500]  # sticky
    shares = Counter(a.name for a in arms if a is not None)
    assert shares["new"] / len(users) == pytest.approx(0.3, abs=0.015)
    # Another process reading the same file assigns the same arms.
    again = ExperimentStore(tmp_path).get(first.id)
    assert [again.assign(u) for u in users[:500]] == arms[:500]
    store.end(first.id, None, "done")
    second = store.create({"name": "b", "arms": ARMS})
    overlap = sum((first.assign(u).name == second.assign(u).name) for u in users[:5000])  # type: ignore[union-attr]
    assert overlap / 5000 == pytest.approx(0.7 * 0.7 + 0.3 * 0.3, abs=0.03)  # independent


def test_a_stopped_arm_sends_its_shoppers_outside_the_experiment_and_the_others_keep_theirs(
    tmp_path: Path,
) -> None:
    store = ExperimentStore(tmp_path)
    started = store.create({"name": "a", "arms": ARMS})
    users = [f"u{i}" for i in range(2000)]
    before = {u: started.assign(u) for u in users}
    stopped = store.stop_arm(started.id, "new")
    assert stopped.arm("new").stopped and stopped.arm("new").stopped_why == "stopped by hand"
    for u, arm in before.items():
        now = stopped.assign(u)
        assert (now is None) if arm.name == "new" else (now == arm)  # type: ignore[union-attr]
    with pytest.raises(ExperimentError, match="last arm"):
        store.stop_arm(started.id, "control")
    ended = store.end(started.id, "control", "promoted control")
    assert ended.status == "ended" and store.running() is None
    assert not ended.covers("for_you")  # an ended experiment serves nobody


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ({"name": "x", "arms": [{"name": "a", "share": 1.0}]}, "at least 2"),
        (
            {
                "name": "x",
                "arms": [{"name": "a", "share": 0.5}, {"name": "b", "bundle": "Y", "share": 0.4}],
            },
            "add up to 1",
        ),
        (
            {
                "name": "x",
                "arms": [{"name": "a", "share": 0.5}, {"name": "a", "bundle": "Y", "share": 0.5}],
            },
            "must differ",
        ),
        (
            {"name": "x", "arms": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]},
            "same bundle and rules",
        ),
        ({"name": "x", "arms": ARMS, "placements": ["homepage"]}, "placements"),
        (
            {
                "name": "x",
                "arms": [{"name": "a b", "share": 0.5}, {"name": "b", "bundle": "Y", "share": 0.5}],
            },
            "arms.0.name",
        ),
    ],
)
def test_a_bad_experiment_is_refused_saying_why(tmp_path: Path, document: dict, says: str) -> None:
    with pytest.raises(ExperimentError, match=says):
        ExperimentStore(tmp_path).create(document)
    assert ExperimentStore(tmp_path).all() == []


def test_one_experiment_runs_at_a_time(tmp_path: Path) -> None:
    store = ExperimentStore(tmp_path)
    store.create({"name": "a", "arms": ARMS})
    with pytest.raises(ExperimentError, match="one experiment at a time"):
        store.create({"name": "b", "arms": ARMS})


def test_the_ratio_and_its_error_match_the_textbook_for_one_impression_per_shopper() -> None:
    rng = np.random.default_rng(0)
    clicks = (rng.random(10_000) < 0.1).astype(float)
    est = ratio(clicks, np.ones_like(clicks))
    p = clicks.mean()
    assert est.value == pytest.approx(p)
    assert est.se == pytest.approx((p * (1 - p) / 10_000) ** 0.5, rel=1e-3)


def test_the_test_finds_a_real_difference_and_not_a_null_one() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    a = ratio((rng.random(n) < 0.10).astype(float), np.ones(n))
    b = ratio((rng.random(n) < 0.12).astype(float), np.ones(n))
    same = ratio((rng.random(n) < 0.10).astype(float), np.ones(n))
    found = compare(b, a)
    assert found.significant and found.difference > 0 and found.more_impressions == 0
    assert found.interval[0] < 0.02 < found.interval[1]
    z = found.difference / (a.se**2 + b.se**2) ** 0.5
    assert found.p_value == pytest.approx(2 * norm.sf(abs(z)))
    null = compare(same, a)
    assert not null.significant and null.p_value > 0.05  # seeded: this draw is not one in 20
    # The impressions a decision needs: about (z_.975 + z_.8)² (σa² + σb²) / δ².
    small = compare(
        ratio((rng.random(2000) < 0.12).astype(float), np.ones(2000)),
        ratio((rng.random(2000) < 0.10).astype(float), np.ones(2000)),
    )
    assert small.difference != 0 and small.impressions_needed is not None
    expected = (1.96 + 0.8416) ** 2 * (0.12 * 0.88 + 0.1 * 0.9) / small.difference**2
    assert small.impressions_needed == pytest.approx(expected, rel=0.15)
    left = 0 if small.significant else max(0, small.impressions_needed - 2000)
    assert small.more_impressions == left


def test_a_broken_experiment_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    store = ExperimentStore(tmp_path)
    kept = store.create({"name": "a", "arms": ARMS})
    (store.root / "0123456789ab.json").write_text('{"id": "0123456789ab", "arms": [')
    assert [e.id for e in store.all()] == [kept.id]
    assert store.running() == kept
