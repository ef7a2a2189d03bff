//===- CodeGen.cpp - IR to machine code, for the JIT and AOT --------------===//

#include "CodeGen.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/InstCombine/InstCombine.h"
#include "llvm/Transforms/Scalar/EarlyCSE.h"
#include "llvm/Transforms/Scalar/GVN.h"
#include "llvm/Transforms/Scalar/IndVarSimplify.h"
#include "llvm/Transforms/Scalar/LICM.h"
#include "llvm/Transforms/Scalar/LoopPassManager.h"
#include "llvm/Transforms/Scalar/LoopRotation.h"
#include "llvm/Transforms/Scalar/SROA.h"
#include "llvm/Transforms/Scalar/SimplifyCFG.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <mutex>

using namespace llvm;

namespace fusevm::jit {

void initializeTargets() {
  static std::once_flag Once;
  std::call_once(Once, [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
  });
}

Expected<std::unique_ptr<TargetMachine>>
createTargetMachine(const TargetOptions &O) {
  initializeTargets();
  std::string TripleStr =
      O.Triple.empty() ? sys::getProcessTriple() : Triple::normalize(O.Triple);
  std::string Err;
  const Target *T = TargetRegistry::lookupTarget(TripleStr, Err);
  if (!T)
    return createStringError(inconvertibleErrorCode(),
                             "unknown target '" + TripleStr + "': " + Err);
  std::string CPU = O.CPU, Features = O.Features;
  if (CPU.empty() && O.Triple.empty()) {
    // This machine: its CPU and every feature it has.
    CPU = sys::getHostCPUName().str();
    SubtargetFeatures F;
    for (const auto &[Name, On] : sys::getHostCPUFeatures())
      F.AddFeature(Name, On);
    Features = F.getString();
  } else if (CPU.empty()) {
    CPU = "generic";
  }
  llvm::TargetOptions TO;
  CodeGenOptLevel CG =
      O.OptLevel == 0 ? CodeGenOptLevel::None
      : O.OptLevel >= 3 ? CodeGenOptLevel::Aggressive : CodeGenOptLevel::Default;
  std::unique_ptr<TargetMachine> TM(T->createTargetMachine(
      TripleStr, CPU, Features, TO, Reloc::PIC_, CodeModel::Small, CG));
  if (!TM)
    return createStringError(inconvertibleErrorCode(),
                             "cannot make a code generator for " + TripleStr +
                                 " (cpu " + CPU + ")");
  if (!TM->getMCSubtargetInfo()->isCPUStringValid(CPU))
    return createStringError(inconvertibleErrorCode(),
                             "unknown CPU '" + CPU + "' for " + TripleStr);
  return TM;
}

std::string targetKey(const TargetMachine &TM, unsigned OptLevel) {
  return TM.getTargetTriple().str() + "|" + TM.getTargetCPU().str() + "|" +
         TM.getTargetFeatureString().str() + "|O" + std::to_string(OptLevel) +
         "|llvm" LLVM_VERSION_STRING;
}

struct Optimizer::Pipeline {
  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  PassBuilder PB;
  ModulePassManager MPM;

  Pipeline(TargetMachine *TM, unsigned Level, bool Baseline)
      : PB(TM, tuning()) {
    PB.registerModuleAnalyses(MAM);
    PB.registerCGSCCAnalyses(CGAM);
    PB.registerFunctionAnalyses(FAM);
    PB.registerLoopAnalyses(LAM);
    PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);
    if (Baseline) {
      // The stack and slot allocas become SSA values: fewer loads and
      // stores for instruction selection, for the price of one pass.
      FunctionPassManager FPM;
      FPM.addPass(SROAPass(SROAOptions::PreserveCFG));
      MPM.addPass(createModuleToFunctionPassAdaptor(std::move(FPM)));
      return;
    }
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
    // Cached analyses point into this module, which the caller now owns.
    LAM.clear();
    FAM.clear();
    CGAM.clear();
    MAM.clear();
  }
};

Optimizer::Optimizer(TargetMachine *TM, unsigned Level, bool Baseline)
    : TM(TM), Level(Level), Baseline(Baseline) {}
Optimizer::~Optimizer() = default;

void Optimizer::run(Module &M) {
  if (Level == 0 && !Baseline)
    return;
  // LLVM's default O3 module pipeline keeps state between modules (its
  // inliner crashed on a second module): it is built afresh each time.
  // The short pipeline of O1/O2 is built once and reused.
  if (!P || (Level >= 3 && !Baseline))
    P = std::make_unique<Pipeline>(TM, Level, Baseline);
  P->run(M);
}

Expected<std::string> emitObject(Module &M, TargetMachine &TM) {
  SmallString<0> Obj;
  raw_svector_ostream OS(Obj);
  legacy::PassManager PM;
  if (TM.addPassesToEmitFile(PM, OS, nullptr, CodeGenFileType::ObjectFile))
    return createStringError(inconvertibleErrorCode(),
                             "the target cannot emit object files");
  PM.run(M);
  return std::string(Obj.str());
}

std::string emitAssembly(const Module &M, TargetMachine &TM) {
  std::unique_ptr<Module> Copy = CloneModule(M);
  SmallString<0> Asm;
  raw_svector_ostream OS(Asm);
  legacy::PassManager PM;
  if (TM.addPassesToEmitFile(PM, OS, nullptr, CodeGenFileType::AssemblyFile))
    return "";
  PM.run(*Copy);
  return std::string(Asm.str());
}

} // namespace fusevm::jit
