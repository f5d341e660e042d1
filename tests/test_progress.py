"""Progress of long work: a bar on a terminal, plain timed lines in a file or a pipe."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from shopmind.data.dataset import Dataset
from shopmind.data.split import leave_last_out
from shopmind.evaluation.runner import evaluate_models
from shopmind.progress import Heartbeat, Steps
from shopmind.synthetic import SyntheticConfig, generate


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _log_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200), out


def test_off_a_terminal_each_step_says_when_it_starts_and_how_long_it_took() -> None:
    console, out = _log_console()
    assert not console.is_terminal
    clock = Clock()
    with Steps(console, total=2, clock=clock) as steps:
        steps.step("snapshotting the store")
        clock.now += 1.25
        steps.advance()
        steps.step("fitting itemknn")
        clock.now += 3.0
    assert out.getvalue().splitlines() == [
        "snapshotting the store …",
        "snapshotting the store: done in 1.2 s",
        "fitting itemknn …",
        "fitting itemknn: done in 3.0 s",
    ]


def test_a_long_step_says_how_it_is_getting_on_every_so_often() -> None:
    console, out = _log_console()
    clock = Clock()
    with Steps(console, clock=clock, every=30.0) as steps:
        steps.step("tuning ease")
        for trial in range(1, 8):
            clock.now += 10.0
            steps.beat(f"trial {trial}")
    lines = out.getvalue().splitlines()
    # Seven trials over 70 s: a line at 30 s and one at 60 s, not one per trial.
    assert lines[1:3] == [
        "tuning ease: trial 3 (30 s so far)",
        "tuning ease: trial 6 (60 s so far)",
    ]
    assert lines[-1] == "tuning ease: done in 70.0 s"


def test_a_long_step_that_says_nothing_is_still_said_to_be_working() -> None:
    console, out = _log_console()
    with Steps(console, every=0.05) as steps:
        steps.step("encoding 100000 item texts")
        time.sleep(0.4)  # one opaque call, e.g. a library's encoder
    lines = out.getvalue().splitlines()
    working = [line for line in lines if "still working" in line]
    assert 2 <= len(working) <= 9, lines
    assert working[0].startswith("encoding 100000 item texts: still working (")
    assert lines[-1].startswith("encoding 100000 item texts: done in 0.")


def test_a_failed_step_is_not_said_to_be_done() -> None:
    console, out = _log_console()
    with pytest.raises(RuntimeError), Steps(console) as steps:
        steps.step("writing the bundle")
        raise RuntimeError("disk full")
    assert out.getvalue().splitlines() == ["writing the bundle …"]


def test_on_a_terminal_the_bar_leaves_no_lines_behind_and_none_means_silence() -> None:
    out = io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=100)
    with Steps(terminal, total=1) as steps:
        steps.step("fitting pop")
        steps.beat("half way")
        steps.advance()
    assert "fitting pop …" not in out.getvalue() and "done in" not in out.getvalue()
    with Steps(None) as quiet:
        quiet.step("anything")
        quiet.beat("at all")


def test_a_heartbeat_speaks_at_most_once_per_period() -> None:
    said: list[str] = []
    clock = Clock()
    heartbeat = Heartbeat(said.append, every=5.0, clock=clock)
    for _ in range(12):
        clock.now += 1.0
        heartbeat.beat(lambda: f"{heartbeat.elapsed:.0f} s")
    assert said == ["5 s", "10 s"]


def test_evaluating_models_into_a_log_names_each_model_as_it_goes() -> None:
    shop = generate(SyntheticConfig(seed=3, n_items=200, n_users=120, n_events=4_000))
    data = Dataset.from_columns(shop.items, shop.users, shop.events)
    console, out = _log_console()
    results = evaluate_models(
        leave_last_out(data, target_types=["purchase"]), ["pop", "itemknn"], console=console
    )
    assert set(results) == {"pop", "itemknn"}
    lines = out.getvalue().splitlines()
    assert lines[0] == "pop: fitting and evaluating …"
    assert lines[1].startswith("pop: fitting and evaluating: done in ")
    assert lines[2] == "itemknn: fitting and evaluating …"
    assert lines[3].startswith("itemknn: fitting and evaluating: done in ")
