//===- Engine.cpp - The ORC session behind the native tiers ---------------===//
//
// \file
// One LLJIT per engine, made on the first compile (DESIGN.md: ≈0.5 ms), so
// a run that never compiles never initialises LLVM. A compile lowers the
// request (Lower.h), optimises and emits an object file (CodeGen.h), then
// loads it with RTDyld, which is also what the gdb and perf event listeners
// attach to. The runtime helpers are absolute symbols; libm (fmod for
// frem) comes from the process.
//
// Deterministic compiles: the names of a request's functions are a hash of
// everything the code depends on (the chunk's op hash and content digest,
// the function, tier, specialisation, target and level), and the code
// reaches the run only through NativeCtx and relocations against named
// runtime helpers. So the same request gives the same object bytes in any
// engine, and an engine that is asked again for code it has loaded returns
// that code instead of compiling (JitResult::Generated = false).
//
//===----------------------------------------------------------------------===//

#include "fusevm/JIT/JIT.h"

#include "CodeGen.h"
#include "Lower.h"

#include "fusevm/Verify/Verifier.h"

#include "llvm/ExecutionEngine/JITEventListener.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

using namespace llvm;
using namespace llvm::orc;

namespace fusevm {
namespace {

using jit::Optimizer;

double msSince(std::chrono::steady_clock::time_point T0) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - T0)
      .count();
}

/// Appends \p V to \p S as bytes (for hashing).
template <typename T> void put(std::string &S, const T &V) {
  S.append(reinterpret_cast<const char *>(&V), sizeof V);
}
template <typename T> void put(std::string &S, const std::vector<T> &V) {
  put(S, uint64_t(V.size()));
  if (!V.empty())
    S.append(reinterpret_cast<const char *>(V.data()), V.size() * sizeof(T));
}

/// The chunk's identity when the request does not carry it.
std::string chunkKey(const JitRequest &R) {
  if (!R.ChunkKey.empty())
    return R.ChunkKey;
  std::string K;
  put(K, R.C->opHash());
  return K + R.C->contentDigest();
}

/// "fvm.NAME.HASH": a pure function of everything the code depends on.
std::string unitPrefix(const JitRequest &R, const std::string &TargetKey) {
  std::string K = chunkKey(R) + TargetKey;
  put(K, R.Func);
  put(K, uint8_t(R.Linear));
  put(K, uint8_t(R.Level));
  put(K, uint8_t(R.Budget));
  put(K, R.OsrIp);
  put(K, R.ParamMasks);
  put(K, R.OsrSlots);
  put(K, R.OsrStack);
  put(K, R.NoSpeculation);
  put(K, R.Trace);
  put(K, uint8_t(R.TraceStress));
  for (const JitRequest::Callee &Ce : R.TraceCallees) {
    put(K, Ce.Func);
    put(K, Ce.Params);
    put(K, Ce.NoSpeculation);
  }
  put(K, R.GlobalKinds);
  put(K, R.ElementKinds);
  std::string Name;
  for (char Ch : R.C->functionName(R.Func))
    Name.push_back(isalnum(static_cast<unsigned char>(Ch)) || Ch == '_' ? Ch
                                                                         : '_');
  char Hex[17];
  std::snprintf(Hex, sizeof Hex, "%016llx",
                static_cast<unsigned long long>(xxh64(K.data(), K.size())));
  return "fvm." + Name.substr(0, 48) + "." + Hex;
}

class OrcEngine final : public JitEngine {
public:
  explicit OrcEngine(const JitOptions &O) : Opts(O) {}
  ~OrcEngine() override;
  bool compile(const JitRequest &R, JitResult &Out, std::string &Why) override;
  bool compileObject(const JitRequest &R, std::string &Object,
                     std::string &Why) override;

private:
  Error startCodeGen();
  Error startSession();
  /// Lowers, optimises and emits \p R's object file.
  Expected<std::string> generate(const JitRequest &R, const std::string &Prefix,
                                 LoweredNames &Names);
  Expected<JitResult> load(std::string Object, const LoweredNames &Names);

  JitOptions Opts;
  std::unique_ptr<TargetMachine> TM, BaselineTM;
  std::string TargetKey;
  std::unique_ptr<Optimizer> Opt, Baseline;
  std::unique_ptr<LLJIT> J;
  /// Code this engine has loaded, by unit prefix.
  std::unordered_map<std::string, JitResult> Loaded;
};

OrcEngine::~OrcEngine() = default;

Error OrcEngine::startCodeGen() {
  if (TM)
    return Error::success();
  jit::TargetOptions TO;
  TO.OptLevel = Opts.OptLevel;
  auto TMOr = jit::createTargetMachine(TO);
  if (!TMOr)
    return TMOr.takeError();
  TM = std::move(*TMOr);
  // Baseline code generation gets a machine of its own: codegen at -O0
  // switches fast instruction selection on in the TargetMachine, for good.
  TO.OptLevel = 0;
  auto BTMOr = jit::createTargetMachine(TO);
  if (!BTMOr)
    return BTMOr.takeError();
  BaselineTM = std::move(*BTMOr);
  TargetKey = jit::targetKey(*TM, Opts.OptLevel);
  Opt = std::make_unique<Optimizer>(TM.get(), Opts.OptLevel);
  // FUSEVM_JIT_BASELINE=none: no pass at all in baseline compiles (for
  // measuring; docs/jit.md).
  const char *BaselinePasses = std::getenv("FUSEVM_JIT_BASELINE");
  Baseline = std::make_unique<Optimizer>(
      TM.get(), 0, !(BaselinePasses && std::string(BaselinePasses) == "none"));
  return Error::success();
}

Error OrcEngine::startSession() {
  if (J)
    return Error::success();
  auto JTMB = JITTargetMachineBuilder::detectHost();
  if (!JTMB)
    return JTMB.takeError();
  JTMB->setRelocationModel(Reloc::PIC_);
  JTMB->setCodeModel(CodeModel::Small);
  bool Gdb = Opts.DebuggerSupport, Perf = Opts.PerfSupport;
  auto JOr =
      LLJITBuilder()
          .setJITTargetMachineBuilder(std::move(*JTMB))
          .setObjectLinkingLayerCreator(
              [Gdb, Perf](ExecutionSession &ES, const Triple &)
                  -> Expected<std::unique_ptr<ObjectLayer>> {
                auto L = std::make_unique<RTDyldObjectLinkingLayer>(
                    ES, [] { return std::make_unique<SectionMemoryManager>(); });
                if (Gdb)
                  if (JITEventListener *G =
                          JITEventListener::createGDBRegistrationListener())
                    L->registerJITEventListener(*G);
                if (Perf)
                  if (JITEventListener *P =
                          JITEventListener::createPerfJITEventListener())
                    L->registerJITEventListener(*P);
                return L;
              })
          .create();
  if (!JOr)
    return JOr.takeError();
  J = std::move(*JOr);
  JITDylib &Main = J->getMainJITDylib();
  if (!Opts.Helpers)
    return createStringError(inconvertibleErrorCode(),
                             "no runtime helpers given (JitOptions::Helpers)");
  SymbolMap Helpers;
  for (const NativeSymbol &S : *Opts.Helpers)
    Helpers[J->mangleAndIntern(S.Name)] = {
        ExecutorAddr::fromPtr(S.Addr),
        JITSymbolFlags::Exported | JITSymbolFlags::Callable};
  if (Error E = Main.define(absoluteSymbols(std::move(Helpers))))
    return E;
  auto Proc = DynamicLibrarySearchGenerator::GetForCurrentProcess(
      J->getDataLayout().getGlobalPrefix());
  if (!Proc)
    return Proc.takeError();
  Main.addGenerator(std::move(*Proc));
  return Error::success();
}

Expected<std::string> OrcEngine::generate(const JitRequest &R,
                                          const std::string &Prefix,
                                          LoweredNames &Names) {
  auto T = std::chrono::steady_clock::now();
  auto Tick = [&T] {
    double Ms = msSince(T);
    T = std::chrono::steady_clock::now();
    return Ms;
  };
  std::string Name = R.C->functionName(R.Func);
  LLVMContext Ctx;
  Module M("fusevm." + Name, Ctx);
  M.setDataLayout(TM->createDataLayout());
  M.setTargetTriple(TM->getTargetTriple().str());
  Names = lowerFunction(M, R, Prefix, &Opts.Extensions);
  double LowerMs = Tick();
  std::string Broken;
  raw_string_ostream BS(Broken);
  if (verifyModule(M, &BS))
    return createStringError(inconvertibleErrorCode(),
                             "internal error: the lowering produced invalid "
                             "IR: " + BS.str());
  // Baseline: no IR optimisation, fast instruction selection and register
  // allocation; optimised: the engine's level.
  bool Base = R.Level == JitLevel::Baseline;
  (Base ? Baseline : Opt)->run(M);
  TargetMachine &CodeGen = Base ? *BaselineTM : *TM;
  double OptMs = Tick();
  if (Opts.DumpIR) {
    std::string S;
    raw_string_ostream OS(S);
    M.print(OS, nullptr);
    Opts.write("; fusevm --dump=ir: " + Name + "\n" + OS.str());
  }
  if (Opts.DumpAsm)
    Opts.write("# fusevm --dump=asm: " + Name + "\n" +
               jit::emitAssembly(M, CodeGen));
  Expected<std::string> Obj = jit::emitObject(M, CodeGen);
  if (std::getenv("FUSEVM_JIT_TIMING"))
    std::fprintf(stderr, "jit timing %s: lower %.2f opt %.2f codegen %.2f ms\n",
                 Name.c_str(), LowerMs, OptMs, Tick());
  return Obj;
}

Expected<JitResult> OrcEngine::load(std::string Object,
                                    const LoweredNames &Names) {
  if (Error E = startSession())
    return std::move(E);
  if (Error E = J->addObjectFile(MemoryBuffer::getMemBufferCopy(Object)))
    return std::move(E);
  auto Find = [&](const std::string &S) -> Expected<void *> {
    if (S.empty())
      return nullptr;
    auto A = J->lookup(S);
    if (!A)
      return A.takeError();
    return A->toPtr<void *>();
  };
  JitResult Res;
  Expected<void *> Entry = Find(Names.Entry), Fast = Find(Names.Fast),
                   Osr = Find(Names.Osr);
  if (!Entry)
    return Entry.takeError();
  if (!Fast)
    return Fast.takeError();
  if (!Osr)
    return Osr.takeError();
  Res.Entry = reinterpret_cast<NativeEntryFn>(*Entry);
  Res.Fast = *Fast;
  Res.Osr = reinterpret_cast<NativeOsrFn>(*Osr);
  return Res;
}

bool OrcEngine::compile(const JitRequest &R, JitResult &Out, std::string &Why) {
  auto T0 = std::chrono::steady_clock::now();
  auto Fail = [&](Error E) {
    Why = toString(std::move(E));
    return false;
  };
  if (Error E = startCodeGen())
    return Fail(createStringError(inconvertibleErrorCode(),
                                  "LLVM JIT unavailable: " +
                                      toString(std::move(E))));
  std::string Prefix = unitPrefix(R, TargetKey);
  if (auto It = Loaded.find(Prefix); It != Loaded.end()) {
    Out = It->second;
    Out.Generated = false;
    Out.Ms = msSince(T0);
    return true;
  }
  LoweredNames Names;
  Expected<std::string> Obj = generate(R, Prefix, Names);
  if (!Obj)
    return Fail(Obj.takeError());
  Expected<JitResult> Res = load(std::move(*Obj), Names);
  if (!Res)
    return Fail(Res.takeError());
  Out = *Res;
  Out.Generated = true;
  Out.OptLevel = R.Level == JitLevel::Baseline ? 0 : Opts.OptLevel;
  Out.Ms = msSince(T0);
  Loaded[Prefix] = Out;
  return true;
}

bool OrcEngine::compileObject(const JitRequest &R, std::string &Object,
                              std::string &Why) {
  if (Error E = startCodeGen()) {
    Why = toString(std::move(E));
    return false;
  }
  LoweredNames Names;
  Expected<std::string> Obj = generate(R, unitPrefix(R, TargetKey), Names);
  if (!Obj) {
    Why = toString(Obj.takeError());
    return false;
  }
  Object = std::move(*Obj);
  return true;
}

} // namespace

std::unique_ptr<JitEngine> createJitEngine(const JitOptions &Opts) {
  return std::make_unique<OrcEngine>(Opts);
}

/// The plugin's one export (see createJitEnginePlugin).
extern "C" __attribute__((visibility("default"))) JitEngine *
fusevm_create_jit_engine(const JitOptions *Opts) {
  return new OrcEngine(*Opts);
}

} // namespace fusevm
