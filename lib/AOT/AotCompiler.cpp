//===- AotCompiler.cpp - fusevmc --emit=llvm|obj --------------------------===//
//
// \file
// Every function of the chunk goes through the one lowering (lib/JIT) into
// one module, specialised to the parameter kinds a whole-program analysis
// finds (guarded at entry; the interpreter takes a call with other kinds)
// and speculating on the kinds globals hold as the program text shows them
// (wholeProgramGlobalKinds; guarded, the activation handed to the
// interpreter when a guard fails, and a second version of the function
// without the speculation for when one keeps failing), so any verified
// program compiles. Then the module gets what the runtime
// library needs to run it (AotImage.h): the chunk as .fbc bytes, the table
// of compiled functions, the image, and fusevm_aot_entry, the one symbol
// it exports. The compiled functions are internal: their names cannot
// clash with anything the object is linked with.
//
//===----------------------------------------------------------------------===//

#include "fusevm/AOT/AOT.h"

#include "fusevm/AOT/AotImage.h"
#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/Config.h"

#include "../JIT/CodeGen.h"
#include "../JIT/Lower.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

extern "C" {
void LLVMInitializeAArch64TargetInfo();
void LLVMInitializeAArch64Target();
void LLVMInitializeAArch64TargetMC();
void LLVMInitializeAArch64AsmPrinter();
}

using namespace llvm;

namespace fusevm {

namespace {

/// The kinds the lowering speculates on for globals (KindAnalysis.cpp's
/// speculable), and specialises parameters to (int and float only).
bool oneNumberKind(KindMask M) {
  return M == maskOf(ValueKind::Int) || M == maskOf(ValueKind::Float) ||
         M == maskOf(ValueKind::Bool);
}
bool oneArithKind(KindMask M) {
  return M == maskOf(ValueKind::Int) || M == maskOf(ValueKind::Float);
}

/// What the values flowing into one place (a parameter, a global, the
/// elements of a global array) have been, over one round of a
/// whole-program analysis: the union of their kinds, the union of those
/// that are one kind, and the kinds every one of them may have. A value
/// the analysis finds no kind for yet (0: it depends on a guess not made)
/// tells nothing.
struct Inflow {
  KindMask All = 0, Single = 0, Every = AnyKind;
  void add(KindMask M, bool (*One)(KindMask)) {
    if (!M)
      return;
    All |= M;
    Every &= M;
    if (One(M))
      Single |= M;
  }
  /// The one kind to assume: the kind of every value; or, optimistically,
  /// the one kind of the values that are sure of theirs, when all the
  /// others may be of it too (they depend on the assumption itself:
  /// `n = n + 1`, `fib(n - 1)`). The next round checks the guess under the
  /// code it makes. 0: none.
  KindMask guess(bool (*One)(KindMask)) const {
    if (One(All))
      return All;
    if (One(Single) && (Every & Single) == Single)
      return Single;
    return 0;
  }
};

/// Function \p F's analysis under the parameter and global guesses.
SiteKinds sitesOf(const Chunk &C, const VerifyInfo &Info, uint32_t F,
                  const std::vector<KindMask> &Params,
                  const GlobalSpeculation *G) {
  JitRequest R;
  R.C = &C;
  R.Info = &Info;
  R.Func = F;
  R.ParamMasks = Params;
  if (G) {
    R.GlobalKinds = G->Vars;
    R.ElementKinds = G->Elements;
  }
  return siteKinds(R);
}

} // namespace

std::vector<std::vector<KindMask>> wholeProgramParamKinds(const Chunk &C,
                                                          const VerifyInfo &Info) {
  // Guesses start at 0, "never called": a parameter's uses then have no
  // kind yet and pass nothing on (so a recursive call's `n - 1` waits for
  // the outside call's int). main takes no parameters.
  size_t N = C.Functions.size();
  std::vector<std::vector<KindMask>> Guess(N);
  for (size_t F = 0; F < N; ++F)
    Guess[F].assign(C.Functions[F].Arity, 0);
  auto inflows = [&] {
    std::vector<std::vector<Inflow>> In(N);
    for (size_t F = 0; F < N; ++F)
      In[F].resize(Guess[F].size());
    for (uint32_t F = 0; F < N; ++F)
      for (auto &[Callee, Args] : sitesOf(C, Info, F, Guess[F], nullptr).Calls)
        for (size_t A = 0; A < Args.size() && A < In[Callee].size(); ++A)
          In[Callee][A].add(Args[A], oneArithKind);
    return In;
  };
  for (int Round = 0; Round < 8; ++Round) {
    std::vector<std::vector<Inflow>> In = inflows();
    std::vector<std::vector<KindMask>> Next(N);
    for (size_t F = 0; F < N; ++F)
      for (const Inflow &I : In[F])
        Next[F].push_back(I.guess(oneArithKind));
    if (Next == Guess)
      break;
    Guess = std::move(Next);
  }
  // Keep only guesses the code they make bears out: every argument of that
  // one kind (a guess that does not hold would fail its entry guard on
  // every call). Dropping one can spoil others: to a fixpoint.
  for (bool Dropped = true; Dropped;) {
    Dropped = false;
    std::vector<std::vector<Inflow>> In = inflows();
    for (size_t F = 0; F < N; ++F)
      for (size_t A = 0; A < Guess[F].size(); ++A)
        if (Guess[F][A] && Guess[F][A] != AnyKind && In[F][A].All &&
            In[F][A].All != Guess[F][A]) {
          Guess[F][A] = AnyKind;
          Dropped = true;
        }
  }
  // Specialised where one kind held; AnyKind elsewhere (and never called).
  for (auto &Ps : Guess)
    for (KindMask &M : Ps)
      M = M ? M : AnyKind;
  return Guess;
}

/// Whether function \p F reads a global or an element \p S speculates on.
static bool speculates(const Chunk &C, uint32_t F, const GlobalSpeculation &S) {
  const FunctionDef &D = C.Functions[F];
  for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip) {
    const Instr &I = C.Ops[Ip];
    if ((I.Op == Opcode::GetVar && S.Vars[I.A]) ||
        ((I.Op == Opcode::ArrayGet || I.Op == Opcode::ArraySet) &&
         S.Elements[I.A]))
      return true;
  }
  return false;
}

GlobalSpeculation
wholeProgramGlobalKinds(const Chunk &C, const VerifyInfo &Info,
                        const std::vector<std::vector<KindMask>> &Params) {
  size_t Names = C.Names.size();
  GlobalSpeculation S;
  S.Vars.assign(Names, 0);
  S.Elements.assign(Names, 0);
  // Optimistic rounds until the guesses settle, then verifying rounds
  // that drop every guess its writes do not bear out, to a fixpoint.
  bool Verifying = false;
  for (size_t Round = 0;; ++Round) {
    std::vector<Inflow> Var(Names), Elem(Names);
    std::vector<bool> Replaced(Names, false);
    for (uint32_t F = 0; F < C.Functions.size(); ++F)
      for (const SiteKinds::Store &St : sitesOf(C, Info, F, Params[F], &S).Stores) {
        if (St.Name >= Names)
          continue;
        if (St.Op == Opcode::ArraySet || St.Op == Opcode::ArrayPush) {
          Elem[St.Name].add(St.Value, oneNumberKind);
        } else { // the global itself: a new value, maybe an array
          Var[St.Name].add(St.Value, oneNumberKind);
          if ((St.Value & maskOf(ValueKind::Array)) && !St.EmptyArray)
            Replaced[St.Name] = true; // elements of any kind
        }
      }
    GlobalSpeculation Next;
    for (size_t N = 0; N < Names; ++N) {
      Next.Vars.push_back(Var[N].guess(oneNumberKind));
      Next.Elements.push_back(Replaced[N] ? 0 : Elem[N].guess(oneNumberKind));
    }
    bool Stable = Next.Vars == S.Vars && Next.Elements == S.Elements;
    if (Verifying) {
      // Keep only what the writes under the speculation bear out.
      bool Dropped = false;
      for (size_t N = 0; N < Names; ++N) {
        if (S.Vars[N] && Var[N].All && Var[N].All != S.Vars[N])
          S.Vars[N] = 0, Dropped = true;
        if (S.Elements[N] &&
            (Replaced[N] || (Elem[N].All && Elem[N].All != S.Elements[N])))
          S.Elements[N] = 0, Dropped = true;
      }
      if (!Dropped)
        break;
    } else if (Stable || Round == 7) {
      Verifying = true;
    } else {
      S = std::move(Next);
    }
  }
  return S;
}

namespace {

Constant *bytes(LLVMContext &Cx, Module &M, StringRef Data, const Twine &Name) {
  Constant *Init = ConstantDataArray::getRaw(Data, Data.size(),
                                             Type::getInt8Ty(Cx));
  auto *G = new GlobalVariable(M, Init->getType(), true,
                               GlobalValue::PrivateLinkage, Init, Name);
  G->setAlignment(Align(8));
  return G;
}

} // namespace

Expected<std::string> compileAot(const Chunk &C, const VerifyInfo &Info,
                                 const AotOptions &O, AotOutput Kind) {
  static std::once_flag Once;
  std::call_once(Once, [] {
    // This machine, and AArch64 for cross-compiling.
    jit::initializeTargets();
    LLVMInitializeAArch64TargetInfo();
    LLVMInitializeAArch64Target();
    LLVMInitializeAArch64TargetMC();
    LLVMInitializeAArch64AsmPrinter();
  });
  jit::TargetOptions TO;
  TO.Triple = O.Triple;
  TO.CPU = O.CPU;
  TO.OptLevel = O.OptLevel;
  auto TMOr = jit::createTargetMachine(TO);
  if (!TMOr)
    return TMOr.takeError();
  TargetMachine &TM = **TMOr;

  LLVMContext Cx;
  Module M("fusevm.aot." + C.SourceName, Cx);
  M.setDataLayout(TM.createDataLayout());
  M.setTargetTriple(TM.getTargetTriple().str());
  std::vector<std::vector<KindMask>> Params = wholeProgramParamKinds(C, Info);
  uint64_t Hash = C.opHash();
  std::string Key(reinterpret_cast<const char *>(&Hash), sizeof Hash);
  Key += C.contentDigest();

  GlobalSpeculation Globals = wholeProgramGlobalKinds(C, Info, Params);

  Type *Ptr = PointerType::getUnqual(Cx);
  Type *I32 = Type::getInt32Ty(Cx), *I64 = Type::getInt64Ty(Cx);
  StructType *FnTy = StructType::get(Cx, {Ptr, Ptr, Ptr, Ptr});
  std::vector<Constant *> Table;
  auto lower = [&](uint32_t F, bool Speculate, const std::string &Prefix)
      -> std::pair<Constant *, Constant *> {
    JitRequest R;
    R.C = &C;
    R.Info = &Info;
    R.ChunkKey = Key;
    R.Func = F;
    R.ParamMasks = Params[F];
    R.Level = JitLevel::Optimised;
    if (Speculate) {
      R.GlobalKinds = Globals.Vars;
      R.ElementKinds = Globals.Elements;
    }
    LoweredNames N = lowerFunction(M, R, Prefix);
    Function *Entry = M.getFunction(N.Entry), *Fast = M.getFunction(N.Fast);
    Entry->setLinkage(GlobalValue::InternalLinkage);
    Fast->setLinkage(GlobalValue::InternalLinkage);
    return {Entry, Fast};
  };
  for (uint32_t F = 0; F < C.Functions.size(); ++F) {
    // A function that reads globals the analysis speculates on gets a
    // second version without the speculation, which the runtime hands out
    // once a guard keeps failing (as the JIT would recompile it).
    std::string Prefix = "fvm.aot.f" + std::to_string(F);
    bool Both = speculates(C, F, Globals);
    auto [Entry, Fast] = lower(F, Both, Prefix);
    auto [Plain, PlainFast] =
        Both ? lower(F, false, Prefix + ".plain") : std::pair{Entry, Fast};
    Table.push_back(ConstantStruct::get(FnTy, {Entry, Fast, Plain, PlainFast}));
  }
  std::string Broken;
  raw_string_ostream BS(Broken);
  if (verifyModule(M, &BS))
    return createStringError(inconvertibleErrorCode(),
                             "internal error: the lowering produced invalid "
                             "IR: " + BS.str());

  // The image (AotImage.h) and the one exported symbol.
  ArrayType *TableTy = ArrayType::get(FnTy, Table.size());
  auto *TableG = new GlobalVariable(M, TableTy, true, GlobalValue::PrivateLinkage,
                                    ConstantArray::get(TableTy, Table),
                                    "fusevm.aot.functions");
  std::string Fbc = writeFbc(C);
  StructType *ImageTy = StructType::get(
      Cx, {I32, I32, I32, I32, Ptr, Ptr, I64, Ptr});
  auto *Image = new GlobalVariable(
      M, ImageTy, true, GlobalValue::PrivateLinkage,
      ConstantStruct::get(
          ImageTy,
          {ConstantInt::get(I32, FUSEVM_AOT_MAGIC),
           ConstantInt::get(I32, FUSEVM_AOT_ABI),
           ConstantInt::get(I32, FormatVersion),
           ConstantInt::get(I32, Table.size()),
           bytes(Cx, M, StringRef(FUSEVM_VERSION_STRING, sizeof FUSEVM_VERSION_STRING),
                 "fusevm.aot.version"),
           bytes(Cx, M, Fbc, "fusevm.aot.chunk"),
           ConstantInt::get(I64, Fbc.size()), TableG}),
      "fusevm.aot.image");
  FunctionCallee Run = M.getOrInsertFunction(
      "fusevm_aot_run", FunctionType::get(I32, {Ptr, I32, Ptr}, false));
  Function *EntryFn = Function::Create(FunctionType::get(I32, {I32, Ptr}, false),
                                       GlobalValue::ExternalLinkage,
                                       "fusevm_aot_entry", M);
  IRBuilder<> B(BasicBlock::Create(Cx, "entry", EntryFn));
  B.CreateRet(B.CreateCall(Run, {Image, EntryFn->getArg(0), EntryFn->getArg(1)}));

  jit::Optimizer(&TM, O.OptLevel).run(M);
  if (Kind == AotOutput::LLVM) {
    std::string S;
    raw_string_ostream OS(S);
    M.print(OS, nullptr);
    return OS.str();
  }
  return jit::emitObject(M, TM);
}

} // namespace fusevm
