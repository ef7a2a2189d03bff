-- queens: count the solutions of the N-queens problem by recursive
-- backtracking over three arrays of flags (columns and both diagonals).
-- Usage: queens.lua N
local N = tonumber(arg[1])
local cols, diag1, diag2 = {}, {}, {}
for i = 1, 2 * N do
  cols[i] = false
  diag1[i] = false
  diag2[i] = false
end
local function place(row)
  if row > N then return 1 end
  local count = 0
  for c = 1, N do
    if not cols[c] and not diag1[row + c] and not diag2[row - c + N] then
      cols[c] = true
      diag1[row + c] = true
      diag2[row - c + N] = true
      count = count + place(row + 1)
      cols[c] = false
      diag1[row + c] = false
      diag2[row - c + N] = false
    end
  end
  return count
end
print(string.format("%d", place(1)))
