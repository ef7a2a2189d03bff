/* globals: a random walk on a grid whose whole state lives in global
   variables, read and written every step (Park-Miller generator). Prints
   steps, final position, the largest squared distance, the returns to the
   origin and the final seed. Usage: globals N */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int64_t N, seed, x, y, maxd, origin, steps, dir, dist;
int main(int argc, char **argv) {
  (void)argc;
  N = atol(argv[1]);
  seed = 42;
  x = 0; y = 0;
  maxd = 0; origin = 0; steps = 0;
  for (int64_t i = 1; i <= N; i++) {
    seed = (seed * 16807) % 2147483647;
    dir = seed % 4;
    if (dir == 0) x = x + 1;
    else if (dir == 1) x = x - 1;
    else if (dir == 2) y = y + 1;
    else y = y - 1;
    dist = x * x + y * y;
    if (dist > maxd) maxd = dist;
    if (x == 0 && y == 0) origin = origin + 1;
    steps = steps + 1;
  }
  printf("%lld %lld %lld %lld %lld %lld\n", (long long)steps, (long long)x,
         (long long)y, (long long)maxd, (long long)origin, (long long)seed);
  return 0;
}
