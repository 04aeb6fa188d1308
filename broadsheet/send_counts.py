"""Messages sent a minute per relay and per recipient domain, as counted in Redis: the key
names and how a current rate is read from them, shared by the worker that counts
(worker/send_counts.py) and the admin that shows them (the domain never imports redis).

Each minute has one hash, `broadsheet:sends:<minute since the epoch>`, whose fields are
`relay:<name>` and `domain:<domain>`; the worker adds a claim's sends in one call.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "broadsheet:sends"
KEEP_SECONDS = 180  # a minute's hash lapses once no rate reads it any more
SHORTEST = 10.0  # seconds: the least a rate is measured over


def minute_key(epoch_seconds: float) -> str:
    """The hash of the minute that `epoch_seconds` falls in."""
    return f"{PREFIX}:{int(epoch_seconds // 60)}"


def relay_field(name: str) -> str:
    return f"relay:{name}"


def domain_field(domain: str) -> str:
    return f"domain:{domain}"


def rates(
    previous: Mapping[bytes | str, bytes | str | int],
    current: Mapping[bytes | str, bytes | str | int],
    epoch_seconds: float,
) -> dict[str, float]:
    """Messages a second per field over the last minute and the part of this one gone by,
    from the two minutes' hashes. When nothing was sent last minute, the send began in this
    one: over its part gone by alone (at least `SHORTEST` seconds, so its first seconds
    do not read as a burst), lest a send's first minute read as a fraction of its pace."""
    seconds = (60 if previous else 0) + max(epoch_seconds % 60, SHORTEST)
    totals: dict[str, float] = {}
    for counts in (previous, current):
        for name, value in counts.items():
            key = name.decode() if isinstance(name, bytes) else name
            totals[key] = totals.get(key, 0.0) + int(value)
    return {key: n / seconds for key, n in totals.items()}
