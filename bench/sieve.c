/* sieve: sieve of Eratosthenes up to N, count primes (array get/set).
   Usage: sieve N */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
  (void)argc;
  const int64_t N = atol(argv[1]);
  unsigned char *composite = malloc((size_t)N + 1);
  for (int64_t i = 1; i <= N; i++) composite[i] = 0;
  int64_t count = 0;
  for (int64_t i = 2; i <= N; i++) {
    if (!composite[i]) {
      count = count + 1;
      for (int64_t j = i * i; j <= N; j += i)
        composite[j] = 1;
    }
  }
  printf("%lld\n", (long long)count);
  free(composite);
  return 0;
}
