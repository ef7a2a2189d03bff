/* loop_sum: s = s + i for i in 0..N-1, repeated R times (integer add in a
   counted loop). N is read through a volatile: with a literal N, gcc -O2
   folds the whole loop to a constant and there is nothing left to time. */
#include <stdio.h>
#include <stdint.h>
static volatile int64_t N_opaque = 10000000; /* size */
int main(void) {
  const int64_t R = 40, N = N_opaque; /* size */
  int64_t s = 0;
  for (int64_t r = 0; r < R; r++)
    for (int64_t i = 0; i < N; i++)
      s = s + i;
  printf("%lld\n", (long long)s);
  return 0;
}
