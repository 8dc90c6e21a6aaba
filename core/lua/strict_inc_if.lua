-- StrictCounter inc / inc_if: one atomic step on one hash field.
-- KEYS[1] = the family's hash; ARGV = {field, op, operand, delta}.
-- Values stay decimal strings end to end (HINCRBY takes and HGET returns exact
-- int64 text), so nothing passes through a Lua double. compare() and matches()
-- come from conditions.lua. Returns {new, old, applied} as strings;
-- on a comparator miss nothing is written and {old, old} comes back.
local old = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
local ok = matches(old, ARGV[2], ARGV[3])
if type(ok) == 'table' then return ok end
if not ok then return {old, old, '0'} end
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[4])
return {redis.call('HGET', KEYS[1], ARGV[1]), old, '1'}
