/* nested_loop: s += (i*j) mod 7 over an M x M grid (integer mul/mod).
   Usage: nested_loop M */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
  (void)argc;
  const int64_t M = atol(argv[1]);
  int64_t s = 0;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < M; j++)
      s = s + (i * j) % 7;
  printf("%lld\n", (long long)s);
  return 0;
}
