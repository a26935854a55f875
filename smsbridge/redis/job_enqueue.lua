-- The coordinator adds one chunk: its recipients' pending records and its stream entry, at
-- once, under the chunk's explicit entry id; a chunk already added (a re-run coordinator) is
-- left alone, so a re-run adds no duplicate.
-- KEYS[1] records, KEYS[2] counts, KEYS[3] stream, KEYS[4] meta.
-- ARGV[1] entry id ("<chunk+1>-1"), ARGV[2] chunk payload (JSON), ARGV[3] read so far,
-- then pairs (key, record JSON) for the chunk's recipients and its final entries.
local last = redis.call("HGET", KEYS[4], "last_entry")
local seq = tonumber(string.match(ARGV[1], "^(%d+)-"))
if last and tonumber(last) >= seq then return 0 end
for n = 4, #ARGV, 2 do
  if redis.call("HSETNX", KEYS[1], ARGV[n], ARGV[n + 1]) == 1 then
    redis.call("HINCRBY", KEYS[2], cjson.decode(ARGV[n + 1]).s, 1)
  end
end
redis.call("XADD", KEYS[3], ARGV[1], "items", ARGV[2])
redis.call("HSET", KEYS[4], "last_entry", seq, "read", ARGV[3])
return 1
