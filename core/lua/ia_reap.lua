-- Removes up to `max` slices of a dead owner: a valid slice leaves the cumulative, a
-- stale one is only deleted. Once the owner's hash is empty it leaves `reaping`.
-- Bounded work: HSCAN in steps of `max`, never all keys at once.
-- KEYS = {epochs, cumulative, slices:<dead owner>, reaping}; ARGV = {dead owner, max}.
-- Returns {removed, blocked, left}; `blocked` slices stay because removing them would
-- take their key's cumulative out of the int64 range.
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then return {0, 0, 0} end
local max = tonumber(ARGV[2])
local fields, cursor = {}, '0'
repeat
  local step = redis.call('HSCAN', KEYS[3], cursor, 'COUNT', max)
  cursor = step[1]
  for i = 1, #step[2] do fields[#fields + 1] = step[2][i] end
until cursor == '0' or #fields >= 2 * max
local removed, blocked = 0, 0
for i = 1, math.min(#fields, 2 * max), 2 do
  local key, v = fields[i], fields[i + 1]
  local keep = false
  if key:sub(1, 1) ~= ':' then
    local sep = v:find(':', 1, true)
    local count = v:sub(sep + 1)
    if count ~= '0' and v:sub(1, sep - 1) == epoch_of(KEYS[1], key) then
      local new_cum = int_add(redis.call('HGET', KEYS[2], key) or '0', int_neg(count))
      if fits_int64(new_cum) then
        redis.call('HSET', KEYS[2], key, new_cum)
        removed = removed + 1
      else
        keep = true
        blocked = blocked + 1
      end
    end
  end
  if not keep then redis.call('HDEL', KEYS[3], key) end
end
local left = redis.call('HLEN', KEYS[3])
if left == 0 then redis.call('ZREM', KEYS[4], ARGV[1]) end
return {removed, blocked, left}
