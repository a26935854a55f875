-- Hold every process of a shared rate limit until now + ARGV[1] us (a 429's Retry-After).
--
-- KEYS[1] tat, KEYS[2] pause (see gcra_acquire.lua); KEYS[3] unused (same slot, same keys).
-- ARGV[1] pause length, us;  ARGV[2] tau, us;  ARGV[3] look-ahead, us;  ARGV[4] idle key
-- lifetime, ms;  ARGV[5] channel to announce the pause on.
-- Returns the pause end, unix us on the Redis clock (the longest pause wins).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local length = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local lookahead = tonumber(ARGV[3])
local keep_ms = tonumber(ARGV[4])
local untl = now + length

local current = tonumber(redis.call('GET', KEYS[2]))
if current and current >= untl then return current end
redis.call('SET', KEYS[2], string.format('%.0f', untl), 'PX', math.ceil(length / 1000) + 1)

-- Push the schedule past the pause too, so the rate resumes there without a burst even if the
-- pause key were lost; a missing schedule is treated as in gcra_acquire.lua.
local tat = tonumber(redis.call('GET', KEYS[1])) or (now + tau + lookahead)
if tat < untl + tau then tat = untl + tau end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + keep_ms)
redis.call('PUBLISH', ARGV[5], string.format('%.0f', untl))
return untl
