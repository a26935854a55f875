-- Reserve the next send slot of a shared rate limit (GCRA, virtual scheduling), atomically.
--
-- KEYS[1] tat     theoretical arrival time, microseconds on the Redis clock
-- KEYS[2] pause   microseconds until which nobody sends (a 429's Retry-After)
-- KEYS[3] budget  hash {remaining, reset}: the server's advertised budget (X-RateLimit-*)
-- ARGV[1] emission interval (period / limit), us
-- ARGV[2] burst tolerance tau, us
-- ARGV[3] look-ahead: the furthest a slot may be reserved into the future, us
-- ARGV[4] idle key lifetime, ms
-- ARGV[5] observed remaining budget, or '' (piggybacked from observe())
-- ARGV[6] observed budget reset, unix us, or ''
--
-- Returns {granted, wait_us, slot_us}: granted=1 -> the caller owns the slot at now + wait_us
-- (slot_us, unix us on the Redis clock); granted=0 -> nothing was reserved, ask again after
-- wait_us.
--
-- The time is Redis's own TIME, so the clocks of the workers do not matter.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local lookahead = tonumber(ARGV[3])
local keep_ms = tonumber(ARGV[4])

local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then
  -- No state: a first use, or a Redis that restarted empty. Slots up to the look-ahead may
  -- already be promised to requests in flight, and the burst may be spent: assume both, so an
  -- emptied Redis never lets a burst out above the limit.
  tat = now + tau + lookahead
end

local floor = now
local pause = tonumber(redis.call('GET', KEYS[2]))
if pause and pause > floor then floor = pause end

local b = redis.call('HMGET', KEYS[3], 'remaining', 'reset')
local remaining, reset = tonumber(b[1]), tonumber(b[2])
if reset and reset <= now then remaining, reset = nil, nil end
local budget_changed = false
if ARGV[5] ~= '' then
  local orem, oreset = tonumber(ARGV[5]), tonumber(ARGV[6])
  if oreset > now then
    -- The lowest figure for the latest window wins: responses arrive out of order.
    if not reset or oreset > reset then
      remaining, reset, budget_changed = orem, oreset, true
    elseif oreset == reset and orem < remaining then
      remaining, budget_changed = orem, true
    end
  end
end
if remaining and remaining <= 0 and reset > floor then floor = reset end

-- After a pause or a spent budget the rate resumes from that instant without a burst.
if floor > now and tat < floor + tau then tat = floor + tau end

local slot = math.max(now, tat - tau)

local function save_budget()
  if reset then
    redis.call('HSET', KEYS[3], 'remaining', string.format('%.0f', remaining),
               'reset', string.format('%.0f', reset))
    redis.call('PEXPIRE', KEYS[3], math.ceil((reset - now) / 1000) + 1000)
  end
end

if slot - now > lookahead then
  if budget_changed then save_budget() end
  return {0, slot - lookahead - now, slot}
end

tat = math.max(tat, slot) + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat),
           'PX', math.ceil((tat - now) / 1000) + keep_ms)
if reset and slot < reset then
  remaining = remaining - 1
  budget_changed = true
end
if budget_changed then save_budget() end
return {1, slot - now, slot}
