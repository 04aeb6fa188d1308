"""Rates now per relay and domain, read from the worker's per-minute counts."""

from __future__ import annotations

import pytest

from broadsheet.send_counts import rates


def test_a_rate_spans_last_minute_and_the_part_of_this_one_gone_by() -> None:
    # 30 s into a minute: 600 last minute and 300 this one, over 90 s.
    measured = rates({b"relay:main": b"600"}, {b"relay:main": b"300"}, 60 * 1000 + 30)
    assert measured == {"relay:main": pytest.approx(10.0)}


def test_a_send_that_began_this_minute_is_measured_over_its_own_seconds() -> None:
    # Nothing last minute: 200 in the 20 s gone by is 10 a second, not 200 / 80.
    measured = rates({}, {"domain:example.org": "200"}, 60 * 1000 + 20)
    assert measured == {"domain:example.org": pytest.approx(10.0)}


def test_its_first_seconds_do_not_read_as_a_burst() -> None:
    measured = rates({}, {"relay:main": 30}, 60 * 1000 + 1)
    assert measured == {"relay:main": pytest.approx(3.0)}
