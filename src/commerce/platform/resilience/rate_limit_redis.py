"""GCRA in Redis: every quota of a request decided in one round trip (a Lua script, EVALSHA).

Each key holds its theoretical arrival time in Unix microseconds and expires a minute
after its TAT has passed (a past TAT means the same as no key, so the margin is harmless and
keeps a slow caller's clock from racing the expiry). The time is
the caller's clock, sent with the call, so that workers on NTP agree within milliseconds
and tests can drive it; :func:`~commerce.platform.resilience.rate_limit.gcra_step` is the
same algorithm in Python.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis

from commerce.platform.resilience.rate_limit import Quota, Verdict, refusal

__all__ = ["RedisRateLimiter"]

_MICROS = 1_000_000

# KEYS: the quotas' keys. ARGV[1]: now (µs); then per key: its interval (µs) and burst.
# Returns, per key, the wait in whole µs (0 when that quota admits); stores the new TATs
# only when every quota admits.
_GCRA = """
local now = tonumber(ARGV[1])
local waits, tats, refused = {}, {}, false
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local wait = new_tat - burst * interval - now
  if wait > 0 then
    refused = true
    waits[i] = math.ceil(wait)
  else
    waits[i] = 0
  end
  tats[i] = new_tat
end
if not refused then
  for i = 1, #KEYS do
    local ttl = math.ceil((tats[i] - now) / 1000) + 60000
    redis.call('SET', KEYS[i], string.format('%.17g', tats[i]), 'PX', ttl)
  end
end
return waits
"""


class RedisRateLimiter:
    """:class:`~commerce.platform.resilience.rate_limit.RateLimiter` shared by every worker.

    Keys are used as given: callers prefix them (service and broker namespace), so that
    environments and test runs sharing a Redis never count each other's traffic.
    """

    def __init__(self, redis: Redis, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock
        self._script = redis.register_script(_GCRA)

    async def acquire(self, quotas: Sequence[Quota]) -> Verdict:
        """Admit within every quota or refuse, in one ``EVALSHA``."""
        if not quotas:
            return refusal([])
        args: list[Any] = [round(self._clock() * _MICROS)]  # whole µs
        for quota in quotas:
            args += [quota.limit.interval_us, quota.limit.burst]
        waits = await self._script(keys=[quota.key for quota in quotas], args=args)
        return refusal(
            [(float(wait), quota.scope) for wait, quota in zip(waits, quotas, strict=True)]
        )

    async def close(self) -> None:
        """Close the connections."""
        await self._redis.aclose()
