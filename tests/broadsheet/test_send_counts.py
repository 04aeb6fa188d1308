"""Rates now per relay and domain, read from the worker's counts in 10-second steps."""

from __future__ import annotations

import pytest

from broadsheet.send_counts import STEP, STEPS, Counts, rates, step_key, window_keys

NOW = 1_000_000 * STEP + 5.0  # 5 s into a step


def test_the_window_is_the_last_minute_of_steps_and_the_current_one() -> None:
    keys = window_keys(NOW)
    assert len(keys) == STEPS + 1
    assert keys[-1] == step_key(NOW) and keys[0] == step_key(NOW - STEPS * STEP)


def test_a_steady_send_reads_its_pace_over_the_minute() -> None:
    # 100 a step for six whole steps and 50 in the 5 s of this one: 650 over 65 s.
    step: Counts = {b"relay:main": b"100"}
    steps = [step] * STEPS + [{b"relay:main": b"50"}]
    assert rates(steps, NOW) == {"relay:main": pytest.approx(10.0)}


def test_a_send_that_began_20_seconds_ago_reads_its_own_pace() -> None:
    # Nothing until two steps ago: 250 over the 25 s since (not 250 over 65 s).
    steps: list[Counts] = [{}] * (STEPS - 2) + [{"domain:example.org": "100"}] * 2
    steps.append({"domain:example.org": 50})
    assert rates(steps, NOW) == {"domain:example.org": pytest.approx(10.0)}


def test_its_first_seconds_do_not_read_as_a_burst_and_nothing_reads_as_nothing() -> None:
    empty: list[Counts] = [{}] * STEPS
    assert rates([*empty, {"relay:main": 30}], NOW) == {"relay:main": pytest.approx(3.0)}
    assert rates([*empty, {}], NOW) == {}
