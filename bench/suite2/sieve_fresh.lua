-- sieve_fresh: R times, build a fresh M-element array of flags and sieve it
-- (an array allocated and grown element by element every outer iteration);
-- prints the summed prime counts. Usage: sieve_fresh.lua R M
local R, M = tonumber(arg[1]), tonumber(arg[2])
local total = 0
for r = 1, R do
  local flags = {}
  for i = 1, M do flags[i] = true end
  local count = 0
  for i = 2, M do
    if flags[i] then
      count = count + 1
      for j = i * i, M, i do flags[j] = false end
    end
  end
  total = total + count
end
print(string.format("%d", total))
