-- hanoi: towers of Hanoi with N disks, moved recursively between three pegs
-- kept in arrays (one flat array of peg contents, 64 entries per peg, and the
-- peg heights); prints the number of moves, a checksum of the move sequence
-- and the height of the last peg. Usage: hanoi.lua N (N < 64)
local N = tonumber(arg[1])
local stack, height = {}, {}
local moves, check = 0, 0
local function move(n, from, to, via)
  if n == 0 then return end
  move(n - 1, from, via, to)
  local h = height[from]
  local disk = stack[from * 64 + h]
  stack[from * 64 + h] = 0
  height[from] = h - 1
  h = height[to] + 1
  height[to] = h
  stack[to * 64 + h] = disk
  moves = moves + 1
  check = (check * 7 + disk * to) % 1000003
  move(n - 1, via, to, from)
end
for p = 1, 3 do height[p] = 0 end
for d = N, 1, -1 do
  height[1] = height[1] + 1
  stack[64 + height[1]] = d
end
move(N, 1, 3, 2)
print(string.format("%d %d %d", moves, check, height[3]))
