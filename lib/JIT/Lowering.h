//===- Lowering.h - Verified bytecode to LLVM IR, inside ----------*- C++ -*-===//
//
// \file
// The Lowerer behind lowerFunction (Lower.h), shared by its files:
//   KindAnalysis.cpp   kind masks: what each stack entry and slot can hold
//   LowerFunction.cpp  expansion, entry points (fast, boxed, OSR), the body,
//                      deoptimisation and the error exit
//   LowerOps.cpp       one op at a time
//   LowerSupport.cpp   IR-building helpers (paths, truthiness, refcounts,
//                      raising errors)
//
// Native value convention: a Value is a (payload i64, kind i8) pair. The
// operand stack and the slots of every scope level are alloca pairs that
// SROA/mem2reg turn into SSA values.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_JIT_LOWERING_H
#define FUSEVM_LIB_JIT_LOWERING_H

#include "Lower.h"

#include "fusevm/JIT/Extension.h"

#include "fusevm/Core/Opcode.h"
#include "fusevm/Verify/Verifier.h"
#include "fusevm/VM/Runtime.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/MDBuilder.h"

#include <cstddef>
#include <functional>
#include <unordered_map>

namespace fusevm::jit {

using llvm::BasicBlock;
using llvm::Constant;
using llvm::Function;
using llvm::PHINode;
using llvm::Type;
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
KindMask numOf(KindMask M);
/// Kinds of an arithmetic op's result.
KindMask arithMask(Opcode Op, KindMask A, KindMask B);
/// Kinds of standard builtin \p Id's result for arguments of kinds \p Args.
KindMask builtinMask(uint16_t Id, const KindMask *Args);

/// An expanded op: a plain op of the chunk, or one of a fused op's plain
/// ops (Core/FusedOps.def).
struct XOp {
  Instr I;
  uint32_t Orig; ///< the chunk op it comes from (errors, deopt, OSR)
  uint32_t T;    ///< jump target, as an expanded index
};

/// Stack entries op \p O pops (LowerOps.cpp).
uint32_t consumed(const XOp &O, const Chunk &Prog);

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

/// Values each path of cases() yields: (payload, kind or null).
using PathValue = std::pair<Value *, Value *>;

class Lowerer {
public:
  Lowerer(llvm::Module &M, const JitRequest &R);

  Function *emitFast(const std::string &Name);
  Function *emitEntry(const std::string &Name, Function *Fast);
  Function *emitOsr(const std::string &Name, Function *Fast, KindMask Ret);
  /// The tracing tier: the trace anchored at Req.OsrIp, along the
  /// directions Req.Trace recorded (docs/trace.md).
  Function *emitTrace(const std::string &Name);
  KindMask selfReturn() const { return SelfRet; }
  /// Functions of this module that calls to them go to directly (a
  /// trace's callees), by function index.
  void setDirect(const std::unordered_map<uint32_t, Function *> *D) { Direct = D; }
  /// Frontends' lowerings of their extended ops (JitExtension).
  void setExtensions(const std::vector<JitExtension *> *E) { Ext = E; }
  /// See fusevm::siteKinds (Lower.h).
  SiteKinds siteKinds();

private:
  //===-- Step 1: expansion (LowerFunction.cpp) ----------------------------===//
  void expand();

  //===-- Step 2: kind analysis (KindAnalysis.cpp) -------------------------===//
  void analyse(uint32_t Seed, const State &S0);
  void transfer(const XOp &O, State &S) const;
  /// The kinds whose speculation op \p O may make: of the global a GetVar
  /// reads, of the elements of the array an ArrayGet/ArraySet touches (0:
  /// none), from the request's snapshot.
  KindMask specVar(const XOp &O) const;
  KindMask specElem(const XOp &O) const;
  /// Which stack heights and slots may hold a heap value anywhere in the
  /// function: what the error exit must release.
  void heapPlaces();

  //===-- Step 3: emission (LowerFunction.cpp, LowerOps.cpp) ---------------===//
  void prologue(Function *Fn);
  void emitBody(uint32_t Start);
  void finishErrorExit();
  void emitOp(uint32_t XI);
  void emitReturn(Value *P, Value *K);
  void releaseFrame(uint32_t Live);
  /// Hands the frame to the interpreter before op \p XI (deoptAt: before
  /// chunk op \p OrigIp with \p H stack values).
  void deopt(uint32_t XI);
  void deoptAt(uint32_t OrigIp, uint32_t H);
  /// A trace's exit before chunk op \p OrigIp with \p H stack values:
  /// writes the frame back and returns NativeTraceExit.
  void traceExit(uint32_t OrigIp, uint32_t H, uint8_t Kind);
  /// What the trace recorded at chunk op \p OrigIp (TraceMark), or
  /// TraceOn when this is not a trace.
  uint8_t traceMark(uint32_t OrigIp) const {
    return Req.Trace.empty() ? uint8_t(TraceOn) : Req.Trace[OrigIp - Def.Entry];
  }
  /// The recorded direction of the conditional branch XOps[XI], when it is
  /// one of the chunk's own and the trace went only one way: TraceFell or
  /// TraceJumped, else 0.
  uint8_t traceDirection(uint32_t XI) const;
  /// A backward branch of op \p O, with \p H values on the stack at its
  /// target: charges the budget, and in baseline code counts toward
  /// tiering up.
  void backEdge(const XOp &O, uint32_t H);
  /// A type test at \p XI, emitted whole (it sets Absorbed); false if the
  /// ops there are not one.
  bool emitTypeTest(uint32_t XI);
  uint32_t Absorbed = 0; ///< ops after the one emitted that it did
  const char *stackRegister() const;
  /// Decrements NativeCtx::HotCounts[OrigIp]; true when it reached zero.
  Value *countDown(uint32_t OrigIp);
  void emitArith(const XOp &O);
  void emitCompare(const XOp &O);
  void emitCall(const XOp &O);
  void emitBuiltin(const XOp &O);
  /// An extended op lowered by a frontend's JitExtension (true), or not.
  bool lowerExtension(const XOp &O, unsigned Pops, unsigned Pushes);
  /// Element \p Idx of the array (CP, CK) when it is an array and Idx an
  /// int (undef out of range), else \p Slow.
  PathValue arrayGet(Value *CP, Value *CK, KindMask CM, const JV &Idx,
                     const std::function<PathValue()> &Slow);
  /// Stores \p V at \p Idx of the array (CP, CK) when that is an in-range
  /// store into a single-owner array (or an append with room), else \p Slow.
  void arraySet(Value *CP, Value *CK, KindMask CM, const JV &V, const JV &Idx,
                const std::function<void()> &Slow);

  //===-- What is being lowered --------------------------------------------===//
  llvm::Module &Mod;
  llvm::LLVMContext &Cx;
  llvm::IRBuilder<> IRB;
  const JitRequest &Req;
  const Chunk &Prog;
  const VerifyInfo &Info;
  uint32_t FuncIdx;        ///< the function being lowered
  const FunctionDef &Def;  ///< its entry in the chunk's function table
  uint32_t NumSlots;       ///< slots per scope level
  uint32_t Levels;         ///< scope levels (deepest PushFrame nesting + 1)
  uint32_t StackSlots;     ///< operand-stack allocas
  Type *I1, *I8, *I32, *I64, *Dbl, *Ptr;
  llvm::StructType *RetTy; ///< {i64, i8}: a fast function's result

  std::vector<XOp> XOps;         ///< the function's ops, expanded
  std::vector<uint32_t> OrigToX; ///< chunk op (from Def.Entry) -> XOps index
  unsigned ScratchN = 4;         ///< Values of scratch memory for helpers
  std::vector<State> In;         ///< kinds before each expanded op
  std::vector<bool> HeapStack, HeapSlot; ///< see heapPlaces()
  /// Kinds this function returns for its specialisation (see Call).
  KindMask SelfRet = AnyKind;

  //===-- The function being emitted --------------------------------------===//
  enum class EntryKind { Fast, Osr, Trace } Emitting = EntryKind::Fast;
  const std::unordered_map<uint32_t, Function *> *Direct = nullptr;
  const std::vector<JitExtension *> *Ext = nullptr;
  friend class ExtLoweringImpl;
  bool Tracing = false;     ///< a trace: exits instead of deoptimisation
  uint32_t TraceStartX = UINT32_MAX; ///< the anchor's expanded op
  Value *TraceSlots = nullptr, *TraceStack = nullptr; ///< the frame it borrows
  BasicBlock *ExitBB = nullptr;
  PHINode *ExitIpPhi = nullptr, *ExitHeightPhi = nullptr, *ExitKindPhi = nullptr;
  std::vector<std::pair<PHINode *, PHINode *>> ExitSlots;
  Function *Fn = nullptr, *FastFn = nullptr;
  Value *CtxP = nullptr, *OsrOut = nullptr;
  Value *DepthV = nullptr; ///< this activation's call depth
  llvm::AllocaInst *Scratch = nullptr;
  /// Payload and kind allocas of the operand stack and of the slots.
  std::vector<llvm::AllocaInst *> StackP, StackK, SlotP, SlotK;
  std::vector<BasicBlock *> BB; ///< per expanded op that starts a block
  BasicBlock *ErrExit = nullptr;
  BasicBlock *DeoptBB = nullptr;
  PHINode *DeoptIp = nullptr, *DeoptHeight = nullptr;
  std::vector<std::pair<PHINode *, PHINode *>> DeoptSlots;

  //===-- The op being emitted ---------------------------------------------===//
  const State *Cur = nullptr; ///< kinds before it
  uint32_t Height = 0;        ///< stack height before it
  /// Stack entries that hold live values if it raises an error now: those
  /// below its operands once a helper has consumed them (set per op, and
  /// around calls, where the arguments are live until the call).
  uint32_t Live = 0;

  //===-- IR-building helpers (LowerSupport.cpp unless trivial) ------------===//
  Constant *i8c(unsigned V) { return llvm::ConstantInt::get(I8, V); }
  Constant *i32c(uint64_t V) { return llvm::ConstantInt::get(I32, V); }
  Constant *i64c(uint64_t V) { return llvm::ConstantInt::get(I64, V); }
  Constant *kc(ValueKind K) { return i8c(unsigned(K)); }
  BasicBlock *block(const char *Name) {
    return BasicBlock::Create(Cx, Name, Fn);
  }

  /// Type-based alias classes: the run context, the globals table, array
  /// headers, array elements and refcounts never overlap, so a store to an
  /// element does not force reloading a global or an array's bounds (LICM
  /// hoists them out of loops).
  llvm::MDNode *TCtx, *TGlobal, *THdr, *TElem, *TRC;
  std::unordered_map<Value *, llvm::MDNode *> PtrTag; ///< see tagAccesses()
  Value *tag(Value *P, llvm::MDNode *T) {
    PtrTag[P] = T;
    return P;
  }
  /// Puts each pointer's alias class on the loads and stores through it.
  void tagAccesses();

  Value *ctxField(size_t Off) {
    return tag(IRB.CreateConstInBoundsGEP1_64(I8, CtxP, Off), TCtx);
  }
  Value *arrayField(Value *Obj, size_t Off) {
    return tag(IRB.CreateConstInBoundsGEP1_64(I8, Obj, Off), THdr);
  }
  /// The header of the array whose payload is \p CP (Native.h's layout).
  struct ArrayHdr {
    Value *Obj, *Begin, *End, *Size;
  };
  ArrayHdr arrayHdr(Value *CP);
  /// Element \p Idx's payload and kind addresses.
  std::pair<Value *, Value *> elementAt(Value *Begin, Value *Idx);

  /// Continues in a new block when \p Cond holds; else goes to \p Else.
  void require(Value *Cond, BasicBlock *Else);
  /// A block that deoptimises at op \p XI (the insert point stays).
  BasicBlock *deoptBlock(uint32_t XI);
  Value *scratch(unsigned I) {
    return IRB.CreateConstInBoundsGEP1_64(I8, Scratch, 16 * uint64_t(I));
  }
  void spill(const JV &V, unsigned I);
  PathValue loadScratch(unsigned I);

  JV stackAt(uint32_t H) {
    return {IRB.CreateLoad(I64, StackP[H]), IRB.CreateLoad(I8, StackK[H]),
            Cur->Stack[H]};
  }
  /// Operand \p K from the top at the op's start (0 = top).
  JV in(uint32_t K) { return stackAt(Height - 1 - K); }
  void put(uint32_t H, Value *P, Value *K) {
    IRB.CreateStore(P, StackP[H]);
    IRB.CreateStore(K, StackK[H]);
  }
  uint32_t slotIndex(uint32_t S) const { return Cur->Level * NumSlots + S; }
  JV slot(uint32_t S) {
    uint32_t I = slotIndex(S);
    return {IRB.CreateLoad(I64, SlotP[I]), IRB.CreateLoad(I8, SlotK[I]),
            Cur->Slots[I]};
  }
  void setSlot(uint32_t S, Value *P, Value *K) {
    uint32_t I = slotIndex(S);
    IRB.CreateStore(P, SlotP[I]);
    IRB.CreateStore(K, SlotK[I]);
  }

  Value *kindIs(const JV &V, ValueKind K);
  Value *isNum(const JV &V) {
    return IRB.CreateOr(kindIs(V, ValueKind::Int), kindIs(V, ValueKind::Float));
  }
  Value *isHeap(const JV &V);
  Value *asDouble(const JV &V);
  Value *bits(Value *D) { return IRB.CreateBitCast(D, I64); }

  /// Runs \p Body only when \p Cond holds at run time.
  void when(Value *Cond, const std::function<void()> &Body);
  void retain(const JV &V);
  void release(const JV &V);
  llvm::FunctionCallee helper(const char *Name, Type *Ret,
                              llvm::ArrayRef<Type *> Params);

  /// Leaves for the error exit, which releases what the frame holds: the
  /// slots of the open scopes and the first \p LiveH stack entries
  /// (\p Level -1: nothing, the frame was handed on).
  void leave(uint32_t LiveH, int Level);
  /// Leaves with runtime error \p Code (an RtError) raised at chunk op
  /// \p Orig, when \p Failed.
  void raiseIf(Value *Failed, Value *Code, uint32_t Orig);
  /// A helper's RtError result: nonzero leaves.
  void check(Value *Code, uint32_t Orig);
  /// A call helper's result: NativeFailed leaves with Err already set.
  void propagateIf(Value *Failed);
  /// Charges one unit of the instruction budget (when the request has one).
  void fuelCheck(uint32_t Orig);

  /// Emits the first path whose condition holds; a path with a constant
  /// false condition is not emitted, one with a constant true condition
  /// ends the chain; the last path's condition is taken as true. Each path
  /// yields (payload, kind); the result joins them.
  struct Path {
    Value *Cond;
    std::function<PathValue()> Emit;
  };
  PathValue cases(std::vector<Path> Paths);
  /// truthy(v); consumes v when \p Consume (else v stays on the stack).
  Value *truthy(const JV &V, bool Consume);
};

} // namespace fusevm::jit

#endif // FUSEVM_LIB_JIT_LOWERING_H
