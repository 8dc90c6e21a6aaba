-- Registers an owner (a new incarnation of an instance) and restores the slices it
-- remembers, in bounded chunks. A slice is restored only if its epoch is still its
-- key's epoch (a set, del or clear since then made it stale) and the owner has no
-- slice of that key yet (so a retried chunk restores nothing twice).
-- KEYS = {epochs, instances, cumulative, slices:<owner>, reaping};
-- ARGV = {owner, register (1 or 0), key1, epoch1, count1, ...}.
-- Returns per key 'restored', 'present', 'stale' or 'overflow'.
if redis.call('ZSCORE', KEYS[5], ARGV[1]) then return reaped_error(ARGV[1]) end
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[2], now_ms(), ARGV[1])
elseif not touch(KEYS[2], ARGV[1]) then
  return reaped_error(ARGV[1])
end
local out = {}
for i = 3, #ARGV, 3 do
  local key, epoch, count = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local state
  if redis.call('HEXISTS', KEYS[4], key) == 1 then
    state = 'present'
  elseif epoch ~= epoch_of(KEYS[1], key) then
    state = 'stale'
  else
    local new_cum = int_add(redis.call('HGET', KEYS[3], key) or '0', count)
    if fits_int64(new_cum) then
      redis.call('HSET', KEYS[3], key, new_cum)
      redis.call('HSET', KEYS[4], key, epoch .. ':' .. count)
      state = 'restored'
    else
      state = 'overflow'
    end
  end
  out[#out + 1] = state
end
return out
