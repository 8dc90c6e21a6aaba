-- StrictCounter set / set_if. KEYS[1] = the family's hash; ARGV = {field, op,
-- operand, value}. Returns {new, old, applied} as strings; on a miss {old, old, "0"},
-- nothing written. A stored value that is not an int64 fails with DKNOTINT, even for
-- an unconditional set: the reply could not say what was overwritten.
local old = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if not is_int64(old) then return not_int64_error(ARGV[1]) end
local ok = matches(old, ARGV[2], ARGV[3])
if type(ok) == 'table' then return ok end
if not ok then return {old, old, '0'} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return {ARGV[4], old, '1'}
