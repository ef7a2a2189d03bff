/* mandel: escape-iteration count summed over a W x W grid, max MAXIT iterations
   c = (-2 + 3*x/W) + (-1 + 2*y/W) i  (float arithmetic, branches). Usage: mandel W */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
  (void)argc;
  const int64_t W = atol(argv[1]), MAXIT = 200;
  int64_t sum = 0;
  for (int64_t y = 0; y < W; y++) {
    double ci = (double)y * 2.0 / (double)W - 1.0;
    for (int64_t x = 0; x < W; x++) {
      double cr = (double)x * 3.0 / (double)W - 2.0;
      double zr = 0.0, zi = 0.0;
      int64_t it = 0;
      while (it < MAXIT) {
        double zr2 = zr * zr, zi2 = zi * zi;
        if (zr2 + zi2 > 4.0) break;
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        it = it + 1;
      }
      sum = sum + it;
    }
  }
  printf("%lld\n", (long long)sum);
  return 0;
}
