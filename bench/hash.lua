-- hash: insert N string keys "k"..i -> i into a table, then sum the lookups
-- of all keys (keys are rebuilt for the lookups). Sum = N*(N+1)/2 < 2^53.
-- Usage: hash.lua N
local N = tonumber(arg[1])
local t = {}
for i = 1, N do
  t["k" .. i] = i
end
local s = 0
for i = 1, N do
  s = s + t["k" .. i]
end
print(string.format("%d", s))
