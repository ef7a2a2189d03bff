-- nested_loop: s += (i*j) mod 7 over an M x M grid (integer mul/mod)
local M = 15000 -- size
local s = 0
for i = 0, M - 1 do
  for j = 0, M - 1 do
    s = s + (i * j) % 7
  end
end
print(string.format("%d", s))
