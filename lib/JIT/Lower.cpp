//===- Lower.cpp - Verified bytecode to LLVM IR ---------------------------===//
//
// \file
// See Lower.h. Three steps per function:
//  1. expand: fused superinstructions become their isa.md expansions (the
//     fused loops become IR loops), so the rest sees base ops only; each
//     expanded op keeps the index of the op it came from, for FILE:LINE;
//  2. analyse: a forward dataflow over kind masks (one bit per ValueKind)
//     for every stack entry and slot, seeded by the entry's specialisation;
//  3. emit: one alloca pair (payload i64, kind i8) per stack height and
//     slot; each op reads its operands' masks and emits only the paths they
//     allow — an int-only Add is one `add i64`, an unknown one checks kinds
//     and calls fvm_rt_arith on the slow path. mem2reg/SROA then turn the
//     allocas into SSA values.
//
//===----------------------------------------------------------------------===//

#include "Lower.h"

#include "fusevm/Core/Opcode.h"
#include "fusevm/Verify/Verifier.h"
#include "fusevm/VM/Runtime.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Metadata.h"

#include <cstddef>
#include <functional>
#include <unordered_map>

using namespace llvm;

namespace fusevm {
namespace {

using llvm::Value; // fusevm::Value is spelled out where meant

constexpr KindMask MUndef = maskOf(ValueKind::Undef);
constexpr KindMask MBool = maskOf(ValueKind::Bool);
constexpr KindMask MInt = maskOf(ValueKind::Int);
constexpr KindMask MFloat = maskOf(ValueKind::Float);
constexpr KindMask MStatus = maskOf(ValueKind::Status);
constexpr KindMask MStr = maskOf(ValueKind::Str);
constexpr KindMask MArr = maskOf(ValueKind::Array);
constexpr KindMask MHash = maskOf(ValueKind::Hash);
constexpr KindMask MHeap = MStr | MArr | MHash;
constexpr KindMask MNum = MInt | MFloat;

/// Kinds num(v) can give for a v of kinds \p M.
KindMask numOf(KindMask M) {
  if (M == 0)
    return 0; // unreachable so far (the analysis is still converging)
  KindMask R = 0;
  if (M & (MInt | MBool | MUndef | MStatus | MArr | MHash))
    R |= MInt;
  if (M & MFloat)
    R |= MFloat;
  if (M & MStr)
    R |= MNum;
  return R ? R : MNum;
}

KindMask arithMask(Opcode Op, KindMask A, KindMask B) {
  KindMask NA = numOf(A), NB = numOf(B), R = 0;
  if (!NA || !NB)
    return 0;
  if ((NA & MInt) && (NB & MInt))
    R |= Op == Opcode::Pow ? MNum : MInt;
  if ((NA | NB) & MFloat)
    R |= MFloat;
  return R;
}

KindMask builtinMask(uint16_t Id, const KindMask *Args) {
  switch (Id) {
  case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 15: case 23:
    return MFloat;
  case 7: case 8: case 9: case 10: case 11:
    return numOf(Args[0]);
  case 12: case 13:
    return arithMask(Opcode::Add, Args[0], Args[1]);
  case 14: case 18: case 19:
    return MInt;
  case 16: case 17: case 20: case 21: case 22: case 24: case 26:
    return MStr;
  case 25:
    return MArr;
  default:
    return AnyKind;
  }
}

/// An expanded op.
struct XOp {
  Instr I;
  uint32_t Orig; ///< the chunk op it comes from
  uint32_t T;    ///< jump target, as an expanded index
};

/// Kind masks of the operand stack and the slots of every scope level.
struct State {
  bool Reached = false;
  uint16_t Level = 0;
  std::vector<KindMask> Stack;
  std::vector<KindMask> Slots; ///< level * NumSlots + slot
};

/// A value in generated code: payload bits, kind byte, kinds it may have.
struct JV {
  Value *P;
  Value *K;
  KindMask M;
};

class Lowerer {
public:
  Lowerer(Module &M, const JitRequest &R)
      : M(M), Cx(M.getContext()), B(Cx), R(R), C(*R.C), Info(*R.Info),
        F(R.Func), D(C.Functions[R.Func]) {
    I1 = B.getInt1Ty();
    I8 = B.getInt8Ty();
    I32 = B.getInt32Ty();
    I64 = B.getInt64Ty();
    Dbl = B.getDoubleTy();
    Ptr = B.getPtrTy();
    RetTy = StructType::get(Cx, {I64, I8});
    NumSlots = Info.Funcs[F].NumSlots;
    Levels = Info.Funcs[F].MaxDepth + 1u;
    expand();
    // A deoptimisation passes the whole frame at once.
    ScratchN = std::max(ScratchN, NumSlots + Info.Funcs[F].MaxStack + 8);
    // Type-based alias classes: the run context, the globals table, array
    // headers, array elements and refcounts never overlap, so a store to an
    // element does not force reloading a global or an array's bounds (LICM
    // hoists them out of loops).
    MDBuilder MB(Cx);
    MDNode *Root = MB.createTBAARoot("fusevm");
    auto Tag = [&](const char *Name) {
      MDNode *T = MB.createTBAAScalarTypeNode(Name, Root);
      return MB.createTBAAStructTagNode(T, T, 0);
    };
    TCtx = Tag("ctx");
    TGlobal = Tag("global");
    THdr = Tag("array header");
    TElem = Tag("element");
    TRC = Tag("refcount");
  }

  Function *emitFast(const std::string &Name);
  Function *emitEntry(const std::string &Name, Function *Fast);
  Function *emitOsr(const std::string &Name, Function *Fast, KindMask Ret);
  KindMask selfReturn() const { return SelfRet; }

private:
  // Step 1.
  void expand();
  // Step 2.
  void analyse(uint32_t Seed, const State &S0);
  void transfer(const XOp &X, State &S) const;
  // Step 3.
  void emitBody(uint32_t Start);
  void emitOp(uint32_t X);
  void prologue(Function *Fn);

  Module &M;
  LLVMContext &Cx;
  IRBuilder<> B;
  const JitRequest &R;
  const Chunk &C;
  const VerifyInfo &Info;
  uint32_t F;
  const FunctionDef &D;
  uint32_t NumSlots, Levels;
  Type *I1, *I8, *I32, *I64, *Dbl, *Ptr;
  StructType *RetTy;

  std::vector<XOp> X;
  std::vector<uint32_t> OrigToX;
  unsigned ScratchN = 4;
  std::vector<State> In;
  /// Speculated kinds of globals read by GetVar / of the elements of
  /// arrays read by ArrayGet (0: none), by name (JitRequest).
  KindMask specVar(uint32_t N) const;
  KindMask specElem(uint32_t N) const;
  void deopt(uint32_t XI);
  BasicBlock *DeoptBB = nullptr;
  PHINode *DeoptIp = nullptr, *DeoptH = nullptr;
  std::vector<std::pair<PHINode *, PHINode *>> DeoptSlots;
  /// Kinds this function returns for its specialisation (see Call).
  KindMask SelfRet = AnyKind;

  // Per emitted function.
  enum class Variant { Fast, Osr } V = Variant::Fast;
  Function *Fn = nullptr, *FastFn = nullptr;
  Value *CtxP = nullptr, *OsrOut = nullptr;
  Value *DepthV = nullptr; ///< this activation's call depth
  AllocaInst *Scratch = nullptr;
  std::vector<AllocaInst *> SP, SK, LP, LK;
  std::vector<BasicBlock *> BB;
  BasicBlock *ErrExit = nullptr;
  uint32_t H = 0;      ///< stack height while emitting an op
  const State *Cur = nullptr;

  //===-- small emitters ---------------------------------------------------===//
  Constant *i8c(unsigned V) { return ConstantInt::get(I8, V); }
  Constant *i32c(uint64_t V) { return ConstantInt::get(I32, V); }
  Constant *i64c(uint64_t V) { return ConstantInt::get(I64, V); }
  Constant *kc(ValueKind K) { return i8c(unsigned(K)); }
  MDNode *TCtx, *TGlobal, *THdr, *TElem, *TRC;
  std::unordered_map<Value *, MDNode *> PtrTag; ///< applied by tagAccesses()
  Value *tag(Value *Ptr, MDNode *T) {
    PtrTag[Ptr] = T;
    return Ptr;
  }
  /// Puts each pointer's alias class on the loads and stores through it.
  void tagAccesses() {
    for (BasicBlock &BB : *Fn)
      for (Instruction &In : BB) {
        Value *P = nullptr;
        if (auto *L = dyn_cast<LoadInst>(&In))
          P = L->getPointerOperand();
        else if (auto *S = dyn_cast<StoreInst>(&In))
          P = S->getPointerOperand();
        auto It = P ? PtrTag.find(P) : PtrTag.end();
        if (It != PtrTag.end())
          In.setMetadata(LLVMContext::MD_tbaa, It->second);
      }
    PtrTag.clear();
  }
  Value *ctxField(size_t Off) {
    return tag(B.CreateConstInBoundsGEP1_64(I8, CtxP, Off), TCtx);
  }
  Value *arrayField(Value *Obj, size_t Off) {
    return tag(B.CreateConstInBoundsGEP1_64(I8, Obj, Off), THdr);
  }
  /// The header of the array whose payload is \p CP (Native.h's layout).
  struct ArrayHdr {
    Value *Obj, *Begin, *End, *Size;
  };
  ArrayHdr arrayHdr(Value *CP) {
    Value *Obj = B.CreateIntToPtr(CP, Ptr);
    Value *Begin = B.CreateLoad(Ptr, arrayField(Obj, ArrayBeginOffset));
    Value *End = B.CreateLoad(Ptr, arrayField(Obj, ArrayEndOffset));
    Value *Size = B.CreateLShr(
        B.CreateSub(B.CreatePtrToInt(End, I64), B.CreatePtrToInt(Begin, I64)),
        i64c(4));
    return {Obj, Begin, End, Size};
  }
  /// Element \p Idx's payload and kind addresses.
  std::pair<Value *, Value *> elementAt(Value *Begin, Value *Idx) {
    Value *At =
        tag(B.CreateInBoundsGEP(I8, Begin, B.CreateShl(Idx, i64c(4))), TElem);
    return {At, tag(B.CreateConstInBoundsGEP1_64(I8, At, 8), TElem)};
  }
  /// Continues in a new block when \p Cond holds; else goes to \p Else.
  void require(Value *Cond, BasicBlock *Else) {
    BasicBlock *Ok = block("ok");
    B.CreateCondBr(Cond, Ok, Else);
    B.SetInsertPoint(Ok);
  }
  /// A block that deoptimises at op \p XI (the insert point stays).
  BasicBlock *deoptBlock(uint32_t XI) {
    IRBuilder<>::InsertPointGuard Guard(B);
    BasicBlock *Fail = block("spec_failed");
    B.SetInsertPoint(Fail);
    deopt(XI);
    B.CreateUnreachable();
    return Fail;
  }
  Value *scratch(unsigned I) {
    return B.CreateConstInBoundsGEP1_64(I8, Scratch, 16 * uint64_t(I));
  }
  BasicBlock *block(const char *Name) {
    return BasicBlock::Create(Cx, Name, Fn);
  }

  JV stackAt(uint32_t Hgt) {
    return {B.CreateLoad(I64, SP[Hgt]), B.CreateLoad(I8, SK[Hgt]),
            Cur->Stack[Hgt]};
  }
  /// Operand \p K from the top at the op's start (0 = top).
  JV in(uint32_t K) { return stackAt(H - 1 - K); }
  void put(uint32_t Hgt, Value *P, Value *K) {
    B.CreateStore(P, SP[Hgt]);
    B.CreateStore(K, SK[Hgt]);
  }
  uint32_t slotIndex(uint32_t S) const { return Cur->Level * NumSlots + S; }
  JV slot(uint32_t S) {
    uint32_t I = slotIndex(S);
    return {B.CreateLoad(I64, LP[I]), B.CreateLoad(I8, LK[I]), Cur->Slots[I]};
  }
  void setSlot(uint32_t S, Value *P, Value *K) {
    uint32_t I = slotIndex(S);
    B.CreateStore(P, LP[I]);
    B.CreateStore(K, LK[I]);
  }

  Value *kindIs(const JV &V, ValueKind K) {
    KindMask Bit = maskOf(K);
    if (!(V.M & Bit))
      return B.getFalse();
    if (V.M == Bit)
      return B.getTrue();
    return B.CreateICmpEQ(V.K, kc(K));
  }
  Value *isNum(const JV &V) {
    return B.CreateOr(kindIs(V, ValueKind::Int), kindIs(V, ValueKind::Float));
  }
  Value *isHeap(const JV &V) {
    if (!(V.M & MHeap))
      return B.getFalse();
    if (!(V.M & ~MHeap))
      return B.getTrue();
    return B.CreateICmpUGE(V.K, kc(ValueKind::Str));
  }
  Value *asDouble(const JV &V) {
    Value *AsF = B.CreateBitCast(V.P, Dbl);
    if (!(V.M & MInt))
      return AsF;
    Value *AsI = B.CreateSIToFP(V.P, Dbl);
    if (!(V.M & MFloat))
      return AsI;
    return B.CreateSelect(kindIs(V, ValueKind::Int), AsI, AsF);
  }
  Value *bits(Value *D) { return B.CreateBitCast(D, I64); }

  /// Runs \p Body only when \p Cond holds at run time.
  void when(Value *Cond, const std::function<void()> &Body) {
    if (auto *CI = dyn_cast<ConstantInt>(Cond)) {
      if (CI->isOne())
        Body();
      return;
    }
    BasicBlock *Then = block("then"), *Done = block("done");
    B.CreateCondBr(Cond, Then, Done);
    B.SetInsertPoint(Then);
    Body();
    B.CreateBr(Done);
    B.SetInsertPoint(Done);
  }
  void retain(const JV &V) {
    when(isHeap(V), [&] {
      Value *O = tag(B.CreateIntToPtr(V.P, Ptr), TRC);
      B.CreateStore(B.CreateAdd(B.CreateLoad(I32, O), i32c(1)), O);
    });
  }
  void release(const JV &V) {
    when(isHeap(V), [&] {
      Value *O = tag(B.CreateIntToPtr(V.P, Ptr), TRC);
      Value *RC = B.CreateSub(B.CreateLoad(I32, O), i32c(1));
      B.CreateStore(RC, O);
      when(B.CreateICmpEQ(RC, i32c(0)),
           [&] { B.CreateCall(helper("fvm_rt_destroy", B.getVoidTy(), {Ptr}),
                              {O}); });
    });
  }
  void spill(const JV &V, unsigned I) {
    Value *At = scratch(I);
    B.CreateStore(V.P, At);
    B.CreateStore(V.K, B.CreateConstInBoundsGEP1_64(I8, At, 8));
  }
  std::pair<Value *, Value *> loadScratch(unsigned I) {
    Value *At = scratch(I);
    return {B.CreateLoad(I64, At),
            B.CreateLoad(I8, B.CreateConstInBoundsGEP1_64(I8, At, 8))};
  }

  FunctionCallee helper(const char *Name, Type *Ret, ArrayRef<Type *> Params) {
    FunctionCallee FC =
        M.getOrInsertFunction(Name, FunctionType::get(Ret, Params, false));
    if (auto *Fn = dyn_cast<Function>(FC.getCallee()))
      Fn->addFnAttr(Attribute::NoUnwind);
    return FC;
  }

  /// Leaves with runtime error \p Code (an RtError) raised at the current
  /// op, when \p Failed.
  void raiseIf(Value *Failed, Value *Code, uint32_t Orig) {
    when(Failed, [&] {
      B.CreateStore(B.CreateTrunc(Code, I8), ctxField(offsetof(NativeCtx, Err)));
      B.CreateStore(i32c(Orig), ctxField(offsetof(NativeCtx, ErrIp)));
      B.CreateBr(ErrExit);
      B.SetInsertPoint(block("dead"));
    });
  }
  /// A helper's RtError result: nonzero leaves.
  void check(Value *Code, uint32_t Orig) {
    raiseIf(B.CreateICmpNE(Code, ConstantInt::get(Code->getType(), 0)), Code,
            Orig);
  }
  /// A call helper's result: NativeFailed leaves with Err already set.
  void propagateIf(Value *Failed) {
    when(Failed, [&] {
      B.CreateBr(ErrExit);
      B.SetInsertPoint(block("dead"));
    });
  }

  /// Emits the first path whose condition holds; a path with a constant
  /// false condition is not emitted, one with a constant true condition
  /// ends the chain. Each path yields (payload, kind); the result joins them.
  struct Path {
    Value *Cond;
    std::function<std::pair<Value *, Value *>()> Emit;
  };
  std::pair<Value *, Value *> cases(std::vector<Path> Paths) {
    BasicBlock *Join = block("join");
    std::vector<std::tuple<BasicBlock *, Value *, Value *>> Ins;
    for (size_t I = 0; I < Paths.size(); ++I) {
      Value *Cond = I + 1 == Paths.size() ? B.getTrue() : Paths[I].Cond;
      auto *CI = dyn_cast<ConstantInt>(Cond);
      if (CI && CI->isZero())
        continue;
      BasicBlock *Next = nullptr;
      if (!CI) {
        BasicBlock *Then = block("case");
        Next = block("next");
        B.CreateCondBr(Cond, Then, Next);
        B.SetInsertPoint(Then);
      }
      auto [P, K] = Paths[I].Emit();
      Ins.emplace_back(B.GetInsertBlock(), P, K);
      B.CreateBr(Join);
      if (!Next)
        break;
      B.SetInsertPoint(Next);
    }
    if (B.GetInsertBlock()->getTerminator() == nullptr &&
        B.GetInsertBlock() != Join)
      B.CreateUnreachable();
    B.SetInsertPoint(Join);
    if (Ins.size() == 1)
      return {std::get<1>(Ins[0]), std::get<2>(Ins[0])};
    PHINode *P = B.CreatePHI(std::get<1>(Ins[0])->getType(), Ins.size());
    PHINode *K = std::get<2>(Ins[0])
                     ? B.CreatePHI(std::get<2>(Ins[0])->getType(), Ins.size())
                     : nullptr;
    for (auto &[BB, VP, VK] : Ins) {
      P->addIncoming(VP, BB);
      if (K)
        K->addIncoming(VK, BB);
    }
    return {P, K};
  }

  /// truthy(v); consumes v when \p Consume (else v stays on the stack).
  Value *truthy(const JV &V, bool Consume) {
    auto R = cases({
        {B.CreateOr(kindIs(V, ValueKind::Bool), kindIs(V, ValueKind::Int)),
         [&] {
           return std::pair<Value *, Value *>(B.CreateICmpNE(V.P, i64c(0)),
                                              nullptr);
         }},
        {kindIs(V, ValueKind::Float),
         [&] {
           return std::pair<Value *, Value *>(
               B.CreateFCmpUNE(B.CreateBitCast(V.P, Dbl),
                               ConstantFP::get(Dbl, 0.0)),
               nullptr);
         }},
        {kindIs(V, ValueKind::Undef),
         [&] { return std::pair<Value *, Value *>(B.getFalse(), nullptr); }},
        {B.getTrue(),
         [&] {
           if (!Consume)
             retain(V);
           spill(V, 0);
           Value *T = B.CreateCall(helper("fvm_rt_truthy", I8, {Ptr}),
                                   {scratch(0)});
           return std::pair<Value *, Value *>(B.CreateICmpNE(T, i8c(0)),
                                              nullptr);
         }},
    });
    return R.first;
  }

  void fuelCheck(uint32_t Orig) {
    if (!R.Budget)
      return;
    Value *At = ctxField(offsetof(NativeCtx, Fuel));
    Value *Left = B.CreateSub(B.CreateLoad(I64, At), i64c(1));
    B.CreateStore(Left, At);
    raiseIf(B.CreateICmpEQ(Left, i64c(0)),
            i8c(unsigned(RtError::BudgetExhausted)), Orig);
  }

  /// Element \p Idx of the array (CP, CK) when it is an array and Idx an
  /// int (undef out of range), else \p Slow.
  std::pair<Value *, Value *>
  arrayGet(Value *CP, Value *CK, KindMask CM, const JV &Idx,
           const std::function<std::pair<Value *, Value *>()> &Slow);
  /// Stores \p V at \p Idx of the array (CP, CK) when that is an
  /// in-range store into a single-owner array, else \p Slow.
  void arraySet(Value *CP, Value *CK, KindMask CM, const JV &V, const JV &Idx,
                const std::function<void()> &Slow);
  void emitReturn(Value *P, Value *K);
  void releaseFrame(uint32_t Height);
  void emitArith(const XOp &O);
  void emitCompare(const XOp &O);
  void emitCall(const XOp &O);
  void emitBuiltin(const XOp &O);
};

//===----------------------------------------------------------------------===//
// Speculation on the kinds globals hold when the function is compiled
//===----------------------------------------------------------------------===//

/// The one number-like kind in \p M, as a mask, or 0.
static KindMask speculable(KindMask M) {
  return M == MInt || M == MFloat || M == MBool ? M : 0;
}

KindMask Lowerer::specVar(uint32_t N) const {
  return N < R.GlobalKinds.size() ? speculable(R.GlobalKinds[N]) : 0;
}

KindMask Lowerer::specElem(uint32_t N) const {
  return N < R.ElementKinds.size() ? speculable(R.ElementKinds[N]) : 0;
}

void Lowerer::deopt(uint32_t XI) {
  // The frame as the interpreter would have it before this op: the stack
  // here, the slots in the one block all deoptimisations of this function
  // share (phis), which hands them to the interpreter.
  for (uint32_t K = 0; K < H; ++K)
    spill(stackAt(K), NumSlots + K);
  if (!DeoptBB) {
    IRBuilder<>::InsertPointGuard Guard(B);
    DeoptBB = block("deopt");
    B.SetInsertPoint(DeoptBB);
    DeoptIp = B.CreatePHI(I32, 4, "deopt_ip");
    DeoptH = B.CreatePHI(I32, 4, "deopt_height");
    DeoptSlots.clear();
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl)
      DeoptSlots.push_back({B.CreatePHI(I64, 4), B.CreatePHI(I8, 4)});
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl)
      spill({DeoptSlots[Sl].first, DeoptSlots[Sl].second, AnyKind}, Sl);
    unsigned Res = NumSlots + Info.Funcs[F].MaxStack + 4;
    B.CreateStore(DepthV, ctxField(offsetof(NativeCtx, Depth)));
    Value *St = B.CreateCall(
        helper("fvm_rt_resume", I8, {Ptr, I32, I32, Ptr, Ptr, I32, Ptr}),
        {CtxP, i32c(F), DeoptIp, scratch(0), scratch(NumSlots), DeoptH,
         scratch(Res)});
    propagateIf(B.CreateICmpNE(St, i8c(NativeOk)));
    auto [P, K] = loadScratch(Res);
    emitReturn(P, K);
  }
  BasicBlock *Here = B.GetInsertBlock();
  DeoptIp->addIncoming(i32c(X[XI].Orig), Here);
  DeoptH->addIncoming(i32c(H), Here);
  for (uint32_t Sl = 0; Sl < NumSlots; ++Sl) {
    DeoptSlots[Sl].first->addIncoming(B.CreateLoad(I64, LP[Sl]), Here);
    DeoptSlots[Sl].second->addIncoming(B.CreateLoad(I8, LK[Sl]), Here);
  }
  // The loads must precede the branch: move it after them.
  B.CreateBr(DeoptBB);
  B.SetInsertPoint(block("dead"));
}

//===----------------------------------------------------------------------===//
// Step 1: expansion
//===----------------------------------------------------------------------===//

unsigned expandedLength(Opcode Op) {
  switch (Op) {
  case Opcode::PreIncSlot: return 4;
  case Opcode::PreIncSlotVoid: return 3;
  case Opcode::AddAssignSlotVoid: return 4;
  case Opcode::SlotLtIntJumpIfFalse: return 4;
  case Opcode::SlotIncLtIntJumpBack: return 7;
  case Opcode::AccumSumLoop: return 13;
  case Opcode::ConcatConstLoop: return 13;
  case Opcode::PushIntRangeLoop: return 11;
  default: return 1;
  }
}

void Lowerer::expand() {
  OrigToX.assign(D.End - D.Entry + 1, 0);
  uint32_t N = 0;
  for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip) {
    OrigToX[Ip - D.Entry] = N;
    N += expandedLength(C.Ops[Ip].Op);
  }
  OrigToX[D.End - D.Entry] = N;
  X.reserve(N);
  for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip) {
    const Instr &I = C.Ops[Ip];
    uint32_t Here = OrigToX[Ip - D.Entry], Next = OrigToX[Ip + 1 - D.Entry];
    auto add = [&](Opcode Op, uint16_t A = 0, int64_t Imm = 0,
                   uint32_t T = 0) {
      XOp O;
      O.I = Instr(Op);
      O.I.A = A;
      O.I.I64 = Imm;
      O.Orig = Ip;
      O.T = T;
      X.push_back(O);
    };
    auto loopHead = [&](uint16_t Slot, int64_t Lim) {
      add(Opcode::GetSlot, Slot);
      add(Opcode::LoadInt, 0, Lim);
      add(Opcode::NumLt);
      add(Opcode::JumpIfFalse, 0, 0, Next);
    };
    auto loopTail = [&](uint16_t Slot) {
      add(Opcode::GetSlot, Slot);
      add(Opcode::LoadInt, 0, 1);
      add(Opcode::Add);
      add(Opcode::SetSlot, Slot);
      add(Opcode::Jump, 0, 0, Here);
    };
    switch (I.Op) {
    case Opcode::PreIncSlot:
      add(Opcode::GetSlot, I.A);
      add(Opcode::Inc);
      add(Opcode::Dup);
      add(Opcode::SetSlot, I.A);
      break;
    case Opcode::PreIncSlotVoid:
      add(Opcode::GetSlot, I.A);
      add(Opcode::Inc);
      add(Opcode::SetSlot, I.A);
      break;
    case Opcode::AddAssignSlotVoid:
      add(Opcode::GetSlot, I.A);
      add(Opcode::GetSlot, I.B);
      add(Opcode::Add);
      add(Opcode::SetSlot, I.A);
      break;
    case Opcode::SlotLtIntJumpIfFalse:
      add(Opcode::GetSlot, I.A);
      add(Opcode::LoadInt, 0, I.Imm32);
      add(Opcode::NumLt);
      add(Opcode::JumpIfFalse, 0, 0, OrigToX[I.Target - D.Entry]);
      break;
    case Opcode::SlotIncLtIntJumpBack:
      add(Opcode::GetSlot, I.A);
      add(Opcode::Inc);
      add(Opcode::SetSlot, I.A);
      add(Opcode::GetSlot, I.A);
      add(Opcode::LoadInt, 0, I.Imm32);
      add(Opcode::NumLt);
      add(Opcode::JumpIfTrue, 0, 0, OrigToX[I.Target - D.Entry]);
      break;
    case Opcode::AccumSumLoop: // sum = A, i = B
      loopHead(I.B, I.Imm32);
      add(Opcode::GetSlot, I.A);
      add(Opcode::GetSlot, I.B);
      add(Opcode::Add);
      add(Opcode::SetSlot, I.A);
      loopTail(I.B);
      break;
    case Opcode::ConcatConstLoop: // const = A, str = B, i = C
      loopHead(I.C, I.Imm32);
      add(Opcode::GetSlot, I.B);
      add(Opcode::LoadConst, I.A);
      add(Opcode::Concat);
      add(Opcode::SetSlot, I.B);
      loopTail(I.C);
      break;
    case Opcode::PushIntRangeLoop: // array = A, i = B
      loopHead(I.B, I.Imm32);
      add(Opcode::GetSlot, I.B);
      add(Opcode::ArrayPush, I.A);
      loopTail(I.B);
      break;
    default: {
      XOp O;
      O.I = I;
      O.Orig = Ip;
      O.T = hasFlag(I.Op, OpBranch) ? OrigToX[I.Target - D.Entry] : 0;
      X.push_back(O);
      break;
    }
    }
    // Scratch values an op passes to a helper at once.
    unsigned Need = 4;
    switch (I.Op) {
    case Opcode::Call: case Opcode::CallBuiltin: Need = I.U8 + 1u; break;
    case Opcode::Print: case Opcode::PrintLn: Need = I.U8; break;
    case Opcode::MakeArray: Need = I.A + 1u; break;
    case Opcode::MakeHash: Need = 2u * I.A + 1u; break;
    case Opcode::Extended: case Opcode::ExtendedWide: {
      const ExtOpDecl *E = C.findExtOp(I.A);
      Need = E ? unsigned(E->Pops) + E->Pushes : 4;
      break;
    }
    default: break;
    }
    ScratchN = std::max(ScratchN, Need);
  }
  ScratchN = std::max<unsigned>(ScratchN, C.Functions[F].Arity + 1u);
}

//===----------------------------------------------------------------------===//
// Step 2: kind analysis
//===----------------------------------------------------------------------===//

void Lowerer::transfer(const XOp &O, State &S) const {
  const Instr &I = O.I;
  auto pop = [&] {
    KindMask M = S.Stack.back();
    S.Stack.pop_back();
    return M;
  };
  auto popN = [&](unsigned N) { S.Stack.resize(S.Stack.size() - N); };
  auto push = [&](KindMask M) { S.Stack.push_back(M); };
  auto slot = [&](uint16_t Sl) -> KindMask & {
    return S.Slots[S.Level * NumSlots + Sl];
  };
  switch (I.Op) {
  case Opcode::Nop: case Opcode::Jump: case Opcode::JumpIfTrueKeep:
  case Opcode::JumpIfFalseKeep: case Opcode::DeclareArray:
  case Opcode::DeclareHash:
    break;
  case Opcode::LoadInt: push(MInt); break;
  case Opcode::LoadFloat: push(MFloat); break;
  case Opcode::LoadConst: push(maskOf(C.Constants[I.A].K)); break;
  case Opcode::LoadTrue: case Opcode::LoadFalse: push(MBool); break;
  case Opcode::LoadUndef: push(MUndef); break;
  case Opcode::Pop: case Opcode::SetVar: case Opcode::DeclareVar:
  case Opcode::SetArray: case Opcode::ArrayPush: case Opcode::SetHash:
  case Opcode::JumpIfTrue: case Opcode::JumpIfFalse: case Opcode::ReturnValue:
  case Opcode::SetStatus:
    pop();
    break;
  case Opcode::Dup: push(S.Stack.back()); break;
  case Opcode::Dup2: {
    KindMask A = S.Stack[S.Stack.size() - 2], Bm = S.Stack.back();
    push(A);
    push(Bm);
    break;
  }
  case Opcode::Swap:
    std::swap(S.Stack[S.Stack.size() - 1], S.Stack[S.Stack.size() - 2]);
    break;
  case Opcode::Rot: { // a b c -> b c a
    size_t N = S.Stack.size();
    KindMask A = S.Stack[N - 3];
    S.Stack[N - 3] = S.Stack[N - 2];
    S.Stack[N - 2] = S.Stack[N - 1];
    S.Stack[N - 1] = A;
    break;
  }
  case Opcode::GetVar: {
    KindMask Sp = S.Level == 0 ? specVar(I.A) : 0;
    push(Sp ? Sp : AnyKind);
    break;
  }
  case Opcode::ArrayPop: case Opcode::ArrayShift:
    push(AnyKind);
    break;
  case Opcode::GetSlot: push(slot(I.A)); break;
  case Opcode::SetSlot: slot(I.A) = pop(); break;
  case Opcode::ArrayGet: {
    KindMask Sp = S.Level == 0 ? specElem(I.A) : 0;
    pop();
    push(Sp ? Sp : AnyKind);
    break;
  }
  case Opcode::SlotArrayGet: case Opcode::HashGet: case Opcode::HashDelete:
    pop();
    push(AnyKind);
    break;
  case Opcode::SlotArraySet:
    popN(2);
    slot(I.A) |= MArr;
    break;
  case Opcode::ArraySet: case Opcode::HashSet: popN(2); break;
  case Opcode::GetArray: case Opcode::HashKeys: case Opcode::HashValues:
    push(MArr);
    break;
  case Opcode::ArrayLen: push(MInt); break;
  case Opcode::MakeArray: popN(I.A); push(MArr); break;
  case Opcode::GetHash: push(MHash); break;
  case Opcode::HashExists: pop(); push(MBool); break;
  case Opcode::MakeHash: popN(2u * I.A); push(MHash); break;
  case Opcode::Add: case Opcode::Sub: case Opcode::Mul: case Opcode::Div:
  case Opcode::Mod: case Opcode::Pow: {
    KindMask Bm = pop(), A = pop();
    push(arithMask(I.Op, A, Bm));
    break;
  }
  case Opcode::Negate: case Opcode::Inc: case Opcode::Dec:
    push(numOf(pop()));
    break;
  case Opcode::Concat: {
    popN(2);
    push(MStr);
    // The in-place append (emitOp) may leave the slot the next op stores to
    // undef for a moment.
    size_t XI = size_t(&O - X.data());
    if (XI + 1 < X.size() && X[XI + 1].I.Op == Opcode::SetSlot)
      S.Slots[S.Level * NumSlots + X[XI + 1].I.A] |= MUndef;
    break;
  }
  case Opcode::StringRepeat: popN(2); push(MStr); break;
  case Opcode::StringLen: pop(); push(MInt); break;
  case Opcode::NumEq: case Opcode::NumNe: case Opcode::NumLt:
  case Opcode::NumGt: case Opcode::NumLe: case Opcode::NumGe:
  case Opcode::StrEq: case Opcode::StrNe: case Opcode::StrLt:
  case Opcode::StrGt: case Opcode::StrLe: case Opcode::StrGe:
  case Opcode::LogAnd: case Opcode::LogOr:
    popN(2);
    push(MBool);
    break;
  case Opcode::Spaceship: case Opcode::StrCmp: case Opcode::BitAnd:
  case Opcode::BitOr: case Opcode::BitXor: case Opcode::Shl: case Opcode::Shr:
    popN(2);
    push(MInt);
    break;
  case Opcode::LogNot: pop(); push(MBool); break;
  case Opcode::BitNot: pop(); push(MInt); break;
  case Opcode::Call: {
    // A self-call whose arguments satisfy this specialisation's guards
    // returns what this function returns (SelfRet, found by fixpoint).
    KindMask Res = AnyKind;
    if (Info.Callee[O.Orig] == F) {
      bool Within = true;
      for (unsigned A = 0; A < I.U8; ++A) {
        KindMask Pm = A < R.ParamMasks.size() ? R.ParamMasks[A] : AnyKind;
        if (S.Stack[S.Stack.size() - I.U8 + A] & ~Pm)
          Within = false;
      }
      if (Within)
        Res = SelfRet;
    }
    popN(I.U8);
    push(Res);
    break;
  }
  case Opcode::Return: break;
  case Opcode::PushFrame:
    ++S.Level;
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl)
      S.Slots[S.Level * NumSlots + Sl] = MUndef;
    break;
  case Opcode::PopFrame:
    --S.Level;
    S.Stack.resize(Info.PopHeight[O.Orig]);
    break;
  case Opcode::Print: case Opcode::PrintLn: popN(I.U8); break;
  case Opcode::ReadLine: push(MStr | MUndef); break;
  case Opcode::Range: popN(2); push(MArr); break;
  case Opcode::RangeStep: popN(3); push(MArr); break;
  case Opcode::GetStatus: push(MStatus); break;
  case Opcode::CallBuiltin: {
    KindMask Args[3] = {AnyKind, AnyKind, AnyKind};
    for (unsigned A = 0; A < I.U8 && A < 3; ++A)
      Args[A] = S.Stack[S.Stack.size() - I.U8 + A];
    popN(I.U8);
    push(I.A < FirstHostBuiltin ? builtinMask(I.A, Args) : AnyKind);
    break;
  }
  case Opcode::Extended: case Opcode::ExtendedWide: {
    const ExtOpDecl *E = C.findExtOp(I.A);
    popN(E->Pops);
    for (unsigned K = 0; K < E->Pushes; ++K)
      push(AnyKind);
    break;
  }
  case Opcode::PreIncSlot: case Opcode::PreIncSlotVoid:
  case Opcode::AddAssignSlotVoid: case Opcode::SlotLtIntJumpIfFalse:
  case Opcode::SlotIncLtIntJumpBack: case Opcode::AccumSumLoop:
  case Opcode::ConcatConstLoop: case Opcode::PushIntRangeLoop:
    break; // expanded before analysis
  }
}

void Lowerer::analyse(uint32_t Seed, const State &S0) {
  In.assign(X.size(), State());
  std::vector<uint32_t> Work;
  auto flow = [&](uint32_t To, const State &S) {
    State &D = In[To];
    bool Changed = false;
    if (!D.Reached) {
      D = S;
      D.Reached = true;
      Changed = true;
    } else {
      for (size_t K = 0; K < S.Stack.size() && K < D.Stack.size(); ++K)
        if ((D.Stack[K] | S.Stack[K]) != D.Stack[K]) {
          D.Stack[K] |= S.Stack[K];
          Changed = true;
        }
      for (size_t K = 0; K < S.Slots.size(); ++K)
        if ((D.Slots[K] | S.Slots[K]) != D.Slots[K]) {
          D.Slots[K] |= S.Slots[K];
          Changed = true;
        }
    }
    if (Changed)
      Work.push_back(To);
  };
  flow(Seed, S0);
  while (!Work.empty()) {
    uint32_t At = Work.back();
    Work.pop_back();
    State S = In[At];
    const XOp &O = X[At];
    transfer(O, S);
    Opcode Op = O.I.Op;
    if (hasFlag(Op, OpBranch))
      flow(O.T, S);
    if (!hasFlag(Op, OpTerminator) && At + 1 < X.size())
      flow(At + 1, S);
  }
}

//===----------------------------------------------------------------------===//
// Step 3: emission
//===----------------------------------------------------------------------===//

void Lowerer::prologue(Function *F0) {
  Fn = F0;
  BasicBlock *Entry = BasicBlock::Create(Cx, "entry", Fn);
  B.SetInsertPoint(Entry);
  CtxP = Fn->getArg(0);
  uint32_t MaxStack = Info.Funcs[F].MaxStack + 4; // expansions push a little
  SP.clear();
  SK.clear();
  LP.clear();
  LK.clear();
  for (uint32_t K = 0; K < MaxStack; ++K) {
    SP.push_back(B.CreateAlloca(I64, nullptr, "sp"));
    SK.push_back(B.CreateAlloca(I8, nullptr, "sk"));
  }
  for (uint32_t K = 0; K < Levels * NumSlots; ++K) {
    LP.push_back(B.CreateAlloca(I64, nullptr, "slot"));
    LK.push_back(B.CreateAlloca(I8, nullptr, "slotk"));
  }
  Scratch = B.CreateAlloca(ArrayType::get(I8, 16 * uint64_t(ScratchN)),
                           nullptr, "scratch");
  Scratch->setAlignment(Align(16));
  DeoptBB = nullptr;
  ErrExit = BasicBlock::Create(Cx, "error", Fn);
  {
    IRBuilder<> EB(ErrExit);
    if (V == Variant::Fast)
      EB.CreateRet(ConstantStruct::get(
          RetTy, {ConstantInt::get(I64, 0), ConstantInt::get(I8, NativeErrorKind)}));
    else
      EB.CreateRet(ConstantInt::get(I8, NativeFailed));
  }
}

Function *Lowerer::emitFast(const std::string &Name) {
  V = Variant::Fast;
  unsigned Arity = D.Arity;
  std::vector<Type *> Params = {Ptr, I32};
  for (unsigned K = 0; K < Arity; ++K) {
    Params.push_back(I64);
    Params.push_back(I8);
  }
  Function *Fast = Function::Create(FunctionType::get(RetTy, Params, false),
                                    Function::ExternalLinkage, Name, M);
  Fast->setCallingConv(CallingConv::Fast);
  Fast->addFnAttr(Attribute::NoUnwind);
  Fast->setDSOLocal(true); // direct calls, no PLT
  FastFn = Fast;
  prologue(Fast);
  DepthV = Fast->getArg(1);

  // Check the kinds the body is specialised to.
  Value *Ok = B.getTrue();
  State S0;
  S0.Reached = true;
  S0.Slots.assign(size_t(Levels) * NumSlots, MUndef);
  for (unsigned K = 0; K < Arity; ++K) {
    KindMask Mk = K < R.ParamMasks.size() ? R.ParamMasks[K] : AnyKind;
    S0.Slots[K] = Mk;
    if (Mk != AnyKind) {
      Value *Kd = Fast->getArg(3 + 2 * K);
      Ok = B.CreateAnd(Ok, B.CreateICmpEQ(Kd, i8c(unsigned(__builtin_ctz(Mk)))));
    }
  }
  BasicBlock *Body = block("body");
  if (!isa<ConstantInt>(Ok)) {
    // A different kind: this activation runs in the interpreter.
    BasicBlock *Guard = block("guard_failed");
    B.CreateCondBr(Ok, Body, Guard);
    B.SetInsertPoint(Guard);
    for (unsigned K = 0; K < Arity; ++K)
      spill({Fast->getArg(2 + 2 * K), Fast->getArg(3 + 2 * K), AnyKind}, K);
    B.CreateStore(DepthV, ctxField(offsetof(NativeCtx, Depth)));
    Value *St = B.CreateCall(
        helper("fvm_rt_interp_call", I8, {Ptr, I32, Ptr, Ptr}),
        {CtxP, i32c(F), scratch(0), scratch(Arity)});
    propagateIf(B.CreateICmpNE(St, i8c(NativeOk)));
    auto [P, K] = loadScratch(Arity);
    Value *Rv = B.CreateInsertValue(UndefValue::get(RetTy), P, 0);
    B.CreateRet(B.CreateInsertValue(Rv, K, 1));
  } else {
    B.CreateBr(Body);
  }
  B.SetInsertPoint(Body);
  for (unsigned K = 0; K < NumSlots; ++K) {
    if (K < Arity) {
      B.CreateStore(Fast->getArg(2 + 2 * K), LP[K]);
      B.CreateStore(Fast->getArg(3 + 2 * K), LK[K]);
    } else {
      B.CreateStore(i64c(0), LP[K]);
      B.CreateStore(kc(ValueKind::Undef), LK[K]);
    }
  }
  // The return kinds, by fixpoint from "returns nothing yet".
  SelfRet = 0;
  bool Converged = false;
  for (int Round = 0; Round < 10 && !Converged; ++Round) {
    analyse(0, S0);
    KindMask Ret = 0;
    for (size_t K = 0; K < X.size(); ++K)
      if (In[K].Reached && X[K].I.Op == Opcode::ReturnValue)
        Ret |= In[K].Stack.back();
      else if (In[K].Reached && X[K].I.Op == Opcode::Return)
        Ret |= MUndef;
    Converged = Ret == SelfRet;
    SelfRet = Ret;
  }
  if (!Converged) {
    SelfRet = AnyKind;
    analyse(0, S0);
  }
  emitBody(0);
  return Fast;
}

Function *Lowerer::emitEntry(const std::string &Name, Function *Fast) {
  Function *E = Function::Create(FunctionType::get(I8, {Ptr, Ptr, Ptr}, false),
                                 Function::ExternalLinkage, Name, M);
  E->addFnAttr(Attribute::NoUnwind);
  E->setDSOLocal(true);
  IRBuilder<> EB(BasicBlock::Create(Cx, "entry", E));
  Value *Args = E->getArg(1);
  std::vector<Value *> CallArgs = {
      E->getArg(0),
      EB.CreateLoad(I32, EB.CreateConstInBoundsGEP1_64(
                             I8, E->getArg(0), offsetof(NativeCtx, Depth)))};
  Value *Ok = EB.getTrue();
  for (unsigned K = 0; K < D.Arity; ++K) {
    Value *At = EB.CreateConstInBoundsGEP1_64(I8, Args, 16 * uint64_t(K));
    Value *Kd = EB.CreateLoad(I8, EB.CreateConstInBoundsGEP1_64(I8, At, 8));
    CallArgs.push_back(EB.CreateLoad(I64, At));
    CallArgs.push_back(Kd);
    KindMask Mk = K < R.ParamMasks.size() ? R.ParamMasks[K] : AnyKind;
    if (Mk != AnyKind)
      Ok = EB.CreateAnd(Ok, EB.CreateICmpEQ(Kd, ConstantInt::get(
                                                    I8, __builtin_ctz(Mk))));
  }
  BasicBlock *Run = BasicBlock::Create(Cx, "run", E);
  BasicBlock *Refuse = BasicBlock::Create(Cx, "refuse", E);
  EB.CreateCondBr(Ok, Run, Refuse);
  EB.SetInsertPoint(Refuse);
  EB.CreateRet(ConstantInt::get(I8, NativeGuardFailed));
  EB.SetInsertPoint(Run);
  // native_calls counts entries from the interpreter (a native-to-native
  // call costs no counter update).
  Value *NC = EB.CreateConstInBoundsGEP1_64(I8, E->getArg(0),
                                            offsetof(NativeCtx, NativeCalls));
  EB.CreateStore(EB.CreateAdd(EB.CreateLoad(I64, NC), ConstantInt::get(I64, 1)),
                 NC);
  CallInst *Res = EB.CreateCall(Fast, CallArgs);
  Res->setCallingConv(CallingConv::Fast);
  Value *P = EB.CreateExtractValue(Res, 0), *K = EB.CreateExtractValue(Res, 1);
  Value *Out = E->getArg(2);
  // A failure leaves *Out undef: the caller's Value must stay destructible.
  Value *Failed = EB.CreateICmpEQ(K, ConstantInt::get(I8, NativeErrorKind));
  EB.CreateStore(P, Out);
  EB.CreateStore(EB.CreateSelect(Failed, kc(ValueKind::Undef), K),
                 EB.CreateConstInBoundsGEP1_64(I8, Out, 8));
  EB.CreateRet(EB.CreateSelect(Failed, ConstantInt::get(I8, NativeFailed),
                               ConstantInt::get(I8, NativeOk)));
  return E;
}

Function *Lowerer::emitOsr(const std::string &Name, Function *Fast,
                           KindMask Ret) {
  V = Variant::Osr;
  FastFn = Fast;
  SelfRet = Ret;
  Function *O = Function::Create(
      FunctionType::get(I8, {Ptr, Ptr, Ptr, Ptr}, false),
      Function::ExternalLinkage, Name, M);
  O->addFnAttr(Attribute::NoUnwind);
  prologue(O);
  DepthV = B.CreateLoad(I32, ctxField(offsetof(NativeCtx, Depth)));
  OsrOut = O->getArg(3);
  Value *Slots = O->getArg(1), *Stack = O->getArg(2);
  State S0;
  S0.Reached = true;
  S0.Slots.assign(size_t(Levels) * NumSlots, MUndef);
  Value *Ok = B.getTrue();
  // Load value K of the frame at Base, and require its exact kind.
  auto guard = [&](Value *Base, size_t K, ValueKind Kd) {
    Value *At = B.CreateConstInBoundsGEP1_64(I8, Base, 16 * uint64_t(K));
    Value *Kv = B.CreateLoad(I8, B.CreateConstInBoundsGEP1_64(I8, At, 8));
    Ok = B.CreateAnd(Ok, B.CreateICmpEQ(Kv, kc(Kd)));
    return std::pair<Value *, Value *>(B.CreateLoad(I64, At), Kv);
  };
  std::vector<std::pair<Value *, Value *>> SlotV, StackV;
  for (size_t K = 0; K < NumSlots; ++K) {
    SlotV.push_back(guard(Slots, K, R.OsrSlots[K]));
    S0.Slots[K] = maskOf(R.OsrSlots[K]);
  }
  for (size_t K = 0; K < R.OsrStack.size(); ++K) {
    StackV.push_back(guard(Stack, K, R.OsrStack[K]));
    S0.Stack.push_back(maskOf(R.OsrStack[K]));
  }
  BasicBlock *Body = block("body"), *Refuse = block("refuse");
  B.CreateCondBr(Ok, Body, Refuse);
  B.SetInsertPoint(Refuse);
  B.CreateRet(i8c(NativeGuardFailed));
  B.SetInsertPoint(Body);
  for (size_t K = 0; K < NumSlots; ++K) {
    B.CreateStore(SlotV[K].first, LP[K]);
    B.CreateStore(SlotV[K].second, LK[K]);
  }
  for (size_t K = 0; K < StackV.size(); ++K)
    put(uint32_t(K), StackV[K].first, StackV[K].second);
  uint32_t Start = OrigToX[uint32_t(R.OsrIp) - D.Entry];
  analyse(Start, S0);
  emitBody(Start);
  return O;
}

void Lowerer::emitBody(uint32_t Start) {
  std::vector<bool> Leader(X.size() + 1, false);
  Leader[0] = Leader[Start] = true;
  for (uint32_t K = 0; K < X.size(); ++K) {
    Opcode Op = X[K].I.Op;
    if (hasFlag(Op, OpBranch))
      Leader[X[K].T] = true;
    if (hasFlag(Op, OpBranch) || hasFlag(Op, OpTerminator))
      Leader[K + 1] = true;
  }
  BB.assign(X.size(), nullptr);
  for (uint32_t K = 0; K < X.size(); ++K)
    if (Leader[K] && In[K].Reached)
      BB[K] = BasicBlock::Create(Cx, "op" + std::to_string(X[K].Orig), Fn);
  B.CreateBr(BB[Start]);
  bool Open = false; // the insert block still needs a terminator
  for (uint32_t K = 0; K < X.size(); ++K) {
    if (!In[K].Reached) {
      continue;
    }
    if (BB[K]) {
      if (Open)
        B.CreateBr(BB[K]);
      B.SetInsertPoint(BB[K]);
    } else if (!Open) {
      continue; // follows a terminator but was never a target
    }
    Open = true;
    emitOp(K);
    Opcode Op = X[K].I.Op;
    if (hasFlag(Op, OpTerminator) || hasFlag(Op, OpBranch))
      Open = false;
  }
  if (Open)
    B.CreateUnreachable();
  tagAccesses();
}

void Lowerer::releaseFrame(uint32_t Height) {
  for (uint32_t K = 0; K < Height; ++K)
    release(stackAt(K));
  for (uint32_t L = 0; L <= Cur->Level; ++L)
    for (uint32_t S = 0; S < NumSlots; ++S) {
      uint32_t I = L * NumSlots + S;
      release({B.CreateLoad(I64, LP[I]), B.CreateLoad(I8, LK[I]),
               Cur->Slots[I]});
    }
}

std::pair<Value *, Value *>
Lowerer::arrayGet(Value *CP, Value *CK, KindMask CM, const JV &Idx,
                  const std::function<std::pair<Value *, Value *>()> &Slow) {
  JV Cont{CP, CK, CM};
  Value *Ok = B.CreateAnd(kindIs(Cont, ValueKind::Array),
                          kindIs(Idx, ValueKind::Int));
  return cases({
      {Ok,
       [&] {
         ArrayHdr A = arrayHdr(CP);
         return cases({
             {B.CreateICmpULT(Idx.P, A.Size),
              [&] {
                auto [At, KAt] = elementAt(A.Begin, Idx.P);
                JV E{B.CreateLoad(I64, At), B.CreateLoad(I8, KAt), AnyKind};
                retain(E);
                return std::pair<Value *, Value *>(E.P, E.K);
              }},
             {nullptr,
              [&] {
                return std::pair<Value *, Value *>(i64c(0),
                                                   kc(ValueKind::Undef));
              }},
         });
       }},
      {nullptr, Slow},
  });
}

void Lowerer::arraySet(Value *CP, Value *CK, KindMask CM, const JV &V,
                       const JV &Idx, const std::function<void()> &Slow) {
  JV Cont{CP, CK, CM};
  BasicBlock *SlowB = block("aset_slow"), *Done = block("aset_done");
  Value *Ok = B.CreateAnd(kindIs(Cont, ValueKind::Array),
                          kindIs(Idx, ValueKind::Int));
  if (auto *CI = dyn_cast<ConstantInt>(Ok); !CI || CI->isOne()) {
    BasicBlock *Check = block("aset_check");
    B.CreateCondBr(Ok, Check, SlowB);
    B.SetInsertPoint(Check);
    auto [Obj, Begin, End, Size] = arrayHdr(CP);
    Value *Unique = B.CreateICmpEQ(B.CreateLoad(I32, tag(Obj, TRC)), i32c(1));
    BasicBlock *Store = block("aset_store"), *Append = block("aset_append");
    BasicBlock *NotIn = block("aset_notin");
    B.CreateCondBr(Unique, NotIn, SlowB);
    B.SetInsertPoint(NotIn);
    BasicBlock *TryAppend = block("aset_tryappend");
    B.CreateCondBr(B.CreateICmpULT(Idx.P, Size), Store, TryAppend);
    // One past the end with room left and under the length limit: append
    // (what std::vector::push_back does without growing).
    B.SetInsertPoint(TryAppend);
    Value *CapAt = arrayField(Obj, ArrayEndOffset + 8);
    Value *Cap = B.CreateLoad(Ptr, CapAt);
    Value *MaxArr = B.CreateLoad(I64, ctxField(offsetof(NativeCtx, MaxArr)));
    Value *CanAppend = B.CreateAnd(
        B.CreateAnd(B.CreateICmpEQ(Idx.P, Size), B.CreateICmpNE(End, Cap)),
        B.CreateICmpULT(Idx.P, MaxArr));
    B.CreateCondBr(CanAppend, Append, SlowB);
    B.SetInsertPoint(Append);
    {
      auto [EAt, EKAt] = elementAt(End, i64c(0));
      B.CreateStore(V.P, EAt);
      B.CreateStore(V.K, EKAt);
      B.CreateStore(B.CreateConstInBoundsGEP1_64(I8, End, 16),
                    arrayField(Obj, ArrayEndOffset));
      B.CreateBr(Done);
    }
    B.SetInsertPoint(Store);
    auto [At, KAt] = elementAt(Begin, Idx.P);
    JV Old{B.CreateLoad(I64, At), B.CreateLoad(I8, KAt), AnyKind};
    B.CreateStore(V.P, At);
    B.CreateStore(V.K, KAt);
    release(Old);
    B.CreateBr(Done);
  } else {
    B.CreateBr(SlowB);
  }
  B.SetInsertPoint(SlowB);
  Slow();
  B.CreateBr(Done);
  B.SetInsertPoint(Done);
}

void Lowerer::emitReturn(Value *P, Value *K) {
  if (V == Variant::Fast) {
    Value *Rv = B.CreateInsertValue(UndefValue::get(RetTy), P, 0);
    B.CreateRet(B.CreateInsertValue(Rv, K, 1));
    return;
  }
  B.CreateStore(P, OsrOut);
  B.CreateStore(K, B.CreateConstInBoundsGEP1_64(I8, OsrOut, 8));
  B.CreateRet(i8c(NativeOk));
}

void Lowerer::emitArith(const XOp &O) {
  Opcode Op = O.I.Op;
  JV A = in(1), Bv = in(0);
  auto intPath = [&]() -> std::pair<Value *, Value *> {
    Value *X0 = A.P, *Y = Bv.P, *Res = nullptr;
    switch (Op) {
    case Opcode::Add: Res = B.CreateAdd(X0, Y); break;
    case Opcode::Sub: Res = B.CreateSub(X0, Y); break;
    default: Res = B.CreateMul(X0, Y); break;
    }
    return {Res, kc(ValueKind::Int)};
  };
  auto divPath = [&]() -> std::pair<Value *, Value *> {
    bool IsDiv = Op == Opcode::Div;
    Value *Y = Bv.P;
    raiseIf(B.CreateICmpEQ(Y, i64c(0)),
            i8c(unsigned(IsDiv ? RtError::DivisionByZero
                               : RtError::ModuloByZero)),
            O.Orig);
    // MIN / -1 = MIN and MIN % -1 = 0 (isa.md), without the trap.
    Value *MinusOne = B.CreateICmpEQ(Y, i64c(uint64_t(-1)));
    Value *SafeY = B.CreateSelect(MinusOne, i64c(1), Y);
    Value *Q = IsDiv ? B.CreateSDiv(A.P, SafeY) : B.CreateSRem(A.P, SafeY);
    Value *Alt = IsDiv ? B.CreateSub(i64c(0), A.P) : i64c(0);
    return {B.CreateSelect(MinusOne, Alt, Q), kc(ValueKind::Int)};
  };
  auto floatPath = [&]() -> std::pair<Value *, Value *> {
    Value *X0 = asDouble(A), *Y = asDouble(Bv), *Res = nullptr;
    switch (Op) {
    case Opcode::Add: Res = B.CreateFAdd(X0, Y); break;
    case Opcode::Sub: Res = B.CreateFSub(X0, Y); break;
    case Opcode::Mul: Res = B.CreateFMul(X0, Y); break;
    case Opcode::Div: Res = B.CreateFDiv(X0, Y); break;
    case Opcode::Mod: Res = B.CreateFRem(X0, Y); break;
    default: break;
    }
    return {bits(Res), kc(ValueKind::Float)};
  };
  auto slowPath = [&]() -> std::pair<Value *, Value *> {
    spill(A, 0);
    spill(Bv, 1);
    Value *E = B.CreateCall(
        helper("fvm_rt_arith", I8, {Ptr, I32, Ptr, Ptr, Ptr}),
        {CtxP, i32c(unsigned(Op)), scratch(0), scratch(1), scratch(2)});
    check(E, O.Orig);
    return loadScratch(2);
  };
  std::pair<Value *, Value *> Res;
  Value *BothInt =
      B.CreateAnd(kindIs(A, ValueKind::Int), kindIs(Bv, ValueKind::Int));
  Value *BothNum = B.CreateAnd(isNum(A), isNum(Bv));
  if (Op == Opcode::Pow)
    Res = slowPath();
  else if (Op == Opcode::Div || Op == Opcode::Mod)
    Res = cases({{BothInt, divPath}, {BothNum, floatPath}, {nullptr, slowPath}});
  else
    Res = cases({{BothInt, intPath}, {BothNum, floatPath}, {nullptr, slowPath}});
  put(H - 2, Res.first, Res.second);
}

void Lowerer::emitCompare(const XOp &O) {
  Opcode Op = O.I.Op;
  JV A = in(1), Bv = in(0);
  CmpInst::Predicate IP, FP;
  switch (Op) {
  case Opcode::NumEq: IP = CmpInst::ICMP_EQ; FP = CmpInst::FCMP_OEQ; break;
  case Opcode::NumNe: IP = CmpInst::ICMP_NE; FP = CmpInst::FCMP_UNE; break;
  case Opcode::NumLt: IP = CmpInst::ICMP_SLT; FP = CmpInst::FCMP_OLT; break;
  case Opcode::NumGt: IP = CmpInst::ICMP_SGT; FP = CmpInst::FCMP_OGT; break;
  case Opcode::NumLe: IP = CmpInst::ICMP_SLE; FP = CmpInst::FCMP_OLE; break;
  default: IP = CmpInst::ICMP_SGE; FP = CmpInst::FCMP_OGE; break;
  }
  auto R0 = cases({
      {B.CreateAnd(kindIs(A, ValueKind::Int), kindIs(Bv, ValueKind::Int)),
       [&] {
         return std::pair<Value *, Value *>(B.CreateICmp(IP, A.P, Bv.P),
                                            nullptr);
       }},
      {B.CreateAnd(isNum(A), isNum(Bv)),
       [&] {
         return std::pair<Value *, Value *>(
             B.CreateFCmp(FP, asDouble(A), asDouble(Bv)), nullptr);
       }},
      {nullptr,
       [&] {
         spill(A, 0);
         spill(Bv, 1);
         Value *T = B.CreateCall(helper("fvm_rt_numcmp", I8, {I32, Ptr, Ptr}),
                                 {i32c(unsigned(Op)), scratch(0), scratch(1)});
         return std::pair<Value *, Value *>(B.CreateICmpNE(T, i8c(0)),
                                            nullptr);
       }},
  });
  put(H - 2, B.CreateZExt(R0.first, I64), kc(ValueKind::Bool));
}

void Lowerer::emitCall(const XOp &O) {
  uint32_t Callee = Info.Callee[O.Orig];
  unsigned Argc = O.I.U8;
  // This activation's depth travels in a register (DepthV); NativeCtx's
  // copy is written only for the runtime.
  Value *Max = B.CreateLoad(I32, ctxField(offsetof(NativeCtx, MaxDepth)));
  raiseIf(B.CreateICmpUGE(DepthV, Max), i8c(unsigned(RtError::CallDepth)),
          O.Orig);
  fuelCheck(O.Orig);
  Value *Inner = B.CreateAdd(DepthV, i32c(1));
  std::vector<JV> Args;
  for (unsigned K = 0; K < Argc; ++K)
    Args.push_back(in(Argc - 1 - K));
  // Native to native while the native stack lasts; otherwise (and for a
  // callee without native code) through the runtime.
  // The stack pointer itself: llvm.frameaddress would force a frame
  // pointer into every compiled function.
  Function *RR = Intrinsic::getDeclaration(&M, Intrinsic::read_register, {I64});
  Value *Here = B.CreateCall(
      RR, {MetadataAsValue::get(Cx, MDNode::get(Cx, MDString::get(Cx, "rsp")))});
  Value *Limit = B.CreateLoad(I64, ctxField(offsetof(NativeCtx, StackLimit)));
  Value *StackOk = B.CreateICmpUGT(Here, Limit);
  Value *Target = nullptr, *HasCode = StackOk;
  if (Callee == F && FastFn) {
    Target = FastFn;
  } else {
    Value *Table = B.CreateLoad(Ptr, ctxField(offsetof(NativeCtx, FnTable)));
    Target = B.CreateLoad(
        Ptr, B.CreateConstInBoundsGEP1_64(Ptr, Table, Callee));
    HasCode = B.CreateAnd(StackOk, B.CreateIsNotNull(Target));
  }
  auto Res = cases({
      {HasCode,
       [&] {
         std::vector<Type *> Ps = {Ptr, I32};
         std::vector<Value *> As = {CtxP, Inner};
         for (const JV &A : Args) {
           Ps.push_back(I64);
           Ps.push_back(I8);
           As.push_back(A.P);
           As.push_back(A.K);
         }
         CallInst *CI = B.CreateCall(FunctionType::get(RetTy, Ps, false),
                                     Target, As);
         CI->setCallingConv(CallingConv::Fast);
         Value *P = B.CreateExtractValue(CI, 0), *K = B.CreateExtractValue(CI, 1);
         propagateIf(B.CreateICmpEQ(K, i8c(NativeErrorKind)));
         return std::pair<Value *, Value *>(P, K);
       }},
      {nullptr,
       [&] {
         for (unsigned K = 0; K < Argc; ++K)
           spill(Args[K], K);
         B.CreateStore(Inner, ctxField(offsetof(NativeCtx, Depth)));
         Value *St = B.CreateCall(helper("fvm_rt_call", I8, {Ptr, I32, Ptr, Ptr}),
                                  {CtxP, i32c(O.Orig), scratch(0), scratch(Argc)});
         propagateIf(B.CreateICmpNE(St, i8c(NativeOk)));
         return loadScratch(Argc);
       }},
  });
  put(H - Argc, Res.first, Res.second);
}

void Lowerer::emitBuiltin(const XOp &O) {
  uint16_t Id = O.I.A;
  unsigned N = O.I.U8;
  // sqrt is the one a numeric loop calls: inline for numbers.
  if (Id == 0) {
    JV A = in(0);
    auto Res = cases({
        {isNum(A),
         [&] {
           Function *Sq = Intrinsic::getDeclaration(&M, Intrinsic::sqrt, {Dbl});
           return std::pair<Value *, Value *>(
               bits(B.CreateCall(Sq, {asDouble(A)})), kc(ValueKind::Float));
         }},
        {nullptr,
         [&] {
           spill(A, 0);
           Value *E = B.CreateCall(
               helper("fvm_rt_builtin", I8, {Ptr, I32, Ptr, I32, Ptr}),
               {CtxP, i32c(0), scratch(0), i32c(1), scratch(1)});
           check(E, O.Orig);
           return loadScratch(1);
         }},
    });
    put(H - 1, Res.first, Res.second);
    return;
  }
  for (unsigned K = 0; K < N; ++K)
    spill(in(N - 1 - K), K);
  const char *Name =
      Id < FirstHostBuiltin ? "fvm_rt_builtin" : "fvm_rt_host_builtin";
  Value *E = B.CreateCall(helper(Name, I8, {Ptr, I32, Ptr, I32, Ptr}),
                          {CtxP, i32c(Id), scratch(0), i32c(N), scratch(N)});
  check(E, O.Orig);
  auto [P, K] = loadScratch(N);
  put(H - N, P, K);
}

void Lowerer::emitOp(uint32_t XI) {
  const XOp &O = X[XI];
  const Instr &I = O.I;
  Cur = &In[XI];
  H = uint32_t(Cur->Stack.size());
  auto globalAt = [&](uint32_t N) {
    Value *G = B.CreateLoad(Ptr, ctxField(offsetof(NativeCtx, Globals)));
    return tag(B.CreateConstInBoundsGEP1_64(I8, G, 16 * uint64_t(N)), TGlobal);
  };
  auto kindAt = [&](Value *At) {
    return tag(B.CreateConstInBoundsGEP1_64(I8, At, 8), TGlobal);
  };
  // One helper call for the container ops on globals.
  auto globalOp = [&](unsigned Pops, bool Pushes) {
    Value *A0 = scratch(0), *A1 = scratch(1);
    if (Pops >= 1)
      spill(in(Pops - 1), 0);
    if (Pops == 2)
      spill(in(0), 1);
    Value *E = B.CreateCall(
        helper("fvm_rt_global", I8, {Ptr, I32, I32, Ptr, Ptr, Ptr}),
        {CtxP, i32c(unsigned(I.Op)), i32c(I.A), A0, A1, scratch(2)});
    check(E, O.Orig);
    if (Pushes) {
      auto [P, K] = loadScratch(2);
      put(H - Pops, P, K);
    }
  };
  auto strOp = [&](unsigned Pops) {
    spill(in(Pops - 1), 0);
    if (Pops == 2)
      spill(in(0), 1);
    Value *E = B.CreateCall(
        helper("fvm_rt_strop", I8, {Ptr, I32, Ptr, Ptr, Ptr}),
        {CtxP, i32c(unsigned(I.Op)), scratch(0), scratch(1), scratch(2)});
    check(E, O.Orig);
    auto [P, K] = loadScratch(2);
    put(H - Pops, P, K);
  };
  auto bitOp = [&](unsigned Pops) {
    JV A = in(Pops - 1), Bv = Pops == 2 ? in(0) : JV{i64c(0), kc(ValueKind::Int), MInt};
    auto Res = cases({
        {B.CreateAnd(kindIs(A, ValueKind::Int), kindIs(Bv, ValueKind::Int)),
         [&] {
           Value *Sh = B.CreateAnd(Bv.P, i64c(63)), *Rv = nullptr;
           switch (I.Op) {
           case Opcode::BitAnd: Rv = B.CreateAnd(A.P, Bv.P); break;
           case Opcode::BitOr: Rv = B.CreateOr(A.P, Bv.P); break;
           case Opcode::BitXor: Rv = B.CreateXor(A.P, Bv.P); break;
           case Opcode::Shl: Rv = B.CreateShl(A.P, Sh); break;
           case Opcode::Shr: Rv = B.CreateAShr(A.P, Sh); break;
           default: Rv = B.CreateNot(A.P); break;
           }
           return std::pair<Value *, Value *>(Rv, nullptr);
         }},
        {nullptr,
         [&] {
           spill(A, 0);
           if (Pops == 2)
             spill(Bv, 1);
           else
             spill({i64c(0), kc(ValueKind::Undef), MUndef}, 1);
           return std::pair<Value *, Value *>(
               B.CreateCall(helper("fvm_rt_bitop", I64, {I32, Ptr, Ptr}),
                            {i32c(unsigned(I.Op)), scratch(0), scratch(1)}),
               nullptr);
         }},
    });
    put(H - Pops, Res.first, kc(ValueKind::Int));
  };

  switch (I.Op) {
  case Opcode::Nop:
    break;
  case Opcode::LoadInt: put(H, i64c(uint64_t(I.I64)), kc(ValueKind::Int)); break;
  case Opcode::LoadFloat:
    put(H, i64c(I.U64), kc(ValueKind::Float));
    break;
  case Opcode::LoadConst: {
    const fusevm::Value &K = C.Constants[I.A];
    if (K.isHeap()) {
      Value *Cs = B.CreateLoad(Ptr, ctxField(offsetof(NativeCtx, Consts)));
      Value *At = B.CreateConstInBoundsGEP1_64(I8, Cs, 16 * uint64_t(I.A));
      JV Vv{B.CreateLoad(I64, At), kc(K.K), maskOf(K.K)};
      retain(Vv);
      put(H, Vv.P, Vv.K);
    } else {
      put(H, i64c(uint64_t(K.I)), kc(K.K));
    }
    break;
  }
  case Opcode::LoadTrue: put(H, i64c(1), kc(ValueKind::Bool)); break;
  case Opcode::LoadFalse: put(H, i64c(0), kc(ValueKind::Bool)); break;
  case Opcode::LoadUndef: put(H, i64c(0), kc(ValueKind::Undef)); break;
  case Opcode::Pop: release(in(0)); break;
  case Opcode::Dup: {
    JV A = in(0);
    retain(A);
    put(H, A.P, A.K);
    break;
  }
  case Opcode::Dup2: {
    JV A = in(1), Bv = in(0);
    retain(A);
    retain(Bv);
    put(H, A.P, A.K);
    put(H + 1, Bv.P, Bv.K);
    break;
  }
  case Opcode::Swap: {
    JV A = in(1), Bv = in(0);
    put(H - 2, Bv.P, Bv.K);
    put(H - 1, A.P, A.K);
    break;
  }
  case Opcode::Rot: {
    JV A = in(2), Bv = in(1), Cv = in(0);
    put(H - 3, Bv.P, Bv.K);
    put(H - 2, Cv.P, Cv.K);
    put(H - 1, A.P, A.K);
    break;
  }
  case Opcode::GetVar: {
    Value *At = globalAt(I.A);
    JV G{B.CreateLoad(I64, At), B.CreateLoad(I8, kindAt(At)), AnyKind};
    if (KindMask Sp = Cur->Level == 0 ? specVar(I.A) : 0) {
      ValueKind Kd = ValueKind(__builtin_ctz(Sp));
      when(B.CreateICmpNE(G.K, kc(Kd)), [&] { deopt(XI); });
      put(H, G.P, kc(Kd));
      break;
    }
    retain(G);
    put(H, G.P, G.K);
    break;
  }
  case Opcode::SetVar: case Opcode::DeclareVar: {
    JV Vv = in(0);
    Value *At = globalAt(I.A);
    Value *KAt = kindAt(At);
    JV Old{B.CreateLoad(I64, At), B.CreateLoad(I8, KAt), AnyKind};
    B.CreateStore(Vv.P, At);
    B.CreateStore(Vv.K, KAt);
    release(Old);
    break;
  }
  case Opcode::GetSlot: {
    JV S = slot(I.A);
    retain(S);
    put(H, S.P, S.K);
    break;
  }
  case Opcode::SetSlot: {
    JV Vv = in(0), Old = slot(I.A);
    setSlot(I.A, Vv.P, Vv.K);
    release(Old);
    break;
  }
  case Opcode::SlotArrayGet: case Opcode::SlotArraySet: {
    bool Get = I.Op == Opcode::SlotArrayGet;
    JV S = slot(I.A);
    auto SlowPath = [&, Get, S] {
    spill(S, 0);
    if (Get) {
      spill(in(0), 1);
    } else {
      spill(in(1), 1);
      spill(in(0), 2);
    }
    Value *E = B.CreateCall(
        helper("fvm_rt_slot_array", I8, {Ptr, I32, Ptr, Ptr, Ptr, Ptr}),
        {CtxP, i32c(unsigned(I.Op)), scratch(0), scratch(1), scratch(2),
         scratch(3)});
    check(E, O.Orig);
    auto [SP0, SK0] = loadScratch(0);
    setSlot(I.A, SP0, SK0);
    return loadScratch(3);
    };
    if (Get) {
      auto [P, K] = arrayGet(S.P, S.K, S.M, in(0), SlowPath);
      put(H - 1, P, K);
    } else {
      arraySet(S.P, S.K, S.M, in(1), in(0), [&] { SlowPath(); });
    }
    break;
  }
  case Opcode::GetArray: case Opcode::ArrayPop: case Opcode::ArrayShift:
  case Opcode::ArrayLen: case Opcode::GetHash: case Opcode::HashKeys:
  case Opcode::HashValues:
    globalOp(0, true);
    break;
  case Opcode::DeclareArray: case Opcode::DeclareHash: globalOp(0, false); break;
  case Opcode::SetArray: case Opcode::SetHash: case Opcode::ArrayPush:
    globalOp(1, false);
    break;
  case Opcode::ArrayGet: {
    Value *At = globalAt(I.A);
    Value *GP = B.CreateLoad(I64, At);
    Value *GK = B.CreateLoad(I8, kindAt(At));
    if (KindMask Sp = Cur->Level == 0 ? specElem(I.A) : 0) {
      // In range of an array, of the speculated kind: else deoptimise.
      ValueKind Kd = ValueKind(__builtin_ctz(Sp));
      JV Idx = in(0);
      BasicBlock *Fail = deoptBlock(XI);
      require(B.CreateAnd(B.CreateICmpEQ(GK, kc(ValueKind::Array)),
                          kindIs(Idx, ValueKind::Int)),
              Fail);
      ArrayHdr A = arrayHdr(GP);
      require(B.CreateICmpULT(Idx.P, A.Size), Fail);
      auto [EAt, EKAt] = elementAt(A.Begin, Idx.P);
      Value *EP = B.CreateLoad(I64, EAt);
      require(B.CreateICmpEQ(B.CreateLoad(I8, EKAt), kc(Kd)), Fail);
      put(H - 1, EP, kc(Kd));
      break;
    }
    auto [P, K] = arrayGet(GP, GK, AnyKind, in(0), [&] {
      globalOp(1, false);
      return loadScratch(2);
    });
    put(H - 1, P, K);
    break;
  }
  case Opcode::ArraySet: {
    Value *At = globalAt(I.A);
    Value *GP = B.CreateLoad(I64, At);
    Value *GK = B.CreateLoad(I8, kindAt(At));
    KindMask Sp = Cur->Level == 0 ? specElem(I.A) : 0;
    JV Val = in(1), Idx = in(0);
    if (Sp && Val.M == Sp) {
      // An array of numbers stays one: overwrite an element of the
      // speculated kind in place (nothing to release); anything else —
      // not an array, shared, out of range, another kind — deoptimises.
      BasicBlock *Fail = deoptBlock(XI);
      require(B.CreateAnd(B.CreateICmpEQ(GK, kc(ValueKind::Array)),
                          kindIs(Idx, ValueKind::Int)),
              Fail);
      ArrayHdr A = arrayHdr(GP);
      Value *Unique = B.CreateICmpEQ(B.CreateLoad(I32, tag(A.Obj, TRC)), i32c(1));
      require(B.CreateAnd(Unique, B.CreateICmpULT(Idx.P, A.Size)), Fail);
      auto [EAt, EKAt] = elementAt(A.Begin, Idx.P);
      require(B.CreateICmpEQ(B.CreateLoad(I8, EKAt), Val.K), Fail);
      B.CreateStore(Val.P, EAt);
      break;
    }
    arraySet(GP, GK, AnyKind, in(1), in(0), [&] { globalOp(2, false); });
    break;
  }
  case Opcode::HashGet: case Opcode::HashDelete: case Opcode::HashExists:
    globalOp(1, true);
    break;
  case Opcode::HashSet: globalOp(2, false); break;
  case Opcode::MakeArray: case Opcode::MakeHash: {
    unsigned N = I.Op == Opcode::MakeArray ? I.A : 2u * I.A;
    for (unsigned K = 0; K < N; ++K)
      spill(in(N - 1 - K), K);
    Value *E = B.CreateCall(helper("fvm_rt_make", I8, {Ptr, I32, Ptr, I32, Ptr}),
                            {CtxP, i32c(unsigned(I.Op)), scratch(0), i32c(I.A),
                             scratch(N)});
    check(E, O.Orig);
    auto [P, K] = loadScratch(N);
    put(H - N, P, K);
    break;
  }
  case Opcode::Add: case Opcode::Sub: case Opcode::Mul: case Opcode::Div:
  case Opcode::Mod: case Opcode::Pow:
    emitArith(O);
    break;
  case Opcode::Negate: case Opcode::Inc: case Opcode::Dec: {
    JV A = in(0);
    auto Res = cases({
        {kindIs(A, ValueKind::Int),
         [&] {
           Value *Rv = I.Op == Opcode::Negate ? B.CreateSub(i64c(0), A.P)
                       : I.Op == Opcode::Inc  ? B.CreateAdd(A.P, i64c(1))
                                              : B.CreateSub(A.P, i64c(1));
           return std::pair<Value *, Value *>(Rv, kc(ValueKind::Int));
         }},
        {kindIs(A, ValueKind::Float),
         [&] {
           Value *Fv = B.CreateBitCast(A.P, Dbl);
           Value *Rv = I.Op == Opcode::Negate
                           ? B.CreateFNeg(Fv)
                           : B.CreateFAdd(Fv, ConstantFP::get(
                                                  Dbl, I.Op == Opcode::Inc ? 1.0 : -1.0));
           return std::pair<Value *, Value *>(bits(Rv), kc(ValueKind::Float));
         }},
        {nullptr,
         [&] {
           spill(A, 0);
           B.CreateCall(helper("fvm_rt_unary", B.getVoidTy(), {I32, Ptr, Ptr}),
                        {i32c(unsigned(I.Op)), scratch(0), scratch(1)});
           return loadScratch(1);
         }},
    });
    put(H - 1, Res.first, Res.second);
    break;
  }
  case Opcode::Concat: {
    // `s = s . x`: the slot (or global) the next op overwrites still holds
    // the left operand; drop that reference first so a single-owner string
    // grows in place, as the interpreter does.
    const XOp *Next = XI + 1 < X.size() ? &X[XI + 1] : nullptr;
    JV L = in(1);
    if (Next && Next->I.Op == Opcode::SetSlot && (L.M & MStr)) {
      JV S = slot(Next->I.A);
      when(B.CreateAnd(B.CreateAnd(kindIs(L, ValueKind::Str),
                                   kindIs(S, ValueKind::Str)),
                       B.CreateICmpEQ(S.P, L.P)),
           [&] {
             Value *Obj = tag(B.CreateIntToPtr(L.P, Ptr), TRC);
             B.CreateStore(B.CreateSub(B.CreateLoad(I32, Obj), i32c(1)), Obj);
             setSlot(Next->I.A, i64c(0), kc(ValueKind::Undef));
           });
    }
    strOp(2);
    break;
  }
  case Opcode::StringRepeat: case Opcode::StrEq: case Opcode::StrNe:
  case Opcode::StrLt: case Opcode::StrGt: case Opcode::StrLe:
  case Opcode::StrGe: case Opcode::StrCmp:
    strOp(2);
    break;
  case Opcode::StringLen: strOp(1); break;
  case Opcode::NumEq: case Opcode::NumNe: case Opcode::NumLt:
  case Opcode::NumGt: case Opcode::NumLe: case Opcode::NumGe:
    emitCompare(O);
    break;
  case Opcode::Spaceship: {
    JV A = in(1), Bv = in(0);
    auto Res = cases({
        {B.CreateAnd(kindIs(A, ValueKind::Int), kindIs(Bv, ValueKind::Int)),
         [&] {
           Value *Gt = B.CreateZExt(B.CreateICmpSGT(A.P, Bv.P), I64);
           Value *Lt = B.CreateZExt(B.CreateICmpSLT(A.P, Bv.P), I64);
           return std::pair<Value *, Value *>(B.CreateSub(Gt, Lt), nullptr);
         }},
        {nullptr,
         [&] {
           spill(A, 0);
           spill(Bv, 1);
           return std::pair<Value *, Value *>(
               B.CreateCall(helper("fvm_rt_spaceship", I64, {Ptr, Ptr}),
                            {scratch(0), scratch(1)}),
               nullptr);
         }},
    });
    put(H - 2, Res.first, kc(ValueKind::Int));
    break;
  }
  case Opcode::LogNot: {
    Value *T = truthy(in(0), true);
    put(H - 1, B.CreateZExt(B.CreateNot(T), I64), kc(ValueKind::Bool));
    break;
  }
  case Opcode::LogAnd: case Opcode::LogOr: {
    Value *Ta = truthy(in(1), true), *Tb = truthy(in(0), true);
    Value *Rv = I.Op == Opcode::LogAnd ? B.CreateAnd(Ta, Tb) : B.CreateOr(Ta, Tb);
    put(H - 2, B.CreateZExt(Rv, I64), kc(ValueKind::Bool));
    break;
  }
  case Opcode::BitAnd: case Opcode::BitOr: case Opcode::BitXor:
  case Opcode::Shl: case Opcode::Shr:
    bitOp(2);
    break;
  case Opcode::BitNot: bitOp(1); break;
  case Opcode::Jump:
    if (O.T <= XI)
      fuelCheck(O.Orig);
    B.CreateBr(BB[O.T]);
    break;
  case Opcode::JumpIfTrue: case Opcode::JumpIfFalse:
  case Opcode::JumpIfTrueKeep: case Opcode::JumpIfFalseKeep: {
    bool Keep = I.Op == Opcode::JumpIfTrueKeep || I.Op == Opcode::JumpIfFalseKeep;
    bool OnTrue = I.Op == Opcode::JumpIfTrue || I.Op == Opcode::JumpIfTrueKeep;
    Value *T = truthy(in(0), !Keep);
    if (!OnTrue)
      T = B.CreateNot(T);
    BasicBlock *Taken = BB[O.T];
    if (O.T <= XI && R.Budget) {
      BasicBlock *Charge = block("backedge");
      BasicBlock *Fall = BB[XI + 1] ? BB[XI + 1] : block("fall");
      B.CreateCondBr(T, Charge, Fall);
      B.SetInsertPoint(Charge);
      fuelCheck(O.Orig);
      B.CreateBr(Taken);
      if (!BB[XI + 1]) {
        B.SetInsertPoint(Fall);
        B.CreateUnreachable();
      }
    } else {
      B.CreateCondBr(T, Taken, BB[XI + 1]);
    }
    break;
  }
  case Opcode::Call: emitCall(O); break;
  case Opcode::Return:
    releaseFrame(H);
    emitReturn(i64c(0), kc(ValueKind::Undef));
    break;
  case Opcode::ReturnValue: {
    JV Rv = in(0);
    releaseFrame(H - 1);
    emitReturn(Rv.P, Rv.K);
    break;
  }
  case Opcode::PushFrame:
    for (uint32_t S = 0; S < NumSlots; ++S) {
      uint32_t Ix = (Cur->Level + 1u) * NumSlots + S;
      B.CreateStore(i64c(0), LP[Ix]);
      B.CreateStore(kc(ValueKind::Undef), LK[Ix]);
    }
    break;
  case Opcode::PopFrame: {
    for (uint32_t S = 0; S < NumSlots; ++S)
      release(slot(S));
    for (uint32_t K = Info.PopHeight[O.Orig]; K < H; ++K)
      release(stackAt(K));
    break;
  }
  case Opcode::Print: case Opcode::PrintLn: {
    unsigned N = I.U8;
    for (unsigned K = 0; K < N; ++K)
      spill(in(N - 1 - K), K);
    Value *E = B.CreateCall(helper("fvm_rt_print", I8, {Ptr, I32, Ptr, I32}),
                            {CtxP, i32c(I.Op == Opcode::PrintLn), scratch(0),
                             i32c(N)});
    check(E, O.Orig);
    break;
  }
  case Opcode::ReadLine: {
    Value *E = B.CreateCall(helper("fvm_rt_readline", I8, {Ptr, Ptr}),
                            {CtxP, scratch(0)});
    check(E, O.Orig);
    auto [P, K] = loadScratch(0);
    put(H, P, K);
    break;
  }
  case Opcode::Range: case Opcode::RangeStep: {
    unsigned N = I.Op == Opcode::Range ? 2 : 3;
    for (unsigned K = 0; K < N; ++K)
      spill(in(N - 1 - K), K);
    Value *E = B.CreateCall(helper("fvm_rt_range", I8, {Ptr, Ptr, I32, Ptr}),
                            {CtxP, scratch(0), i32c(N), scratch(N)});
    check(E, O.Orig);
    auto [P, K] = loadScratch(N);
    put(H - N, P, K);
    break;
  }
  case Opcode::SetStatus: {
    JV A = in(0);
    auto Res = cases({
        {kindIs(A, ValueKind::Int),
         [&] { return std::pair<Value *, Value *>(A.P, nullptr); }},
        {nullptr,
         [&] {
           spill(A, 0);
           return std::pair<Value *, Value *>(
               B.CreateCall(helper("fvm_rt_to_int", I64, {Ptr}), {scratch(0)}),
               nullptr);
         }},
    });
    B.CreateStore(B.CreateTrunc(Res.first, I32),
                  ctxField(offsetof(NativeCtx, Status)));
    break;
  }
  case Opcode::GetStatus:
    put(H, B.CreateSExt(B.CreateLoad(I32, ctxField(offsetof(NativeCtx, Status))),
                        I64),
        kc(ValueKind::Status));
    break;
  case Opcode::CallBuiltin: emitBuiltin(O); break;
  case Opcode::Extended: case Opcode::ExtendedWide: {
    const ExtOpDecl *E = C.findExtOp(I.A);
    unsigned Pops = E->Pops, Pushes = E->Pushes;
    for (unsigned K = 0; K < Pops; ++K)
      spill(in(Pops - 1 - K), K);
    Value *Er = B.CreateCall(helper("fvm_rt_extended", I8, {Ptr, I32, Ptr, Ptr}),
                             {CtxP, i32c(O.Orig), scratch(0), scratch(Pops)});
    check(Er, O.Orig);
    for (unsigned K = 0; K < Pushes; ++K) {
      auto [P, Kd] = loadScratch(Pops + K);
      put(H - Pops + K, P, Kd);
    }
    break;
  }
  case Opcode::PreIncSlot: case Opcode::PreIncSlotVoid:
  case Opcode::AddAssignSlotVoid: case Opcode::SlotLtIntJumpIfFalse:
  case Opcode::SlotIncLtIntJumpBack: case Opcode::AccumSumLoop:
  case Opcode::ConcatConstLoop: case Opcode::PushIntRangeLoop:
    break; // expanded
  }
}

} // namespace

LoweredNames lowerFunction(Module &M, const JitRequest &R,
                           const std::string &Tag) {
  LoweredNames N;
  // main runs once: entered by on-stack replacement it needs no entry for
  // calls (a call to main, if any, goes through the runtime).
  bool Calls = !(R.OsrIp >= 0 && R.Func == R.Info->Main);
  Function *Fast = nullptr;
  KindMask Ret = AnyKind;
  if (Calls) {
    N.Fast = "fvm_f" + Tag;
    N.Entry = "fvm_e" + Tag;
    Lowerer L(M, R);
    Fast = L.emitFast(N.Fast);
    L.emitEntry(N.Entry, Fast);
    Ret = L.selfReturn();
  }
  if (R.OsrIp >= 0) {
    N.Osr = "fvm_o" + Tag;
    Lowerer LO(M, R);
    LO.emitOsr(N.Osr, Fast, Ret);
  }
  return N;
}

} // namespace fusevm
