-- One run's writes and claims on a job, in order, in one round trip. Every step is a
-- compare-and-set on the recipient's record, so a call retried after a lost reply changes
-- nothing twice. KEYS[1] records hash, KEYS[2] counts hash, KEYS[3] chunk stream.
-- ARGV[1] owner (run id), ARGV[2] claimable states ("," separated), ARGV[3] now, ARGV[4] the
-- consumer group, ARGV[5] number of ops, ARGV[6] number of entry ids to acknowledge, then the
-- ops (JSON), the entry ids, and the keys to claim.
--
-- Ops:
--   {op="done", k, s, r, e, p, m, b, a}: this run's claimed recipient is final. Also over an
--     "interrupted" UNKNOWN another run set while this one was stalled: the owner knows what
--     really happened, and nobody else ever sends it.
--   {op="final", k, i, s, r, e, p, m, b, a}: never claimed (skip, failed render): only over
--     no record or a pending one.
--   {op="release", k, a}: surely not sent: back to pending, only while this run holds it.
--   {op="interrupt", k, e}: ANOTHER run's in-flight record (its chunk was reclaimed after its
--     heartbeat expired) becomes UNKNOWN, keeping its owner (see "done").
-- Claims return, per key, "" when this run now holds it (or already held it: a retried call)
-- and the record's JSON when another run holds or finished it.
local owner, now, group = ARGV[1], ARGV[3], ARGV[4]
local nops, nacks = tonumber(ARGV[5]), tonumber(ARGV[6])
local records, counts = KEYS[1], KEYS[2]

local function put(key, rec, old)
  if old then redis.call("HINCRBY", counts, old, -1) end
  redis.call("HINCRBY", counts, rec.s, 1)
  redis.call("HSET", records, key, cjson.encode(rec))
end

for n = 7, 6 + nops do
  local op = cjson.decode(ARGV[n])
  local raw = redis.call("HGET", records, op.k)
  local rec = nil
  if raw then rec = cjson.decode(raw) end
  if op.op == "done" then
    if rec and rec.o == owner and
        (rec.s == "in_flight" or (rec.s == "unknown" and rec.r == "interrupted")) then
      local old = rec.s
      rec.s, rec.r, rec.e, rec.p, rec.m, rec.b = op.s, op.r, op.e, op.p, op.m, op.b
      rec.a = (rec.a or 0) + op.a
      put(op.k, rec, old)
    end
  elseif op.op == "final" then
    if rec == nil or rec.s == "pending" then
      local old = nil
      if rec then old = rec.s else rec = {i = op.i} end
      rec.s, rec.r, rec.e, rec.p, rec.m, rec.b, rec.o = op.s, op.r, op.e, op.p, op.m, op.b, owner
      rec.a = (rec.a or 0) + op.a
      put(op.k, rec, old)
    end
  elseif op.op == "release" then
    if rec and rec.s == "in_flight" and rec.o == owner then
      rec.s = "pending"
      rec.a = (rec.a or 0) + op.a
      put(op.k, rec, "in_flight")
    end
  elseif op.op == "interrupt" then
    if rec and rec.s == "in_flight" and rec.o ~= owner then
      rec.s, rec.r, rec.e = "unknown", "interrupted", op.e
      put(op.k, rec, "in_flight")
    end
  end
end

-- Acknowledged only after the ops above: a chunk leaves the stream once its outcomes are
-- stored. Only a chunk this run still holds: one taken over while this run was stalled is
-- the taker's to acknowledge (it may still have recipients of it in flight).
local first = 7 + nops
for n = first, first + nacks - 1 do
  local entry = redis.call("XPENDING", KEYS[3], group, ARGV[n], ARGV[n], 1)
  if entry[1] and entry[1][2] == owner then
    redis.call("XACK", KEYS[3], group, ARGV[n])
  end
end

local claimable = {}
for state in string.gmatch(ARGV[2], "[^,]+") do claimable[state] = true end
local out = {}
for n = first + nacks, #ARGV do
  local key = ARGV[n]
  local raw = redis.call("HGET", records, key)
  local rec
  if raw then rec = cjson.decode(raw) else rec = {s = "pending", a = 0} end
  if rec.s == "in_flight" and rec.o == owner then
    out[#out + 1] = ""
  elseif claimable[rec.s] then
    if raw then redis.call("HINCRBY", counts, rec.s, -1) end
    redis.call("HINCRBY", counts, "in_flight", 1)
    rec.s, rec.o, rec.t = "in_flight", owner, now
    rec.c = (rec.c or 0) + 1
    redis.call("HSET", records, key, cjson.encode(rec))
    out[#out + 1] = ""
  else
    out[#out + 1] = raw
  end
end
return out
