//===- JitPlugin.cpp - Load the native tiers on first use -----------------===//
//
// \file
// createJitEnginePlugin: a JitEngine that loads libfusevm-jit.so (LLVM and
// the lowering) with dlopen when the tier policy first asks for a compile.
// A run that compiles nothing never maps LLVM: its static constructors
// alone cost ~20 MB of resident memory and milliseconds of start-up.
//
//===----------------------------------------------------------------------===//

#include "fusevm/JIT/JIT.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>

namespace fusevm {
namespace {

std::string defaultPluginPath() {
  if (const char *P = std::getenv("FUSEVM_JIT_LIBRARY"))
    return P;
  char Buf[PATH_MAX];
  ssize_t N = ::readlink("/proc/self/exe", Buf, sizeof Buf - 1);
  if (N <= 0)
    return "libfusevm-jit.so";
  std::string Exe(Buf, size_t(N));
  return Exe.substr(0, Exe.rfind('/') + 1) + "libfusevm-jit.so";
}

class PluginEngine final : public JitEngine {
public:
  PluginEngine(const JitOptions &O, std::string Path)
      : Opts(O), Path(std::move(Path)) {}
  ~PluginEngine() override {
    delete Inner; // the library stays mapped: its code may still run
  }
  bool compile(const JitRequest &R, JitResult &Out, std::string &Why) override {
    return load(Why) && Inner->compile(R, Out, Why);
  }
  bool compileObject(const JitRequest &R, std::string &Object,
                     std::string &Why) override {
    return load(Why) && Inner->compileObject(R, Object, Why);
  }

private:
  bool load(std::string &Why) {
    if (Inner)
      return true;
    if (Failed) {
      Why = LoadError;
      return false;
    }
    void *H = ::dlopen(Path.c_str(), RTLD_NOW | RTLD_LOCAL);
    using CreateFn = JitEngine *(*)(const JitOptions *);
    CreateFn Create =
        H ? reinterpret_cast<CreateFn>(::dlsym(H, "fusevm_create_jit_engine"))
          : nullptr;
    if (!Create) {
      const char *E = ::dlerror();
      LoadError = "cannot load the JIT library " + Path + ": " +
                  (E ? E : "no fusevm_create_jit_engine");
      Failed = true;
      Why = LoadError;
      return false;
    }
    Inner = Create(&Opts);
    return true;
  }

  JitOptions Opts;
  std::string Path;
  JitEngine *Inner = nullptr; ///< used by one compile at a time
  bool Failed = false;
  std::string LoadError;
};

} // namespace

std::unique_ptr<JitEngine> createJitEnginePlugin(const JitOptions &Opts,
                                                 std::string Path) {
  JitOptions O = Opts;
  if (!O.Helpers)
    O.Helpers = &nativeRuntimeSymbols();
  return std::make_unique<PluginEngine>(
      O, Path.empty() ? defaultPluginPath() : std::move(Path));
}

} // namespace fusevm
