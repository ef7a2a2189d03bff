-- mandel: escape-iteration count summed over a W x W grid, max MAXIT iterations
-- c = (-2 + 3*x/W) + (-1 + 2*y/W) i  (float arithmetic, branches). Usage: mandel.lua W
local W = tonumber(arg[1])
local MAXIT = 200
local sum = 0
for y = 0, W - 1 do
  local ci = y * 2.0 / W - 1.0
  for x = 0, W - 1 do
    local cr = x * 3.0 / W - 2.0
    local zr, zi = 0.0, 0.0
    local it = 0
    while it < MAXIT do
      local zr2, zi2 = zr * zr, zi * zi
      if zr2 + zi2 > 4.0 then break end
      zi = 2.0 * zr * zi + ci
      zr = zr2 - zi2 + cr
      it = it + 1
    end
    sum = sum + it
  end
end
print(string.format("%d", sum))
