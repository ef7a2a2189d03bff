-- sieve: sieve of Eratosthenes up to N, count primes (array get/set)
-- Usage: sieve.lua N
local N = tonumber(arg[1])
local composite = {}
for i = 1, N do composite[i] = false end
local count = 0
for i = 2, N do
  if not composite[i] then
    count = count + 1
    for j = i * i, N, i do
      composite[j] = true
    end
  end
end
print(string.format("%d", count))
