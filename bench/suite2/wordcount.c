/* wordcount: count the space-separated words of standard input in a hash
   table keyed by word; print the number of lines, words and distinct words,
   then the K most frequent words (count descending, then word ascending),
   found by K selection passes over the words in first-seen order.
   Open addressing, linear probing, FNV-1a, capacity doubles at load 1/2.
   Usage: wordcount K < text */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

typedef struct { char *key; size_t len; uint64_t hash; int64_t count; int taken; } Slot;
static Slot *slots;
static size_t cap, nkeys;
static size_t *order;   /* slot index of each key, in first-seen order */
static size_t ordercap;

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ULL; }
  return h;
}
static void grow(void) {
  size_t ncap = cap ? cap * 2 : 16;
  Slot *ns = calloc(ncap, sizeof(Slot));
  size_t *where = malloc(cap * sizeof *where);   /* old slot -> new slot */
  for (size_t i = 0; i < cap; i++) {
    if (!slots[i].key) continue;
    size_t p = slots[i].hash & (ncap - 1);
    while (ns[p].key) p = (p + 1) & (ncap - 1);
    ns[p] = slots[i];
    where[i] = p;
  }
  for (size_t k = 0; k < nkeys; k++) order[k] = where[order[k]];
  free(where);
  free(slots); slots = ns; cap = ncap;
}
static void count_word(const char *w, size_t n) {
  if ((nkeys + 1) * 2 > cap) grow();
  uint64_t h = fnv1a(w, n);
  size_t p = h & (cap - 1);
  while (slots[p].key) {
    if (slots[p].hash == h && slots[p].len == n && memcmp(slots[p].key, w, n) == 0) {
      slots[p].count = slots[p].count + 1;
      return;
    }
    p = (p + 1) & (cap - 1);
  }
  char *kc = malloc(n + 1); memcpy(kc, w, n); kc[n] = 0;
  slots[p].key = kc; slots[p].len = n; slots[p].hash = h; slots[p].count = 1;
  if (nkeys == ordercap) {
    ordercap = ordercap ? ordercap * 2 : 64;
    order = realloc(order, ordercap * sizeof *order);
  }
  order[nkeys++] = p;
}
int main(int argc, char **argv) {
  (void)argc;
  const int64_t K = atol(argv[1]);
  int64_t lines = 0, words = 0;
  char *line = NULL;
  size_t linecap = 0;
  ssize_t got;
  while ((got = getline(&line, &linecap, stdin)) >= 0) {
    size_t len = (size_t)got;
    if (len > 0 && line[len - 1] == '\n') len--;
    lines = lines + 1;
    size_t i = 0;
    for (;;) {   /* split on ' ', empty pieces kept */
      const char *j = memchr(line + i, ' ', len - i);
      size_t end = j ? (size_t)(j - line) : len;
      words = words + 1;
      count_word(line + i, end - i);
      if (!j) break;
      i = end + 1;
    }
  }
  printf("%lld %lld %lld\n", (long long)lines, (long long)words, (long long)nkeys);
  for (int64_t r = 1; r <= K; r++) {
    Slot *best = NULL;
    int64_t bestc = 0;
    for (size_t i = 0; i < nkeys; i++) {
      Slot *s = &slots[order[i]];
      if (!s->taken && (s->count > bestc || (s->count == bestc && strcmp(s->key, best->key) < 0))) {
        best = s;
        bestc = s->count;
      }
    }
    if (!best) break;
    best->taken = 1;
    printf("%s %lld\n", best->key, (long long)bestc);
  }
  return 0;
}
