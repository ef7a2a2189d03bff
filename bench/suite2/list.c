/* list: the List benchmark of "Are We Fast Yet" (Marr et al.): linked lists
   of element objects built recursively, compared by the Takeuchi-like
   tail() recursion; R iterations, each must leave a list of length 10.
   Elements are malloc'd and freed at the end of each iteration.
   Usage: list R */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

typedef struct Element { int64_t val; struct Element *next; } Element;
static Element **allocated;
static size_t nalloc, alloccap;

static Element *element(int64_t v) {
  Element *e = malloc(sizeof *e);
  e->val = v;
  e->next = NULL;
  if (nalloc == alloccap) {
    alloccap = alloccap ? alloccap * 2 : 64;
    allocated = realloc(allocated, alloccap * sizeof *allocated);
  }
  allocated[nalloc++] = e;
  return e;
}
static Element *makeList(int64_t length) {
  if (length == 0) return NULL;
  Element *e = element(length);
  e->next = makeList(length - 1);
  return e;
}
static int isShorterThan(Element *x, Element *y) {
  Element *xTail = x, *yTail = y;
  while (yTail != NULL) {
    if (xTail == NULL) return 1;
    xTail = xTail->next;
    yTail = yTail->next;
  }
  return 0;
}
static Element *tail(Element *x, Element *y, Element *z) {
  if (isShorterThan(y, x))
    return tail(tail(x->next, y, z), tail(y->next, z, x), tail(z->next, x, y));
  return z;
}
static int64_t length(Element *e) {
  int64_t n = 0;
  while (e != NULL) {
    n = n + 1;
    e = e->next;
  }
  return n;
}
int main(int argc, char **argv) {
  (void)argc;
  const int64_t R = atol(argv[1]);
  int64_t total = 0;
  for (int64_t r = 1; r <= R; r++) {
    Element *a = makeList(15), *b = makeList(10), *c = makeList(6);
    Element *result = tail(a, b, c);
    total = total + length(result);
    for (size_t i = 0; i < nalloc; i++) free(allocated[i]);
    nalloc = 0;
  }
  printf("%lld\n", (long long)total);
  return 0;
}
