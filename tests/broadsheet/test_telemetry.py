"""What a process tallies for /metrics before it pushes it: counters, and a histogram's
bucket, sum and count per observation."""

from __future__ import annotations

import pytest

from broadsheet.telemetry import MESSAGES, RELAY_LATENCY, Tally, field_name


@pytest.mark.parametrize(
    ("seconds", "bucket"), [(0.001, "0.005"), (0.005, "0.005"), (0.0051, "0.01"), (31.0, "+Inf")]
)
def test_an_observation_lands_in_the_first_bucket_it_is_within(seconds: float, bucket: str):
    tally = Tally()
    tally.observe(RELAY_LATENCY, seconds, "main")
    assert dict(tally.counts) == {
        field_name(RELAY_LATENCY, ["main"], f"le={bucket}"): 1,
        field_name(RELAY_LATENCY, ["main"], "count"): 1,
    }
    assert tally.sums == {field_name(RELAY_LATENCY, ["main"], "sum"): seconds}


def test_counts_add_up_per_label():
    tally = Tally()
    for outcome in ("sent", "sent", "failed"):
        tally.add(MESSAGES, outcome, "main")
    assert tally.counts[field_name(MESSAGES, ["sent", "main"])] == 2
    assert tally.counts[field_name(MESSAGES, ["failed", "main"])] == 1
