//===- ObjectLoader.h - Loading cached native code without LLVM ---*- C++ -*-===//
//
// \file
// A restricted loader for the object files the JIT makes (x86-64 ELF,
// relocatable, PIC, small code model): it maps their code and data, resolves
// the symbols they use against an explicit table only (the runtime helpers
// and a few C library functions), applies the relocations those objects
// contain, and refuses anything else. A warm run loads cached code with it
// instead of LLVM: no code generator, no 40 MB plugin (docs/cache.md).
//
// Every byte is treated as hostile (a cache entry is checksummed, but the
// loader does not rely on it): each offset and size is checked against the
// object before it is used.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_VM_OBJECTLOADER_H
#define FUSEVM_LIB_VM_OBJECTLOADER_H

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fusevm {

/// What a symbol an object uses but does not define resolves to: null when
/// it is not allowed.
using SymbolResolver = std::function<void *(std::string_view Name)>;

/// The runtime's own symbols: the helpers compiled code calls, and the C
/// library functions code generation may call for them (fmod, memcpy, ...).
SymbolResolver runtimeSymbolResolver();

struct LoadedObject {
  /// The functions and data the object defines, by name.
  std::unordered_map<std::string, void *> Symbols;
  size_t MappedBytes = 0;
};

/// Loads \p Object. On failure returns false and says why in \p Why (the
/// reject reason: malformed, unsupported relocation, unknown symbol, ...).
/// Loaded code stays mapped for the life of the process (code of an earlier
/// run may still be in use).
bool loadObject(std::string_view Object, const SymbolResolver &Resolve,
                LoadedObject &Out, std::string &Why);

} // namespace fusevm

#endif // FUSEVM_LIB_VM_OBJECTLOADER_H
