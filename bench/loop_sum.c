/* loop_sum: s = s + i for i in 0..N-1, repeated R times (integer add in a
   counted loop). Usage: loop_sum R N (read at run time, so gcc -O2 cannot
   fold the loop to a constant). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
  (void)argc;
  const int64_t R = atol(argv[1]), N = atol(argv[2]);
  int64_t s = 0;
  for (int64_t r = 0; r < R; r++)
    for (int64_t i = 0; i < N; i++)
      s = s + i;
  printf("%lld\n", (long long)s);
  return 0;
}
