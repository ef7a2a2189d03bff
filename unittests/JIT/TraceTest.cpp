//===- TraceTest.cpp - The tracing tier's types and behaviour -------------===//

#include "TestUtil.h"

#include "fusevm/JIT/JIT.h"
#include "fusevm/JIT/Trace.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

using namespace fusevm;
using namespace fusevm::test;

namespace {

RunOptions traceMode(uint32_t Threshold = 1, bool Stress = false) {
  RunOptions O;
  O.Jit = &engine();
  O.Mode = RunOptions::JitMode::Trace;
  O.Trace.TraceThreshold = Threshold;
  O.TraceStress = Stress;
  O.BackgroundCompile = false; // deterministic
  return O;
}

/// A loop over i < N that calls a small function, takes a branch one way
/// two times in three, and switches the kind of its accumulator from int
/// to float half way (a second trace tree).
const char *Loop =
    "LoadInt 0\nSetSlot 0\nLoadInt 0\nSetSlot 1\n"
    "loop:\nGetSlot 1\nLoadInt 3000\nNumLt\nJumpIfFalse done\n"
    "GetSlot 1\nLoadInt 3\nMod\nLoadInt 0\nNumEq\nJumpIfTrue skip\n"
    "GetSlot 0\nGetSlot 1\nCall twice 1\nAdd\nSetSlot 0\n"
    "skip:\nGetSlot 1\nLoadInt 1500\nNumEq\nJumpIfFalse next\n"
    "GetSlot 0\nLoadFloat 0.5\nAdd\nSetSlot 0\n"
    "next:\nGetSlot 1\nLoadInt 1\nAdd\nSetSlot 1\nJump loop\n"
    "done:\nGetSlot 0\nPrintLn 1\nReturn\n"
    ".func twice 1\nGetSlot 0\nLoadInt 2\nMul\nReturnValue\n.end\n";

} // namespace

TEST(TraceConfig, SeedDefaultsAndEnvironment) {
  TraceJitConfig C;
  EXPECT_EQ(C.TraceThreshold, 50u);
  EXPECT_EQ(C.MaxSideExits, 50u);
  EXPECT_EQ(C.MaxInlineRecursion, 4u);
  EXPECT_EQ(C.MaxTraceChain, 4u);
  EXPECT_EQ(C.MaxTraceLen, 256u);
  ::setenv("FUSEVM_TRACE_THRESHOLD", "7", 1);
  ::setenv("FUSEVM_TRACE_MAX_LEN", "nonsense", 1);
  std::vector<std::string> W;
  TraceJitConfig E = C.withEnvironment(&W);
  ::unsetenv("FUSEVM_TRACE_THRESHOLD");
  ::unsetenv("FUSEVM_TRACE_MAX_LEN");
  EXPECT_EQ(E.TraceThreshold, 7u);
  EXPECT_EQ(E.MaxTraceLen, 256u);
  ASSERT_EQ(W.size(), 1u);
  EXPECT_NE(W[0].find("FUSEVM_TRACE_MAX_LEN"), std::string::npos);
}

TEST(TraceTypes, NamesAndLimits) {
  EXPECT_EQ(slotKindOf(ValueKind::Float), SlotKind::Float);
  EXPECT_STREQ(slotKindName(SlotKind::Int), "int");
  EXPECT_STREQ(traceLookupName(TraceLookup::GuardMismatch), "guard mismatch");
  EXPECT_STREQ(traceAbortReasonName(TraceAbortReason::LeavesFunction),
               "leaves the function");
  EXPECT_EQ(DeoptInfo::MaxFrames, 4u);
  EXPECT_EQ(DeoptInfo::MaxSlotsPerFrame, 16u);
  EXPECT_EQ(DeoptInfo::MaxStackPerExit, 32u);
}

TEST(TraceTypes, LoopAnchors) {
  Chunk C = assembleOk(Loop);
  std::vector<uint32_t> A = loopAnchors(C);
  ASSERT_EQ(A.size(), 1u);
  EXPECT_EQ(A[0], 4u); // "loop:"
}

TEST(TraceMetadata, RoundTripStaleAndHostile) {
  Chunk C = assembleOk(Loop);
  TraceMetadata M;
  M.ChunkOpHash = C.opHash();
  M.Func = 0;
  M.Anchor = 4;
  M.Marks.assign(C.Functions[0].End - C.Functions[0].Entry, TraceOn);
  M.Marks[8 - C.Functions[0].Entry] = TraceFell;
  M.AnchorSlots = {SlotKind::Int, SlotKind::Int};
  TraceOp O;
  O.Ip = 5;
  O.Top = SlotKind::Int;
  M.Ops.push_back(O);
  std::string B = M.exportBytes();
  llvm::Expected<TraceMetadata> Back = TraceMetadata::importBytes(B, C);
  ASSERT_TRUE(bool(Back)) << llvm::toString(Back.takeError());
  EXPECT_EQ(Back->Anchor, 4u);
  EXPECT_EQ(Back->Marks, M.Marks);
  EXPECT_EQ(Back->AnchorSlots, M.AnchorSlots);
  ASSERT_EQ(Back->Ops.size(), 1u);
  EXPECT_EQ(Back->Ops[0].Top, SlotKind::Int);
  EXPECT_EQ(Back->exportBytes(), B);

  // A changed program: refused, never compiled against.
  std::string Src = Loop;
  Src.replace(Src.find("LoadInt 3000"), 12, "LoadInt 3001");
  Chunk Changed = assembleOk(Src);
  llvm::Expected<TraceMetadata> Stale = TraceMetadata::importBytes(B, Changed);
  ASSERT_FALSE(bool(Stale));
  EXPECT_NE(llvm::toString(Stale.takeError()).find("op hash"), std::string::npos);

  // Hostile bytes: every truncation and many mutations are refused or
  // read into something in range, never a crash.
  for (size_t N = 0; N < B.size(); ++N) {
    llvm::Expected<TraceMetadata> T = TraceMetadata::importBytes(B.substr(0, N), C);
    if (!T)
      llvm::consumeError(T.takeError());
  }
  std::mt19937 Rng(3);
  for (int I = 0; I < 3000; ++I) {
    std::string Mu = B;
    Mu[Rng() % Mu.size()] = char(Rng());
    llvm::Expected<TraceMetadata> T = TraceMetadata::importBytes(Mu, C);
    if (!T) {
      llvm::consumeError(T.takeError());
      continue;
    }
    EXPECT_LT(T->Anchor, C.Ops.size());
    EXPECT_EQ(T->Marks.size(), M.Marks.size());
  }
}

TEST(TraceRegion, FindAndExtract) {
  Chunk C = assembleOk(
      "LoadInt 0\nSetSlot 0\nLoadInt 0\nSetSlot 1\n"
      "loop:\nGetSlot 1\nLoadInt 10\nNumLt\nJumpIfFalse done\n"
      "GetSlot 0\nGetSlot 1\nAdd\nSetSlot 0\nGetSlot 1\nLoadInt 1\nAdd\n"
      "SetSlot 1\nJump loop\ndone:\nGetSlot 0\nCall show 1\nReturn\n"
      ".func show 1\nGetSlot 0\nPrintLn 1\nReturn\n.end\n");
  JitRegion R = findJitRegion(C, 0);
  EXPECT_EQ(R.Begin, 0u);
  EXPECT_EQ(R.End, 17u); // the loop, up to the call (its argument on the stack)
  llvm::Expected<Chunk> X = extractRegion(C, R);
  ASSERT_TRUE(bool(X)) << llvm::toString(X.takeError());
  EXPECT_NE(X->opHash(), C.opHash());
  EXPECT_EQ(X->Ops.size(), 18u);
  EXPECT_EQ(X->Functions.size(), 1u);
  VM Vm;
  Outcome O = runChunk(*X, Vm);
  EXPECT_EQ(O.Code, 0);
  EXPECT_EQ(O.Result.Stats.BackEdges, 10u);
  // Nothing to find: a function of calls only.
  Chunk Calls = assembleOk("LoadInt 1\nCall show 1\nReturn\n"
                           ".func show 1\nGetSlot 0\nPrintLn 1\nReturn\n.end\n");
  JitRegion None = findJitRegion(Calls, 0);
  EXPECT_EQ(None.Begin, None.End);
  llvm::Expected<Chunk> Bad = extractRegion(Calls, None);
  EXPECT_FALSE(bool(Bad));
  llvm::consumeError(Bad.takeError());
}

// The loop runs in traces (one per kind of its accumulator), calls its
// callee from native code, and prints what the interpreter prints.
TEST(TraceTier, TracesGiveTheInterpretersResult) {
  Outcome Want = runText(Loop);
  VM Vm;
  Outcome Got = runText(Loop, {}, "", &Vm, traceMode(1));
  EXPECT_EQ(Got.Out, Want.Out);
  const RunStats &S = Got.Result.Stats;
  EXPECT_GE(S.TracesCompiled, 2u);
  EXPECT_GT(S.TraceEntries, 0u);
  EXPECT_GT(S.SideExits, 0u);
  EXPECT_GE(S.SideTraces, 1u);
  EXPECT_EQ(S.BlockCompiled, 0u); // functions stay interpreted
  EXPECT_LT(S.InterpOps, Want.Result.Stats.InterpOps / 10);
  ASSERT_EQ(Got.Result.Traces.size(), 1u);
  EXPECT_EQ(Got.Result.Traces[0].Anchor, 4u);
  EXPECT_TRUE(Got.Result.Traces[0].Compiled);
  EXPECT_FALSE(Got.Result.Traces[0].Blacklisted);
}

// Stress: every trace leaves once at each of its branches; the exits, the
// write-back and the side-trace links all run, and nothing changes.
TEST(TraceTier, StressedExitsChangeNothing) {
  Outcome Want = runText(Loop);
  RunOptions O = traceMode(1, true);
  O.Trace.HotExit = 1;
  VM Vm;
  Outcome Got = runText(Loop, {}, "", &Vm, O);
  EXPECT_EQ(Got.Out, Want.Out);
  EXPECT_GT(Got.Result.Stats.SideExits, 3u);
}

// A recording that keeps aborting gets its loop blacklisted, and the run
// still gives the interpreter's result.
TEST(TraceTier, AbortsBlacklist) {
  const char *Src =
      "LoadInt 0\nSetSlot 0\n"
      "loop:\nGetSlot 0\nLoadInt 200\nNumLt\nJumpIfFalse done\n"
      "GetSlot 0\nCall inner 1\nPop\n"
      "GetSlot 0\nLoadInt 1\nAdd\nSetSlot 0\nJump loop\n"
      "done:\nGetSlot 0\nPrintLn 1\nReturn\n"
      // a callee with a loop of its own: the caller's recording aborts
      ".func inner 1\nLoadInt 0\nSetSlot 1\n"
      "l:\nGetSlot 1\nLoadInt 3\nNumLt\nJumpIfFalse e\n"
      "GetSlot 1\nLoadInt 1\nAdd\nSetSlot 1\nJump l\n"
      "e:\nGetSlot 1\nReturnValue\n.end\n";
  Outcome Want = runText(Src);
  VM Vm;
  Outcome Got = runText(Src, {}, "", &Vm, traceMode(2));
  EXPECT_EQ(Got.Out, Want.Out);
  EXPECT_GE(Got.Result.Stats.TracesAborted, 4u);
  EXPECT_GE(Got.Result.Stats.TracesBlacklisted, 1u);
  bool Blacklisted = false;
  for (const TraceStatus &T : Got.Result.Traces)
    Blacklisted |= T.Anchor == 2 && T.Blacklisted && T.Aborts >= 4;
  EXPECT_TRUE(Blacklisted);
}

// A runtime error inside a trace: the same message and line as the
// interpreter's, and the frame released (ASan runs this too).
TEST(TraceTier, ErrorsInsideTraces) {
  const char *Src = "LoadInt 0\nSetSlot 0\nLoadConst \"s\"\nSetSlot 1\n"
                    "loop:\nGetSlot 0\nLoadInt 100\nNumLt\nJumpIfFalse done\n"
                    "GetSlot 1\nLoadConst \"x\"\nConcat\nSetSlot 1\n"
                    "LoadInt 10\nGetSlot 0\nLoadInt 60\nSub\nDiv\nPop\n"
                    "GetSlot 0\nLoadInt 1\nAdd\nSetSlot 0\nJump loop\n"
                    "done:\nReturn\n";
  Outcome Want = runText(Src);
  VM Vm;
  Outcome Got = runText(Src, {}, "", &Vm, traceMode(1));
  EXPECT_EQ(Want.Code, 70);
  EXPECT_EQ(Got.Code, Want.Code);
  EXPECT_EQ(Got.Err, Want.Err);
  EXPECT_GT(Got.Result.Stats.TracesCompiled, 0u);
}
