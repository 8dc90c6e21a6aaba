-- StrictInstanceAwareCounter clear: every key of the family goes back to 0 under one
-- new epoch, newer than any slice anywhere, so no instance can bring old slices back
-- (they are stale, and neither recovery nor reaping counts a stale slice).
-- KEYS = {epochs, cumulative}; ARGV = {}. Returns the new epoch.
local fresh = next_epoch(KEYS[1])
redis.call('UNLINK', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], ':next', fresh, ':clear', fresh)
return fresh
