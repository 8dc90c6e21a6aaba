-- Retires an owner as if it were found dead (clear_on_instance): it stops being
-- live, so its scripts are refused, and its slices are queued for the reaper.
-- KEYS = {instances, reaping}; ARGV = {owner}.
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], now_ms(), ARGV[1])
return 1
