/* An image that claims another runtime ABI. */
#include "fusevm/AOT/AotImage.h"

static const struct FusevmAotImage Image = {FUSEVM_AOT_MAGIC, 99, 1, 0,
                                             "9.9.9", 0, 0, 0};

int fusevm_aot_entry(int argc, char **argv) {
  return fusevm_aot_run(&Image, argc, argv);
}
