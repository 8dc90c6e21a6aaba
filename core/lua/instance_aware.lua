-- Instance-aware counter helpers (after conditions.lua and int64.lua). One family's
-- Redis keys, all under one hash tag and all passed in KEYS:
--   epochs          hash  key -> the epoch of the key's current value; ':next' allocates
--                         epochs, ':clear' is the epoch of every key without its own
--   instances       zset  owner -> last heartbeat, ms on the server's clock
--   reaping         zset  owners found dead whose slices are being removed
--   cumulative      hash  key -> the sum of the key's valid slices
--   slices:<owner>  hash  key -> '<epoch>:<count>'; ':batch' -> last lax batch applied
-- An owner is one incarnation of an instance. A slice counts only while its epoch is
-- its key's epoch: set, del and clear move epochs, which makes older slices stale at
-- once, and a stale slice is never subtracted.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function base_epoch(epochs)
  local base = redis.call('HGET', epochs, ':clear')
  if base then return base end
  -- A new family, or one whose data Redis lost: epochs start at the server's time in
  -- microseconds, so they do not repeat one an instance may still remember.
  local t = redis.call('TIME')
  base = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('HSET', epochs, ':next', base, ':clear', base)
  return base
end

local function epoch_of(epochs, key)
  return redis.call('HGET', epochs, key) or base_epoch(epochs)
end

-- Epochs only grow, and never fall behind the server's time in microseconds: after a
-- failover to a replica that missed the last allocations, new epochs still differ
-- from the lost ones (which instances may remember).
local function next_epoch(epochs)
  base_epoch(epochs)
  local n = redis.call('HINCRBY', epochs, ':next', 1)
  local t = redis.call('TIME')
  local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  if now_us > n then redis.call('HSET', epochs, ':next', string.format('%.0f', now_us)) end
  return redis.call('HGET', epochs, ':next')
end

-- The count of a slice at `epoch` ('0' if there is none or it is stale).
local function slice_of(slices, key, epoch)
  local v = redis.call('HGET', slices, key)
  if not v then return '0' end
  local sep = v:find(':', 1, true)
  if v:sub(1, sep - 1) ~= epoch then return '0' end
  return v:sub(sep + 1)
end

-- Records a heartbeat of a live owner; false if the owner is not live (never
-- registered, or found dead), in which case nothing may be written for it.
local function touch(instances, owner)
  if not redis.call('ZSCORE', instances, owner) then return false end
  redis.call('ZADD', instances, now_ms(), owner)
  return true
end

-- The state an operation on KEYS = {epochs, instances, cumulative, slices:<owner>}
-- starts from: the key's epoch, cumulative and this owner's valid slice.
local function load(key)
  local epoch = epoch_of(KEYS[1], key)
  return epoch, redis.call('HGET', KEYS[3], key) or '0', slice_of(KEYS[4], key, epoch)
end

local function reaped_error(owner)
  return dk_error('REAPED', 'instance ' .. owner .. ' is not live')
end
