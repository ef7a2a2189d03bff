-- loop_sum: s = s + i for i in 0..N-1, repeated R times (integer add in a
-- counted loop). R*N*(N-1)/2 < 2^53, so LuaJIT's doubles stay exact.
local R, N = 40, 10000000 -- size
local s = 0
for r = 1, R do
  for i = 0, N - 1 do
    s = s + i
  end
end
print(string.format("%d", s))
