-- Exact integer arithmetic on canonical decimal strings (after conditions.lua, whose
-- compare() orders them). Lua 5.1 numbers are doubles, exact only to 2^53, so values
-- never pass through one unless both operands are small enough for the sum to be
-- exact. Results may leave the int64 range; fits_int64() (conditions.lua) says whether
-- they did.
local function digits_add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry
    if i > 0 then d = d + a:byte(i) - 48 end
    if j > 0 then d = d + b:byte(j) - 48 end
    if d >= 10 then out[#out + 1], carry = d - 10, 1 else out[#out + 1], carry = d, 0 end
    i, j = i - 1, j - 1
  end
  return string.reverse(table.concat(out))
end

-- a >= b, both digit strings without sign.
local function digits_sub(a, b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local d = a:byte(i) - 48 - borrow
    if j > 0 then d = d - (b:byte(j) - 48) end
    if d < 0 then out[#out + 1], borrow = d + 10, 1 else out[#out + 1], borrow = d, 0 end
    i, j = i - 1, j - 1
  end
  local s = string.reverse(table.concat(out)):gsub('^0+', '')
  if s == '' then return '0' end
  return s
end

local function int_neg(a)
  if a == '0' then return a end
  if a:sub(1, 1) == '-' then return a:sub(2) end
  return '-' .. a
end

local function int_add(a, b)
  if #a < 16 and #b < 16 then  -- |a|, |b| < 10^15: the double sum is exact
    return string.format('%.0f', tonumber(a) + tonumber(b))
  end
  local a_negative, b_negative = a:sub(1, 1) == '-', b:sub(1, 1) == '-'
  local am = a_negative and a:sub(2) or a
  local bm = b_negative and b:sub(2) or b
  if a_negative == b_negative then
    local m = digits_add(am, bm)
    if a_negative and m ~= '0' then return '-' .. m end
    return m
  end
  local c = compare(am, bm)
  if c == 0 then return '0' end
  if c > 0 then
    local m = digits_sub(am, bm)
    if a_negative then return '-' .. m end
    return m
  end
  local m = digits_sub(bm, am)
  if b_negative then return '-' .. m end
  return m
end
