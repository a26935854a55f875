-- Apply one opt-out or opt-in to a number's suppression record, in event-time order.
--
-- KEYS[1] the number's record: hash {suppressed = '1'|'0', at = event time us, reason, source}
-- ARGV[1] '1' to suppress (opt-out), '0' to unsuppress (opt-in)
-- ARGV[2] event time, unix us, or '' for now (Redis's clock)
-- ARGV[3] reason, ARGV[4] source ('' for none)
--
-- Returns 1 when the event decided the state, 0 when a later event had already decided it.
-- The later event wins whichever receiver saw it first; on a tie the number stays suppressed,
-- because texting someone who opted out is the failure that matters.
local at = tonumber(ARGV[2])
if not at then
  local t = redis.call('TIME')
  at = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local record = redis.call('HMGET', KEYS[1], 'suppressed', 'at')
local known = tonumber(record[2])
if known then
  if at < known then return 0 end
  if at == known and ARGV[1] == '0' then return 0 end
end
-- An opt-in is kept as a record too (not deleted): an older opt-out that arrives late must
-- still lose to it.
redis.call('HSET', KEYS[1], 'suppressed', ARGV[1], 'at', string.format('%.0f', at),
           'reason', ARGV[3], 'source', ARGV[4])
return 1
