/* nested_loop: s += (i*j) mod 7 over an M x M grid (integer mul/mod) */
#include <stdio.h>
#include <stdint.h>
int main(void) {
  const int64_t M = 15000; /* size */
  int64_t s = 0;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < M; j++)
      s = s + (i * j) % 7;
  printf("%lld\n", (long long)s);
  return 0;
}
