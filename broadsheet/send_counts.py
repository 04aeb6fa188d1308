"""Messages sent per relay and per recipient domain in 10-second steps, as counted in Redis:
the key names and how a current rate is read from them, shared by the worker that counts
(worker/send_counts.py) and the admin that shows them (the domain never imports redis).

Each step has one hash, `broadsheet:sends:<step since the epoch>`, whose fields are
`relay:<name>` and `domain:<domain>`; the worker adds a claim's sends in one call. A rate
is read over the last minute's steps, from the first that has sends: a send that began 20 s
ago reads its own pace, not a third of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PREFIX = "broadsheet:sends"
STEP = 10  # seconds a hash counts
STEPS = 6  # whole steps read before the current one: a minute
KEEP_SECONDS = 180  # a step's hash lapses once no rate reads it any more
SHORTEST = 10.0  # seconds: the least a rate is measured over

Counts = Mapping[bytes | str, bytes | str | int]  # one step's hash as Redis gives it


def step_key(epoch_seconds: float) -> str:
    """The hash of the step that `epoch_seconds` falls in."""
    return f"{PREFIX}:{int(epoch_seconds // STEP)}"


def window_keys(epoch_seconds: float) -> list[str]:
    """The hashes a rate at `epoch_seconds` is read from, oldest first."""
    now = int(epoch_seconds // STEP)
    return [f"{PREFIX}:{step}" for step in range(now - STEPS, now + 1)]


def relay_field(name: str) -> str:
    return f"relay:{name}"


def domain_field(domain: str) -> str:
    return f"domain:{domain}"


def rates(steps: Sequence[Counts], epoch_seconds: float) -> dict[str, float]:
    """Messages a second per field, from the hashes of `window_keys(epoch_seconds)`: over the
    time since the first step that has sends (at least SHORTEST seconds)."""
    first = next((i for i, counts in enumerate(steps) if counts), None)
    if first is None:
        return {}
    began = (int(epoch_seconds // STEP) - (len(steps) - 1) + first) * STEP
    seconds = max(epoch_seconds - began, SHORTEST)
    totals: dict[str, float] = {}
    for counts in steps[first:]:
        for name, value in counts.items():
            key = name.decode() if isinstance(name, bytes) else name
            totals[key] = totals.get(key, 0.0) + int(value)
    return {key: n / seconds for key, n in totals.items()}
