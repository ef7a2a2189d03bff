//===- Engine.cpp - The ORC session behind the native tiers ---------------===//
//
// \file
// One LLJIT per engine, made on the first compile (DESIGN.md: ≈0.5 ms), so
// a run that never compiles never initialises LLVM. Objects are PIC with
// the small code model, linked by RTDyld, which is also what the gdb and
// perf event listeners attach to. The runtime helpers are absolute symbols;
// libm (fmod for frem) comes from the process.
//
//===----------------------------------------------------------------------===//

#include "fusevm/JIT/JIT.h"

#include "Lower.h"

#include "fusevm/Verify/Verifier.h"

#include "llvm/ExecutionEngine/JITEventListener.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Transforms/InstCombine/InstCombine.h"
#include "llvm/Transforms/Scalar/EarlyCSE.h"
#include "llvm/Transforms/Scalar/GVN.h"
#include "llvm/Transforms/Scalar/IndVarSimplify.h"
#include "llvm/Transforms/Scalar/LICM.h"
#include "llvm/Transforms/Scalar/LoopPassManager.h"
#include "llvm/Transforms/Scalar/LoopRotation.h"
#include "llvm/Transforms/Scalar/SROA.h"
#include "llvm/Transforms/Scalar/SimplifyCFG.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace llvm;
using namespace llvm::orc;

namespace fusevm {
namespace {

std::string kindList(const std::vector<KindMask> &Masks) {
  std::string S;
  for (KindMask M : Masks) {
    if (!S.empty())
      S += ", ";
    S += M == AnyKind ? "any" : kindName(ValueKind(__builtin_ctz(M)));
  }
  return S;
}

class OrcEngine final : public JitEngine {
public:
  explicit OrcEngine(const JitOptions &O) : Opts(O) {}
  ~OrcEngine() override;
  bool compile(const JitRequest &R, JitResult &Out, std::string &Why) override;
  void log(const std::string &Line) override {
    if (Opts.Log)
      Opts.write("fusevm: " + Line + "\n");
  }

private:
  bool start(std::string &Why);
  void optimize(Module &M);

  JitOptions Opts;
  std::unique_ptr<LLJIT> J;
  std::unique_ptr<TargetMachine> TM; ///< for the optimiser and --dump=asm
  struct Pipeline;
  std::unique_ptr<Pipeline> Opt;
  uint64_t Serial = 0;
};

bool OrcEngine::start(std::string &Why) {
  InitializeNativeTarget();
  InitializeNativeTargetAsmPrinter();
  auto JTMB = JITTargetMachineBuilder::detectHost();
  if (!JTMB) {
    Why = toString(JTMB.takeError());
    return false;
  }
  JTMB->setRelocationModel(Reloc::PIC_);
  JTMB->setCodeModel(CodeModel::Small);
  CodeGenOptLevel CG = Opts.OptLevel == 0 ? CodeGenOptLevel::None
                                          : CodeGenOptLevel::Default;
  JTMB->setCodeGenOptLevel(CG);
  auto TMOr = JTMB->createTargetMachine();
  if (!TMOr) {
    Why = toString(TMOr.takeError());
    return false;
  }
  TM = std::move(*TMOr);
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
  if (!JOr) {
    Why = toString(JOr.takeError());
    return false;
  }
  J = std::move(*JOr);
  JITDylib &Main = J->getMainJITDylib();
  if (!Opts.Helpers) {
    Why = "no runtime helpers given (JitOptions::Helpers)";
    return false;
  }
  SymbolMap Helpers;
  for (const NativeSymbol &S : *Opts.Helpers)
    Helpers[J->mangleAndIntern(S.Name)] = {
        ExecutorAddr::fromPtr(S.Addr),
        JITSymbolFlags::Exported | JITSymbolFlags::Callable};
  if (Error E = Main.define(absoluteSymbols(std::move(Helpers)))) {
    Why = toString(std::move(E));
    return false;
  }
  auto Proc = DynamicLibrarySearchGenerator::GetForCurrentProcess(
      J->getDataLayout().getGlobalPrefix());
  if (!Proc) {
    Why = toString(Proc.takeError());
    return false;
  }
  Main.addGenerator(std::move(*Proc));
  return true;
}

/// The optimiser, built once per engine and run on every module (DESIGN.md:
/// setting a pipeline up costs ≈0.7 ms; a JIT compiles many modules).
struct OrcEngine::Pipeline {
  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  PassBuilder PB;
  ModulePassManager MPM;

  Pipeline(TargetMachine *TM, unsigned Level)
      : PB(TM, tuning()) {
    PB.registerModuleAnalyses(MAM);
    PB.registerCGSCCAnalyses(CGAM);
    PB.registerFunctionAnalyses(FAM);
    PB.registerLoopAnalyses(LAM);
    PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);
    if (Level >= 3) {
      MPM = PB.buildPerModuleDefaultPipeline(OptimizationLevel::O3);
      return;
    }
    // What the lowering leaves needs few passes: allocas to SSA, folding of
    // the kind tests it proved, redundant loads and loop-invariant ones out
    // of loops, dead paths gone, induction variables simplified. A short
    // function pipeline costs a fraction of the O2 module pipeline
    // (inliner, IPO, unrolling) for the same loops.
    FunctionPassManager FPM;
    FPM.addPass(SROAPass(SROAOptions::ModifyCFG));
    FPM.addPass(EarlyCSEPass(true));
    FPM.addPass(InstCombinePass());
    FPM.addPass(SimplifyCFGPass());
    if (Level >= 2) {
      LoopPassManager LPM;
      LPM.addPass(LoopRotatePass());
      LPM.addPass(LICMPass(LICMOptions()));
      FPM.addPass(createFunctionToLoopPassAdaptor(std::move(LPM),
                                                  /*UseMemorySSA=*/true));
      FPM.addPass(GVNPass());
      LoopPassManager LPM2;
      LPM2.addPass(IndVarSimplifyPass());
      FPM.addPass(createFunctionToLoopPassAdaptor(std::move(LPM2)));
      FPM.addPass(InstCombinePass());
      FPM.addPass(SimplifyCFGPass());
    }
    MPM.addPass(createModuleToFunctionPassAdaptor(std::move(FPM)));
  }
  /// Unrolling and vectorising multiply code size, and with it the time
  /// codegen spends in loop strength reduction (measured: 138 ms instead
  /// of 15 ms for a two-loop main); a JIT pays that on every run.
  static PipelineTuningOptions tuning() {
    PipelineTuningOptions PTO;
    PTO.LoopUnrolling = false;
    PTO.LoopInterleaving = false;
    PTO.LoopVectorization = false;
    PTO.SLPVectorization = false;
    return PTO;
  }
  void run(Module &M) {
    MPM.run(M, MAM);
    // Cached analyses point into this module, which the JIT now owns.
    LAM.clear();
    FAM.clear();
    CGAM.clear();
    MAM.clear();
  }
};

OrcEngine::~OrcEngine() = default;

void OrcEngine::optimize(Module &M) {
  if (Opts.OptLevel == 0)
    return;
  if (!Opt)
    Opt = std::make_unique<Pipeline>(TM.get(), Opts.OptLevel);
  Opt->run(M);
}

bool OrcEngine::compile(const JitRequest &R, JitResult &Out, std::string &Why) {
  auto T0 = std::chrono::steady_clock::now();
  if (!J && !start(Why)) {
    Why = "LLVM JIT unavailable: " + Why;
    return false;
  }
  const Chunk &C = *R.C;
  std::string Name = C.functionName(R.Func);
  std::string Tag = std::to_string(++Serial) + "_" + std::to_string(R.Func);
  auto Ctx = std::make_unique<LLVMContext>();
  auto M = std::make_unique<Module>("fusevm." + Name, *Ctx);
  M->setDataLayout(J->getDataLayout());
  M->setTargetTriple(J->getTargetTriple().str());
  auto Tick = [T = std::chrono::steady_clock::now()]() mutable {
    auto Now = std::chrono::steady_clock::now();
    double Ms = std::chrono::duration<double, std::milli>(Now - T).count();
    T = Now;
    return Ms;
  };
  double StartMs = std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - T0)
                       .count();
  LoweredNames N = lowerFunction(*M, R, Tag);
  double LowerMs = Tick();
  std::string Broken;
  raw_string_ostream BS(Broken);
  if (verifyModule(*M, &BS)) {
    Why = "internal error: the lowering produced invalid IR: " + BS.str();
    return false;
  }
  optimize(*M);
  double OptMs = Tick();
  if (Opts.DumpIR) {
    std::string S;
    raw_string_ostream OS(S);
    M->print(OS, nullptr);
    Opts.write("; fusevm --dump=ir: " + Name + "\n" + OS.str());
  }
  if (Opts.DumpAsm) {
    std::unique_ptr<Module> Copy = CloneModule(*M);
    SmallString<0> Asm;
    raw_svector_ostream OS(Asm);
    legacy::PassManager PM;
    if (!TM->addPassesToEmitFile(PM, OS, nullptr, CodeGenFileType::AssemblyFile)) {
      PM.run(*Copy);
      Opts.write("# fusevm --dump=asm: " + Name + "\n" + std::string(Asm.str()));
    }
  }
  if (Error E = J->addIRModule(ThreadSafeModule(std::move(M), std::move(Ctx)))) {
    Why = toString(std::move(E));
    return false;
  }
  auto Find = [&](const std::string &S) -> void * {
    if (S.empty())
      return nullptr;
    auto A = J->lookup(S);
    if (!A) {
      Why = toString(A.takeError());
      return nullptr;
    }
    return A->toPtr<void *>();
  };
  Out.Entry = reinterpret_cast<NativeEntryFn>(Find(N.Entry));
  Out.Fast = Find(N.Fast);
  Out.Osr = reinterpret_cast<NativeOsrFn>(Find(N.Osr));
  if ((!N.Entry.empty() && (!Out.Entry || !Out.Fast)) ||
      (!N.Osr.empty() && !Out.Osr))
    return false;
  double CodegenMs = Tick();
  if (std::getenv("FUSEVM_JIT_TIMING"))
    std::fprintf(stderr, "jit timing %s: start %.2f lower %.2f opt %.2f codegen %.2f ms\n",
                 Name.c_str(), StartMs, LowerMs, OptMs, CodegenMs);
  double Ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - T0)
                  .count();
  ++Compiles;
  CompileMs += Ms;
  (R.Linear ? LinearCompiled : BlockCompiled) += 1;
  const FunctionDef &D = C.Functions[R.Func];
  char Buf[64];
  std::snprintf(Buf, sizeof Buf, "%.2f ms", Ms);
  std::string Line = "jit: compiled " + Name + " (" +
                     (R.Linear ? "linear" : "block") + " tier, " +
                     std::to_string(D.End - D.Entry) + " ops";
  if (D.Arity)
    Line += ", params: " + kindList(R.ParamMasks);
  if (R.OsrIp >= 0)
    Line += ", entered mid-loop at line " +
            std::to_string(C.lineOf(size_t(R.OsrIp)));
  log(Line + ") in " + Buf);
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
