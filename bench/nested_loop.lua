-- nested_loop: s += (i*j) mod 7 over an M x M grid (integer mul/mod)
-- Usage: nested_loop.lua M
local M = tonumber(arg[1])
local s = 0
for i = 0, M - 1 do
  for j = 0, M - 1 do
    s = s + (i * j) % 7
  end
end
print(string.format("%d", s))
