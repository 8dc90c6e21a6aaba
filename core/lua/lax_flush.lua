-- LaxCounter flush: applies one instance's batch of deltas at most once.
-- KEYS[1] = the family's hash; KEYS[2] = this instance's last-applied-batch key
-- (same hash tag). ARGV = {batch_seq, ttl_ms, field1, delta1, field2, delta2, ...}.
-- A batch whose number is not above the last applied one was applied before (a retry
-- after an unknown outcome): it is skipped, so nothing is counted twice. The number
-- is recorded before any delta is applied, and each delta is applied on its own
-- (pcall), so a failing field (overflow) cannot leave a half-applied batch that a
-- retry would apply again. Returns, per field in order, its value as a string, or an
-- error element for a delta that was rejected.
local last = redis.call('GET', KEYS[2])
local fresh = (not last) or compare(ARGV[1], last) > 0
redis.call('SET', KEYS[2], fresh and ARGV[1] or last, 'PX', ARGV[2])
local out = {}
for i = 3, #ARGV, 2 do
  local applied = true
  if fresh then
    applied = redis.pcall('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  if type(applied) == 'table' and applied.err then
    out[#out + 1] = applied
  else
    out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i]) or '0'
  end
end
return out
