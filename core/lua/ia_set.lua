-- StrictInstanceAwareCounter set / set_if: the cumulative becomes the value and this
-- owner's slice holds all of it, under a new epoch that makes every other slice of
-- the key stale. KEYS and reply as ia_inc.lua; ARGV = {owner, key, op, operand, value}.
if not touch(KEYS[2], ARGV[1]) then return reaped_error(ARGV[1]) end
local key = ARGV[2]
local epoch, cum, slice = load(key)
local ok = matches(cum, ARGV[3], ARGV[4])
if type(ok) == 'table' then return ok end
if not ok then return {cum, slice, cum, slice, '0', epoch} end
local fresh = next_epoch(KEYS[1])
redis.call('HSET', KEYS[1], key, fresh)
redis.call('HSET', KEYS[3], key, ARGV[5])
redis.call('HSET', KEYS[4], key, fresh .. ':' .. ARGV[5])
return {ARGV[5], ARGV[5], cum, slice, '1', fresh}
