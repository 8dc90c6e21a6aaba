-- LaxCounter flush: applies one instance's batch of deltas at most once.
-- KEYS[1] = the family's hash; KEYS[2] = this instance's last-applied-batch key
-- (same hash tag), holding "<session>:<batch>". ARGV = {session, batch, ttl_ms,
-- field1, delta1, field2, delta2, ...}. A batch of the same session whose number is
-- not above the last applied one was applied before (a retry after an unknown
-- outcome): it is skipped, so nothing is counted twice. A new session (a restarted
-- process) starts afresh. The number is recorded before any delta is applied, and each
-- delta is applied on its own, so a failing field cannot leave a half-applied batch
-- that a retry would apply again. Returns, per field in order, its value as a string,
-- or an error element for a delta that was rejected: DKOVERFLOW (the sum would leave
-- the int64 range) or DKNOTINT (the field holds something else); neither writes.
local last = redis.call('GET', KEYS[2])
local fresh = true
if last then
  local sep = last:find(':', 1, true)
  if sep and last:sub(1, sep - 1) == ARGV[1] and compare(ARGV[2], last:sub(sep + 1)) <= 0 then
    fresh = false
  end
end
if fresh then
  redis.call('SET', KEYS[2], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local out = {}
for i = 4, #ARGV, 2 do
  if not fresh then
    local current = redis.call('HGET', KEYS[1], ARGV[i]) or '0'
    if is_int64(current) then
      out[#out + 1] = current
    else
      out[#out + 1] = not_int64_error(ARGV[i])
    end
  elseif type(redis.pcall('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])) == 'table' then
    -- Named by us, not by Redis's wording: HINCRBY refuses a field that holds no
    -- int64, or a sum that would leave the range (the delta is an int64 we wrote).
    if is_int64(redis.call('HGET', KEYS[1], ARGV[i]) or '0') then
      out[#out + 1] = overflow_error(ARGV[i])
    else
      out[#out + 1] = not_int64_error(ARGV[i])
    end
  else
    out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i])
  end
end
return out
