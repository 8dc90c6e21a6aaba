-- StrictCounter del: removes one field and returns its value before ("0" if none).
-- KEYS[1] = the family's hash; ARGV[1] = field. A stored value that is not an int64
-- fails with DKNOTINT and stays (the reply could not say what was removed).
local old = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if not is_int64(old) then return not_int64_error(ARGV[1]) end
redis.call('HDEL', KEYS[1], ARGV[1])
return old
