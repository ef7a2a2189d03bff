/* queens: count the solutions of the N-queens problem by recursive
   backtracking over three arrays of flags (columns and both diagonals).
   Usage: queens N */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
static int64_t N;
static unsigned char *cols, *diag1, *diag2;   /* indexed 1..2N, as the Lua */
static int64_t place(int64_t row) {
  if (row > N) return 1;
  int64_t count = 0;
  for (int64_t c = 1; c <= N; c++) {
    if (!cols[c] && !diag1[row + c] && !diag2[row - c + N]) {
      cols[c] = 1;
      diag1[row + c] = 1;
      diag2[row - c + N] = 1;
      count = count + place(row + 1);
      cols[c] = 0;
      diag1[row + c] = 0;
      diag2[row - c + N] = 0;
    }
  }
  return count;
}
int main(int argc, char **argv) {
  (void)argc;
  N = atol(argv[1]);
  cols = calloc(2 * N + 1, 1);
  diag1 = calloc(2 * N + 1, 1);
  diag2 = calloc(2 * N + 1, 1);
  printf("%lld\n", (long long)place(1));
  return 0;
}
