-- strcat: append "ab" N times to a fresh string buffer, take the length of the
-- resulting string; repeat R times and print the summed length.
-- Usage: strcat.lua R N
-- Lua idiom: collect pieces in a table, then table.concat (s = s .. "ab"
-- would copy the whole string on each append: O(N^2)).
local R, N = tonumber(arg[1]), tonumber(arg[2])
local total = 0
for r = 1, R do
  local buf = {}
  local n = 0
  for i = 1, N do
    n = n + 1
    buf[n] = "ab"
  end
  local s = table.concat(buf)
  total = total + #s
end
print(string.format("%d", total))
