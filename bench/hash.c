/* hash: insert N string keys "k"..i -> i into a hash table, then sum the
   lookups of all keys (keys are rebuilt for the lookups).
   Open addressing, linear probing, FNV-1a, capacity doubles at load 1/2,
   keys copied into malloc'd strings; integer->decimal by hand (no snprintf).
   Usage: hash N */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *key; size_t len; uint64_t hash; int64_t val; } Slot;
static Slot *slots;
static size_t cap, count;

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ULL; }
  return h;
}
static size_t mkkey(char *buf, int64_t i) {   /* "k" .. i, returns length */
  char tmp[24]; size_t n = 0;
  do { tmp[n++] = (char)('0' + i % 10); i /= 10; } while (i > 0);
  buf[0] = 'k';
  for (size_t k = 0; k < n; k++) buf[1 + k] = tmp[n - 1 - k];
  buf[1 + n] = 0;
  return 1 + n;
}
static void grow(void) {
  size_t ncap = cap ? cap * 2 : 16;
  Slot *ns = calloc(ncap, sizeof(Slot));
  for (size_t i = 0; i < cap; i++) {
    if (!slots[i].key) continue;
    size_t p = slots[i].hash & (ncap - 1);
    while (ns[p].key) p = (p + 1) & (ncap - 1);
    ns[p] = slots[i];
  }
  free(slots); slots = ns; cap = ncap;
}
static void put(const char *k, size_t n, int64_t v) {
  if ((count + 1) * 2 > cap) grow();
  uint64_t h = fnv1a(k, n);
  size_t p = h & (cap - 1);
  while (slots[p].key) {
    if (slots[p].hash == h && slots[p].len == n && memcmp(slots[p].key, k, n) == 0) {
      slots[p].val = v; return;
    }
    p = (p + 1) & (cap - 1);
  }
  char *kc = malloc(n + 1); memcpy(kc, k, n + 1);
  slots[p].key = kc; slots[p].len = n; slots[p].hash = h; slots[p].val = v;
  count++;
}
static int64_t get(const char *k, size_t n) {
  uint64_t h = fnv1a(k, n);
  size_t p = h & (cap - 1);
  while (slots[p].key) {
    if (slots[p].hash == h && slots[p].len == n && memcmp(slots[p].key, k, n) == 0)
      return slots[p].val;
    p = (p + 1) & (cap - 1);
  }
  return 0;
}
int main(int argc, char **argv) {
  (void)argc;
  const int64_t N = atol(argv[1]);
  char buf[32];
  for (int64_t i = 1; i <= N; i++) { size_t n = mkkey(buf, i); put(buf, n, i); }
  int64_t s = 0;
  for (int64_t i = 1; i <= N; i++) { size_t n = mkkey(buf, i); s = s + get(buf, n); }
  printf("%lld\n", (long long)s);
  return 0;
}
