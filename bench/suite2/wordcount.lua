-- wordcount: count the space-separated words of standard input in a table
-- keyed by word; print the number of lines, words and distinct words, then
-- the K most frequent words (count descending, then word ascending), found
-- by K selection passes over the words in first-seen order. Lua has no
-- split, so this file defines one (fusevm's frontend maps it to builtin
-- split). Usage: wordcount.lua K < text
local function split(s, sep)
  local t, n, i = {}, 0, 1
  while true do
    local j = string.find(s, sep, i, true)
    if j == nil then
      n = n + 1
      t[n] = string.sub(s, i)
      return t
    end
    n = n + 1
    t[n] = string.sub(s, i, j - 1)
    i = j + #sep
  end
end
local K = tonumber(arg[1])
local counts = {}
local order, nkeys = {}, 0
local lines, words = 0, 0
local line = io.read()
while line ~= nil do
  lines = lines + 1
  local ws = split(line, " ")
  for k = 1, #ws do
    local w = ws[k]
    words = words + 1
    local c = counts[w]
    if c == nil then
      nkeys = nkeys + 1
      order[nkeys] = w
      counts[w] = 1
    else
      counts[w] = c + 1
    end
  end
  line = io.read()
end
print(string.format("%d %d %d", lines, words, nkeys))
local taken = {}
for r = 1, K do
  local best, bestc = nil, 0
  for i = 1, nkeys do
    local w = order[i]
    local c = counts[w]
    if taken[w] == nil and (c > bestc or (c == bestc and w < best)) then
      best = w
      bestc = c
    end
  end
  if best == nil then break end
  taken[best] = true
  print(string.format("%s %d", best, bestc))
end
