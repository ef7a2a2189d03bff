//===- LowerSupport.cpp - IR-building helpers of the Lowerer --------------===//

#include "Lowering.h"

using namespace llvm;

namespace fusevm::jit {

void Lowerer::tagAccesses() {
  for (BasicBlock &Block : *Fn)
    for (Instruction &I : Block) {
      Value *P = nullptr;
      if (auto *L = dyn_cast<LoadInst>(&I))
        P = L->getPointerOperand();
      else if (auto *S = dyn_cast<StoreInst>(&I))
        P = S->getPointerOperand();
      auto It = P ? PtrTag.find(P) : PtrTag.end();
      if (It != PtrTag.end())
        I.setMetadata(LLVMContext::MD_tbaa, It->second);
    }
  PtrTag.clear();
}

Lowerer::ArrayHdr Lowerer::arrayHdr(Value *CP) {
  Value *Obj = IRB.CreateIntToPtr(CP, Ptr);
  Value *Begin = IRB.CreateLoad(Ptr, arrayField(Obj, ArrayBeginOffset));
  Value *End = IRB.CreateLoad(Ptr, arrayField(Obj, ArrayEndOffset));
  Value *Size = IRB.CreateLShr(IRB.CreateSub(IRB.CreatePtrToInt(End, I64),
                                             IRB.CreatePtrToInt(Begin, I64)),
                               i64c(4));
  return {Obj, Begin, End, Size};
}

std::pair<Value *, Value *> Lowerer::elementAt(Value *Begin, Value *Idx) {
  Value *At = tag(
      IRB.CreateInBoundsGEP(I8, Begin, IRB.CreateShl(Idx, i64c(4))), TElem);
  return {At, tag(IRB.CreateConstInBoundsGEP1_64(I8, At, 8), TElem)};
}

void Lowerer::require(Value *Cond, BasicBlock *Else) {
  BasicBlock *Ok = block("ok");
  IRB.CreateCondBr(Cond, Ok, Else);
  IRB.SetInsertPoint(Ok);
}

BasicBlock *Lowerer::deoptBlock(uint32_t XI) {
  IRBuilder<>::InsertPointGuard Guard(IRB);
  BasicBlock *Fail = block("spec_failed");
  IRB.SetInsertPoint(Fail);
  deopt(XI);
  IRB.CreateUnreachable();
  return Fail;
}

void Lowerer::spill(const JV &V, unsigned I) {
  Value *At = scratch(I);
  IRB.CreateStore(V.P, At);
  IRB.CreateStore(V.K, IRB.CreateConstInBoundsGEP1_64(I8, At, 8));
}

PathValue Lowerer::loadScratch(unsigned I) {
  Value *At = scratch(I);
  return {IRB.CreateLoad(I64, At),
          IRB.CreateLoad(I8, IRB.CreateConstInBoundsGEP1_64(I8, At, 8))};
}

Value *Lowerer::kindIs(const JV &V, ValueKind K) {
  KindMask Bit = maskOf(K);
  if (!(V.M & Bit))
    return IRB.getFalse();
  if (V.M == Bit)
    return IRB.getTrue();
  return IRB.CreateICmpEQ(V.K, kc(K));
}

Value *Lowerer::isHeap(const JV &V) {
  if (!(V.M & MHeap))
    return IRB.getFalse();
  if (!(V.M & ~MHeap))
    return IRB.getTrue();
  return IRB.CreateICmpUGE(V.K, kc(ValueKind::Str));
}

Value *Lowerer::asDouble(const JV &V) {
  Value *AsF = IRB.CreateBitCast(V.P, Dbl);
  if (!(V.M & MInt))
    return AsF;
  Value *AsI = IRB.CreateSIToFP(V.P, Dbl);
  if (!(V.M & MFloat))
    return AsI;
  return IRB.CreateSelect(kindIs(V, ValueKind::Int), AsI, AsF);
}

void Lowerer::when(Value *Cond, const std::function<void()> &Body) {
  if (auto *CI = dyn_cast<ConstantInt>(Cond)) {
    if (CI->isOne())
      Body();
    return;
  }
  BasicBlock *Then = block("then"), *Done = block("done");
  IRB.CreateCondBr(Cond, Then, Done);
  IRB.SetInsertPoint(Then);
  Body();
  IRB.CreateBr(Done);
  IRB.SetInsertPoint(Done);
}

void Lowerer::retain(const JV &V) {
  when(isHeap(V), [&] {
    Value *O = tag(IRB.CreateIntToPtr(V.P, Ptr), TRC);
    IRB.CreateStore(IRB.CreateAdd(IRB.CreateLoad(I32, O), i32c(1)), O);
  });
}

void Lowerer::release(const JV &V) {
  when(isHeap(V), [&] {
    Value *O = tag(IRB.CreateIntToPtr(V.P, Ptr), TRC);
    Value *RC = IRB.CreateSub(IRB.CreateLoad(I32, O), i32c(1));
    IRB.CreateStore(RC, O);
    when(IRB.CreateICmpEQ(RC, i32c(0)), [&] {
      IRB.CreateCall(helper("fvm_rt_destroy", IRB.getVoidTy(), {Ptr}), {O});
    });
  });
}

FunctionCallee Lowerer::helper(const char *Name, Type *Ret,
                               ArrayRef<Type *> Params) {
  FunctionCallee FC =
      Mod.getOrInsertFunction(Name, FunctionType::get(Ret, Params, false));
  if (auto *F = dyn_cast<Function>(FC.getCallee()))
    F->addFnAttr(Attribute::NoUnwind);
  return FC;
}

void Lowerer::leave(uint32_t LiveH, int Level) {
  // The error exit releases every stack entry and slot that may hold a
  // heap value; entries that are dead here (consumed, popped, above the
  // stack, scopes closed) are marked undef first. mem2reg turns these
  // stores into the error exit's phi operands.
  for (uint32_t H = LiveH; H < StackSlots; ++H)
    if (HeapStack[H])
      IRB.CreateStore(kc(ValueKind::Undef), StackK[H]);
  for (uint32_t I = 0; I < Levels * NumSlots; ++I)
    if (HeapSlot[I] && int(I / NumSlots) > Level)
      IRB.CreateStore(kc(ValueKind::Undef), SlotK[I]);
  IRB.CreateBr(ErrExit);
}

void Lowerer::raiseIf(Value *Failed, Value *Code, uint32_t Orig) {
  when(Failed, [&] {
    IRB.CreateStore(IRB.CreateTrunc(Code, I8),
                    ctxField(offsetof(NativeCtx, Err)));
    IRB.CreateStore(i32c(Orig), ctxField(offsetof(NativeCtx, ErrIp)));
    leave(Live, Cur->Level);
    IRB.SetInsertPoint(block("dead"));
  });
}

void Lowerer::check(Value *Code, uint32_t Orig) {
  raiseIf(IRB.CreateICmpNE(Code, ConstantInt::get(Code->getType(), 0)), Code,
          Orig);
}

void Lowerer::propagateIf(Value *Failed) {
  when(Failed, [&] {
    leave(Live, Cur->Level);
    IRB.SetInsertPoint(block("dead"));
  });
}

void Lowerer::fuelCheck(uint32_t Orig) {
  if (!Req.Budget)
    return;
  Value *At = ctxField(offsetof(NativeCtx, Fuel));
  Value *Left = IRB.CreateSub(IRB.CreateLoad(I64, At), i64c(1));
  IRB.CreateStore(Left, At);
  raiseIf(IRB.CreateICmpEQ(Left, i64c(0)),
          i8c(unsigned(RtError::BudgetExhausted)), Orig);
}

PathValue Lowerer::cases(std::vector<Path> Paths) {
  BasicBlock *Join = block("join");
  std::vector<std::tuple<BasicBlock *, Value *, Value *>> Ins;
  for (size_t I = 0; I < Paths.size(); ++I) {
    Value *Cond = I + 1 == Paths.size() ? IRB.getTrue() : Paths[I].Cond;
    auto *CI = dyn_cast<ConstantInt>(Cond);
    if (CI && CI->isZero())
      continue;
    BasicBlock *Next = nullptr;
    if (!CI) {
      BasicBlock *Then = block("case");
      Next = block("next");
      IRB.CreateCondBr(Cond, Then, Next);
      IRB.SetInsertPoint(Then);
    }
    auto [P, K] = Paths[I].Emit();
    Ins.emplace_back(IRB.GetInsertBlock(), P, K);
    IRB.CreateBr(Join);
    if (!Next)
      break;
    IRB.SetInsertPoint(Next);
  }
  if (IRB.GetInsertBlock()->getTerminator() == nullptr &&
      IRB.GetInsertBlock() != Join)
    IRB.CreateUnreachable();
  IRB.SetInsertPoint(Join);
  if (Ins.size() == 1)
    return {std::get<1>(Ins[0]), std::get<2>(Ins[0])};
  PHINode *P = IRB.CreatePHI(std::get<1>(Ins[0])->getType(), Ins.size());
  PHINode *K = std::get<2>(Ins[0])
                   ? IRB.CreatePHI(std::get<2>(Ins[0])->getType(), Ins.size())
                   : nullptr;
  for (auto &[From, VP, VK] : Ins) {
    P->addIncoming(VP, From);
    if (K)
      K->addIncoming(VK, From);
  }
  return {P, K};
}

Value *Lowerer::truthy(const JV &V, bool Consume) {
  auto R = cases({
      {IRB.CreateOr(kindIs(V, ValueKind::Bool), kindIs(V, ValueKind::Int)),
       [&] { return PathValue(IRB.CreateICmpNE(V.P, i64c(0)), nullptr); }},
      {kindIs(V, ValueKind::Float),
       [&] {
         return PathValue(IRB.CreateFCmpUNE(IRB.CreateBitCast(V.P, Dbl),
                                            ConstantFP::get(Dbl, 0.0)),
                          nullptr);
       }},
      {kindIs(V, ValueKind::Undef),
       [&] { return PathValue(IRB.getFalse(), nullptr); }},
      {IRB.getTrue(),
       [&] {
         if (!Consume)
           retain(V);
         spill(V, 0);
         Value *T =
             IRB.CreateCall(helper("fvm_rt_truthy", I8, {Ptr}), {scratch(0)});
         return PathValue(IRB.CreateICmpNE(T, i8c(0)), nullptr);
       }},
  });
  return R.first;
}

} // namespace fusevm::jit
