-- bank: NACC accounts kept as parallel arrays indexed by account id (balance,
-- transaction count, time of the last transaction); T random transfers
-- (Park-Miller generator), a transfer that would overdraw is refused. Prints
-- the total (conserved), the refusals, the richest and busiest ids and a
-- checksum. Usage: bank.lua NACC T
local NACC, T = tonumber(arg[1]), tonumber(arg[2])
local balance, ntx, last = {}, {}, {}
for id = 1, NACC do
  balance[id] = 1000
  ntx[id] = 0
  last[id] = 0
end
local seed = 42
local refused = 0
for t = 1, T do
  seed = (seed * 16807) % 2147483647
  local from = seed % NACC + 1
  seed = (seed * 16807) % 2147483647
  local to = seed % NACC + 1
  seed = (seed * 16807) % 2147483647
  local amount = seed % 500 + 1
  if from ~= to and balance[from] >= amount then
    balance[from] = balance[from] - amount
    balance[to] = balance[to] + amount
    ntx[from] = ntx[from] + 1
    ntx[to] = ntx[to] + 1
    last[from] = t
    last[to] = t
  else
    refused = refused + 1
  end
end
local total, richest, busiest, check = 0, 1, 1, 0
for id = 1, NACC do
  total = total + balance[id]
  if balance[id] > balance[richest] then richest = id end
  if ntx[id] > ntx[busiest] then busiest = id end
  check = (check + last[id] * id) % 1000000007
end
print(string.format("%d %d %d %d %d", total, refused, richest, busiest, check))
