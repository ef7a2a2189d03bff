/* fib: naive recursive fib(N) -- function-call cost. Usage: fib N */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
static int64_t fib(int64_t n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}
int main(int argc, char **argv) {
  (void)argc;
  printf("%lld\n", (long long)fib(atol(argv[1])));
  return 0;
}
