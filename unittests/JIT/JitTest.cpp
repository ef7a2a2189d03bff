//===- JitTest.cpp - The native tiers through the embedding API -----------===//

#include "TestUtil.h"

#include "fusevm/JIT/Extension.h"
#include "fusevm/JIT/JIT.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <malloc.h>

using namespace fusevm;
using namespace fusevm::test;

namespace {

RunOptions block() {
  RunOptions O;
  O.Jit = &engine();
  O.Mode = RunOptions::JitMode::Block;
  return O;
}

} // namespace

// Compiled code reads an array's elements through the vector's {begin,
// end, capacity} pointers (Native.h); this is the layout it relies on.
TEST(Jit, ArrayLayoutIsWhatCompiledCodeReads) {
  Value A = Value::emptyArray();
  auto &Items = A.array()->Items;
  Items.reserve(8);
  for (int I = 0; I < 3; ++I)
    Items.push_back(Value::integer(I));
  const char *Obj = reinterpret_cast<const char *>(A.P);
  Value *Begin, *End, *Cap;
  std::memcpy(&Begin, Obj + ArrayBeginOffset, sizeof Begin);
  std::memcpy(&End, Obj + ArrayEndOffset, sizeof End);
  std::memcpy(&Cap, Obj + ArrayEndOffset + 8, sizeof Cap);
  EXPECT_EQ(Begin, Items.data());
  EXPECT_EQ(End, Items.data() + Items.size());
  EXPECT_EQ(Cap, Items.data() + Items.capacity());
}

TEST(Jit, HostBuiltinsAndExtendedOpsFromCompiledCode) {
  VM Vm;
  Vm.registerBuiltin(256, "twice", 1, [](HostCall &C) {
    return Value::integer(2 * toInt(C.arg(0)));
  });
  Vm.registerBuiltin(257, "fail", 0, [](HostCall &C) {
    C.fail("host says no");
    return Value();
  });
  Vm.registerExtOp(7, [](HostCall &C) {
    C.Results.push_back(Value::integer(toInt(C.arg(0)) + int64_t(C.payload())));
  });
  const char *Src = ".extop 7 1 1\n"
                    "LoadInt 21\nCallBuiltin 256 1\nExtended 7 3\nPrintLn 1\n"
                    "CallBuiltin 257 0\n";
  Outcome O = runText(Src, {}, "", &Vm, block());
  EXPECT_EQ(O.Out, "45\n");
  EXPECT_EQ(O.Code, 70);
  EXPECT_EQ(O.Err, "t.fasm:6: error: host says no");
  EXPECT_EQ(O.Result.Stats.InterpOps, 0u); // main ran native
  EXPECT_EQ(O.Result.Stats.BlockCompiled, 1u);
}

// A speculation on the kinds an array holds, broken later: the compiled
// code hands the activation to the interpreter at the op, which finishes
// it with the same result.
TEST(Jit, FailedSpeculationResumesInTheInterpreter) {
  const char *Src = "DeclareArray xs\n"
                    "LoadFloat 1.5\nArrayPush xs\nLoadFloat 2.5\nArrayPush xs\n"
                    "Call sum 0\nPrintLn 1\n"
                    "LoadConst \"7\"\nArrayPush xs\n"
                    "Call sum 0\nPrintLn 1\nReturn\n"
                    ".func sum 0\n"
                    "LoadFloat 0.0\nSetSlot 0\nLoadInt 0\nSetSlot 1\n"
                    "loop:\nGetSlot 1\nArrayLen xs\nNumLt\nJumpIfFalse done\n"
                    "GetSlot 0\nGetSlot 1\nArrayGet xs\nAdd\nSetSlot 0\n"
                    "GetSlot 1\nLoadInt 1\nAdd\nSetSlot 1\nJump loop\n"
                    "done:\nGetSlot 0\nReturnValue\n.end\n";
  Outcome Want = runText(Src);
  EXPECT_EQ(Want.Out, "4\n11\n");
  VM Vm;
  Outcome Got = runText(Src, {}, "", &Vm, block());
  EXPECT_EQ(Got.Out, Want.Out);
  EXPECT_EQ(Got.Result.Stats.Deopts, 1u);
}

TEST(Jit, ReusedVmAndEngineAcrossRuns) {
  VM Vm;
  const char *Src = "LoadInt 10\nCall f 1\nPrintLn 1\nReturn\n"
                    ".func f 1\nGetSlot 0\nGetSlot 0\nMul\nReturnValue\n.end\n";
  for (int I = 0; I < 3; ++I) {
    Outcome O = runText(Src, {}, "", &Vm, block());
    EXPECT_EQ(O.Out, "100\n");
    // main and f get native code in every run; LLVM makes it only in the
    // first: the same requests name the same code, which the engine keeps.
    EXPECT_EQ(O.Result.Stats.BlockCompiled, 2u);
    EXPECT_EQ(O.Result.Stats.LLVMCompiles, I == 0 ? 2u : 0u);
  }
}

// auto with background compiles: whatever lands when, the output is the
// interpreter's.
TEST(Jit, BackgroundCompilesDoNotChangeResults) {
  const char *Src = "LoadInt 0\nSetSlot 0\nLoadInt 0\nSetSlot 1\n"
                    "loop:\nGetSlot 1\nLoadInt 300000\nNumLt\nJumpIfFalse done\n"
                    "GetSlot 0\nGetSlot 1\nLoadInt 7\nMod\nAdd\nSetSlot 0\n"
                    "GetSlot 1\nLoadInt 1\nAdd\nSetSlot 1\nJump loop\n"
                    "done:\nGetSlot 0\nPrintLn 1\nReturn\n";
  Outcome Want = runText(Src);
  RunOptions O;
  O.Jit = &engine();
  O.JitThreshold = 1;
  VM Vm;
  Outcome Got = runText(Src, {}, "", &Vm, O);
  EXPECT_EQ(Got.Out, Want.Out);
  EXPECT_EQ(Got.Code, 0);
}

namespace {
/// Every event of a run, as --jit-log prints them.
struct Recorder final : JitEventListener {
  std::vector<JitEvent> Events;
  std::vector<std::string> Lines;
  void onJitEvent(const JitEvent &E) override {
    Events.push_back(E);
    Lines.push_back(formatJitEvent(E));
  }
  size_t count(JitEvent::Kind K) const {
    size_t N = 0;
    for (const JitEvent &E : Events)
      N += E.K == K;
    return N;
  }
};
} // namespace

// An embedder sees the tiers' decisions through its own listener, the
// same events --jit-log and --stats are made from.
TEST(Jit, ListenerSeesEveryDecision) {
  const char *Src = "LoadInt 3\nCall f 1\nPrintLn 1\nReturn\n"
                    ".func f 1\nGetSlot 0\nLoadInt 1\nAdd\nReturnValue\n.end\n"
                    ".func never 0\nReturn\n.end\n";
  Recorder L;
  RunOptions O = block();
  O.Listener = &L;
  VM Vm;
  Outcome Got = runText(Src, {}, "", &Vm, O);
  EXPECT_EQ(Got.Out, "4\n");
  ASSERT_EQ(L.count(JitEvent::Compiled), 2u);
  EXPECT_EQ(L.Events[0].Function, "main");
  EXPECT_EQ(L.Events[1].Function, "f");
  EXPECT_EQ(L.Events[1].Params, std::vector<KindMask>{maskOf(ValueKind::Int)});
  EXPECT_EQ(L.Events[1].Ops, 4u);
  ASSERT_EQ(L.count(JitEvent::Uncompiled), 1u);
  EXPECT_EQ(L.Events.back().Function, "never");
  EXPECT_EQ(L.Lines.back(), "jit: left never uncompiled: never called");
  EXPECT_EQ(Got.Result.Stats.BlockCompiled, 2u);
}

// The same request compiles to the same object bytes in two engines made
// apart: names and code depend on the request alone (docs/jit.md).
TEST(Jit, SameRequestSameObjectInFreshEngines) {
  Chunk C = assembleOk("LoadInt 3\nCall f 1\nPrintLn 1\nReturn\n"
                       ".func f 1\nGetSlot 0\nGetVar g\nAdd\n"
                       "LoadConst \"s\"\nConcat\nReturnValue\n.end\n");
  llvm::Expected<VerifyInfo> Info = verify(C);
  ASSERT_TRUE(bool(Info));
  JitRequest R;
  R.C = &C;
  R.Info = &*Info;
  R.Func = 1;
  R.ParamMasks = {maskOf(ValueKind::Int)};
  R.GlobalKinds.assign(C.Names.size(), 0);
  R.GlobalKinds[0] = maskOf(ValueKind::Int);
  JitOptions JO;
  JO.Helpers = &nativeRuntimeSymbols();
  std::string A, B, Why;
  ASSERT_TRUE(createJitEngine(JO)->compileObject(R, A, Why)) << Why;
  ASSERT_TRUE(createJitEngine(JO)->compileObject(R, B, Why)) << Why;
  EXPECT_GT(A.size(), 64u);
  EXPECT_EQ(A, B);
  // Another specialisation is other code.
  R.ParamMasks = {maskOf(ValueKind::Float)};
  std::string D;
  ASSERT_TRUE(createJitEngine(JO)->compileObject(R, D, Why)) << Why;
  EXPECT_NE(A, D);
}

// A guard that keeps failing for one reason (a string index into an
// all-int array) costs a few deoptimisations, then the function is
// recompiled without that guard, and the log says why.
TEST(Jit, FailingGuardAdaptsSoon) {
  const char *Src = "DeclareArray xs\n"
                    "LoadInt 5\nArrayPush xs\nLoadInt 6\nArrayPush xs\n"
                    "LoadInt 0\nSetSlot 0\nLoadInt 0\nSetSlot 1\n"
                    "loop:\nGetSlot 1\nLoadInt 100\nNumLt\nJumpIfFalse done\n"
                    "GetSlot 0\nLoadConst \"1\"\nCall get 1\nAdd\nSetSlot 0\n"
                    "GetSlot 1\nLoadInt 1\nAdd\nSetSlot 1\nJump loop\n"
                    "done:\nGetSlot 0\nPrintLn 1\nReturn\n"
                    ".func get 1\nGetSlot 0\nArrayGet xs\nReturnValue\n.end\n";
  Outcome Want = runText(Src);
  EXPECT_EQ(Want.Out, "600\n");
  Recorder L;
  RunOptions O;
  O.Jit = &engine();
  O.JitThreshold = 1;
  O.BackgroundCompile = false;
  O.Listener = &L;
  VM Vm;
  Outcome Got = runText(Src, {}, "", &Vm, O);
  EXPECT_EQ(Got.Out, Want.Out);
  EXPECT_EQ(Got.Result.Stats.Deopts, 4u);
  ASSERT_EQ(L.count(JitEvent::Recompile), 1u);
  bool Said = false;
  for (const std::string &Line : L.Lines)
    Said |= Line.find("the index is a str, not an int") != std::string::npos &&
            Line.find("recompiling without it") != std::string::npos;
  EXPECT_TRUE(Said);
}

// A runtime error inside compiled code releases every heap value its
// frames hold: 10,000 failing runs in one VM leave memory where it was.
TEST(Jit, ErrorsInCompiledCodeLeakNothing) {
  const char *Src =
      "LoadConst \"x\"\nLoadInt 1000\nStringRepeat\nSetSlot 0\n"
      "LoadInt 1\nLoadInt 2\nMakeArray 2\nSetSlot 1\n"
      "GetSlot 0\nGetSlot 1\nLoadInt 3\nCall f 3\nPrintLn 1\nReturn\n"
      ".func f 3\nGetSlot 0\nGetSlot 1\nMakeArray 2\nSetSlot 3\n"
      "GetSlot 0\nGetSlot 2\nLoadInt 0\nDiv\nReturnValue\n.end\n";
  Chunk C = assembleOk(Src);
  VM Vm;
  auto Live = [] { return mallinfo2().uordblks; };
  size_t Before = 0;
  for (int I = 0; I < 10000; ++I) {
    if (I == 100)
      Before = Live(); // after the compiles and the first allocations
    Outcome O = runChunk(C, Vm, block());
    ASSERT_EQ(O.Code, 70);
    ASSERT_NE(O.Err.find("division by zero"), std::string::npos);
  }
  // Each leaked run would keep a 1000-byte string and two arrays.
  EXPECT_LT(Live(), Before + 64 * 1024);
}

// A frontend's extended op lowered inline by its JitExtension: the same
// result as its handler, and no runtime call left in the code.
TEST(Jit, ExtensionLowersExtendedOpsInline) {
  struct AddPayload : JitExtension {
    int Lowered = 0;
    bool lowerExtendedOp(ExtLowering &L) override {
      if (L.id() != 7 || L.argKinds(0) != maskOf(ValueKind::Int))
        return false;
      auto &B = L.builder();
      L.setResult(0, B.CreateAdd(L.argPayload(0), B.getInt64(L.payload())),
                  B.getInt8(uint8_t(ValueKind::Int)));
      ++Lowered;
      return true;
    }
    KindMask resultKinds(uint16_t Id, unsigned) const override {
      return Id == 7 ? maskOf(ValueKind::Int) : AnyKind;
    }
  } Ext;
  std::string IR;
  JitOptions JO;
  JO.Helpers = &nativeRuntimeSymbols();
  JO.Extensions.push_back(&Ext);
  JO.DumpIR = true;
  JO.Sink = [&](const std::string &S) { IR += S; };
  auto Engine = createJitEngine(JO);
  const char *Src = ".extop 7 1 1\n"
                    "LoadInt 0\nSetSlot 0\nLoadInt 0\nSetSlot 1\n"
                    "loop:\nGetSlot 1\nLoadInt 1000\nNumLt\nJumpIfFalse done\n"
                    "GetSlot 0\nExtended 7 3\nSetSlot 0\n"
                    "GetSlot 1\nLoadInt 1\nAdd\nSetSlot 1\nJump loop\n"
                    "done:\nGetSlot 0\nPrintLn 1\nReturn\n";
  auto Handler = [](HostCall &C) {
    C.Results.push_back(Value::integer(toInt(C.arg(0)) + int64_t(C.payload())));
  };
  VM Interp;
  Interp.registerExtOp(7, Handler);
  Outcome Want = runText(Src, {}, "", &Interp);
  EXPECT_EQ(Want.Out, "3000\n");
  for (auto Mode : {RunOptions::JitMode::Block, RunOptions::JitMode::Trace}) {
    VM Vm;
    Vm.registerExtOp(7, Handler);
    RunOptions O;
    O.Jit = Engine.get();
    O.Mode = Mode;
    O.Trace.TraceThreshold = 1;
    O.BackgroundCompile = false;
    Outcome Got = runText(Src, {}, "", &Vm, O);
    EXPECT_EQ(Got.Out, Want.Out);
  }
  EXPECT_GE(Ext.Lowered, 2);
  EXPECT_EQ(IR.find("fvm_rt_extended"), std::string::npos) << IR;
}
