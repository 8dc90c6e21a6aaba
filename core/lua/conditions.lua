-- Shared by the counter scripts (prepended when they are embedded): exact comparison
-- of canonical int64 decimal strings, and the comparators of conditional operations.
local function compare(a, b)
  local a_negative, b_negative = a:sub(1, 1) == '-', b:sub(1, 1) == '-'
  if a_negative ~= b_negative then return a_negative and -1 or 1 end
  local order
  if #a ~= #b then
    order = (#a < #b) and -1 or 1
  elseif a == b then
    return 0
  else
    order = (a < b) and -1 or 1
  end
  if a_negative then order = -order end
  return order
end

local function fits_int64(s)
  return compare(s, '-9223372036854775808') >= 0 and compare(s, '9223372036854775807') <= 0
end

-- Whether `s` is an int64 as Redis writes one: decimal, no leading zeros or '+', no '-0'.
local function is_int64(s)
  return type(s) == 'string' and (s == '0' or s:match('^%-?[1-9]%d*$') ~= nil) and fits_int64(s)
end

local function matches(current, op, operand)
  if op == 'always' then return true end
  local c = compare(current, operand)
  if op == 'eq' then return c == 0 end
  if op == 'ne' then return c ~= 0 end
  if op == 'lt' then return c < 0 end
  if op == 'gt' then return c > 0 end
  return dk_error('BADARG', 'unknown comparator ' .. op)
end

