/* strcat: append "ab" N times to a fresh string buffer, take the length of the
   resulting string; repeat R times and print the summed length.
   C idiom: growable byte buffer (capacity doubling + memcpy). Usage: strcat R N */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
int main(int argc, char **argv) {
  (void)argc;
  const int64_t R = atol(argv[1]), N = atol(argv[2]);
  int64_t total = 0;
  for (int64_t r = 0; r < R; r++) {
    size_t len = 0, cap = 16;
    char *s = malloc(cap);
    for (int64_t i = 0; i < N; i++) {
      if (len + 2 > cap) { cap *= 2; s = realloc(s, cap); }
      memcpy(s + len, "ab", 2);
      len += 2;
    }
    total = total + (int64_t)len;
    free(s);
  }
  printf("%lld\n", (long long)total);
  return 0;
}
