-- StrictInstanceAwareCounter inc / inc_if: adds to this owner's slice and to the
-- cumulative, if the cumulative satisfies the condition.
-- KEYS = {epochs, instances, cumulative, slices:<owner>}; ARGV = {owner, key, op,
-- operand, delta}. Returns {cumulative, slice, old cumulative, old slice, applied,
-- epoch}; a miss writes nothing.
if not touch(KEYS[2], ARGV[1]) then return reaped_error(ARGV[1]) end
local key = ARGV[2]
local epoch, cum, slice = load(key)
local ok = matches(cum, ARGV[3], ARGV[4])
if type(ok) == 'table' then return ok end
if not ok then return {cum, slice, cum, slice, '0', epoch} end
local new_cum, new_slice = int_add(cum, ARGV[5]), int_add(slice, ARGV[5])
if not (fits_int64(new_cum) and fits_int64(new_slice)) then return overflow_error(key) end
redis.call('HSET', KEYS[3], key, new_cum)
redis.call('HSET', KEYS[4], key, epoch .. ':' .. new_slice)
return {new_cum, new_slice, cum, slice, '1', epoch}
