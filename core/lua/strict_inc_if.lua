-- StrictCounter inc / inc_if: one atomic step on one hash field.
-- KEYS[1] = the family's hash; ARGV = {field, op, operand, delta}.
-- Values stay decimal strings end to end (HINCRBY adds exactly and HGET returns exact
-- int64 text), so nothing passes through a Lua double. compare(), matches(),
-- is_int64() and dk_error() come from the preludes. Returns {new, old, applied} as
-- strings; on a comparator miss nothing is written and {old, old, '0'} comes back. A
-- stored value that is not an int64 fails with DKNOTINT, a result outside the int64
-- range with DKOVERFLOW; neither writes anything.
-- Speed: the plain increment (op 'always') checks nothing before HINCRBY, whose own
-- check is Redis's int64 syntax; only when it fails do we look why. (Adding in Lua,
-- with int64.lua prepended, cost about 30% of the throughput; this costs about 4%.)
local old = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if ARGV[2] ~= 'always' then
  if not is_int64(old) then return not_int64_error(ARGV[1]) end
  local ok = matches(old, ARGV[2], ARGV[3])
  if type(ok) == 'table' then return ok end
  if not ok then return {old, old, '0'} end
end
if type(redis.pcall('HINCRBY', KEYS[1], ARGV[1], ARGV[4])) == 'table' then
  -- Named by us, not by Redis's wording: a field that holds an int64 can only have
  -- left the range (the delta is an int64 the client wrote).
  if not is_int64(old) then return not_int64_error(ARGV[1]) end
  return overflow_error(ARGV[1])
end
return {redis.call('HGET', KEYS[1], ARGV[1]), old, '1'}
