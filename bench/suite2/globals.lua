-- globals: a random walk on a grid whose whole state lives in global
-- variables, read and written every step (Park-Miller generator). Prints
-- steps, final position, the largest squared distance, the returns to the
-- origin and the final seed. Usage: globals.lua N
N = tonumber(arg[1])
seed = 42
x, y = 0, 0
maxd, origin, steps = 0, 0, 0
for i = 1, N do
  seed = (seed * 16807) % 2147483647
  dir = seed % 4
  if dir == 0 then
    x = x + 1
  elseif dir == 1 then
    x = x - 1
  elseif dir == 2 then
    y = y + 1
  else
    y = y - 1
  end
  dist = x * x + y * y
  if dist > maxd then maxd = dist end
  if x == 0 and y == 0 then origin = origin + 1 end
  steps = steps + 1
end
print(string.format("%d %d %d %d %d %d", steps, x, y, maxd, origin, seed))
