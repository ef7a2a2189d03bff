/* collatz: total Collatz steps for all n in 1..N (branchy integer loop).
   Usage: collatz N */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
  (void)argc;
  const int64_t N = atol(argv[1]);
  int64_t total = 0;
  for (int64_t i = 1; i <= N; i++) {
    int64_t n = i, steps = 0;
    while (n != 1) {
      if (n % 2 == 0)
        n = n / 2;
      else
        n = 3 * n + 1;
      steps = steps + 1;
    }
    total = total + steps;
  }
  printf("%lld\n", (long long)total);
  return 0;
}
