/* bank: NACC accounts kept as parallel arrays indexed by account id
   (balance, transaction count, time of the last transaction); T random
   transfers (Park-Miller generator), a transfer that would overdraw is
   refused. Prints the total (conserved), the refusals, the richest and
   busiest ids and a checksum. Usage: bank NACC T */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
  (void)argc;
  const int64_t NACC = atol(argv[1]), T = atol(argv[2]);
  int64_t *balance = malloc((NACC + 1) * sizeof *balance);
  int64_t *ntx = malloc((NACC + 1) * sizeof *ntx);
  int64_t *last = malloc((NACC + 1) * sizeof *last);
  for (int64_t id = 1; id <= NACC; id++) {
    balance[id] = 1000;
    ntx[id] = 0;
    last[id] = 0;
  }
  int64_t seed = 42, refused = 0;
  for (int64_t t = 1; t <= T; t++) {
    seed = (seed * 16807) % 2147483647;
    int64_t from = seed % NACC + 1;
    seed = (seed * 16807) % 2147483647;
    int64_t to = seed % NACC + 1;
    seed = (seed * 16807) % 2147483647;
    int64_t amount = seed % 500 + 1;
    if (from != to && balance[from] >= amount) {
      balance[from] = balance[from] - amount;
      balance[to] = balance[to] + amount;
      ntx[from] = ntx[from] + 1;
      ntx[to] = ntx[to] + 1;
      last[from] = t;
      last[to] = t;
    } else {
      refused = refused + 1;
    }
  }
  int64_t total = 0, richest = 1, busiest = 1, check = 0;
  for (int64_t id = 1; id <= NACC; id++) {
    total = total + balance[id];
    if (balance[id] > balance[richest]) richest = id;
    if (ntx[id] > ntx[busiest]) busiest = id;
    check = (check + last[id] * id) % 1000000007;
  }
  printf("%lld %lld %lld %lld %lld\n", (long long)total, (long long)refused,
         (long long)richest, (long long)busiest, (long long)check);
  return 0;
}
