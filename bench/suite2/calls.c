/* calls: small functions called from an inner loop (call, argument and
   result cost; no recursion). Three calls per iteration, one of them with an
   early return. The functions are noinline: the point is the call.
   Usage: calls N */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
__attribute__((noinline)) static int64_t sq(int64_t x) { return x * x; }
__attribute__((noinline)) static int64_t clamp(int64_t x, int64_t lo, int64_t hi) {
  if (x < lo) return lo;
  if (x > hi) return hi;
  return x;
}
__attribute__((noinline)) static int64_t mix(int64_t h, int64_t v) {
  return (h * 31 + v) % 1000003;
}
int main(int argc, char **argv) {
  (void)argc;
  const int64_t N = atol(argv[1]);
  int64_t h = 0;
  for (int64_t i = 1; i <= N; i++) {
    int64_t v = clamp(sq(i % 1000) - 250000, 0, 500000);
    h = mix(h, v);
  }
  printf("%lld\n", (long long)h);
  return 0;
}
