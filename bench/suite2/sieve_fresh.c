/* sieve_fresh: R times, build a fresh M-element array of flags and sieve it
   (an array allocated every outer iteration); prints the summed prime
   counts. Usage: sieve_fresh R M */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
  (void)argc;
  const int64_t R = atol(argv[1]), M = atol(argv[2]);
  int64_t total = 0;
  for (int64_t r = 1; r <= R; r++) {
    unsigned char *flags = malloc((size_t)M + 1);
    for (int64_t i = 1; i <= M; i++) flags[i] = 1;
    int64_t count = 0;
    for (int64_t i = 2; i <= M; i++) {
      if (flags[i]) {
        count = count + 1;
        for (int64_t j = i * i; j <= M; j += i) flags[j] = 0;
      }
    }
    total = total + count;
    free(flags);
  }
  printf("%lld\n", (long long)total);
  return 0;
}
