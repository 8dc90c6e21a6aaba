-- StrictInstanceAwareCounter del: removes the key's cumulative and this owner's
-- slice, and moves the key to a new epoch so every other slice of it is stale.
-- KEYS and reply as ia_inc.lua; ARGV = {owner, key}.
if not touch(KEYS[2], ARGV[1]) then return reaped_error(ARGV[1]) end
local key = ARGV[2]
local _, cum, slice = load(key)
local fresh = next_epoch(KEYS[1])
-- The epoch stays after the key is gone: without it the key would fall back to the
-- ':clear' epoch, and slices written at that epoch would count again.
redis.call('HSET', KEYS[1], key, fresh)
redis.call('HDEL', KEYS[3], key)
redis.call('HDEL', KEYS[4], key)
return {'0', '0', cum, slice, '1', fresh}
