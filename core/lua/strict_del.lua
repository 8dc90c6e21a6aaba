-- StrictCounter del: removes one field and returns its value before ("0" if none).
-- KEYS[1] = the family's hash; ARGV[1] = field.
local old = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
redis.call('HDEL', KEYS[1], ARGV[1])
return old
