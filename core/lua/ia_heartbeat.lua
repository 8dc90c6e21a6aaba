-- Instance-aware heartbeat: records that the owner is live, moves owners whose last
-- heartbeat (server time) is older than the threshold from `instances` to `reaping` (at most
-- `max` per call), and returns up to `max` owners being reaped.
-- KEYS = {instances, reaping}; ARGV = {owner, threshold_ms, max}.
if not touch(KEYS[1], ARGV[1]) then return reaped_error(ARGV[1]) end
local now = now_ms()
local max = tonumber(ARGV[3])
-- Heartbeats from the future: the server's clock went back. Without this, an owner
-- that died just before would look live until the clock caught up again.
local ahead = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%.0f', now), '+inf',
                         'LIMIT', 0, max)
for _, owner in ipairs(ahead) do redis.call('ZADD', KEYS[1], now, owner) end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',
                        '(' .. string.format('%.0f', now - tonumber(ARGV[2])), 'LIMIT', 0, max)
for _, owner in ipairs(dead) do
  redis.call('ZREM', KEYS[1], owner)
  redis.call('ZADD', KEYS[2], now, owner)
end
return redis.call('ZRANGE', KEYS[2], 0, max - 1)
