-- StrictInstanceAwareCounter set_on_instance(_if): this owner's slice becomes the
-- value (the condition is judged on the slice, 0 if stale); the cumulative moves by
-- the difference. KEYS and reply as ia_inc.lua; ARGV = {owner, key, op, operand, value}.
if not touch(KEYS[2], ARGV[1]) then return reaped_error(ARGV[1]) end
local key = ARGV[2]
local epoch, cum, slice = load(key)
local ok = matches(slice, ARGV[3], ARGV[4])
if type(ok) == 'table' then return ok end
if not ok then return {cum, slice, cum, slice, '0', epoch} end
local new_cum = int_add(cum, int_add(ARGV[5], int_neg(slice)))
if not fits_int64(new_cum) then return overflow_error(key) end
redis.call('HSET', KEYS[3], key, new_cum)
redis.call('HSET', KEYS[4], key, epoch .. ':' .. ARGV[5])
return {new_cum, ARGV[5], cum, slice, '1', epoch}
