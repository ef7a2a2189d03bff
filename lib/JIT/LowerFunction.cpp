//===- LowerFunction.cpp - A function's entry points and body -------------===//
//
// \file
// Three steps per function (Lowering.h): expand fused ops into their plain
// ops; analyse kinds (KindAnalysis.cpp); emit. Each request gives a fast
// body (fastcc, arguments as (payload, kind) pairs, what native-to-native
// calls use), a boxed entry for the interpreter, and an on-stack-
// replacement entry at a loop header when asked. Every function has one
// error exit that releases what its frame holds, and one deoptimisation
// block that hands the frame to the interpreter.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "fusevm/Core/FusedOps.h"

using namespace llvm;

namespace fusevm {
namespace jit {

Lowerer::Lowerer(Module &M, const JitRequest &R)
    : Mod(M), Cx(M.getContext()), IRB(Cx), Req(R), Prog(*R.C), Info(*R.Info),
      FuncIdx(R.Func), Def(Prog.Functions[R.Func]) {
  I1 = IRB.getInt1Ty();
  I8 = IRB.getInt8Ty();
  I32 = IRB.getInt32Ty();
  I64 = IRB.getInt64Ty();
  Dbl = IRB.getDoubleTy();
  Ptr = IRB.getPtrTy();
  RetTy = StructType::get(Cx, {I64, I8});
  NumSlots = Info.Funcs[FuncIdx].NumSlots;
  Levels = Info.Funcs[FuncIdx].MaxDepth + 1u;
  StackSlots = Info.Funcs[FuncIdx].MaxStack + 4; // expansions push a little
  expand();
  // A deoptimisation passes the whole frame at once.
  ScratchN = std::max(ScratchN, NumSlots + Info.Funcs[FuncIdx].MaxStack + 8);
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

void Lowerer::expand() {
  // Each op of the chunk becomes itself or, for a fused op, the plain ops
  // it stands for (Core/FusedOps.def), with every jump target first in the
  // chunk's numbering, then mapped to expanded indices.
  OrigToX.assign(Def.End - Def.Entry + 1, 0);
  std::vector<Instr> Plain;
  for (uint32_t Ip = Def.Entry; Ip < Def.End; ++Ip) {
    const Instr &I = Prog.Ops[Ip];
    OrigToX[Ip - Def.Entry] = uint32_t(XOps.size());
    Plain.clear();
    expandFused(I, Ip, Ip + 1, Plain);
    for (const Instr &P : Plain)
      XOps.push_back({P, Ip, hasFlag(P.Op, OpBranch) ? P.Target : 0});
    // Scratch values an op passes to a helper at once.
    unsigned Need = 4;
    switch (I.Op) {
    case Opcode::Call: case Opcode::CallBuiltin: Need = I.U8 + 1u; break;
    case Opcode::Print: case Opcode::PrintLn: Need = I.U8; break;
    case Opcode::MakeArray: Need = I.A + 1u; break;
    case Opcode::MakeHash: Need = 2u * I.A + 1u; break;
    case Opcode::Extended: case Opcode::ExtendedWide: {
      const ExtOpDecl *E = Prog.findExtOp(I.A);
      Need = E ? unsigned(E->Pops) + E->Pushes : 4;
      break;
    }
    default: break;
    }
    ScratchN = std::max(ScratchN, Need);
  }
  OrigToX[Def.End - Def.Entry] = uint32_t(XOps.size());
  for (XOp &O : XOps)
    if (hasFlag(O.I.Op, OpBranch))
      O.T = OrigToX[O.T - Def.Entry];
  ScratchN = std::max<unsigned>(ScratchN, Def.Arity + 1u);
}

Value *Lowerer::countDown(uint32_t OrigIp) {
  Value *Counts = IRB.CreateLoad(Ptr, ctxField(offsetof(NativeCtx, HotCounts)));
  Value *At = IRB.CreateConstInBoundsGEP1_64(I32, Counts, OrigIp);
  Value *Left = IRB.CreateSub(IRB.CreateLoad(I32, At), i32c(1));
  IRB.CreateStore(Left, At);
  return IRB.CreateICmpEQ(Left, i32c(0));
}

void Lowerer::backEdge(const XOp &O, uint32_t H) {
  fuelCheck(O.Orig);
  // Baseline code counts the iterations of each loop (outside scopes, where
  // on-stack replacement can enter); at zero the tier manager is told, with
  // the frame as it is at the loop header, and may answer that optimised
  // code is ready to continue the loop: then this activation leaves for
  // the interpreter there, which enters that code.
  if (Req.Level != JitLevel::Baseline || Cur->Level != 0)
    return;
  uint32_t Head = XOps[O.T].Orig;
  when(countDown(Head), [&] {
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl)
      spill({IRB.CreateLoad(I64, SlotP[Sl]), IRB.CreateLoad(I8, SlotK[Sl]),
             AnyKind}, Sl);
    for (uint32_t K = 0; K < H; ++K)
      spill(stackAt(K), NumSlots + K);
    Value *Leave = IRB.CreateCall(
        helper("fvm_rt_tier_up", I8, {Ptr, I32, I32, Ptr, Ptr, I32}),
        {CtxP, i32c(FuncIdx), i32c(Head), scratch(0), scratch(NumSlots),
         i32c(H)});
    when(IRB.CreateICmpNE(Leave, i8c(0)), [&] { deoptAt(Head, H); });
  });
}

void Lowerer::deopt(uint32_t XI) { deoptAt(XOps[XI].Orig, Height); }

void Lowerer::deoptAt(uint32_t OrigIp, uint32_t H) {
  // A trace hands the frame back where it stands (no nested interpreter).
  if (Tracing) {
    traceExit(OrigIp, H, TraceExitGuard);
    return;
  }
  // The frame as the interpreter would have it before chunk op OrigIp,
  // with H values on the stack: the stack here, the slots in the one block
  // all deoptimisations of this function share (phis), which hands them to
  // the interpreter.
  for (uint32_t K = 0; K < H; ++K)
    spill(stackAt(K), NumSlots + K);
  if (!DeoptBB) {
    IRBuilder<>::InsertPointGuard Guard(IRB);
    DeoptBB = block("deopt");
    IRB.SetInsertPoint(DeoptBB);
    DeoptIp = IRB.CreatePHI(I32, 4, "deopt_ip");
    DeoptHeight = IRB.CreatePHI(I32, 4, "deopt_height");
    DeoptSlots.clear();
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl)
      DeoptSlots.push_back({IRB.CreatePHI(I64, 4), IRB.CreatePHI(I8, 4)});
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl)
      spill({DeoptSlots[Sl].first, DeoptSlots[Sl].second, AnyKind}, Sl);
    unsigned Res = NumSlots + Info.Funcs[FuncIdx].MaxStack + 4;
    IRB.CreateStore(DepthV, ctxField(offsetof(NativeCtx, Depth)));
    Value *St = IRB.CreateCall(
        helper("fvm_rt_resume", I8, {Ptr, I32, I32, Ptr, Ptr, I32, Ptr}),
        {CtxP, i32c(FuncIdx), DeoptIp, scratch(0), scratch(NumSlots), DeoptHeight,
         scratch(Res)});
    // A failure in the interpreter: the frame was handed on, nothing left
    // to release here.
    when(IRB.CreateICmpNE(St, i8c(NativeOk)), [&] {
      leave(0, -1);
      IRB.SetInsertPoint(block("dead"));
    });
    auto [P, K] = loadScratch(Res);
    emitReturn(P, K);
  }
  BasicBlock *Here = IRB.GetInsertBlock();
  DeoptIp->addIncoming(i32c(OrigIp), Here);
  DeoptHeight->addIncoming(i32c(H), Here);
  for (uint32_t Sl = 0; Sl < NumSlots; ++Sl) {
    DeoptSlots[Sl].first->addIncoming(IRB.CreateLoad(I64, SlotP[Sl]), Here);
    DeoptSlots[Sl].second->addIncoming(IRB.CreateLoad(I8, SlotK[Sl]), Here);
  }
  // The loads must precede the branch: move it after them.
  IRB.CreateBr(DeoptBB);
  IRB.SetInsertPoint(block("dead"));
}

void Lowerer::traceExit(uint32_t OrigIp, uint32_t H, uint8_t Kind) {
  // The stack is written here, the slots in the one block all exits share
  // (phis); the trace never changes scope level in its own frame (the
  // recorder refuses that), so level 0 is the frame.
  // Everything goes to the exit buffer (the frame's own memory may move
  // while the trace runs: calls into the interpreter grow it).
  for (uint32_t K = 0; K < H; ++K) {
    JV V = stackAt(K);
    Value *At = IRB.CreateConstInBoundsGEP1_64(I8, OsrOut,
                                               16 * uint64_t(NumSlots + K));
    IRB.CreateStore(V.P, At);
    IRB.CreateStore(V.K, IRB.CreateConstInBoundsGEP1_64(I8, At, 8));
  }
  if (!ExitBB) {
    IRBuilder<>::InsertPointGuard Guard(IRB);
    ExitBB = block("trace_exit");
    IRB.SetInsertPoint(ExitBB);
    ExitIpPhi = IRB.CreatePHI(I32, 4, "exit_ip");
    ExitHeightPhi = IRB.CreatePHI(I32, 4, "exit_height");
    ExitKindPhi = IRB.CreatePHI(I8, 4, "exit_kind");
    ExitSlots.clear();
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl)
      ExitSlots.push_back({IRB.CreatePHI(I64, 4), IRB.CreatePHI(I8, 4)});
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl) {
      Value *At = IRB.CreateConstInBoundsGEP1_64(I8, OsrOut, 16 * uint64_t(Sl));
      IRB.CreateStore(ExitSlots[Sl].first, At);
      IRB.CreateStore(ExitSlots[Sl].second,
                      IRB.CreateConstInBoundsGEP1_64(I8, At, 8));
    }
    IRB.CreateStore(ExitIpPhi, ctxField(offsetof(NativeCtx, ExitIp)));
    IRB.CreateStore(ExitHeightPhi, ctxField(offsetof(NativeCtx, ExitHeight)));
    IRB.CreateStore(ExitKindPhi, ctxField(offsetof(NativeCtx, ExitKind)));
    IRB.CreateRet(i8c(NativeTraceExit));
  }
  BasicBlock *Here = IRB.GetInsertBlock();
  ExitIpPhi->addIncoming(i32c(OrigIp), Here);
  ExitHeightPhi->addIncoming(i32c(H), Here);
  ExitKindPhi->addIncoming(i8c(Kind), Here);
  for (uint32_t Sl = 0; Sl < NumSlots; ++Sl) {
    ExitSlots[Sl].first->addIncoming(IRB.CreateLoad(I64, SlotP[Sl]), Here);
    ExitSlots[Sl].second->addIncoming(IRB.CreateLoad(I8, SlotK[Sl]), Here);
  }
  IRB.CreateBr(ExitBB);
  IRB.SetInsertPoint(block("dead"));
}

void Lowerer::prologue(Function *F) {
  Fn = F;
  BasicBlock *Entry = BasicBlock::Create(Cx, "entry", Fn);
  IRB.SetInsertPoint(Entry);
  CtxP = Fn->getArg(0);
  StackP.clear();
  StackK.clear();
  SlotP.clear();
  SlotK.clear();
  for (uint32_t K = 0; K < StackSlots; ++K) {
    StackP.push_back(IRB.CreateAlloca(I64, nullptr, "sp"));
    StackK.push_back(IRB.CreateAlloca(I8, nullptr, "sk"));
  }
  for (uint32_t K = 0; K < Levels * NumSlots; ++K) {
    SlotP.push_back(IRB.CreateAlloca(I64, nullptr, "slot"));
    SlotK.push_back(IRB.CreateAlloca(I8, nullptr, "slotk"));
  }
  Scratch = IRB.CreateAlloca(ArrayType::get(I8, 16 * uint64_t(ScratchN)),
                             nullptr, "scratch");
  Scratch->setAlignment(Align(16));
  // Every place starts undef, so that the error exit, which releases what
  // may be a heap value, reads a defined kind on every path.
  for (uint32_t K = 0; K < StackSlots; ++K)
    if (HeapStack[K]) {
      IRB.CreateStore(i64c(0), StackP[K]);
      IRB.CreateStore(kc(ValueKind::Undef), StackK[K]);
    }
  for (uint32_t K = 0; K < Levels * NumSlots; ++K)
    if (HeapSlot[K]) {
      IRB.CreateStore(i64c(0), SlotP[K]);
      IRB.CreateStore(kc(ValueKind::Undef), SlotK[K]);
    }
  DeoptBB = nullptr;
  ExitBB = nullptr;
  ErrExit = BasicBlock::Create(Cx, "error", Fn);
}

void Lowerer::finishErrorExit() {
  // A runtime error leaves the function: release what its frame holds
  // (leave() marked the dead places undef on the way here).
  IRBuilder<>::InsertPointGuard Guard(IRB);
  IRB.SetInsertPoint(ErrExit);
  for (uint32_t H = 0; H < StackSlots; ++H)
    if (HeapStack[H])
      release({IRB.CreateLoad(I64, StackP[H]), IRB.CreateLoad(I8, StackK[H]),
               AnyKind});
  for (uint32_t I = 0; I < Levels * NumSlots; ++I)
    if (HeapSlot[I])
      release({IRB.CreateLoad(I64, SlotP[I]), IRB.CreateLoad(I8, SlotK[I]),
               AnyKind});
  if (Emitting == EntryKind::Fast)
    IRB.CreateRet(ConstantStruct::get(
        RetTy, {ConstantInt::get(I64, 0), ConstantInt::get(I8, NativeErrorKind)}));
  else
    IRB.CreateRet(ConstantInt::get(I8, NativeFailed));
}

Function *Lowerer::emitFast(const std::string &Name) {
  Emitting = EntryKind::Fast;
  unsigned Arity = Def.Arity;
  State S0;
  S0.Reached = true;
  S0.Slots.assign(size_t(Levels) * NumSlots, MUndef);
  for (unsigned K = 0; K < Arity; ++K)
    S0.Slots[K] = K < Req.ParamMasks.size() ? Req.ParamMasks[K] : AnyKind;
  // The return kinds, by fixpoint from "returns nothing yet".
  SelfRet = 0;
  bool Converged = false;
  for (int Round = 0; Round < 10 && !Converged; ++Round) {
    analyse(0, S0);
    KindMask Ret = 0;
    for (size_t K = 0; K < XOps.size(); ++K)
      if (In[K].Reached && XOps[K].I.Op == Opcode::ReturnValue)
        Ret |= In[K].Stack.back();
      else if (In[K].Reached && XOps[K].I.Op == Opcode::Return)
        Ret |= MUndef;
    Converged = Ret == SelfRet;
    SelfRet = Ret;
  }
  if (!Converged) {
    SelfRet = AnyKind;
    analyse(0, S0);
  }
  heapPlaces();

  std::vector<Type *> Params = {Ptr, I32};
  for (unsigned K = 0; K < Arity; ++K) {
    Params.push_back(I64);
    Params.push_back(I8);
  }
  Function *Fast = Function::Create(FunctionType::get(RetTy, Params, false),
                                    Function::ExternalLinkage, Name, Mod);
  Fast->setCallingConv(CallingConv::Fast);
  Fast->addFnAttr(Attribute::NoUnwind);
  Fast->setDSOLocal(true); // direct calls, no PLT
  FastFn = Fast;
  prologue(Fast);
  DepthV = Fast->getArg(1);

  // Check the kinds the body is specialised to.
  Value *Ok = IRB.getTrue();
  for (unsigned K = 0; K < Arity; ++K) {
    KindMask Mk = S0.Slots[K];
    if (Mk != AnyKind) {
      Value *Kd = Fast->getArg(3 + 2 * K);
      Ok = IRB.CreateAnd(
          Ok, IRB.CreateICmpEQ(Kd, i8c(unsigned(__builtin_ctz(Mk)))));
    }
  }
  BasicBlock *Body = block("body");
  if (!isa<ConstantInt>(Ok)) {
    // A different kind: this activation runs in the interpreter, which
    // takes the arguments.
    BasicBlock *Guard = block("guard_failed");
    IRB.CreateCondBr(Ok, Body, Guard);
    IRB.SetInsertPoint(Guard);
    for (unsigned K = 0; K < Arity; ++K)
      spill({Fast->getArg(2 + 2 * K), Fast->getArg(3 + 2 * K), AnyKind}, K);
    IRB.CreateStore(DepthV, ctxField(offsetof(NativeCtx, Depth)));
    Value *St = IRB.CreateCall(
        helper("fvm_rt_interp_call", I8, {Ptr, I32, Ptr, Ptr}),
        {CtxP, i32c(FuncIdx), scratch(0), scratch(Arity)});
    when(IRB.CreateICmpNE(St, i8c(NativeOk)), [&] {
      leave(0, -1);
      IRB.SetInsertPoint(block("dead"));
    });
    auto [P, K] = loadScratch(Arity);
    Value *Rv = IRB.CreateInsertValue(UndefValue::get(RetTy), P, 0);
    IRB.CreateRet(IRB.CreateInsertValue(Rv, K, 1));
  } else {
    IRB.CreateBr(Body);
  }
  IRB.SetInsertPoint(Body);
  for (unsigned K = 0; K < NumSlots; ++K) {
    if (K < Arity) {
      IRB.CreateStore(Fast->getArg(2 + 2 * K), SlotP[K]);
      IRB.CreateStore(Fast->getArg(3 + 2 * K), SlotK[K]);
    } else {
      IRB.CreateStore(i64c(0), SlotP[K]);
      IRB.CreateStore(kc(ValueKind::Undef), SlotK[K]);
    }
  }
  if (Req.Level == JitLevel::Baseline) {
    // Count the call; at zero the tier manager may have this function
    // compiled again, optimised.
    when(countDown(Def.Entry), [&] {
      for (unsigned K = 0; K < Arity; ++K)
        spill({Fast->getArg(2 + 2 * K), Fast->getArg(3 + 2 * K), AnyKind}, K);
      IRB.CreateCall(
          helper("fvm_rt_tier_up", I8, {Ptr, I32, I32, Ptr, Ptr, I32}),
          {CtxP, i32c(FuncIdx), i32c(Def.Entry), scratch(0),
           ConstantPointerNull::get(cast<PointerType>(Ptr)), i32c(0)});
    });
  }
  emitBody(0);
  return Fast;
}

Function *Lowerer::emitEntry(const std::string &Name, Function *Fast) {
  Function *E = Function::Create(FunctionType::get(I8, {Ptr, Ptr, Ptr}, false),
                                 Function::ExternalLinkage, Name, Mod);
  E->addFnAttr(Attribute::NoUnwind);
  E->setDSOLocal(true);
  IRBuilder<> EB(BasicBlock::Create(Cx, "entry", E));
  Value *Args = E->getArg(1);
  std::vector<Value *> CallArgs = {
      E->getArg(0),
      EB.CreateLoad(I32, EB.CreateConstInBoundsGEP1_64(
                             I8, E->getArg(0), offsetof(NativeCtx, Depth)))};
  Value *Ok = EB.getTrue();
  for (unsigned K = 0; K < Def.Arity; ++K) {
    Value *At = EB.CreateConstInBoundsGEP1_64(I8, Args, 16 * uint64_t(K));
    Value *Kd = EB.CreateLoad(I8, EB.CreateConstInBoundsGEP1_64(I8, At, 8));
    CallArgs.push_back(EB.CreateLoad(I64, At));
    CallArgs.push_back(Kd);
    KindMask Mk = K < Req.ParamMasks.size() ? Req.ParamMasks[K] : AnyKind;
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
  Emitting = EntryKind::Osr;
  FastFn = Fast;
  SelfRet = Ret;
  State S0;
  S0.Reached = true;
  S0.Slots.assign(size_t(Levels) * NumSlots, MUndef);
  for (size_t K = 0; K < NumSlots; ++K)
    S0.Slots[K] = maskOf(Req.OsrSlots[K]);
  for (size_t K = 0; K < Req.OsrStack.size(); ++K)
    S0.Stack.push_back(maskOf(Req.OsrStack[K]));
  uint32_t Start = OrigToX[uint32_t(Req.OsrIp) - Def.Entry];
  analyse(Start, S0);
  heapPlaces();

  Function *O = Function::Create(
      FunctionType::get(I8, {Ptr, Ptr, Ptr, Ptr}, false),
      Function::ExternalLinkage, Name, Mod);
  O->addFnAttr(Attribute::NoUnwind);
  prologue(O);
  DepthV = IRB.CreateLoad(I32, ctxField(offsetof(NativeCtx, Depth)));
  OsrOut = O->getArg(3);
  Value *Slots = O->getArg(1), *Stack = O->getArg(2);
  Value *Ok = IRB.getTrue();
  // Load value K of the frame at Base, and require its exact kind.
  auto guard = [&](Value *Base, size_t K, ValueKind Kd) {
    Value *At = IRB.CreateConstInBoundsGEP1_64(I8, Base, 16 * uint64_t(K));
    Value *Kv = IRB.CreateLoad(I8, IRB.CreateConstInBoundsGEP1_64(I8, At, 8));
    Ok = IRB.CreateAnd(Ok, IRB.CreateICmpEQ(Kv, kc(Kd)));
    return PathValue(IRB.CreateLoad(I64, At), Kv);
  };
  std::vector<PathValue> SlotV, StackV;
  for (size_t K = 0; K < NumSlots; ++K)
    SlotV.push_back(guard(Slots, K, Req.OsrSlots[K]));
  for (size_t K = 0; K < Req.OsrStack.size(); ++K)
    StackV.push_back(guard(Stack, K, Req.OsrStack[K]));
  BasicBlock *Body = block("body"), *Refuse = block("refuse");
  IRB.CreateCondBr(Ok, Body, Refuse);
  IRB.SetInsertPoint(Refuse);
  IRB.CreateRet(i8c(NativeGuardFailed));
  IRB.SetInsertPoint(Body);
  for (size_t K = 0; K < NumSlots; ++K) {
    IRB.CreateStore(SlotV[K].first, SlotP[K]);
    IRB.CreateStore(SlotV[K].second, SlotK[K]);
  }
  for (size_t K = 0; K < StackV.size(); ++K)
    put(uint32_t(K), StackV[K].first, StackV[K].second);
  emitBody(Start);
  return O;
}

Function *Lowerer::emitTrace(const std::string &Name) {
  Emitting = EntryKind::Trace;
  Tracing = true;
  FastFn = nullptr; // calls, self-recursive ones too, go through the table
  SelfRet = AnyKind;
  State S0;
  S0.Reached = true;
  S0.Slots.assign(size_t(Levels) * NumSlots, MUndef);
  for (size_t K = 0; K < NumSlots; ++K)
    S0.Slots[K] = maskOf(Req.OsrSlots[K]);
  for (size_t K = 0; K < Req.OsrStack.size(); ++K)
    S0.Stack.push_back(maskOf(Req.OsrStack[K]));
  uint32_t Start = OrigToX[uint32_t(Req.OsrIp) - Def.Entry];
  TraceStartX = Start;
  analyse(Start, S0);
  heapPlaces();

  Function *T = Function::Create(
      FunctionType::get(I8, {Ptr, Ptr, Ptr, Ptr}, false),
      Function::ExternalLinkage, Name, Mod);
  T->addFnAttr(Attribute::NoUnwind);
  prologue(T);
  DepthV = IRB.CreateLoad(I32, ctxField(offsetof(NativeCtx, Depth)));
  OsrOut = T->getArg(3);
  TraceSlots = T->getArg(1);
  TraceStack = T->getArg(2);
  // The kinds the trace was recorded with, exactly; any other and the
  // interpreter keeps the frame (nothing was taken from it).
  Value *Ok = IRB.getTrue();
  auto guard = [&](Value *Base, size_t K, ValueKind Kd) {
    Value *At = IRB.CreateConstInBoundsGEP1_64(I8, Base, 16 * uint64_t(K));
    Value *Kv = IRB.CreateLoad(I8, IRB.CreateConstInBoundsGEP1_64(I8, At, 8));
    Ok = IRB.CreateAnd(Ok, IRB.CreateICmpEQ(Kv, kc(Kd)));
    return PathValue(IRB.CreateLoad(I64, At), Kv);
  };
  std::vector<PathValue> SlotV, StackV;
  for (size_t K = 0; K < NumSlots; ++K)
    SlotV.push_back(guard(TraceSlots, K, Req.OsrSlots[K]));
  for (size_t K = 0; K < Req.OsrStack.size(); ++K)
    StackV.push_back(guard(TraceStack, K, Req.OsrStack[K]));
  BasicBlock *Body = block("body"), *Refuse = block("refuse");
  IRB.CreateCondBr(Ok, Body, Refuse);
  IRB.SetInsertPoint(Refuse);
  IRB.CreateRet(i8c(NativeGuardFailed));
  IRB.SetInsertPoint(Body);
  for (size_t K = 0; K < NumSlots; ++K) {
    IRB.CreateStore(SlotV[K].first, SlotP[K]);
    IRB.CreateStore(SlotV[K].second, SlotK[K]);
  }
  for (size_t K = 0; K < StackV.size(); ++K)
    put(uint32_t(K), StackV[K].first, StackV[K].second);
  emitBody(Start);
  return T;
}

void Lowerer::emitBody(uint32_t Start) {
  std::vector<bool> Leader(XOps.size() + 1, false);
  Leader[0] = Leader[Start] = true;
  for (uint32_t K = 0; K < XOps.size(); ++K) {
    Opcode Op = XOps[K].I.Op;
    if (hasFlag(Op, OpBranch))
      Leader[XOps[K].T] = true;
    if (hasFlag(Op, OpBranch) || hasFlag(Op, OpTerminator))
      Leader[K + 1] = true;
  }
  BB.assign(XOps.size(), nullptr);
  for (uint32_t K = 0; K < XOps.size(); ++K)
    if (Leader[K] && In[K].Reached)
      BB[K] = BasicBlock::Create(Cx, "op" + std::to_string(XOps[K].Orig), Fn);
  IRB.CreateBr(BB[Start]);
  bool Open = false; // the insert block still needs a terminator
  for (uint32_t K = 0; K < XOps.size(); ++K) {
    if (!In[K].Reached) {
      continue;
    }
    if (BB[K]) {
      if (Open)
        IRB.CreateBr(BB[K]);
      IRB.SetInsertPoint(BB[K]);
    } else if (!Open) {
      continue; // follows a terminator but was never a target
    }
    Open = true;
    emitOp(K);
    Opcode Op = XOps[K].I.Op;
    if (hasFlag(Op, OpTerminator) || hasFlag(Op, OpBranch))
      Open = false;
    K += Absorbed; // ops the one just emitted did the work of
    Absorbed = 0;
  }
  if (Open)
    IRB.CreateUnreachable();
  finishErrorExit();
  tagAccesses();
}

void Lowerer::releaseFrame(uint32_t Live) {
  for (uint32_t K = 0; K < Live; ++K)
    release(stackAt(K));
  for (uint32_t L = 0; L <= Cur->Level; ++L)
    for (uint32_t S = 0; S < NumSlots; ++S) {
      uint32_t I = L * NumSlots + S;
      release({IRB.CreateLoad(I64, SlotP[I]), IRB.CreateLoad(I8, SlotK[I]),
               Cur->Slots[I]});
    }
}

void Lowerer::emitReturn(Value *P, Value *K) {
  if (Emitting == EntryKind::Fast) {
    Value *Rv = IRB.CreateInsertValue(UndefValue::get(RetTy), P, 0);
    IRB.CreateRet(IRB.CreateInsertValue(Rv, K, 1));
    return;
  }
  IRB.CreateStore(P, OsrOut);
  IRB.CreateStore(K, IRB.CreateConstInBoundsGEP1_64(I8, OsrOut, 8));
  IRB.CreateRet(i8c(NativeOk));
}

} // namespace jit

LoweredNames lowerFunction(Module &M, const JitRequest &R,
                           const std::string &Prefix,
                           const std::vector<JitExtension *> *Ext) {
  LoweredNames N;
  if (!R.Trace.empty()) {
    // The functions the recording called into, deepest first, each
    // specialised to the kinds it was called with; calls among them and
    // from the trace go straight to them, and LLVM inlines what pays.
    std::unordered_map<uint32_t, Function *> Direct;
    for (const JitRequest::Callee &Ce : R.TraceCallees) {
      JitRequest RC = R;
      RC.Trace.clear();
      RC.TraceCallees.clear();
      RC.TraceStress = false;
      RC.Func = Ce.Func;
      RC.OsrIp = -1;
      RC.OsrSlots.clear();
      RC.OsrStack.clear();
      RC.Linear = false;
      RC.ParamMasks = Ce.Params;
      RC.NoSpeculation = Ce.NoSpeculation;
      jit::Lowerer LC(M, RC);
      LC.setDirect(&Direct);
      LC.setExtensions(Ext);
      Function *Fn = LC.emitFast(Prefix + ".f" + std::to_string(Ce.Func));
      Fn->setLinkage(GlobalValue::InternalLinkage);
      Direct[Ce.Func] = Fn;
    }
    N.Osr = Prefix + ".trace";
    jit::Lowerer LT(M, R);
    LT.setDirect(&Direct);
    LT.setExtensions(Ext);
    LT.emitTrace(N.Osr);
    return N;
  }
  // main runs once: entered by on-stack replacement it needs no entry for
  // calls (a call to main, if any, goes through the runtime).
  bool Calls = !(R.OsrIp >= 0 && R.Func == R.Info->Main);
  Function *Fast = nullptr;
  KindMask Ret = AnyKind;
  if (Calls) {
    N.Fast = Prefix + ".fast";
    N.Entry = Prefix + ".entry";
    jit::Lowerer L(M, R);
    L.setExtensions(Ext);
    Fast = L.emitFast(N.Fast);
    L.emitEntry(N.Entry, Fast);
    Ret = L.selfReturn();
  }
  if (R.OsrIp >= 0) {
    N.Osr = Prefix + ".osr";
    jit::Lowerer LO(M, R);
    LO.setExtensions(Ext);
    LO.emitOsr(N.Osr, Fast, Ret);
  }
  return N;
}

SiteKinds siteKinds(const JitRequest &R) {
  LLVMContext Cx;
  Module M("fusevm.analysis", Cx);
  return jit::Lowerer(M, R).siteKinds();
}

} // namespace fusevm
