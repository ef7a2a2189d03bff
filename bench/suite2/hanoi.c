/* hanoi: towers of Hanoi with N disks, moved recursively between three pegs
   kept in arrays (one flat array of peg contents, 64 entries per peg, and
   the peg heights); prints the number of moves, a checksum of the move
   sequence and the height of the last peg. Usage: hanoi N (N < 64) */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
static int64_t stack[4 * 64 + 64], height[4];
static int64_t moves, check;
static void move(int64_t n, int64_t from, int64_t to, int64_t via) {
  if (n == 0) return;
  move(n - 1, from, via, to);
  int64_t h = height[from];
  int64_t disk = stack[from * 64 + h];
  stack[from * 64 + h] = 0;
  height[from] = h - 1;
  h = height[to] + 1;
  height[to] = h;
  stack[to * 64 + h] = disk;
  moves = moves + 1;
  check = (check * 7 + disk * to) % 1000003;
  move(n - 1, via, to, from);
}
int main(int argc, char **argv) {
  (void)argc;
  const int64_t N = atol(argv[1]);
  for (int p = 1; p <= 3; p++) height[p] = 0;
  for (int64_t d = N; d >= 1; d--) {
    height[1] = height[1] + 1;
    stack[64 + height[1]] = d;
  }
  move(N, 1, 3, 2);
  printf("%lld %lld %lld\n", (long long)moves, (long long)check, (long long)height[3]);
  return 0;
}
