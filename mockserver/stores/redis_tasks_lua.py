"""The Lua scripts of `RedisTaskStore`: each decision (admit and insert, claim, complete, release) runs as one
script, so Redis applies it atomically whichever replica sends it.

Floats reach Redis as strings (Python's `repr`, which round-trips exactly); floats a script computes are
formatted with `%.17g` before they become scores, because Lua's own number-to-string keeps only 14 digits
(a tenth of a millisecond at today's epoch). Step times are computed the way `TaskRecord.step_time` does
(`submitted + at_ms / 1000.0` in doubles), so Lua and Python agree to the bit.

A task's *times* string is `"<submitted_at> <at_ms of step 0> <at_ms of step 1> ..."`: what the scripts
need of the plan, without decoding the record.
"""

from __future__ import annotations

_TIMES = """
local function parse_times(s)
  local submitted, ats = nil, {}
  for tok in string.gmatch(s, '%S+') do
    if submitted == nil then submitted = tonumber(tok) else ats[#ats + 1] = tonumber(tok) end
  end
  return submitted, ats
end
local function step_time(submitted, ats, index)
  return string.format('%.17g', submitted + ats[index + 1] / 1000.0)
end
"""

_OBSERVE = """
local function observe(kend, kstart, now, concurrency)
  local holding = redis.call('ZCOUNT', kend, '(' .. now, '+inf')
  local waiting = redis.call('ZCOUNT', kstart, '(' .. now, '+inf')
  local free_at = ''
  if holding >= concurrency and holding > 0 then
    local found = redis.call('ZRANGEBYSCORE', kend, '(' .. now, '+inf', 'WITHSCORES', 'LIMIT',
      holding - concurrency, 1)
    if found[2] then free_at = found[2] end
  end
  return {holding, waiting, free_at}
end
local function stale_pool(kend, kstart, now, concurrency, seen_h, seen_w, seen_f, prune_before)
  redis.call('ZREMRANGEBYSCORE', kend, '-inf', '(' .. prune_before)
  redis.call('ZREMRANGEBYSCORE', kstart, '-inf', '(' .. prune_before)
  local seen = observe(kend, kstart, now, concurrency)
  return tostring(seen[1]) ~= seen_h or tostring(seen[2]) ~= seen_w or seen[3] ~= seen_f
end
"""

# KEYS: pool end, pool start. ARGV: now, concurrency. -> {holding, waiting, free_at or ''}
POOL = (
    _OBSERVE
    + """
return observe(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]))
"""
)

# KEYS: rec order seq next due times keyset by_v by_o by_vo pool_end pool_start check_end check_start
# ARGV: id json times now check concurrency holding waiting free_at run_start run_end first first_due
#       prune_before  -> 'ok' | 'dup' | 'stale'
SUBMIT = (
    _OBSERVE
    + """
local id = ARGV[1]
if ARGV[5] == '1' and stale_pool(KEYS[13], KEYS[14], ARGV[4], tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9],
    ARGV[14]) then
  return 'stale'
end
if redis.call('HEXISTS', KEYS[1], id) == 1 then return 'dup' end
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('HSET', KEYS[6], id, ARGV[3])
local seq = redis.call('INCR', KEYS[3])
for _, index in ipairs({KEYS[2], KEYS[8], KEYS[9], KEYS[10]}) do redis.call('ZADD', index, seq, id) end
redis.call('SADD', KEYS[7], KEYS[8], KEYS[9], KEYS[10])
if ARGV[10] ~= '' then
  redis.call('ZADD', KEYS[11], ARGV[11], id)
  redis.call('ZADD', KEYS[12], ARGV[10], id)
  redis.call('SADD', KEYS[7], KEYS[11], KEYS[12])
end
if ARGV[12] ~= '' then
  redis.call('HSET', KEYS[4], id, ARGV[12])
  redis.call('ZADD', KEYS[5], ARGV[13], id)
end
return 'ok'
"""
)

# KEYS: rec next due times keyset leases order old_v old_o old_vo new_v new_o new_vo old_end old_start
#       new_end new_start check_end check_start
# ARGV: id old_json new_json times now check concurrency holding waiting free_at run_start run_end first
#       prune_before  -> 'ok' | 'gone' | 'stale'
EXTEND = (
    _TIMES
    + _OBSERVE
    + """
local id = ARGV[1]
local current = redis.call('HGET', KEYS[1], id)
if not current then return 'gone' end
if current ~= ARGV[2] then return 'stale' end
if ARGV[6] == '1' and stale_pool(KEYS[18], KEYS[19], ARGV[5], tonumber(ARGV[7]), ARGV[8], ARGV[9], ARGV[10],
    ARGV[14]) then
  return 'stale'
end
redis.call('HSET', KEYS[1], id, ARGV[3])
redis.call('HSET', KEYS[4], id, ARGV[4])
local seq = redis.call('ZSCORE', KEYS[7], id)
for i = 8, 10 do
  if KEYS[i] ~= KEYS[i + 3] then
    redis.call('ZREM', KEYS[i], id)
    redis.call('ZADD', KEYS[i + 3], seq, id)
    redis.call('SADD', KEYS[5], KEYS[i + 3])
  end
end
redis.call('ZREM', KEYS[14], id)
redis.call('ZREM', KEYS[15], id)
if ARGV[11] ~= '' then
  redis.call('ZADD', KEYS[16], ARGV[12], id)
  redis.call('ZADD', KEYS[17], ARGV[11], id)
  redis.call('SADD', KEYS[5], KEYS[16], KEYS[17])
end
local nxt = redis.call('HGET', KEYS[2], id)
if not nxt and ARGV[13] ~= '' then
  nxt = ARGV[13]
  redis.call('HSET', KEYS[2], id, nxt)
end
if nxt and not redis.call('ZSCORE', KEYS[6], id) then
  local submitted, ats = parse_times(ARGV[4])
  local n = tonumber(nxt)
  if n < #ats then
    redis.call('ZADD', KEYS[3], step_time(submitted, ats, n), id)
  else
    redis.call('ZREM', KEYS[3], id)
  end
end
return 'ok'
"""
)

# KEYS: due leases next times rec owners
# ARGV: now_eps now wall('' = the server's TIME) lease_seconds limit owner('' = none)
# -> {{id, start, end, record json}, ...}
CLAIM = (
    _TIMES
    + """
redis.replicate_commands()  -- TIME before writes (the default from Redis 5 on; needed before it)
local now = tonumber(ARGV[2])
local wall
if ARGV[3] == '' then
  local t = redis.call('TIME')
  wall = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  wall = tonumber(ARGV[3])
end
local lease_until = string.format('%.17g', wall + tonumber(ARGV[4]))
local limit = tonumber(ARGV[5])
local out = {}
local function try(id)
  local start = tonumber(redis.call('HGET', KEYS[3], id))
  local times = redis.call('HGET', KEYS[4], id)
  if not start or not times then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    return
  end
  local submitted, ats = parse_times(times)
  if start >= #ats then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    return
  end
  local elapsed = math.floor((now - submitted) * 1000.0 + 1e-3)
  local reached = 0
  for i = 1, #ats do
    if ats[i] <= elapsed then reached = i - 1 else break end
  end
  local stop = math.max(start, reached + 1)
  if stop == start then return end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], lease_until, id)
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[6], id, ARGV[6]) else redis.call('HDEL', KEYS[6], id) end
  out[#out + 1] = {id, start, stop, redis.call('HGET', KEYS[5], id)}
end
-- leases that ran out first: their holder is presumed dead
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.17g', wall),
    'LIMIT', 0, limit)) do
  try(id)
end
if #out < limit then
  -- a few spare candidates: an entry can sit at the border of a millisecond and not be due yet
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit - #out + 16)) do
    if #out >= limit then break end
    try(id)
  end
end
return out
"""
)

# KEYS: next due leases owners times. ARGV: id start done -> 1 released, 0 not ours any more
COMPLETE = (
    _TIMES
    + """
local id = ARGV[1]
local nxt = redis.call('HGET', KEYS[1], id)
if not nxt or tonumber(nxt) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], id, ARGV[3])
redis.call('ZREM', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
local times = redis.call('HGET', KEYS[5], id)
local submitted, ats = parse_times(times or '')
local done = tonumber(ARGV[3])
if times and done < #ats then
  redis.call('ZADD', KEYS[2], step_time(submitted, ats, done), id)
else
  redis.call('ZREM', KEYS[2], id)
end
return 1
"""
)

# KEYS: owners leases due next times. ARGV: id owner -> 1 when the claim of `owner` was released
RELEASE = (
    _TIMES
    + """
local id = ARGV[1]
if redis.call('HGET', KEYS[1], id) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], id)
if redis.call('ZREM', KEYS[2], id) == 0 then return 0 end
local nxt = redis.call('HGET', KEYS[4], id)
local times = redis.call('HGET', KEYS[5], id)
if nxt and times then
  local submitted, ats = parse_times(times)
  local n = tonumber(nxt)
  if n < #ats then redis.call('ZADD', KEYS[3], step_time(submitted, ats, n), id) end
end
return 1
"""
)

# KEYS: log logseq totals. ARGV: task(json string) entry(json) size attempts delivered failed -> seq
LOG = """
local seq = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], ARGV[1] .. '\\t' .. seq .. '\\t' .. ARGV[2])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
local names = {'attempts', 'delivered', 'failed'}
for i = 1, 3 do
  local by = tonumber(ARGV[3 + i])
  if by ~= 0 then redis.call('HINCRBY', KEYS[3], names[i], by) end
end
return seq
"""

# KEYS: log. ARGV: task(json string) limit -> the task's newest `limit` entries, oldest first
TASK_ATTEMPTS = """
local head = ARGV[1] .. '\\t'
local limit = tonumber(ARGV[2])
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
local found = {}
for i = #entries, 1, -1 do
  if #found >= limit then break end
  if string.sub(entries[i], 1, #head) == head then found[#found + 1] = entries[i] end
end
local out = {}
for i = #found, 1, -1 do out[#out + 1] = found[i] end
return out
"""

# KEYS: index rec. ARGV: limit (-1: all) -> the records (false for a vanished one), oldest first
RECORDS = """
local limit = tonumber(ARGV[1])
local ids
if limit < 0 then
  ids = redis.call('ZRANGE', KEYS[1], 0, -1)
elseif limit == 0 then
  return {}
else
  ids = redis.call('ZRANGE', KEYS[1], -limit, -1)
end
local out = {}
for i = 1, #ids, 500 do
  local chunk = {}
  for j = i, math.min(i + 499, #ids) do chunk[#chunk + 1] = ids[j] end
  for _, value in ipairs(redis.call('HMGET', KEYS[2], unpack(chunk))) do out[#out + 1] = value end
end
return out
"""

# KEYS: every fixed key; KEYS[1] is the set naming the others made on the way. -> keys deleted
CLEAR = """
local extra = redis.call('SMEMBERS', KEYS[1])
local deleted = 0
for i = 1, #extra, 500 do
  local chunk = {}
  for j = i, math.min(i + 499, #extra) do chunk[#chunk + 1] = extra[j] end
  deleted = deleted + redis.call('DEL', unpack(chunk))
end
return deleted + redis.call('DEL', unpack(KEYS))
"""
