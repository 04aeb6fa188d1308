"""Send rates shared by every worker process on every host, held in Redis.

A message books a slot on up to three limits at once, atomically: the global `SEND_RATE`, its
relay's `rate` and its recipient domain's rate (`DOMAIN_RATES`). Each limit is a generic cell
rate algorithm used as a reservation: the script books the first instant every limit allows
and says how long to wait for it. The clock is Redis's own, so hosts whose clocks differ agree.

A domain's limit is only booked if its slot is near (`max_wait`); otherwise nothing is booked
and the caller puts that reader off and sends others, instead of holding a connection idle.

Adaptive backoff: a throttling reply halves the effective rate of the relay or domain that gave
it (at most once per `COOLDOWN` seconds, down to 1/64), and the rate climbs back linearly to
full over `RATE_RECOVERY` seconds per halving. A relay or domain without a configured rate is
unlimited until it asks to slow down; from then on it is limited to a share of `SEND_RATE`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis
from redis.typing import EncodableT

from broadsheet.settings import Settings, SmtpTarget

PREFIX = "broadsheet:throttle"
MAX_WAIT = 2.0  # seconds a message may wait for its domain's slot before it is put off
COOLDOWN = 2.0  # seconds after a halving during which further throttling replies are ignored
MIN_FACTOR = 1 / 64

# Shared by the scripts below: Redis's clock in µs, a backoff key's share of full rate now
# (halved by a throttling reply, it climbs back by `climb` per µs; no key: full rate), and
# booking a limit up to `tat` (the key lapses a second after it).
_BACKOFF = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function factor_of(key, climb)
  local state = redis.call('HMGET', key, 'f', 't')
  if not state[1] then return 1 end
  return math.min(1, tonumber(state[1]) + (now - tonumber(state[2])) * climb)
end
local function book(key, tat)
  redis.call('SET', key, string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
"""

# KEYS: per limit, its reservation key then its backoff key; the domain's limit comes first.
# ARGV: count, max_wait_us, climb (factor gained per µs), then per limit: base interval (µs),
# conditional (1: the domain's limit, booked only within max_wait), optional (1: only while
# backed off). Returns {state, wait_us}: 1 booked on every limit; 0 nothing booked (the domain
# is busy for wait_us); 2 only the domain's slot, wait_us ahead: call again without the domain
# once it comes, so the global and relay limits are booked for when the message really goes.
_RESERVE = (
    _BACKOFF
    + """
local count = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local climb = tonumber(ARGV[3])
local start = now
local intervals = {}
for i = 1, #KEYS / 2 do
  local base = tonumber(ARGV[1 + 3 * i])
  local conditional = ARGV[2 + 3 * i] == '1'
  local optional = ARGV[3 + 3 * i] == '1'
  local factor = factor_of(KEYS[2 * i], climb)
  if (not optional) or factor < 1 then
    local tat = math.max(now, tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0'))
    if conditional then
      if tat - now > max_wait then return {0, tostring(tat - now)} end
      local next_tat = tat + base / factor * count
      book(KEYS[2 * i - 1], next_tat)
      if tat > now then return {2, tostring(tat - now)} end
    else
      intervals[i] = base / factor
      if tat > start then start = tat end
    end
  end
end
for i = 1, #KEYS / 2 do
  if intervals[i] then
    local tat = start + intervals[i] * count
    book(KEYS[2 * i - 1], tat)
  end
end
return {1, tostring(start - now)}
"""
)

# Several messages booked in one call, exactly as that many calls of _RESERVE in a row would
# book them: each gets the next slot the global and relay limits allow, until one would wait
# longer than the horizon. A message to a limited domain (a configured rate, or backed off)
# only goes first, under _RESERVE's rules, and ends the run: its slot decides when the rest go.
# KEYS: global reservation and backoff keys, the relay's two (if any), then two per domain.
# ARGV: max_wait_us, climb, horizon_us, shared limits n, per shared limit: base interval (µs),
# optional; per domain: base interval, configured (1/0); then per message its domain's number.
# Returns {state, wait_us...}: 1 with a wait per message booked (the first ones, in order);
# 0 and 2 as _RESERVE's, for the first message only.
_RESERVE_RUN = (
    _BACKOFF
    + """
local max_wait = tonumber(ARGV[1])
local climb = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local shared = tonumber(ARGV[4])
local domains = (#KEYS - 2 * shared) / 2
local first_message = 5 + 2 * shared + 2 * domains
local start, spacing, intervals = now, 0, {}
for j = 1, shared do
  local base = tonumber(ARGV[3 + 2 * j])
  local factor = factor_of(KEYS[2 * j], climb)
  if ARGV[4 + 2 * j] ~= '1' or factor < 1 then
    intervals[j] = base / factor
    if intervals[j] > spacing then spacing = intervals[j] end
    local tat = tonumber(redis.call('GET', KEYS[2 * j - 1]) or '0')
    if tat > start then start = tat end
  end
end
local out = {1}
local last = nil
for m = first_message, #ARGV do
  local d = tonumber(ARGV[m])
  local key = KEYS[2 * shared + 2 * d - 1]
  local factor = factor_of(KEYS[2 * shared + 2 * d], climb)
  local base = tonumber(ARGV[3 + 2 * shared + 2 * d])
  if ARGV[4 + 2 * shared + 2 * d] == '1' or factor < 1 then
    if last then break end
    local tat = math.max(now, tonumber(redis.call('GET', key) or '0'))
    if tat - now > max_wait then return {0, tostring(tat - now)} end
    local next_tat = tat + base / factor
    book(key, next_tat)
    if tat > now then return {2, tostring(tat - now)} end
  end
  if last and start - now > horizon then break end
  out[#out + 1] = tostring(start - now)
  last = start
  start = start + spacing
end
if last then
  for j = 1, shared do
    if intervals[j] then
      local tat = last + intervals[j]
      book(KEYS[2 * j - 1], tat)
    end
  end
end
return out
"""
)

# KEYS[1]: a backoff key. ARGV: climb (per µs), cooldown (µs), minimum factor.
_HALVE = (
    _BACKOFF
    + """
local climb = tonumber(ARGV[1])
local factor = factor_of(KEYS[1], climb)
local cut = redis.call('HGET', KEYS[1], 'cut')
if cut and now - tonumber(cut) < tonumber(ARGV[2]) then return tostring(factor) end
factor = math.max(tonumber(ARGV[3]), factor / 2)
redis.call('HSET', KEYS[1], 'f', string.format('%.6f', factor), 't', now, 'cut', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((1 - factor) / climb / 1000) + 1000)
return tostring(factor)
"""
)

# KEYS: backoff keys. ARGV[1]: climb. Returns each current factor.
_FACTORS = (
    _BACKOFF
    + """
local out = {}
for i = 1, #KEYS do
  out[i] = tostring(factor_of(KEYS[i], tonumber(ARGV[1])))
end
return out
"""
)

# A bounded pool of connections per relay, shared by all workers: a sorted set of holders
# scored by when their hold lapses, so a vanished worker's place frees itself.
# KEYS[1]: the relay's set. ARGV: holder, limit, lease (ms).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or
    redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Booking:
    booked: bool
    wait: float  # booked: seconds until the slot; not booked: seconds until the domain frees
    domain_only: bool = False  # only the domain's slot is booked: reserve the rest at `wait`


@dataclass(frozen=True)
class Run:
    """Messages booked in one call: the wait for each of the first `len(waits)`; or, when
    none was (`waits` empty), what became of the first: its domain busy, or only its slot."""

    waits: list[float]
    first: Booking | None = None


class Throttle:
    """The shared limits, as one process sees them."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.global_interval = _interval(settings.send_rate)
        self.climb = 0.5 / (settings.rate_recovery * 1_000_000)
        self._reserve = client.register_script(_RESERVE)
        self._reserve_run = client.register_script(_RESERVE_RUN)
        self._halve = client.register_script(_HALVE)
        self._factors = client.register_script(_FACTORS)
        self._acquire = client.register_script(_ACQUIRE)

    def reserve(
        self,
        relay: SmtpTarget | None = None,
        domain: str | None = None,
        *,
        count: int = 1,
        max_wait: float = MAX_WAIT,
    ) -> Booking:
        """Book `count` messages on the domain's limit, the global one and the relay's."""
        keys: list[str] = []
        args: list[EncodableT] = [count, int(max_wait * 1_000_000), repr(self.climb)]
        if domain:
            keys += [f"{PREFIX}:domain:{domain}", f"{PREFIX}:backoff:domain:{domain}"]
            rate = self.settings.domain_rates.get(domain)
            args += [_interval(rate or self.settings.send_rate), 1, 0 if rate else 1]
        keys += [f"{PREFIX}:global", f"{PREFIX}:backoff:global"]
        args += [self.global_interval, 0, 0]
        if relay is not None:
            keys += [f"{PREFIX}:relay:{relay.name}", f"{PREFIX}:backoff:relay:{relay.name}"]
            interval = _interval(relay.rate or self.settings.send_rate)
            args += [interval, 0, 0 if relay.rate else 1]
        state, wait_us = self._reserve(keys=keys, args=args)
        wait = max(0.0, float(wait_us) / 1_000_000)
        return Booking(state != 0, wait, domain_only=state == 2)

    def reserve_run(
        self,
        relay: SmtpTarget | None,
        domains: list[str],
        *,
        horizon: float,
        max_wait: float = MAX_WAIT,
    ) -> Run:
        """Book the next messages, to these recipient domains in this order, in one round
        trip: as many of the first as get a slot within `horizon` seconds, stopping before a
        message to a limited domain that is not the first (see _RESERVE_RUN)."""
        keys = [f"{PREFIX}:global", f"{PREFIX}:backoff:global"]
        args: list[EncodableT] = [
            int(max_wait * 1_000_000),
            repr(self.climb),
            int(horizon * 1_000_000),
        ]
        shared: list[EncodableT] = [self.global_interval, 0]
        if relay is not None:
            keys += [f"{PREFIX}:relay:{relay.name}", f"{PREFIX}:backoff:relay:{relay.name}"]
            shared += [_interval(relay.rate or self.settings.send_rate), 0 if relay.rate else 1]
        args += [len(shared) // 2, *shared]
        number: dict[str, int] = {}
        for domain in domains:
            if domain not in number:
                number[domain] = len(number) + 1
                keys += [f"{PREFIX}:domain:{domain}", f"{PREFIX}:backoff:domain:{domain}"]
                rate = self.settings.domain_rates.get(domain)
                args += [_interval(rate or self.settings.send_rate), 1 if rate else 0]
        args += [number[domain] for domain in domains]
        state, *waits_us = self._reserve_run(keys=keys, args=args)
        waits = [max(0.0, float(w) / 1_000_000) for w in waits_us]
        if int(state) == 1:
            return Run(waits)
        first = Booking(False, waits[0]) if int(state) == 0 else Booking(True, waits[0], True)
        return Run([], first)

    def wait(
        self, relay: SmtpTarget | None = None, domain: str | None = None, count: int = 1
    ) -> float | None:
        """Book and sleep until the slot; None when booked, else the seconds until the
        recipient's domain has room (nothing was booked then)."""
        booking = self.reserve(relay, domain, count=count)
        if not booking.booked:
            return booking.wait
        if booking.domain_only:  # the domain's turn first, then the shared limits'
            time.sleep(booking.wait)
            booking = self.reserve(relay, None, count=count)
        if booking.wait:
            time.sleep(booking.wait)
        return None

    def slow_down(self, kind: str, name: str) -> float:
        """A throttling reply from relay or domain `name`: halve its rate; the new factor."""
        key = f"{PREFIX}:backoff:{kind}:{name}"
        args: list[EncodableT] = [repr(self.climb), int(COOLDOWN * 1_000_000), repr(MIN_FACTOR)]
        return float(self._halve(keys=[key], args=args))

    def factors(self, kind: str, names: list[str]) -> dict[str, float]:
        """The current share of full rate for each relay or domain (1.0: not backed off)."""
        if not names:
            return {}
        keys = [f"{PREFIX}:backoff:{kind}:{name}" for name in names]
        values = self._factors(keys=keys, args=[repr(self.climb)])
        return {name: float(value) for name, value in zip(names, values, strict=True)}

    def backed_off_domains(self) -> list[str]:
        """Domains that slowed us down recently, configured or not."""
        found = set()
        for key in self.client.scan_iter(match=f"{PREFIX}:backoff:domain:*", count=500):
            found.add(key.decode().rsplit(":", 1)[1])
        return sorted(found)

    def acquire_connection(self, relay: SmtpTarget, holder: str, lease: float) -> bool:
        """Take (or renew) one of the relay's connection places; False when all are taken."""
        key = f"{PREFIX}:connections:{relay.name}"
        args: list[EncodableT] = [holder, relay.connections, int(lease * 1000)]
        return bool(self._acquire(keys=[key], args=args))

    def release_connection(self, relay: SmtpTarget, holder: str) -> None:
        self.client.zrem(f"{PREFIX}:connections:{relay.name}", holder)

    def connections_in_use(self, relay: SmtpTarget) -> int:
        key = f"{PREFIX}:connections:{relay.name}"
        now_ms = int(time.time() * 1000)
        return int(self.client.zcount(key, now_ms, "+inf"))

    def snapshot(self) -> dict[str, object]:
        """The limits in force now, for the API: configured and effective rates per relay and
        per domain (effective None: no limit of its own, only the global one applies)."""
        settings = self.settings
        relays = list(settings.relays)
        relay_factors = self.factors("relay", [relay.name for relay in relays])
        domains = sorted(set(settings.domain_rates) | set(self.backed_off_domains()))
        domain_factors = self.factors("domain", domains)
        return {
            "send_rate": settings.send_rate,
            "relays": [
                {
                    "name": relay.name,
                    **_rates(relay.rate, relay_factors[relay.name], settings.send_rate),
                    "connections": {
                        "limit": relay.connections,
                        "in_use": self.connections_in_use(relay),
                    },
                }
                for relay in relays
            ],
            "domains": [
                {
                    "domain": domain,
                    **_rates(
                        settings.domain_rates.get(domain),
                        domain_factors[domain],
                        settings.send_rate,
                    ),
                }
                for domain in domains
            ],
        }


def _rates(configured: float | None, factor: float, send_rate: float) -> dict[str, object]:
    if configured is None and factor >= 1:
        effective = None
    else:
        effective = round((configured or send_rate) * factor, 3)
    return {"configured_rate": configured, "effective_rate": effective, "backoff": factor}


def _interval(rate: float) -> int:
    return max(1, round(1_000_000 / rate))
