-- Sliding window, suppressed strategy (core/limiters/suppressed_window.h states the semantics;
-- this computes what suppressed_decide does, with the caller's random draw, so the
-- script is a pure function of its inputs). KEYS[1] = the key's hash: "<start ms>" ->
-- "<observed>:<declined>", ':factor' and ':factor_at' the cached factor.
-- ARGV = {now_ms ('' = the server's TIME), soft, hard, window_ms, bucket_ms,
-- factor_cache_ms, count, draw, committed_observed, committed_declined}: the committed
-- requests (decided by a hybrid limiter) are recorded first, unconditionally.
-- Returns {allowed, suppressing, factor (string), observed, declined}.
local now = now_ms(ARGV[1])
local soft, hard = tonumber(ARGV[2]), tonumber(ARGV[3])
local window, bucket, cache_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local count, draw = tonumber(ARGV[7]), tonumber(ARGV[8])
local committed_observed = tonumber(ARGV[9] or '0')
local committed_declined = tonumber(ARGV[10] or '0')
local flat = redis.call('HGETALL', KEYS[1])
local observed, declined, last_second = 0, 0, 0
local newest, evicted, any = nil, false, false
local cached, cached_at = nil, 0
for i = 1, #flat, 2 do
  local field = flat[i]
  if field == ':factor' then
    cached = tonumber(flat[i + 1])
  elseif field == ':factor_at' then
    cached_at = tonumber(flat[i + 1])
  else
    local start = tonumber(field)
    if start < now - window then
      redis.call('HDEL', KEYS[1], field)
      evicted = true
    else
      local sep = flat[i + 1]:find(':', 1, true)
      local o, d = tonumber(flat[i + 1]:sub(1, sep - 1)), tonumber(flat[i + 1]:sub(sep + 1))
      observed, declined, any = observed + o, declined + d, true
      if now - start <= 1000 then last_second = last_second + o end
      if not newest or start > newest then newest = start end
    end
  end
end
if cached and (evicted or now - cached_at >= cache_ms) then
  cached = nil
  redis.call('HDEL', KEYS[1], ':factor', ':factor_at')
end
-- Adds to the newest bucket if it is still open, else to a new one starting now.
local function record(add_observed, add_declined)
  local start, o, d = now, 0, 0
  if newest and now - newest <= bucket then
    start = newest
    local v = redis.call('HGET', KEYS[1], string.format('%.0f', newest))
    local sep = v:find(':', 1, true)
    o, d = tonumber(v:sub(1, sep - 1)), tonumber(v:sub(sep + 1))
  end
  redis.call('HSET', KEYS[1], string.format('%.0f', start), string.format('%.0f', o + add_observed) ..
             ':' .. string.format('%.0f', d + add_declined))
  newest = start
end
if committed_observed > 0 then
  record(committed_observed, committed_declined)
  observed, declined, any = observed + committed_observed, declined + committed_declined, true
  if now - newest <= 1000 then last_second = last_second + committed_observed end
end
local admitted = observed - declined
local function computed_factor()
  if not any or admitted < soft then return 0 end
  if admitted >= hard then return 1 end
  local window_s = window / 1000
  local perceived = math.max(observed / window_s, last_second)
  if perceived <= 0 then return 0 end
  return math.min(1, math.max(0, 1 - (soft / window_s) / perceived))
end
local allowed, suppressing, factor = false, false, 0
local forecast = admitted + count
if forecast <= soft then
  allowed = true
elseif forecast > hard then
  suppressing, factor = true, 1
else
  suppressing = true
  if not cached then
    cached = computed_factor()
    redis.call('HSET', KEYS[1], ':factor', string.format('%.17g', cached), ':factor_at',
               string.format('%.0f', now))
  end
  factor = cached
  allowed = factor <= 0 or (factor < 1 and draw < 1 - factor)
end
if count > 0 then record(count, allowed and 0 or count) end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], math.max(newest or now, now) + window + 1 - now)
end
local declined_after = declined
if not allowed then declined_after = declined + count end
return {allowed and 1 or 0, suppressing and 1 or 0, string.format('%.17g', factor),
        observed + count, declined_after}
