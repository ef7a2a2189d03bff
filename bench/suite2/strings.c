/* strings: R times, build a line of K comma-separated numbers, split it,
   sum the fields, join them again with ';' and compare the result with the
   previous line (less than; same first two bytes). Strings are malloc'd
   pieces, as in the Lua: split and join make new strings.
   Usage: strings R K */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

typedef struct { char **s; size_t *len; int64_t n, cap; } Strs;

static void push(Strs *a, char *s, size_t len) {
  if (a->n == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 8;
    a->s = realloc(a->s, a->cap * sizeof *a->s);
    a->len = realloc(a->len, a->cap * sizeof *a->len);
  }
  a->s[a->n] = s;
  a->len[a->n++] = len;
}
static void clear(Strs *a) {
  for (int64_t i = 0; i < a->n; i++) free(a->s[i]);
  a->n = 0;
}
static char *copy(const char *p, size_t len) {
  char *s = malloc(len + 1);
  memcpy(s, p, len);
  s[len] = 0;
  return s;
}
static char *join(const Strs *a, char sep, size_t *outlen) {
  size_t len = 0;
  for (int64_t i = 0; i < a->n; i++) len += a->len[i] + (i > 0);
  char *s = malloc(len + 1), *p = s;
  for (int64_t i = 0; i < a->n; i++) {
    if (i > 0) *p++ = sep;
    memcpy(p, a->s[i], a->len[i]);
    p += a->len[i];
  }
  *p = 0;
  *outlen = len;
  return s;
}
static void split(const char *s, size_t len, char sep, Strs *out) {
  size_t i = 0;
  for (;;) {
    const char *j = memchr(s + i, sep, len - i);
    if (!j) { push(out, copy(s + i, len - i), len - i); return; }
    push(out, copy(s + i, (size_t)(j - (s + i))), (size_t)(j - (s + i)));
    i = (size_t)(j - s) + 1;
  }
}
int main(int argc, char **argv) {
  (void)argc;
  const int64_t R = atol(argv[1]), K = atol(argv[2]);
  int64_t total = 0, fieldsum = 0, less = 0, same2 = 0;
  char *prev = copy("", 0);
  size_t prevlen = 0;
  Strs parts = {0}, fields = {0};
  char buf[32];
  for (int64_t r = 1; r <= R; r++) {
    for (int64_t k = 1; k <= K; k++) {
      int n = snprintf(buf, sizeof buf, "%lld", (long long)(((r * 7919) % 1009 * k + k * k * 31) % 100000));
      push(&parts, copy(buf, (size_t)n), (size_t)n);
    }
    size_t linelen, joinedlen;
    char *line = join(&parts, ',', &linelen);
    split(line, linelen, ',', &fields);
    for (int64_t k = 0; k < fields.n; k++) fieldsum = fieldsum + atoll(fields.s[k]);
    char *joined = join(&fields, ';', &joinedlen);
    if (strcmp(joined, prev) < 0) less = less + 1;
    size_t a = joinedlen < 2 ? joinedlen : 2, b = prevlen < 2 ? prevlen : 2;
    if (a == b && memcmp(joined, prev, a) == 0) same2 = same2 + 1;
    total = total + (int64_t)linelen + (int64_t)joinedlen;
    free(prev);
    prev = joined;
    prevlen = joinedlen;
    free(line);
    clear(&parts);
    clear(&fields);
  }
  printf("%lld %lld %lld %lld\n", (long long)total, (long long)fieldsum,
         (long long)less, (long long)same2);
  return 0;
}
