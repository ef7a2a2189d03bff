//===- CacheCommand.h - fusevm cache ... ------------------------*- C++ -*-===//
#ifndef FUSEVM_TOOLS_FUSEVM_CACHECOMMAND_H
#define FUSEVM_TOOLS_FUSEVM_CACHECOMMAND_H

namespace fusevm {

/// `fusevm cache stats|clear|prune|verify DIR`: \p argv[0] is "cache".
/// Returns the exit code.
int runCacheCommand(int argc, char **argv);

} // namespace fusevm

#endif // FUSEVM_TOOLS_FUSEVM_CACHECOMMAND_H
