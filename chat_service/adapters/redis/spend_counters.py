"""RedisSpendCounters: the SpendCounters port as one Lua script per reserve and per settle.

Counters are integers of nano-USD under `<prefix><counter key>`; the counter keys of one
owner share a hash tag (see core.budgets.Limit.counter), so each script touches one slot and
runs unchanged on Redis Cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redis.commands.core import Script

from chat_service.adapters.redis.client import REDIS_ERRORS, SyncRedis
from chat_service.core.availability import RedisAvailability
from chat_service.core.errors import BudgetUnavailable
from chat_service.ports.budgets import Missing, Refused, Reserved, SpendCounter

# KEYS: counters. ARGV[1]: amount; then per counter i: limit (3i-1), ttl s (3i), initial
# value or "-" (3i+1). Returns {1} reserved, {0, i, spent} refused by counter i (1-based),
# {-1, i...} counters missing without an initial value. Everything is checked before anything
# is written, so a refusal or a missing counter changes nothing.
_RESERVE = """
local amount = tonumber(ARGV[1])
local spent, fresh, missing = {}, {}, {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value then
    spent[i] = tonumber(value)
  elseif ARGV[3 * i + 1] == '-' then
    missing[#missing + 1] = i
  else
    spent[i] = tonumber(ARGV[3 * i + 1])
    fresh[i] = true
  end
end
if #missing > 0 then
  local reply = {-1}
  for _, i in ipairs(missing) do reply[#reply + 1] = i end
  return reply
end
for i = 1, #KEYS do
  local limit = tonumber(ARGV[3 * i - 1])
  if spent[i] >= limit or spent[i] + amount > limit then return {0, i, spent[i]} end
end
for i, key in ipairs(KEYS) do
  if fresh[i] then redis.call('SET', key, ARGV[3 * i + 1], 'EX', ARGV[3 * i]) end
  if amount ~= 0 then redis.call('INCRBY', key, amount) end
end
return {1}
"""

# KEYS: counters. ARGV[1]: delta. Counters that are gone stay gone (rebuilt from the ledger).
_ADJUST = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[1]) end
end
return {1}
"""


class RedisSpendCounters:
    """Spend counters in Redis; while Redis is unavailable (see RedisAvailability) every call
    raises BudgetUnavailable at once."""

    def __init__(
        self,
        client: SyncRedis,
        *,
        availability: RedisAvailability,
        prefix: str = "acai:budget:v1:",
    ) -> None:
        self._reserve = client.register_script(_RESERVE)
        self._adjust = client.register_script(_ADJUST)
        self._availability = availability
        self._prefix = prefix

    def reserve(
        self,
        counters: Sequence[SpendCounter],
        amount_nano: int,
        initial_nano: Mapping[int, int],
    ) -> Reserved | Refused | Missing:
        args: list[int | str] = [amount_nano]
        for index, counter in enumerate(counters):
            initial = initial_nano.get(index)
            args += [counter.limit_nano, counter.ttl_s, "-" if initial is None else initial]
        reply = self._run(self._reserve, [self._prefix + c.key for c in counters], args)
        status = int(reply[0])
        if status == 1:
            return Reserved()
        if status == 0:
            return Refused(int(reply[1]) - 1, int(reply[2]))
        return Missing(tuple(int(i) - 1 for i in reply[1:]))

    def adjust(self, keys: Sequence[str], delta_nano: int) -> None:
        self._run(self._adjust, [self._prefix + key for key in keys], [delta_nano])

    def _run(self, script: Script, keys: list[str], args: list[int | str]) -> list[int]:
        if not self._availability.usable:
            raise BudgetUnavailable("budgets cannot be checked now (Redis is down); retry later")
        try:
            reply = script(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            self._availability.failed(exc)
            raise BudgetUnavailable(
                "budgets cannot be checked now (Redis is down); retry later"
            ) from exc
        self._availability.succeeded()
        return [int(value) for value in reply]
