-- StrictInstanceAwareCounter del_on_instance: removes this owner's slice and takes
-- it out of the cumulative. KEYS and reply as ia_inc.lua; ARGV = {owner, key}.
if not touch(KEYS[2], ARGV[1]) then return reaped_error(ARGV[1]) end
local key = ARGV[2]
local epoch, cum, slice = load(key)
local new_cum = int_add(cum, int_neg(slice))
if not fits_int64(new_cum) then return overflow_error(key) end
if slice ~= '0' then redis.call('HSET', KEYS[3], key, new_cum) end
redis.call('HDEL', KEYS[4], key)
return {new_cum, '0', cum, slice, '1', epoch}
