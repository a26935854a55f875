-- The coordinator adds one chunk: its recipients' pending records and its stream entry, at
-- once, under the chunk's explicit entry id. A chunk already added (a re-run coordinator) is
-- left alone, and a recipient that already has a record is left out of the chunk, so neither
-- a re-run nor a re-run with another chunking or order adds anybody twice.
-- KEYS[1] records, KEYS[2] counts, KEYS[3] stream, KEYS[4] meta.
-- ARGV[1] entry id ("<chunk number>-1"), ARGV[2] entries read so far, then triples: key,
-- record JSON, and the stream item JSON ("" for an entry that is final at once: invalid,
-- duplicate). Returns the number of recipients put in the stream, -1 when the chunk was there.
local last = redis.call("HGET", KEYS[4], "last_entry")
local seq = tonumber(string.match(ARGV[1], "^(%d+)-"))
if last and tonumber(last) >= seq then return -1 end
local items = {}
for n = 3, #ARGV, 3 do
  if redis.call("HSETNX", KEYS[1], ARGV[n], ARGV[n + 1]) == 1 then
    redis.call("HINCRBY", KEYS[2], cjson.decode(ARGV[n + 1]).s, 1)
    if ARGV[n + 2] ~= "" then items[#items + 1] = ARGV[n + 2] end
  end
end
if #items > 0 then
  redis.call("XADD", KEYS[3], ARGV[1], "items", "[" .. table.concat(items, ",") .. "]")
end
redis.call("HSET", KEYS[4], "last_entry", seq, "read", ARGV[2])
return #items
