"""GCRA in Redis: every quota of a request decided in one round trip (a Lua script, EVALSHA).

Each key holds its theoretical arrival time in Unix microseconds and expires a minute
after its TAT has passed (a past TAT means the same as no key, so the margin is harmless and
keeps a slow caller's clock from racing the expiry). The time is
the caller's clock, sent with the call, so that workers on NTP agree within milliseconds
and tests can drive it; :func:`~commerce.platform.resilience.rate_limit.gcra_step` is the
same algorithm in Python. A reservation (a ticket's key, in the quotas' hash slot) is one
more key of the same script: admitting on it, or reserving, costs no further round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis

from commerce.platform.resilience.rate_limit import ADMITTED, Quota, Ticket, Verdict, refusal

__all__ = ["RedisRateLimiter"]

_MICROS = 1_000_000

# KEYS: the quotas' keys, then (with a ticket) the ticket's key. ARGV[1]: now (µs);
# ARGV[2]: the ticket's horizon (µs; -1: no ticket); then per quota: its interval (µs) and
# burst. Returns, per quota, the wait in whole µs (0 when that quota admits), then a status:
# 0 decided now, 1 refused with its slot reserved, 2 admitted on an earlier reservation.
# Stores the new TATs only when every quota admits or the slot is reserved.
_GCRA = """
local now = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local n = #KEYS
local held = nil
if horizon >= 0 then
  held = KEYS[n]
  n = n - 1
  if redis.call('DEL', held) == 1 then
    local out = {}
    for i = 1, n do out[i] = 0 end
    out[n + 1] = 2
    return out
  end
end
local waits, tats, longest = {}, {}, 0
for i = 1, n do
  local interval = tonumber(ARGV[2 * i + 1])
  local burst = tonumber(ARGV[2 * i + 2])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local wait = new_tat - burst * interval - now
  if wait > 0 then
    waits[i] = math.ceil(wait)
    if waits[i] > longest then longest = waits[i] end
  else
    waits[i] = 0
  end
  tats[i] = new_tat
end
local status = 0
if longest > 0 and held and longest <= horizon then
  status = 1
  redis.call('SET', held, '1', 'PX', math.ceil((longest + horizon) / 1000) + 60000)
end
if longest == 0 or status == 1 then
  for i = 1, n do
    local ttl = math.ceil((tats[i] - now) / 1000) + 60000
    redis.call('SET', KEYS[i], string.format('%.17g', tats[i]), 'PX', ttl)
  end
end
waits[n + 1] = status
return waits
"""
_RESERVED, _ON_RESERVATION = 1, 2


class RedisRateLimiter:
    """:class:`~commerce.platform.resilience.rate_limit.RateLimiter` shared by every worker.

    Keys are used as given: callers prefix them (service and broker namespace), so that
    environments and test runs sharing a Redis never count each other's traffic.
    """

    def __init__(self, redis: Redis, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock
        self._script = redis.register_script(_GCRA)

    async def acquire(self, quotas: Sequence[Quota], ticket: Ticket | None = None) -> Verdict:
        """Admit within every quota, on a reservation, or refuse, in one ``EVALSHA``."""
        if not quotas:
            return refusal([])
        keys = [quota.key for quota in quotas]
        args: list[Any] = [round(self._clock() * _MICROS), -1]  # whole µs
        if ticket is not None:
            keys.append(ticket.key)
            args[1] = ticket.horizon_us
        for quota in quotas:
            args += [quota.limit.interval_us, quota.limit.burst]
        *waits, status = await self._script(keys=keys, args=args)
        if status == _ON_RESERVATION:
            return ADMITTED
        return refusal(
            [(float(wait), quota.scope) for wait, quota in zip(waits, quotas, strict=True)],
            reserved=status == _RESERVED,
        )

    async def close(self) -> None:
        """Close the connections."""
        await self._redis.aclose()
