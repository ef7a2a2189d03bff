//===- LowerOps.cpp - One op at a time -------------------------------------===//
//
// \file
// emitOp reads the kinds its operands may have (Cur) and emits only the
// paths they allow: an int-only Add is one `add i64`, an unknown one checks
// kinds and calls fvm_rt_arith on the slow path. Ops without a fast path
// call the runtime helper the interpreter's semantics live in.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "fusevm/Core/FusedOps.h"

#include "llvm/IR/Intrinsics.h"

using namespace llvm;

namespace fusevm::jit {

/// The stack pointer's name for llvm.read_register on the module's target.
const char *Lowerer::stackRegister() const {
  return llvm::StringRef(Mod.getTargetTriple()).starts_with("aarch64") ? "sp"
                                                                      : "rsp";
}

/// Stack entries op \p O consumes (they are dead once its helper ran).
uint32_t consumed(const XOp &O, const Chunk &Prog) {
  const Instr &I = O.I;
  switch (I.Op) {
  case Opcode::Call: case Opcode::CallBuiltin: case Opcode::Print:
  case Opcode::PrintLn:
    return I.U8;
  case Opcode::MakeArray: return I.A;
  case Opcode::MakeHash: return 2u * I.A;
  case Opcode::Extended: case Opcode::ExtendedWide: {
    const ExtOpDecl *E = Prog.findExtOp(I.A);
    return E ? E->Pops : 0;
  }
  case Opcode::JumpIfTrueKeep: case Opcode::JumpIfFalseKeep: case Opcode::PopFrame:
    return 0;
  default: {
    int P = opInfo(I.Op).Pops;
    return P > 0 ? uint32_t(P) : 0;
  }
  }
}

PathValue Lowerer::arrayGet(Value *CP, Value *CK, KindMask CM, const JV &Idx,
                            const std::function<PathValue()> &Slow) {
  JV Cont{CP, CK, CM};
  Value *Ok = IRB.CreateAnd(kindIs(Cont, ValueKind::Array),
                          kindIs(Idx, ValueKind::Int));
  return cases({
      {Ok,
       [&] {
         ArrayHdr A = arrayHdr(CP);
         return cases({
             {IRB.CreateICmpULT(Idx.P, A.Size),
              [&] {
                auto [At, KAt] = elementAt(A.Begin, Idx.P);
                JV E{IRB.CreateLoad(I64, At), IRB.CreateLoad(I8, KAt), AnyKind};
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
  Value *Ok = IRB.CreateAnd(kindIs(Cont, ValueKind::Array),
                          kindIs(Idx, ValueKind::Int));
  if (auto *CI = dyn_cast<ConstantInt>(Ok); !CI || CI->isOne()) {
    BasicBlock *Check = block("aset_check");
    IRB.CreateCondBr(Ok, Check, SlowB);
    IRB.SetInsertPoint(Check);
    auto [Obj, Begin, End, Size] = arrayHdr(CP);
    Value *Unique = IRB.CreateICmpEQ(IRB.CreateLoad(I32, tag(Obj, TRC)), i32c(1));
    BasicBlock *Store = block("aset_store"), *Append = block("aset_append");
    BasicBlock *NotIn = block("aset_notin");
    IRB.CreateCondBr(Unique, NotIn, SlowB);
    IRB.SetInsertPoint(NotIn);
    BasicBlock *TryAppend = block("aset_tryappend");
    IRB.CreateCondBr(IRB.CreateICmpULT(Idx.P, Size), Store, TryAppend);
    // One past the end with room left and under the length limit: append
    // (what std::vector::push_back does without growing).
    IRB.SetInsertPoint(TryAppend);
    Value *CapAt = arrayField(Obj, ArrayEndOffset + 8);
    Value *Cap = IRB.CreateLoad(Ptr, CapAt);
    Value *MaxArr = IRB.CreateLoad(I64, ctxField(offsetof(NativeCtx, MaxArr)));
    Value *CanAppend = IRB.CreateAnd(
        IRB.CreateAnd(IRB.CreateICmpEQ(Idx.P, Size), IRB.CreateICmpNE(End, Cap)),
        IRB.CreateICmpULT(Idx.P, MaxArr));
    IRB.CreateCondBr(CanAppend, Append, SlowB);
    IRB.SetInsertPoint(Append);
    {
      auto [EAt, EKAt] = elementAt(End, i64c(0));
      IRB.CreateStore(V.P, EAt);
      IRB.CreateStore(V.K, EKAt);
      IRB.CreateStore(IRB.CreateConstInBoundsGEP1_64(I8, End, 16),
                    arrayField(Obj, ArrayEndOffset));
      IRB.CreateBr(Done);
    }
    IRB.SetInsertPoint(Store);
    auto [At, KAt] = elementAt(Begin, Idx.P);
    JV Old{IRB.CreateLoad(I64, At), IRB.CreateLoad(I8, KAt), AnyKind};
    IRB.CreateStore(V.P, At);
    IRB.CreateStore(V.K, KAt);
    release(Old);
    IRB.CreateBr(Done);
  } else {
    IRB.CreateBr(SlowB);
  }
  IRB.SetInsertPoint(SlowB);
  Slow();
  IRB.CreateBr(Done);
  IRB.SetInsertPoint(Done);
}

void Lowerer::emitArith(const XOp &O) {
  Opcode Op = O.I.Op;
  JV A = in(1), Bv = in(0);
  auto intPath = [&]() -> PathValue {
    Value *X0 = A.P, *Y = Bv.P, *Res = nullptr;
    switch (Op) {
    case Opcode::Add: Res = IRB.CreateAdd(X0, Y); break;
    case Opcode::Sub: Res = IRB.CreateSub(X0, Y); break;
    default: Res = IRB.CreateMul(X0, Y); break;
    }
    return {Res, kc(ValueKind::Int)};
  };
  auto divPath = [&]() -> PathValue {
    bool IsDiv = Op == Opcode::Div;
    Value *Y = Bv.P;
    raiseIf(IRB.CreateICmpEQ(Y, i64c(0)),
            i8c(unsigned(IsDiv ? RtError::DivisionByZero
                               : RtError::ModuloByZero)),
            O.Orig);
    // MIN / -1 = MIN and MIN % -1 = 0 (isa.md), without the trap.
    Value *MinusOne = IRB.CreateICmpEQ(Y, i64c(uint64_t(-1)));
    Value *SafeY = IRB.CreateSelect(MinusOne, i64c(1), Y);
    Value *Q = IsDiv ? IRB.CreateSDiv(A.P, SafeY) : IRB.CreateSRem(A.P, SafeY);
    Value *Alt = IsDiv ? IRB.CreateSub(i64c(0), A.P) : i64c(0);
    return {IRB.CreateSelect(MinusOne, Alt, Q), kc(ValueKind::Int)};
  };
  auto floatPath = [&]() -> PathValue {
    Value *X0 = asDouble(A), *Y = asDouble(Bv), *Res = nullptr;
    switch (Op) {
    case Opcode::Add: Res = IRB.CreateFAdd(X0, Y); break;
    case Opcode::Sub: Res = IRB.CreateFSub(X0, Y); break;
    case Opcode::Mul: Res = IRB.CreateFMul(X0, Y); break;
    case Opcode::Div: Res = IRB.CreateFDiv(X0, Y); break;
    case Opcode::Mod: Res = IRB.CreateFRem(X0, Y); break;
    default: break;
    }
    return {bits(Res), kc(ValueKind::Float)};
  };
  auto slowPath = [&]() -> PathValue {
    spill(A, 0);
    spill(Bv, 1);
    Value *E = IRB.CreateCall(
        helper("fvm_rt_arith", I8, {Ptr, I32, Ptr, Ptr, Ptr}),
        {CtxP, i32c(unsigned(Op)), scratch(0), scratch(1), scratch(2)});
    check(E, O.Orig);
    return loadScratch(2);
  };
  PathValue Res;
  Value *BothInt =
      IRB.CreateAnd(kindIs(A, ValueKind::Int), kindIs(Bv, ValueKind::Int));
  Value *BothNum = IRB.CreateAnd(isNum(A), isNum(Bv));
  if (Op == Opcode::Pow)
    Res = slowPath();
  else if (Op == Opcode::Div || Op == Opcode::Mod)
    Res = cases({{BothInt, divPath}, {BothNum, floatPath}, {nullptr, slowPath}});
  else
    Res = cases({{BothInt, intPath}, {BothNum, floatPath}, {nullptr, slowPath}});
  put(Height - 2, Res.first, Res.second);
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
      {IRB.CreateAnd(kindIs(A, ValueKind::Int), kindIs(Bv, ValueKind::Int)),
       [&] {
         return PathValue(IRB.CreateICmp(IP, A.P, Bv.P),
                                            nullptr);
       }},
      {IRB.CreateAnd(isNum(A), isNum(Bv)),
       [&] {
         return PathValue(
             IRB.CreateFCmp(FP, asDouble(A), asDouble(Bv)), nullptr);
       }},
      {nullptr,
       [&] {
         spill(A, 0);
         spill(Bv, 1);
         Value *T = IRB.CreateCall(helper("fvm_rt_numcmp", I8, {I32, Ptr, Ptr}),
                                 {i32c(unsigned(Op)), scratch(0), scratch(1)});
         return PathValue(IRB.CreateICmpNE(T, i8c(0)),
                                            nullptr);
       }},
  });
  put(Height - 2, IRB.CreateZExt(R0.first, I64), kc(ValueKind::Bool));
}

void Lowerer::emitCall(const XOp &O) {
  uint32_t Callee = Info.Callee[O.Orig];
  unsigned Argc = O.I.U8;
  // This activation's depth travels in a register (DepthV); NativeCtx's
  // copy is written only for the runtime.
  Value *Max = IRB.CreateLoad(I32, ctxField(offsetof(NativeCtx, MaxDepth)));
  Live = Height; // the arguments are live until the call takes them
  raiseIf(IRB.CreateICmpUGE(DepthV, Max), i8c(unsigned(RtError::CallDepth)),
          O.Orig);
  fuelCheck(O.Orig);
  Live = Height - Argc;
  Value *Inner = IRB.CreateAdd(DepthV, i32c(1));
  std::vector<JV> Args;
  for (unsigned K = 0; K < Argc; ++K)
    Args.push_back(in(Argc - 1 - K));
  // Native to native while the native stack lasts; otherwise (and for a
  // callee without native code) through the runtime.
  // The stack pointer itself: llvm.frameaddress would force a frame
  // pointer into every compiled function.
  Function *RR = Intrinsic::getDeclaration(&Mod, Intrinsic::read_register, {I64});
  Value *Here = IRB.CreateCall(
      RR, {MetadataAsValue::get(Cx, MDNode::get(Cx, MDString::get(Cx, stackRegister())))});
  Value *Limit = IRB.CreateLoad(I64, ctxField(offsetof(NativeCtx, StackLimit)));
  Value *StackOk = IRB.CreateICmpUGT(Here, Limit);
  Value *Target = nullptr, *HasCode = StackOk;
  // A self-call goes straight to this function, except in baseline code,
  // where it goes through the table so that optimised code, once swapped
  // in, takes over the deeper calls of a recursion too.
  if (Callee == FuncIdx && FastFn && Req.Level == JitLevel::Optimised) {
    Target = FastFn;
  } else if (Direct && Direct->count(Callee)) {
    Target = Direct->at(Callee); // compiled into this module (a trace's callee)
  } else {
    Value *Table = IRB.CreateLoad(Ptr, ctxField(offsetof(NativeCtx, FnTable)));
    Target = IRB.CreateLoad(
        Ptr, IRB.CreateConstInBoundsGEP1_64(Ptr, Table, Callee));
    HasCode = IRB.CreateAnd(StackOk, IRB.CreateIsNotNull(Target));
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
         CallInst *CI = IRB.CreateCall(FunctionType::get(RetTy, Ps, false),
                                     Target, As);
         CI->setCallingConv(CallingConv::Fast);
         Value *P = IRB.CreateExtractValue(CI, 0), *K = IRB.CreateExtractValue(CI, 1);
         propagateIf(IRB.CreateICmpEQ(K, i8c(NativeErrorKind)));
         return PathValue(P, K);
       }},
      {nullptr,
       [&] {
         for (unsigned K = 0; K < Argc; ++K)
           spill(Args[K], K);
         IRB.CreateStore(Inner, ctxField(offsetof(NativeCtx, Depth)));
         Value *St = IRB.CreateCall(helper("fvm_rt_call", I8, {Ptr, I32, Ptr, Ptr}),
                                  {CtxP, i32c(O.Orig), scratch(0), scratch(Argc)});
         propagateIf(IRB.CreateICmpNE(St, i8c(NativeOk)));
         return loadScratch(Argc);
       }},
  });
  put(Height - Argc, Res.first, Res.second);
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
           Function *Sq = Intrinsic::getDeclaration(&Mod, Intrinsic::sqrt, {Dbl});
           return PathValue(
               bits(IRB.CreateCall(Sq, {asDouble(A)})), kc(ValueKind::Float));
         }},
        {nullptr,
         [&] {
           spill(A, 0);
           Value *E = IRB.CreateCall(
               helper("fvm_rt_builtin", I8, {Ptr, I32, Ptr, I32, Ptr}),
               {CtxP, i32c(0), scratch(0), i32c(1), scratch(1)});
           check(E, O.Orig);
           return loadScratch(1);
         }},
    });
    put(Height - 1, Res.first, Res.second);
    return;
  }
  for (unsigned K = 0; K < N; ++K)
    spill(in(N - 1 - K), K);
  const char *Name =
      Id < FirstHostBuiltin ? "fvm_rt_builtin" : "fvm_rt_host_builtin";
  Value *E = IRB.CreateCall(helper(Name, I8, {Ptr, I32, Ptr, I32, Ptr}),
                          {CtxP, i32c(Id), scratch(0), i32c(N), scratch(N)});
  check(E, O.Orig);
  auto [P, K] = loadScratch(N);
  put(Height - N, P, K);
}

bool Lowerer::emitTypeTest(uint32_t XI) {
  // `CallBuiltin type 1; LoadConst "name"; StrEq|StrNe`, a frontend's type
  // test (`x == nil` is `type(x) == "undef"`): compare the kind itself, as
  // the interpreter's TypeIs does; no string is made.
  TypeTest TT;
  if (XI + 2 >= XOps.size() || BB[XI + 1] || BB[XI + 2] ||
      !matchTypeTest(Prog, XOps[XI].I, XOps[XI + 1].I, XOps[XI + 2].I, TT))
    return false;
  JV X = in(0);
  Value *Is = TT.Kind < 0 ? IRB.getFalse() // a name that is no kind's
                          : IRB.CreateICmpEQ(X.K, kc(ValueKind(TT.Kind)));
  if (TT.Negated)
    Is = IRB.CreateNot(Is);
  release(X);
  put(Height - 1, IRB.CreateZExt(Is, I64), kc(ValueKind::Bool));
  Absorbed = 2;
  return true;
}

void Lowerer::emitOp(uint32_t XI) {
  const XOp &O = XOps[XI];
  const Instr &I = O.I;
  Cur = &In[XI];
  Height = uint32_t(Cur->Stack.size());
  Live = Height - consumed(O, Prog);
  if (Tracing && traceMark(O.Orig) == TraceOff &&
      OrigToX[O.Orig - Def.Entry] == XI) {
    // Somewhere the recording never went: the interpreter takes it.
    traceExit(O.Orig, Height, TraceExitBranch);
    return;
  }
  if (Tracing && XI == TraceStartX) {
    // An iteration of the trace's loop (the tier's work-per-entry figure).
    Value *N = ctxField(offsetof(NativeCtx, TraceIters));
    IRB.CreateStore(IRB.CreateAdd(IRB.CreateLoad(I64, N), i64c(1)), N);
  }
  auto globalAt = [&](uint32_t N) {
    Value *G = IRB.CreateLoad(Ptr, ctxField(offsetof(NativeCtx, Globals)));
    return tag(IRB.CreateConstInBoundsGEP1_64(I8, G, 16 * uint64_t(N)), TGlobal);
  };
  auto kindAt = [&](Value *At) {
    return tag(IRB.CreateConstInBoundsGEP1_64(I8, At, 8), TGlobal);
  };
  // One helper call for the container ops on globals.
  auto globalOp = [&](unsigned Pops, bool Pushes) {
    Value *A0 = scratch(0), *A1 = scratch(1);
    if (Pops >= 1)
      spill(in(Pops - 1), 0);
    if (Pops == 2)
      spill(in(0), 1);
    Value *E = IRB.CreateCall(
        helper("fvm_rt_global", I8, {Ptr, I32, I32, Ptr, Ptr, Ptr}),
        {CtxP, i32c(unsigned(I.Op)), i32c(I.A), A0, A1, scratch(2)});
    check(E, O.Orig);
    if (Pushes) {
      auto [P, K] = loadScratch(2);
      put(Height - Pops, P, K);
    }
  };
  auto strOp = [&](unsigned Pops) {
    spill(in(Pops - 1), 0);
    if (Pops == 2)
      spill(in(0), 1);
    Value *E = IRB.CreateCall(
        helper("fvm_rt_strop", I8, {Ptr, I32, Ptr, Ptr, Ptr}),
        {CtxP, i32c(unsigned(I.Op)), scratch(0), scratch(1), scratch(2)});
    check(E, O.Orig);
    auto [P, K] = loadScratch(2);
    put(Height - Pops, P, K);
  };
  auto bitOp = [&](unsigned Pops) {
    JV A = in(Pops - 1), Bv = Pops == 2 ? in(0) : JV{i64c(0), kc(ValueKind::Int), MInt};
    auto Res = cases({
        {IRB.CreateAnd(kindIs(A, ValueKind::Int), kindIs(Bv, ValueKind::Int)),
         [&] {
           Value *Sh = IRB.CreateAnd(Bv.P, i64c(63)), *Rv = nullptr;
           switch (I.Op) {
           case Opcode::BitAnd: Rv = IRB.CreateAnd(A.P, Bv.P); break;
           case Opcode::BitOr: Rv = IRB.CreateOr(A.P, Bv.P); break;
           case Opcode::BitXor: Rv = IRB.CreateXor(A.P, Bv.P); break;
           case Opcode::Shl: Rv = IRB.CreateShl(A.P, Sh); break;
           case Opcode::Shr: Rv = IRB.CreateAShr(A.P, Sh); break;
           default: Rv = IRB.CreateNot(A.P); break;
           }
           return PathValue(Rv, nullptr);
         }},
        {nullptr,
         [&] {
           spill(A, 0);
           if (Pops == 2)
             spill(Bv, 1);
           else
             spill({i64c(0), kc(ValueKind::Undef), MUndef}, 1);
           return PathValue(
               IRB.CreateCall(helper("fvm_rt_bitop", I64, {I32, Ptr, Ptr}),
                            {i32c(unsigned(I.Op)), scratch(0), scratch(1)}),
               nullptr);
         }},
    });
    put(Height - Pops, Res.first, kc(ValueKind::Int));
  };

  switch (I.Op) {
  case Opcode::Nop:
    break;
  case Opcode::LoadInt: put(Height, i64c(uint64_t(I.I64)), kc(ValueKind::Int)); break;
  case Opcode::LoadFloat:
    put(Height, i64c(I.U64), kc(ValueKind::Float));
    break;
  case Opcode::LoadConst: {
    const fusevm::Value &K = Prog.Constants[I.A];
    if (K.isHeap()) {
      Value *Cs = IRB.CreateLoad(Ptr, ctxField(offsetof(NativeCtx, Consts)));
      Value *At = IRB.CreateConstInBoundsGEP1_64(I8, Cs, 16 * uint64_t(I.A));
      JV Vv{IRB.CreateLoad(I64, At), kc(K.K), maskOf(K.K)};
      retain(Vv);
      put(Height, Vv.P, Vv.K);
    } else {
      put(Height, i64c(uint64_t(K.I)), kc(K.K));
    }
    break;
  }
  case Opcode::LoadTrue: put(Height, i64c(1), kc(ValueKind::Bool)); break;
  case Opcode::LoadFalse: put(Height, i64c(0), kc(ValueKind::Bool)); break;
  case Opcode::LoadUndef: put(Height, i64c(0), kc(ValueKind::Undef)); break;
  case Opcode::Pop: release(in(0)); break;
  case Opcode::Dup: {
    JV A = in(0);
    retain(A);
    put(Height, A.P, A.K);
    break;
  }
  case Opcode::Dup2: {
    JV A = in(1), Bv = in(0);
    retain(A);
    retain(Bv);
    put(Height, A.P, A.K);
    put(Height + 1, Bv.P, Bv.K);
    break;
  }
  case Opcode::Swap: {
    JV A = in(1), Bv = in(0);
    put(Height - 2, Bv.P, Bv.K);
    put(Height - 1, A.P, A.K);
    break;
  }
  case Opcode::Rot: {
    JV A = in(2), Bv = in(1), Cv = in(0);
    put(Height - 3, Bv.P, Bv.K);
    put(Height - 2, Cv.P, Cv.K);
    put(Height - 1, A.P, A.K);
    break;
  }
  case Opcode::GetVar: {
    Value *At = globalAt(I.A);
    JV G{IRB.CreateLoad(I64, At), IRB.CreateLoad(I8, kindAt(At)), AnyKind};
    if (KindMask Sp = Cur->Level == 0 ? specVar(O) : 0) {
      ValueKind Kd = ValueKind(__builtin_ctz(Sp));
      when(IRB.CreateICmpNE(G.K, kc(Kd)), [&] { deopt(XI); });
      put(Height, G.P, kc(Kd));
      break;
    }
    retain(G);
    put(Height, G.P, G.K);
    break;
  }
  case Opcode::SetVar: case Opcode::DeclareVar: {
    JV Vv = in(0);
    Value *At = globalAt(I.A);
    Value *KAt = kindAt(At);
    JV Old{IRB.CreateLoad(I64, At), IRB.CreateLoad(I8, KAt), AnyKind};
    IRB.CreateStore(Vv.P, At);
    IRB.CreateStore(Vv.K, KAt);
    release(Old);
    break;
  }
  case Opcode::GetSlot: {
    JV S = slot(I.A);
    retain(S);
    put(Height, S.P, S.K);
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
    Value *E = IRB.CreateCall(
        helper("fvm_rt_slot_array", I8, {Ptr, I32, Ptr, Ptr, Ptr, Ptr}),
        {CtxP, i32c(unsigned(I.Op)), scratch(0), scratch(1), scratch(2),
         scratch(3)});
    // The helper may have replaced the slot's array (copy on write): the
    // slot takes it back before an error is looked at.
    auto [SP0, SK0] = loadScratch(0);
    setSlot(I.A, SP0, SK0);
    check(E, O.Orig);
    return loadScratch(3);
    };
    if (Get) {
      auto [P, K] = arrayGet(S.P, S.K, S.M, in(0), SlowPath);
      put(Height - 1, P, K);
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
    Value *GP = IRB.CreateLoad(I64, At);
    Value *GK = IRB.CreateLoad(I8, kindAt(At));
    if (KindMask Sp = Cur->Level == 0 ? specElem(O) : 0) {
      // In range of an array, of the speculated kind: else deoptimise.
      ValueKind Kd = ValueKind(__builtin_ctz(Sp));
      JV Idx = in(0);
      BasicBlock *Fail = deoptBlock(XI);
      require(IRB.CreateAnd(IRB.CreateICmpEQ(GK, kc(ValueKind::Array)),
                          kindIs(Idx, ValueKind::Int)),
              Fail);
      ArrayHdr A = arrayHdr(GP);
      require(IRB.CreateICmpULT(Idx.P, A.Size), Fail);
      auto [EAt, EKAt] = elementAt(A.Begin, Idx.P);
      Value *EP = IRB.CreateLoad(I64, EAt);
      require(IRB.CreateICmpEQ(IRB.CreateLoad(I8, EKAt), kc(Kd)), Fail);
      put(Height - 1, EP, kc(Kd));
      break;
    }
    auto [P, K] = arrayGet(GP, GK, AnyKind, in(0), [&] {
      globalOp(1, false);
      return loadScratch(2);
    });
    put(Height - 1, P, K);
    break;
  }
  case Opcode::ArraySet: {
    Value *At = globalAt(I.A);
    Value *GP = IRB.CreateLoad(I64, At);
    Value *GK = IRB.CreateLoad(I8, kindAt(At));
    KindMask Sp = Cur->Level == 0 ? specElem(O) : 0;
    JV Val = in(1), Idx = in(0);
    if (Sp && Val.M == Sp) {
      // An array of numbers stays one: overwrite an element of the
      // speculated kind in place (nothing to release); anything else —
      // not an array, shared, out of range, another kind — deoptimises.
      BasicBlock *Fail = deoptBlock(XI);
      require(IRB.CreateAnd(IRB.CreateICmpEQ(GK, kc(ValueKind::Array)),
                          kindIs(Idx, ValueKind::Int)),
              Fail);
      ArrayHdr A = arrayHdr(GP);
      Value *Unique = IRB.CreateICmpEQ(IRB.CreateLoad(I32, tag(A.Obj, TRC)), i32c(1));
      require(IRB.CreateAnd(Unique, IRB.CreateICmpULT(Idx.P, A.Size)), Fail);
      auto [EAt, EKAt] = elementAt(A.Begin, Idx.P);
      require(IRB.CreateICmpEQ(IRB.CreateLoad(I8, EKAt), Val.K), Fail);
      IRB.CreateStore(Val.P, EAt);
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
    Value *E = IRB.CreateCall(helper("fvm_rt_make", I8, {Ptr, I32, Ptr, I32, Ptr}),
                            {CtxP, i32c(unsigned(I.Op)), scratch(0), i32c(I.A),
                             scratch(N)});
    check(E, O.Orig);
    auto [P, K] = loadScratch(N);
    put(Height - N, P, K);
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
           Value *Rv = I.Op == Opcode::Negate ? IRB.CreateSub(i64c(0), A.P)
                       : I.Op == Opcode::Inc  ? IRB.CreateAdd(A.P, i64c(1))
                                              : IRB.CreateSub(A.P, i64c(1));
           return PathValue(Rv, kc(ValueKind::Int));
         }},
        {kindIs(A, ValueKind::Float),
         [&] {
           Value *Fv = IRB.CreateBitCast(A.P, Dbl);
           Value *Rv = I.Op == Opcode::Negate
                           ? IRB.CreateFNeg(Fv)
                           : IRB.CreateFAdd(Fv, ConstantFP::get(
                                                  Dbl, I.Op == Opcode::Inc ? 1.0 : -1.0));
           return PathValue(bits(Rv), kc(ValueKind::Float));
         }},
        {nullptr,
         [&] {
           spill(A, 0);
           IRB.CreateCall(helper("fvm_rt_unary", IRB.getVoidTy(), {I32, Ptr, Ptr}),
                        {i32c(unsigned(I.Op)), scratch(0), scratch(1)});
           return loadScratch(1);
         }},
    });
    put(Height - 1, Res.first, Res.second);
    break;
  }
  case Opcode::Concat: {
    // `s = s . x`: the slot (or global) the next op overwrites still holds
    // the left operand; drop that reference first so a single-owner string
    // grows in place, as the interpreter does.
    const XOp *Next = XI + 1 < XOps.size() ? &XOps[XI + 1] : nullptr;
    JV L = in(1);
    if (Next && Next->I.Op == Opcode::SetSlot && (L.M & MStr)) {
      JV S = slot(Next->I.A);
      when(IRB.CreateAnd(IRB.CreateAnd(kindIs(L, ValueKind::Str),
                                   kindIs(S, ValueKind::Str)),
                       IRB.CreateICmpEQ(S.P, L.P)),
           [&] {
             Value *Obj = tag(IRB.CreateIntToPtr(L.P, Ptr), TRC);
             IRB.CreateStore(IRB.CreateSub(IRB.CreateLoad(I32, Obj), i32c(1)), Obj);
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
        {IRB.CreateAnd(kindIs(A, ValueKind::Int), kindIs(Bv, ValueKind::Int)),
         [&] {
           Value *Gt = IRB.CreateZExt(IRB.CreateICmpSGT(A.P, Bv.P), I64);
           Value *Lt = IRB.CreateZExt(IRB.CreateICmpSLT(A.P, Bv.P), I64);
           return PathValue(IRB.CreateSub(Gt, Lt), nullptr);
         }},
        {nullptr,
         [&] {
           spill(A, 0);
           spill(Bv, 1);
           return PathValue(
               IRB.CreateCall(helper("fvm_rt_spaceship", I64, {Ptr, Ptr}),
                            {scratch(0), scratch(1)}),
               nullptr);
         }},
    });
    put(Height - 2, Res.first, kc(ValueKind::Int));
    break;
  }
  case Opcode::LogNot: {
    Value *T = truthy(in(0), true);
    put(Height - 1, IRB.CreateZExt(IRB.CreateNot(T), I64), kc(ValueKind::Bool));
    break;
  }
  case Opcode::LogAnd: case Opcode::LogOr: {
    Value *Ta = truthy(in(1), true), *Tb = truthy(in(0), true);
    Value *Rv = I.Op == Opcode::LogAnd ? IRB.CreateAnd(Ta, Tb) : IRB.CreateOr(Ta, Tb);
    put(Height - 2, IRB.CreateZExt(Rv, I64), kc(ValueKind::Bool));
    break;
  }
  case Opcode::BitAnd: case Opcode::BitOr: case Opcode::BitXor:
  case Opcode::Shl: case Opcode::Shr:
    bitOp(2);
    break;
  case Opcode::BitNot: bitOp(1); break;
  case Opcode::Jump:
    if (O.T <= XI)
      backEdge(O, Height);
    IRB.CreateBr(BB[O.T]);
    break;
  case Opcode::JumpIfTrue: case Opcode::JumpIfFalse:
  case Opcode::JumpIfTrueKeep: case Opcode::JumpIfFalseKeep: {
    bool Keep = I.Op == Opcode::JumpIfTrueKeep || I.Op == Opcode::JumpIfFalseKeep;
    bool OnTrue = I.Op == Opcode::JumpIfTrue || I.Op == Opcode::JumpIfTrueKeep;
    if (Req.TraceStress && traceDirection(XI)) {
      // Stress: leave here once, before the branch, whichever way it would
      // go (the interpreter takes it again).
      Value *Bits = IRB.CreateLoad(Ptr, ctxField(offsetof(NativeCtx, TraceStress)));
      Value *Bit = IRB.CreateConstInBoundsGEP1_64(I8, Bits, O.Orig);
      when(IRB.CreateICmpEQ(IRB.CreateLoad(I8, Bit), i8c(0)), [&] {
        IRB.CreateStore(i8c(1), Bit);
        traceExit(O.Orig, Height, TraceExitBranch);
      });
    }
    Value *T = truthy(in(0), !Keep);
    if (!OnTrue)
      T = IRB.CreateNot(T);
    BasicBlock *Taken = BB[O.T];
    if (uint8_t Dir = traceDirection(XI)) {
      // The way the recording went stays in the trace; the other way is a
      // side exit, to the op the interpreter continues at.
      bool Jumped = Dir == TraceJumped;
      uint32_t H = Keep ? Height : Height - 1;
      BasicBlock *Exit = block("side_exit");
      BasicBlock *Stay = Jumped ? Taken : BB[XI + 1];
      if (Jumped && O.T <= XI && Req.Budget) {
        BasicBlock *Charge = block("backedge");
        IRB.CreateCondBr(T, Charge, Exit);
        IRB.SetInsertPoint(Charge);
        backEdge(O, H);
        IRB.CreateBr(Stay);
      } else {
        IRB.CreateCondBr(Jumped ? T : IRB.CreateNot(T), Stay, Exit);
      }
      IRB.SetInsertPoint(Exit);
      traceExit(Jumped ? XOps[XI + 1].Orig : XOps[O.T].Orig, H,
                TraceExitBranch);
      IRB.CreateUnreachable(); // the block traceExit leaves open
      break;
    }
    if (O.T <= XI && (Req.Budget || Req.Level == JitLevel::Baseline)) {
      BasicBlock *Charge = block("backedge");
      BasicBlock *Fall = BB[XI + 1] ? BB[XI + 1] : block("fall");
      IRB.CreateCondBr(T, Charge, Fall);
      IRB.SetInsertPoint(Charge);
      backEdge(O, Keep ? Height : Height - 1);
      IRB.CreateBr(Taken);
      if (!BB[XI + 1]) {
        IRB.SetInsertPoint(Fall);
        IRB.CreateUnreachable();
      }
    } else {
      IRB.CreateCondBr(T, Taken, BB[XI + 1]);
    }
    break;
  }
  case Opcode::Call: emitCall(O); break;
  case Opcode::Return:
    releaseFrame(Height);
    emitReturn(i64c(0), kc(ValueKind::Undef));
    break;
  case Opcode::ReturnValue: {
    JV Rv = in(0);
    releaseFrame(Height - 1);
    emitReturn(Rv.P, Rv.K);
    break;
  }
  case Opcode::PushFrame:
    for (uint32_t S = 0; S < NumSlots; ++S) {
      uint32_t Ix = (Cur->Level + 1u) * NumSlots + S;
      IRB.CreateStore(i64c(0), SlotP[Ix]);
      IRB.CreateStore(kc(ValueKind::Undef), SlotK[Ix]);
    }
    break;
  case Opcode::PopFrame: {
    for (uint32_t S = 0; S < NumSlots; ++S)
      release(slot(S));
    for (uint32_t K = Info.PopHeight[O.Orig]; K < Height; ++K)
      release(stackAt(K));
    break;
  }
  case Opcode::Print: case Opcode::PrintLn: {
    unsigned N = I.U8;
    for (unsigned K = 0; K < N; ++K)
      spill(in(N - 1 - K), K);
    Value *E = IRB.CreateCall(helper("fvm_rt_print", I8, {Ptr, I32, Ptr, I32}),
                            {CtxP, i32c(I.Op == Opcode::PrintLn), scratch(0),
                             i32c(N)});
    check(E, O.Orig);
    break;
  }
  case Opcode::ReadLine: {
    Value *E = IRB.CreateCall(helper("fvm_rt_readline", I8, {Ptr, Ptr}),
                            {CtxP, scratch(0)});
    check(E, O.Orig);
    auto [P, K] = loadScratch(0);
    put(Height, P, K);
    break;
  }
  case Opcode::Range: case Opcode::RangeStep: {
    unsigned N = I.Op == Opcode::Range ? 2 : 3;
    for (unsigned K = 0; K < N; ++K)
      spill(in(N - 1 - K), K);
    Value *E = IRB.CreateCall(helper("fvm_rt_range", I8, {Ptr, Ptr, I32, Ptr}),
                            {CtxP, scratch(0), i32c(N), scratch(N)});
    check(E, O.Orig);
    auto [P, K] = loadScratch(N);
    put(Height - N, P, K);
    break;
  }
  case Opcode::SetStatus: {
    JV A = in(0);
    auto Res = cases({
        {kindIs(A, ValueKind::Int),
         [&] { return PathValue(A.P, nullptr); }},
        {nullptr,
         [&] {
           spill(A, 0);
           return PathValue(
               IRB.CreateCall(helper("fvm_rt_to_int", I64, {Ptr}), {scratch(0)}),
               nullptr);
         }},
    });
    IRB.CreateStore(IRB.CreateTrunc(Res.first, I32),
                  ctxField(offsetof(NativeCtx, Status)));
    break;
  }
  case Opcode::GetStatus:
    put(Height, IRB.CreateSExt(IRB.CreateLoad(I32, ctxField(offsetof(NativeCtx, Status))),
                        I64),
        kc(ValueKind::Status));
    break;
  case Opcode::CallBuiltin:
    if (!emitTypeTest(XI))
      emitBuiltin(O);
    break;
  case Opcode::Extended: case Opcode::ExtendedWide: {
    const ExtOpDecl *E = Prog.findExtOp(I.A);
    unsigned Pops = E->Pops, Pushes = E->Pushes;
    if (Ext && lowerExtension(O, Pops, Pushes))
      break;
    for (unsigned K = 0; K < Pops; ++K)
      spill(in(Pops - 1 - K), K);
    Value *Er = IRB.CreateCall(helper("fvm_rt_extended", I8, {Ptr, I32, Ptr, Ptr}),
                             {CtxP, i32c(O.Orig), scratch(0), scratch(Pops)});
    check(Er, O.Orig);
    for (unsigned K = 0; K < Pushes; ++K) {
      auto [P, Kd] = loadScratch(Pops + K);
      put(Height - Pops + K, P, Kd);
    }
    break;
  }
  case Opcode::PreIncSlot: case Opcode::PreIncSlotVoid:
  case Opcode::AddAssignSlotVoid: case Opcode::SlotLtIntJumpIfFalse:
  case Opcode::SlotIncLtIntJumpBack: case Opcode::AccumSumLoop:
  case Opcode::ConcatConstLoop: case Opcode::PushIntRangeLoop:
    break; // expanded (expand())
  }
}

/// ExtLowering over the op being lowered.
class ExtLoweringImpl final : public ExtLowering {
public:
  ExtLoweringImpl(Lowerer &L, const XOp &O, unsigned Pops, unsigned Pushes)
      : L(L), O(O), Pops(Pops), Results(Pushes) {}
  llvm::IRBuilder<> &builder() override { return L.IRB; }
  uint16_t id() const override { return O.I.A; }
  uint64_t payload() const override {
    return O.I.Op == Opcode::Extended ? O.I.U8 : O.I.U64;
  }
  unsigned numArgs() const override { return Pops; }
  llvm::Value *argPayload(unsigned K) override { return arg(K).P; }
  llvm::Value *argKind(unsigned K) override { return arg(K).K; }
  KindMask argKinds(unsigned K) const override {
    return K < Pops ? L.Cur->Stack[L.Height - Pops + K] : KindMask(0);
  }
  void releaseArg(unsigned K) override {
    if (K < Pops)
      L.release(arg(K));
  }
  void setResult(unsigned K, llvm::Value *P, llvm::Value *Kd) override {
    if (K < Results.size())
      Results[K] = {P, Kd};
  }
  bool complete() const {
    for (const PathValue &R : Results)
      if (!R.first || !R.second)
        return false;
    return true;
  }
  std::vector<PathValue> Results;

private:
  JV arg(unsigned K) const { return L.stackAt(L.Height - Pops + K); }
  Lowerer &L;
  const XOp &O;
  unsigned Pops;
};

bool Lowerer::lowerExtension(const XOp &O, unsigned Pops, unsigned Pushes) {
  for (JitExtension *X : *Ext) {
    ExtLoweringImpl L(*this, O, Pops, Pushes);
    if (!X->lowerExtendedOp(L))
      continue;
    if (!L.complete())
      report_fatal_error("a JitExtension lowered extended op " +
                         Twine(O.I.A) + " without setting every result");
    for (unsigned K = 0; K < Pushes; ++K)
      put(Height - Pops + K, L.Results[K].first, L.Results[K].second);
    return true;
  }
  return false;
}

} // namespace fusevm::jit

namespace fusevm {
ExtLowering::~ExtLowering() = default;
JitExtension::~JitExtension() = default;
} // namespace fusevm
