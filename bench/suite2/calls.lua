-- calls: small functions called from an inner loop (call, argument and
-- result cost; no recursion). Three calls per iteration, one of them with
-- an early return. Usage: calls.lua N
local N = tonumber(arg[1])
local function sq(x) return x * x end
local function clamp(x, lo, hi)
  if x < lo then return lo end
  if x > hi then return hi end
  return x
end
local function mix(h, v) return (h * 31 + v) % 1000003 end
local h = 0
for i = 1, N do
  local v = clamp(sq(i % 1000) - 250000, 0, 500000)
  h = mix(h, v)
end
print(string.format("%d", h))
