-- StrictInstanceAwareCounter get. KEYS as ia_inc.lua; ARGV = {owner, key}.
-- Returns {cumulative, slice, epoch}.
if not touch(KEYS[2], ARGV[1]) then return reaped_error(ARGV[1]) end
local epoch = epoch_of(KEYS[1], ARGV[2])
return {redis.call('HGET', KEYS[3], ARGV[2]) or '0', slice_of(KEYS[4], ARGV[2], epoch), epoch}
