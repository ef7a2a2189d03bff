//===- fusevm/JIT/JIT.h - The native tiers on LLVM ORC ------------*- C++ -*-===//
//
// \file
// Makes the JitEngine the interpreter's tier policy drives (VM/Native.h):
//
//   auto Jit = fusevm::createJitEngine(fusevm::JitOptions());
//   fusevm::RunOptions Opts;
//   Opts.Jit = Jit.get();                         // tiers on
//   Opts.Mode = fusevm::RunOptions::JitMode::Auto;
//
// Creating the engine costs nothing: LLVM is initialised and the ORC
// session (one LLJIT) made on the first compile. No LLVM header here.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_JIT_JIT_H
#define FUSEVM_JIT_JIT_H

#include "fusevm/JIT/Native.h"

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

namespace fusevm {

struct JitOptions {
  unsigned OptLevel = 2;  ///< LLVM optimisation level, 0-3
  bool DumpIR = false;    ///< --dump=ir: optimised IR of each module
  bool DumpAsm = false;   ///< --dump=asm: its machine code
  /// Register JIT code with gdb (GDB JIT interface) and perf (perf map /
  /// jitdump) so that debuggers and profilers see it.
  bool DebuggerSupport = false;
  bool PerfSupport = false;
  /// Where dumps go; default: stderr. (What the tiers do is reported as
  /// events: fusevm/JIT/Events.h.)
  std::function<void(const std::string &)> Sink;
  /// The runtime helpers compiled code calls (nativeRuntimeSymbols() of
  /// the VM the code will run in).
  const std::vector<NativeSymbol> *Helpers = nullptr;
  /// Lowerings of extended ops (fusevm/JIT/Extension.h); honoured by an
  /// engine linked in (createJitEngine), not by the plugin.
  std::vector<class JitExtension *> Extensions;

  /// Writes dump text where Sink says.
  void write(const std::string &S) const {
    if (Sink)
      Sink(S);
    else
      std::fwrite(S.data(), 1, S.size(), stderr);
  }
};

/// The engine, linked in (library FusevmJIT).
std::unique_ptr<JitEngine> createJitEngine(const JitOptions &Opts);

/// Where an embedder built against an installed fusevm finds the plugin:
/// the CMake package and fusevm.pc define FUSEVM_JIT_PLUGIN_PATH (a bare
/// path: string defines do not survive pkg-config's quoting).
#define FUSEVM_STRINGIFY_(X) #X
#define FUSEVM_STRINGIFY(X) FUSEVM_STRINGIFY_(X)
#ifdef FUSEVM_JIT_PLUGIN_PATH
#define FUSEVM_JIT_PLUGIN FUSEVM_STRINGIFY(FUSEVM_JIT_PLUGIN_PATH)
#else
#define FUSEVM_JIT_PLUGIN ""
#endif

/// The same, from the plugin libfusevm-jit.so (what the fusevm tool uses,
/// so that a run that compiles nothing never maps LLVM): the library is
/// loaded on the first compile, from \p Path or, if empty, from
/// $FUSEVM_JIT_LIBRARY, beside the running executable, PREFIX/lib/fusevm
/// of an executable in PREFIX/bin, or where this library was installed or
/// built. JitOptions::Helpers defaults to this VM's runtime helpers.
std::unique_ptr<JitEngine>
createJitEnginePlugin(const JitOptions &Opts,
                      std::string Path = FUSEVM_JIT_PLUGIN);

} // namespace fusevm

#endif // FUSEVM_JIT_JIT_H
