-- list: the List benchmark of "Are We Fast Yet" (Marr et al.): linked lists
-- of element objects built recursively, compared by the Takeuchi-like
-- tail() recursion; R iterations, each must leave a list of length 10.
-- Usage: list.lua R
local function Element(v) return { val = v, next = nil } end
local function makeList(length)
  if length == 0 then return nil end
  local e = Element(length)
  e.next = makeList(length - 1)
  return e
end
local function isShorterThan(x, y)
  local xTail, yTail = x, y
  while yTail ~= nil do
    if xTail == nil then return true end
    xTail = xTail.next
    yTail = yTail.next
  end
  return false
end
local function tail(x, y, z)
  if isShorterThan(y, x) then
    return tail(tail(x.next, y, z), tail(y.next, z, x), tail(z.next, x, y))
  end
  return z
end
local function length(e)
  local n = 0
  while e ~= nil do
    n = n + 1
    e = e.next
  end
  return n
end
local R = tonumber(arg[1])
local total = 0
for r = 1, R do
  local result = tail(makeList(15), makeList(10), makeList(6))
  total = total + length(result)
end
print(string.format("%d", total))
