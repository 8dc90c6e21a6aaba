-- Sliding window, absolute strategy (core/limiters/sliding_window.h states the semantics; this
-- computes what sliding_window_decide does). KEYS[1] = the key's hash of buckets,
-- field "<start ms>" -> count. ARGV = {now_ms ('' = the server's TIME), limit,
-- window_ms, bucket_ms, count, committed}. `committed` (a hybrid limiter's local
-- grants) is added first, unconditionally. Expired buckets are deleted on every call
-- (at most window / bucket + 2 fields: bounded work), and the hash expires when its
-- newest bucket does. Returns {allowed, total, retry_after_ms (-1: never; 0 when
-- allowed), remaining_after_waiting}.
local now = now_ms(ARGV[1])
local limit, window, bucket = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local count, committed = tonumber(ARGV[5]), tonumber(ARGV[6] or '0')
local flat = redis.call('HGETALL', KEYS[1])
local total, oldest, oldest_count, newest = 0, nil, 0, nil
for i = 1, #flat, 2 do
  local start, c = tonumber(flat[i]), tonumber(flat[i + 1])
  if start < now - window then
    redis.call('HDEL', KEYS[1], flat[i])
  else
    total = total + c
    if not oldest or start < oldest then oldest, oldest_count = start, c end
    if not newest or start > newest then newest = start end
  end
end
-- Joins the newest bucket if it is at most `bucket` old (or from a clock that went
-- back), else opens one at now.
local function add(n)
  local start = now
  if newest and now - newest <= bucket then start = newest end
  redis.call('HINCRBY', KEYS[1], string.format('%.0f', start), n)
  redis.call('PEXPIRE', KEYS[1], math.max(start, newest or start) + window + 1 - now)
  if not oldest then oldest = start end
  if oldest == start then oldest_count = oldest_count + n end
  if not newest or start > newest then newest = start end
  total = total + n
end
if committed > 0 then add(committed) end
if total + count > limit then
  if count > limit or not oldest then return {0, total, -1, 0} end
  return {0, total, oldest + window + 1 - now, limit - (total - oldest_count)}
end
if count > 0 then add(count) end
return {1, total, 0, 0}
