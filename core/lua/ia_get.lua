-- StrictInstanceAwareCounter get. KEYS as ia_inc.lua; ARGV = {owner, key}.
-- Returns {cumulative, slice, epoch}.
if not touch(KEYS[2], ARGV[1]) then return reaped_error(ARGV[1]) end
local epoch, cum, slice = load(ARGV[2])
return {cum, slice, epoch}
