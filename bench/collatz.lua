-- collatz: total Collatz steps for all n in 1..N (branchy integer loop)
-- Usage: collatz.lua N
-- Lua 5.4 needs '//' to keep n an integer; LuaJIT (Lua 5.1 syntax) has no '//'
-- and uses '/' (exact there: n is even, and n stays < 2^53). The hot loop is
-- compiled from a string with the operator picked by feature test, so no extra
-- call (e.g. math.floor) sits in the loop on either VM.
local IDIV = load("return 7 // 2") and "//" or "/"
local src = [[
local N = ...
local total = 0
for i = 1, N do
  local n = i
  local steps = 0
  while n ~= 1 do
    if n % 2 == 0 then
      n = n IDIV 2
    else
      n = 3 * n + 1
    end
    steps = steps + 1
  end
  total = total + steps
end
return total
]]
local run = assert(load((src:gsub("IDIV", IDIV)), "=collatz_loop"))
print(string.format("%d", run(tonumber(arg[1]))))
