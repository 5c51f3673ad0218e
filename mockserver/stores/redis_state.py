"""`RedisState`: `SharedState` in Redis (`--store redis://HOST:PORT/DB?prefix=NAME`), for replicas on
several hosts.

Every decision is one Lua script (atomic in Redis); the calls in flight at once share a round trip
(`PipelineBatch`): counting a call and reading the
settings generation (`begin`), a rule's hit, appending to the journal (a capped list, bounded in entries
and bytes), handing out an id. The settings document changes under WATCH/MULTI. Call counters and
family values expire after a day without use (TTL): they only matter while a test repeats its calls.
All keys live under the store's prefix; `reset` deletes only those.
"""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.stores.redis_batch import PipelineBatch, ScriptCall
from mockserver.stores.redis_link import RedisLink
from mockserver.stores.shared_base import Change, Document, draws_true

TTL_SECONDS = 86_400
MAX_VALUES = 10_000

_BEGIN = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {n, redis.call('GET', KEYS[2]) or '0'}
"""
# KEYS: hits hash; ARGV: rule id, times (-1: none), probability is 1 (1/0)
_FIRE = """
local hits = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':hits') or '0')
local times = tonumber(ARGV[2])
if times >= 0 and hits >= times then return -1 end
local seen = redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':seen', 1)
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':hits', 1) end
return seen
"""
_HIT = """
local hits = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':hits') or '0')
local times = tonumber(ARGV[2])
if times >= 0 and hits >= times then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':hits', 1)
return 1
"""
# KEYS: id counter, list, bytes counter; ARGV: entry, size, max entries, max bytes
_JOURNAL_ADD = """
local id = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], id .. ':' .. ARGV[2] .. ':' .. ARGV[1])
local total = redis.call('INCRBY', KEYS[3], ARGV[2])
local count = redis.call('LLEN', KEYS[2])
while count > 1 and (count > tonumber(ARGV[3]) or total > tonumber(ARGV[4])) do
  local first = redis.call('LPOP', KEYS[2])
  local a = string.find(first, ':', 1, true)
  local b = string.find(first, ':', a + 1, true)
  total = redis.call('DECRBY', KEYS[3], tonumber(string.sub(first, a + 1, b - 1)))
  count = count - 1
end
return id
"""
# ids are 64-bit decimal strings: compared as strings (Lua numbers are doubles), bumped with INCR
_NEXT_ID = """
local last = redis.call('GET', KEYS[1])
local c = ARGV[1]
if (not last) or #c > #last or (#c == #last and c > last) then
  redis.call('SET', KEYS[1], c)
  return c
end
redis.call('INCR', KEYS[1])
return redis.call('GET', KEYS[1])
"""
_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
while redis.call('LLEN', KEYS[2]) > tonumber(ARGV[3]) do
  redis.call('HDEL', KEYS[1], redis.call('LPOP', KEYS[2]))
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""
_SCRIPTS = {"begin": _BEGIN, "fire": _FIRE, "hit": _HIT, "journal": _JOURNAL_ADD, "next_id": _NEXT_ID, "put": _PUT}


class RedisState:
    """Counters, the settings document, hits, journal, ids and family values under one Redis prefix."""

    shared = True

    def __init__(self, link: RedisLink, *, journal_size: int = 1000, journal_max_bytes: int = 64 * 1024 * 1024) -> None:
        self.link = link
        self.url = link.url
        self.journal_size = max(1, journal_size)
        self.journal_max_bytes = max(1, journal_max_bytes)
        self._scripts: dict[int, dict[str, Any]] = {}
        self._generation_key = link.key("state", "generation")
        self._document_key = link.key("state", "document")
        self._batch = PipelineBatch(link)  # the hot path's commands, one pipeline per loop turn
        self._journal_keys = [link.key("journal", "id"), link.key("journal", "entries"), link.key("journal", "bytes")]

    def _script(self, name: str) -> Any:
        client = self.link.client()
        scripts = self._scripts.get(id(client))
        if scripts is None or scripts["client"] is not client:
            scripts = {"client": client, **{k: client.register_script(v) for k, v in _SCRIPTS.items()}}
            self._scripts[id(client)] = scripts
        return scripts[name]

    def _hits_key(self, kind: str) -> str:
        return self.link.key("hits", kind)

    async def begin(self, key: bytes) -> tuple[int, int]:
        script, keys = self._script("begin"), [self.link.key("call", key.hex()), self._generation_key]
        n, generation = await self._batch.run(ScriptCall(script, keys, [TTL_SECONDS]))
        return int(n) - 1, int(generation)

    async def document(self) -> tuple[int, Document]:
        raw = await self.link.client().get(self._document_key)
        if raw is None:
            return 0, {}
        stored = orjson.loads(raw)
        return int(stored["generation"]), stored["body"]

    async def change(self, change: Change, *, initial: bool = False) -> tuple[int, Document]:
        import redis.exceptions

        client = self.link.client()
        async with client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self._document_key)
                    raw = await pipe.get(self._document_key)
                    stored: dict[str, Any] = orjson.loads(raw) if raw is not None else {"generation": 0, "body": {}}
                    generation, document = int(stored["generation"]), stored["body"]
                    if initial and raw is not None:
                        await pipe.unwatch()
                        return generation, document
                    updated = change(document)
                    if updated is None:
                        await pipe.unwatch()
                        return generation, document
                    generation += 1
                    pipe.multi()
                    pipe.set(self._document_key, orjson.dumps({"generation": generation, "body": updated}))
                    pipe.set(self._generation_key, generation)
                    await pipe.execute()
                    return generation, updated
                except redis.exceptions.WatchError:
                    continue  # another process changed it meanwhile: apply the change to its version

    async def fire(self, kind: str, rule_id: str, times: int | None, probability: float, seed: int) -> bool:
        limit = -1 if times is None else times
        certain = probability >= 1.0
        seen = int(await self._script("fire")(keys=[self._hits_key(kind)], args=[rule_id, limit, int(certain)]))
        if seen < 0:
            return False
        if certain:
            return True
        if not draws_true(seed, rule_id, seen, probability):
            return False
        return bool(await self._script("hit")(keys=[self._hits_key(kind)], args=[rule_id, limit]))

    async def forget_hits(self, kind: str, rule_ids: list[str]) -> None:
        if rule_ids:
            fields = [f"{rule}:{part}" for rule in rule_ids for part in ("seen", "hits")]
            await self.link.client().hdel(self._hits_key(kind), *fields)

    async def hits(self, kind: str) -> dict[str, int]:
        found = await self.link.client().hgetall(self._hits_key(kind))
        return {name.decode()[: -len(":hits")]: int(value) for name, value in found.items() if name.endswith(b":hits")}

    async def journal_add(self, entry: bytes, size: int) -> int:
        script, bounds = self._script("journal"), (self.journal_size, self.journal_max_bytes)
        return int(await self._batch.run(ScriptCall(script, self._journal_keys, [entry, size, *bounds])))

    async def journal_read(self, after: int = 0) -> list[tuple[int, bytes]]:
        items = await self.link.client().lrange(self._journal_keys[1], 0, -1)
        kept = []
        for item in items:
            head, _, rest = item.partition(b":")
            entry_id = int(head)
            if entry_id > after:
                kept.append((entry_id, rest.partition(b":")[2]))
        return kept

    async def journal_clear(self) -> None:
        client = self.link.client()
        await client.delete(self._journal_keys[1], self._journal_keys[2])

    async def next_id(self, name: str, candidate: int) -> int:
        return int(await self._script("next_id")(keys=[self.link.key("ids", name)], args=[str(candidate)]))

    async def put(self, space: str, key: str, value: bytes) -> None:
        await self._script("put")(
            keys=[self.link.key("values", space), self.link.key("values", space, "order")],
            args=[key, value, MAX_VALUES, TTL_SECONDS],
        )

    async def get(self, space: str, key: str) -> bytes | None:
        found = await self.link.client().hget(self.link.key("values", space), key)
        return None if found is None else bytes(found)

    async def reset(self) -> None:
        client = self.link.client()
        doomed: list[Any] = [self._journal_keys[1], self._journal_keys[2]]
        for pattern in ("call:*", "hits:*", "ids:*", "values:*"):
            doomed.extend([key async for key in client.scan_iter(match=self.link.key(pattern), count=1000)])
        for start in range(0, len(doomed), 1000):
            await client.unlink(*doomed[start : start + 1000])

    async def close(self) -> None:
        await self.link.aclose()
