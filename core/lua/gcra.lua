-- GCRA, several rates all or nothing (core/limiters/gcra.h states the semantics; this script
-- computes exactly what gcra_decide_all does). KEYS[1] = the limited key's hash, one
-- field per rate holding its TAT as "<us>:<rem>" (us + rem/permits microseconds).
-- ARGV = {now_us ('' = the server's TIME), quantity, then per rate: field, permits,
-- period_us, burst}. Every value stays below 2^53 (GcraRate::validate): exact doubles.
-- Returns {allowed, limit, remaining, retry_after_us (-1: never), reset_after_us,
-- binding rate (0-based)}. Writes only when allowed and quantity > 0; the hash lives
-- until the last TAT has passed.
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local quantity = tonumber(ARGV[2])

-- floor(a / b) and a mod b for integers 0 <= a, 0 < b below 2^53, exactly.
local function divmod(a, b)
  local r = math.fmod(a, b)
  return (a - r) / b, r
end
local function ceil_div(a, b)
  local q, r = divmod(a, b)
  if r > 0 then return q + 1 end
  return q
end

local rates = {}
local all_allowed = true
for i = 3, #ARGV, 4 do
  local rate = {field = ARGV[i], permits = tonumber(ARGV[i + 1]), period = tonumber(ARGV[i + 2]),
                burst = tonumber(ARGV[i + 3])}
  rate.dvt = (rate.burst + 1) * rate.period
  -- base - now, scaled by permits, clamped to [0, dvt]
  local rel = 0
  local stored = redis.call('HGET', KEYS[1], rate.field)
  if stored then
    local sep = stored:find(':', 1, true)
    local d = tonumber(stored:sub(1, sep - 1)) - now  -- whole microseconds ahead
    if d > math.floor(rate.dvt / rate.permits) + 1 then
      rel = rate.dvt  -- the clock went back; also keeps d * permits below 2^53
    elseif d >= 0 then
      rel = math.min(rate.dvt, d * rate.permits + tonumber(stored:sub(sep + 1)))
    end
  end
  rate.rel = rel
  if quantity > rate.burst + 1 then
    rate.allowed, rate.never = false, true
  else
    rate.next = rel + quantity * rate.period
    rate.allowed = rate.next <= rate.dvt
  end
  all_allowed = all_allowed and rate.allowed
  rates[#rates + 1] = rate
end

local limit, remaining, retry, reset, binding = 0, 0, 0, 0, 0
for i, rate in ipairs(rates) do
  local used = rate.rel
  if all_allowed then used = rate.next end
  local left = divmod(rate.dvt - used, rate.period)
  if i == 1 or left < remaining then
    remaining, limit, binding = left, rate.burst + 1, i - 1
  end
  reset = math.max(reset, ceil_div(used, rate.permits))
  if rate.never then
    retry = -1
  elseif not rate.allowed and retry ~= -1 then
    retry = math.max(retry, ceil_div(rate.next - rate.dvt, rate.permits))
  end
end

if all_allowed and quantity > 0 then
  for _, rate in ipairs(rates) do
    local whole, rem = divmod(rate.next, rate.permits)
    redis.call('HSET', KEYS[1], rate.field, string.format('%.0f', now + whole) .. ':' ..
               string.format('%.0f', rem))
  end
  redis.call('PEXPIRE', KEYS[1], math.max(1, ceil_div(reset, 1000)))
end
local allowed = 0
if all_allowed then allowed = 1 end
return {allowed, limit, remaining, retry, reset, binding}
