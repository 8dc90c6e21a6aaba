-- LaxInstanceAwareCounter flush: adds a batch of deltas to this owner's slices and
-- the cumulatives, at most once per batch number (a retry after an unknown outcome
-- is recognised and skipped). Numbers are per owner, so a new incarnation starts
-- afresh. KEYS as ia_inc.lua; ARGV = {owner, batch, key1, delta1, ...}.
-- Returns per key {cumulative, slice, epoch}, or an error for a delta that would
-- overflow (dropped; the others apply).
if not touch(KEYS[2], ARGV[1]) then return reaped_error(ARGV[1]) end
local last = redis.call('HGET', KEYS[4], ':batch')
local fresh = (not last) or compare(ARGV[2], last) > 0
if fresh then redis.call('HSET', KEYS[4], ':batch', ARGV[2]) end
local out = {}
for i = 3, #ARGV, 2 do
  local key, delta = ARGV[i], ARGV[i + 1]
  local epoch, cum, slice = load(key)
  local item
  if fresh then
    local new_cum, new_slice = int_add(cum, delta), int_add(slice, delta)
    if fits_int64(new_cum) and fits_int64(new_slice) then
      redis.call('HSET', KEYS[3], key, new_cum)
      redis.call('HSET', KEYS[4], key, epoch .. ':' .. new_slice)
      cum, slice = new_cum, new_slice
    else
      item = overflow_error(key)
    end
  end
  out[#out + 1] = item or {cum, slice, epoch}
end
return out
