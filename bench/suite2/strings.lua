-- strings: R times, build a line of K comma-separated numbers, split it,
-- sum the fields, join them again with ';' and compare the result with the
-- previous line (less than; same first two bytes). Lua has no split, so
-- this file defines one; fusevm's frontend maps it to builtin split, as it
-- maps table.concat to join. Usage: strings.lua R K
local function split(s, sep)
  local t, n, i = {}, 0, 1
  while true do
    local j = string.find(s, sep, i, true)
    if j == nil then
      n = n + 1
      t[n] = string.sub(s, i)
      return t
    end
    n = n + 1
    t[n] = string.sub(s, i, j - 1)
    i = j + #sep
  end
end
local R, K = tonumber(arg[1]), tonumber(arg[2])
local total, fieldsum, less, same2, prev = 0, 0, 0, 0, ""
for r = 1, R do
  local parts = {}
  for k = 1, K do
    parts[k] = tostring(((r * 7919) % 1009 * k + k * k * 31) % 100000)
  end
  local line = table.concat(parts, ",")
  local fields = split(line, ",")
  for k = 1, #fields do
    fieldsum = fieldsum + tonumber(fields[k])
  end
  local joined = table.concat(fields, ";")
  if joined < prev then less = less + 1 end
  if string.sub(joined, 1, 2) == string.sub(prev, 1, 2) then same2 = same2 + 1 end
  total = total + #line + #joined
  prev = joined
end
print(string.format("%d %d %d %d", total, fieldsum, less, same2))
