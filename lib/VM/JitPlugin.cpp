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

#include "fusevm/Config.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace fusevm {
namespace {

/// Where the plugin is looked for, in order: $FUSEVM_JIT_LIBRARY; beside
/// the running executable (the build tree's fusevm); PREFIX/lib/fusevm for
/// an installed executable in PREFIX/bin; the install prefix this library
/// was configured for; the build tree it was built in. So an embedder finds
/// the plugin installed with the library without any set-up.
std::vector<std::string> pluginCandidates() {
  if (const char *P = std::getenv("FUSEVM_JIT_LIBRARY"))
    return {P};
  std::vector<std::string> C;
  char Buf[PATH_MAX];
  ssize_t N = ::readlink("/proc/self/exe", Buf, sizeof Buf - 1);
  if (N > 0) {
    std::string Dir(Buf, size_t(N));
    Dir = Dir.substr(0, Dir.rfind('/') + 1);
    C.push_back(Dir + "libfusevm-jit.so");
    C.push_back(Dir + "../" FUSEVM_INSTALL_LIBDIR "/fusevm/libfusevm-jit.so");
  }
  C.push_back(FUSEVM_INSTALL_PREFIX "/" FUSEVM_INSTALL_LIBDIR
                                    "/fusevm/libfusevm-jit.so");
#ifdef FUSEVM_BUILD_PLUGIN_PATH
  C.push_back(FUSEVM_BUILD_PLUGIN_PATH);
#endif
  return C;
}

std::string defaultPluginPath() {
  std::vector<std::string> C = pluginCandidates();
  for (const std::string &P : C)
    if (::access(P.c_str(), R_OK) == 0)
      return P;
  return C.front(); // not found: its error names the first place
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
