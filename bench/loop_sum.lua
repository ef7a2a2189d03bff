-- loop_sum: s = s + i for i in 0..N-1, repeated R times (integer add in a
-- counted loop). Usage: loop_sum.lua R N. R*N*(N-1)/2 < 2^53, so LuaJIT's doubles stay exact.
local R, N = tonumber(arg[1]), tonumber(arg[2])
local s = 0
for r = 1, R do
  for i = 0, N - 1 do
    s = s + i
  end
end
print(string.format("%d", s))
