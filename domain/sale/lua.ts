// The flash-sale gate's scripts. Each runs atomically in Redis, so arrival order at Redis is sale order.
// Keys share one hash tag per sale ({id}), so they also live together on a Redis Cluster.
// The holds' and idempotency entries' layouts are described, and encoded for TypeScript, in hold.ts.

/**
 * KEYS sale, users, holds, idem. ARGV userId, qty, orderId, nowMs, idemField ('' = none), requestHash, itemId,
 * replayOnly ('1': answer a replay, or NONE, and decide nothing), placement window (ms).
 * A replay answers the time by which its placement must be acked (0: no bound, its order is in Postgres or gone);
 * BUSY names the order it waits for (Postgres may have it: the hold is marked only by the sweeper).
 */
export const purchaseLua = `
local s = redis.call('HMGET', KEYS[1], 'remaining', 'limit', 'startsAt', 'endsAt')
if not s[1] then return {'MISSING'} end
if ARGV[5] ~= '' then
  local prev = redis.call('HGET', KEYS[4], ARGV[5])
  if prev then
    local oid, item, h = string.match(prev, '^([^|]*)|([^|]*)|(.*)$')
    if h ~= ARGV[6] then return {'IDEMPOTENCY_KEY_REUSED'} end
    -- a hold the sweeper is giving up: its placement would be dropped, so the retry must wait for the outcome
    local hold = redis.call('HGET', KEYS[3], oid)
    local state = hold and string.sub(hold, 1, 1)
    if state == 'A' then return {'BUSY', oid, item} end
    -- a placement not in Postgres past its window: the sweeper may give it up, so nothing publishes it any more
    if state == 'P' then
      local by = tonumber(string.match(hold, '^P|[^|]*|%d+|(%d+)|')) + tonumber(ARGV[9])
      if tonumber(ARGV[4]) >= by then return {'BUSY', oid, item} end
      return {'REPLAY', oid, item, by}
    end
    return {'REPLAY', oid, item, 0}
  end
end
if ARGV[8] == '1' then return {'NONE'} end
local now = tonumber(ARGV[4])
if now < tonumber(s[3]) then return {'NOT_STARTED'} end
local endsAt = tonumber(s[4])
if endsAt > 0 and now >= endsAt then return {'ENDED'} end
local qty = tonumber(ARGV[2])
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if mine + qty > tonumber(s[2]) then return {'LIMIT_REACHED'} end
local remaining = tonumber(s[1])
if remaining < qty then
  redis.call('HINCRBY', KEYS[1], 'soldOutAnswers', 1)
  redis.call('HSET', KEYS[1], 'lastSoldOutAt', ARGV[4])
  return {'SOLD_OUT'}
end
redis.call('HINCRBY', KEYS[1], 'remaining', -qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
if remaining - qty == 0 then redis.call('HSETNX', KEYS[1], 'soldOutAt', ARGV[4]) end
redis.call('HSET', KEYS[3], ARGV[3], 'P|' .. ARGV[1] .. '|' .. qty .. '|' .. ARGV[4] .. '|' .. ARGV[5] .. '|' .. ARGV[7])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[5], ARGV[3] .. '|' .. ARGV[7] .. '|' .. ARGV[6]) end
-- the sale's keys all expire a day after it ends
local expireAt = redis.call('HGET', KEYS[1], 'expireAt')
for i = 2, 4 do
  if redis.call('PTTL', KEYS[i]) == -1 then redis.call('PEXPIREAT', KEYS[i], expireAt) end
end
return {'OK', ARGV[3], ARGV[7], seq, remaining - qty}
`;

/** Gives a hold's units back once. KEYS sale, users, holds, idem. ARGV orderId, nowMs, forgetIdem ('1' = the buyer never got an answer). */
export const releaseLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local h = redis.call('HGET', KEYS[3], ARGV[1])
if not h then return 0 end
local state, user, qty, at, idem, item = string.match(h, '^(%a)|([^|]*)|(%d+)|(%d+)|([^|]*)|(.*)$')
if state == 'R' then return 0 end
redis.call('HINCRBY', KEYS[1], 'remaining', tonumber(qty))
redis.call('HINCRBY', KEYS[2], user, -tonumber(qty))
redis.call('HSET', KEYS[3], ARGV[1], 'R|' .. user .. '|' .. qty .. '|' .. at .. '|' .. idem .. '|' .. item)
redis.call('HSET', KEYS[1], 'lastRestockAt', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'released', tonumber(qty))
if ARGV[3] == '1' and idem ~= '' then redis.call('HDEL', KEYS[4], idem) end
return tonumber(qty)
`;

/**
 * Moves holds from one state to another (P -> S: the order reached Postgres; P -> A: being given up; A -> S:
 * its order turned up after all). KEYS holds. ARGV from, to, orderIds. Returns how many moved.
 */
export const markLua = `
local moved = 0
for i = 3, #ARGV do
  local h = redis.call('HGET', KEYS[1], ARGV[i])
  if h and string.sub(h, 1, 1) == ARGV[1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[2] .. string.sub(h, 2))
    moved = moved + 1
  end
end
return moved
`;

/**
 * Writes a sale's gate unless it is there already. KEYS sale, users, holds, idem. ARGV JSON
 * {remaining, limit, quantity, startsAt, endsAt, expireAt, users: {id: n}, holds: {orderId: value}, idem: {field: value}}.
 */
export const loadLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local d = cjson.decode(ARGV[1])
redis.call('HSET', KEYS[1], 'remaining', d.remaining, 'limit', d.limit, 'quantity', d.quantity,
  'startsAt', d.startsAt, 'endsAt', d.endsAt, 'expireAt', d.expireAt, 'seq', d.seq, 'released', 0, 'soldOutAnswers', 0)
for id, n in pairs(d.users) do redis.call('HSET', KEYS[2], id, n) end
for id, v in pairs(d.holds) do redis.call('HSET', KEYS[3], id, v) end
for f, v in pairs(d.idem or {}) do redis.call('HSET', KEYS[4], f, v) end
for i = 1, 4 do redis.call('PEXPIREAT', KEYS[i], d.expireAt) end
return 1
`;

/**
 * Repairs a gate that disagrees with Postgres (a failed-over primary forgot writes), without losing what came
 * after Postgres was read: KEYS sale, users, holds, idem. ARGV JSON load (as loadLua), nowMs. Each hold Postgres
 * knows takes Postgres's state, unless Redis has it released (a release is never undone); holds only Redis knows
 * (placements still on their way) stay. Remaining and the per-shopper counts are counted again from the holds;
 * an Idempotency-Key Postgres knows answers with Postgres's order (its first).
 * Returns {remaining before, remaining after}, or -1 when the gate is not loaded (a rebuild's job).
 */
export const repairLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local d = cjson.decode(ARGV[1])
local holds = {}
local cur = redis.call('HGETALL', KEYS[3])
for i = 1, #cur, 2 do holds[cur[i]] = cur[i + 1] end
for id, v in pairs(d.holds) do
  local had = holds[id]
  if not (had and string.sub(had, 1, 1) == 'R') then holds[id] = v end
end
local users, taken = {}, 0
redis.call('DEL', KEYS[2], KEYS[3])
for id, v in pairs(holds) do
  redis.call('HSET', KEYS[3], id, v)
  local state, user, qty = string.match(v, '^(%a)|([^|]*)|(%d+)|')
  if state ~= 'R' then
    taken = taken + tonumber(qty)
    users[user] = (users[user] or 0) + tonumber(qty)
  end
end
for id, n in pairs(users) do redis.call('HSET', KEYS[2], id, n) end
for f, v in pairs(d.idem or {}) do redis.call('HSET', KEYS[4], f, v) end
local before = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
local remaining = d.quantity - taken
local seq = math.max(tonumber(redis.call('HGET', KEYS[1], 'seq') or '0'), d.seq)
redis.call('HSET', KEYS[1], 'remaining', remaining, 'limit', d.limit, 'quantity', d.quantity, 'startsAt', d.startsAt,
  'endsAt', d.endsAt, 'expireAt', d.expireAt, 'seq', seq)
if remaining > before then redis.call('HSET', KEYS[1], 'lastRestockAt', ARGV[2]) end
for i = 1, 4 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIREAT', KEYS[i], d.expireAt) end
end
return {before, remaining}
`;
