-- Prelude of the sliding-window scripts: the call's time in milliseconds, the client's
-- clock when it sent one (ARGV[1]), else the Redis server's TIME.
local function now_ms(client_ms)
  if client_ms ~= '' then return tonumber(client_ms) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
