//===- JitTest.cpp - The native tiers through the embedding API -----------===//

#include "TestUtil.h"

#include "fusevm/JIT/JIT.h"

#include <gtest/gtest.h>

#include <cstddef>

using namespace fusevm;
using namespace fusevm::test;

namespace {

JitEngine &engine() {
  static std::unique_ptr<JitEngine> E = [] {
    JitOptions O;
    O.Helpers = &nativeRuntimeSymbols();
    return createJitEngine(O);
  }();
  return *E;
}

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
    EXPECT_EQ(O.Result.Stats.LLVMCompiles, 2u); // main and f, every run
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
