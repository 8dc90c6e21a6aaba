-- distkit's own error replies, prepended first to every script that fails on purpose.
-- The first word is a code that core/seam/script_error.h classifies (never the text
-- after it, and never Redis's own wording, which the simulator need not copy):
--   DKOVERFLOW  a value would leave the int64 range; nothing was written
--   DKNOTINT    a stored value is not a canonical int64 (something else wrote it)
--   DKREAPED    the instance is no longer live: its slices were reaped
--   DKBADARG    the script was called with arguments it does not accept (a bug)
local function dk_error(code, detail)
  return redis.error_reply('DK' .. code .. ' ' .. detail)
end

local function not_int64_error(key)
  return dk_error('NOTINT', 'the counter ' .. key .. ' holds no int64')
end

local function overflow_error(key)
  return dk_error('OVERFLOW', 'the counter ' .. key .. ' would leave the int64 range')
end
