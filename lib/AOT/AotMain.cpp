//===- AotMain.cpp - main() for programs compiled ahead of time -----------===//
//
// In the runtime library as a member of its own: the linker takes it only
// when the program has no main of its own (fusevmc --emit=exe).
//
//===----------------------------------------------------------------------===//

#include "fusevm/AOT/AotImage.h"

int main(int argc, char **argv) { return fusevm_aot_entry(argc, argv); }
