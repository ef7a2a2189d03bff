//===- EmbeddingTest.cpp - The VM API a frontend uses ---------------------===//

#include "TestUtil.h"

#include "fusevm/Core/ChunkBuilder.h"

#include <gtest/gtest.h>

using namespace fusevm;
using namespace fusevm::test;

TEST(Embedding, HostBuiltins) {
  VM Vm;
  Vm.registerBuiltin(256, "twice", 1, [](HostCall &C) {
    return Value::integer(2 * toInt(C.arg(0)));
  });
  Vm.registerBuiltin(257, "fail", 0, [](HostCall &C) {
    C.fail("host says no");
    return Value();
  });
  Outcome O = runText("LoadInt 21\nCallBuiltin 256 1\nPrintLn 1\n", {}, "", &Vm);
  EXPECT_EQ(O.Out, "42\n");
  Outcome F = runText("LoadInt 1\nPrintLn 1\nCallBuiltin 257 0\n", {}, "", &Vm);
  EXPECT_EQ(F.Code, 70);
  EXPECT_EQ(F.Out, "1\n");
  EXPECT_EQ(F.Err, "t.fasm:3: error: host says no");
  // Unregistered ids are rejected before anything runs.
  Outcome U = runText("LoadInt 1\nPrintLn 1\nCallBuiltin 258 0\n", {}, "", &Vm);
  EXPECT_EQ(U.Code, 65);
  EXPECT_EQ(U.Out, "");
}

TEST(Embedding, ExtendedOps) {
  VM Vm;
  Vm.registerExtOp(7, [](HostCall &C) {
    C.Results.push_back(Value::integer(int64_t(C.payload()) + toInt(C.arg(0))));
  });
  Vm.registerExtOp(8, [](HostCall &C) { C.Results.clear(); });
  const char *Src = ".extop 7 1 1\n.extop 8 0 0\n.extop 9 0 1\n"
                    "LoadInt 10\nExtended 7 5\nLoadInt 1\nExtendedWide 7 0x100\n"
                    "PrintLn 2\nExtended 8 0\n";
  Outcome O = runText(Src, {}, "", &Vm);
  EXPECT_EQ(O.Err, "");
  EXPECT_EQ(O.Out, "15257\n");
  // Declared but unused ids need no handler; used ones do (exit 65).
  Outcome M = runText(".extop 9 0 1\nExtended 9 0\nPop\n", {}, "", &Vm);
  EXPECT_EQ(M.Code, 65);
  EXPECT_NE(M.Err.find("extended op 9 has no handler"), std::string::npos);
  // A handler that returns the wrong number of values is a runtime error.
  Vm.registerExtOp(9, [](HostCall &) {});
  Outcome W = runText(".extop 9 0 1\nExtended 9 0\nPop\n", {}, "", &Vm);
  EXPECT_EQ(W.Code, 70);
  EXPECT_NE(W.Err.find("returned 0 values, declared 1"), std::string::npos);
}

TEST(Embedding, ResultStatusAndArgv) {
  ChunkBuilder B("embed.src");
  B.nameOp(Opcode::ArrayLen, "ARGV");
  B.loadInt(3);
  B.op(Opcode::SetStatus);
  B.op(Opcode::ReturnValue);
  llvm::Expected<Chunk> C = B.finish();
  ASSERT_TRUE(bool(C));
  VM Vm;
  RunOptions Opts;
  Opts.Args = {"a", "b"};
  Outcome O = runChunk(*C, Vm, Opts);
  EXPECT_EQ(O.Err, "");
  EXPECT_EQ(O.Result.Result.I, 2);
  EXPECT_EQ(O.Result.Status, 3);
  EXPECT_EQ(O.Code, 3);
}

TEST(Embedding, VmIsReusable) {
  VM Vm;
  for (int I = 0; I < 3; ++I) {
    Outcome O = runText("GetVar g\nInc\nSetVar g\nGetVar g\nPrintLn 1\n", {}, "",
                        &Vm);
    EXPECT_EQ(O.Out, "1\n"); // globals belong to a run, not to the VM
  }
}
