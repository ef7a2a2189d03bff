/* A program of its own that runs a fusevm program compiled ahead of time. */
#include "fusevm/AOT/AotImage.h"

#include <stdio.h>

int main(int argc, char **argv) {
  puts("own main says hello");
  fflush(stdout);
  int Status = fusevm_aot_entry(argc, argv);
  printf("the program returned status %d\n", Status);
  return 0;
}
