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

local function matches(current, op, operand)
  if op == 'always' then return true end
  local c = compare(current, operand)
  if op == 'eq' then return c == 0 end
  if op == 'ne' then return c ~= 0 end
  if op == 'lt' then return c < 0 end
  if op == 'gt' then return c > 0 end
  return dk_error('BADARG', 'unknown comparator ' .. op)
end

