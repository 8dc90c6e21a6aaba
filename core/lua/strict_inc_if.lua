-- StrictCounter inc / inc_if: one atomic step on one hash field.
-- KEYS[1] = the family's hash; ARGV = {field, op, operand, delta}.
-- Values stay decimal strings end to end (int_add is exact; nothing passes through a
-- Lua double beyond 2^53). compare(), matches(), int_add(), is_int64() and dk_error()
-- come from the preludes. Returns {new, old, applied} as strings; on a comparator
-- miss nothing is written and {old, old, '0'} comes back. A stored value that is not
-- an int64 fails with DKNOTINT, a result outside the int64 range with DKOVERFLOW;
-- neither writes anything.
local old = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if not is_int64(old) then return dk_error('NOTINT', 'the field ' .. ARGV[1] .. ' holds no int64') end
local ok = matches(old, ARGV[2], ARGV[3])
if type(ok) == 'table' then return ok end
if not ok then return {old, old, '0'} end
local new = int_add(old, ARGV[4])
if not fits_int64(new) then return dk_error('OVERFLOW', 'the field ' .. ARGV[1] .. ' would leave the int64 range') end
redis.call('HSET', KEYS[1], ARGV[1], new)
return {new, old, '1'}
