//===- ChunkTest.cpp - XXH64, the op hash and ChunkBuilder -----------------===//

#include "TestUtil.h"

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Core/ChunkBuilder.h"

#include <gtest/gtest.h>

using namespace fusevm;
using namespace fusevm::test;

TEST(XXH64, PublishedVectors) {
  EXPECT_EQ(xxh64("", 0), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(xxh64("a", 1), 0xD24EC4F1A98C6E5Bull);
  EXPECT_EQ(xxh64("abc", 3), 0x44BC2CF5AD770999ull);
  const char *Long = "Nobody inspects the spammish repetition";
  EXPECT_EQ(xxh64(Long, std::strlen(Long)), 0xFBCEA83C8A378BF1ull);
}

static const char *Fib = R"(
        LoadInt 30
        Call fib 1
        PrintLn 1
        Return
.func fib 1
        GetSlot 0
        LoadInt 2
        NumLt
        JumpIfFalse recurse
        GetSlot 0
        ReturnValue
recurse:
        GetSlot 0
        LoadConst 1
        Sub
        Call fib 1
        GetSlot 0
        LoadConst "two"
        Sub
        Call fib 1
        Add
        ReturnValue
)";

TEST(OpHash, PinnedValue) {
  // Pins the canonical encoding of docs/op-hash.md: a change here changes
  // every cache key and must bump FormatVersion.
  Chunk C = assembleOk(Fib);
  EXPECT_EQ(C.opHash(), 0xE5D9FC3FA44D8637ull) << std::hex << C.opHash();
}

TEST(OpHash, IgnoresLinesSourceAndPoolLayout) {
  Chunk A = assembleOk(Fib);
  Chunk B = A;
  B.SourceName = "elsewhere.src";
  for (uint32_t &L : B.Lines)
    L += 7;
  // Reverse the constant pool and add an unused entry.
  std::reverse(B.Constants.begin(), B.Constants.end());
  for (Instr &I : B.Ops)
    if (I.Op == Opcode::LoadConst)
      I.A = static_cast<uint16_t>(B.Constants.size() - 1 - I.A);
  B.Constants.push_back(Value::string("unused"));
  EXPECT_EQ(A.opHash(), B.opHash());
}

TEST(OpHash, ChangesWithOpsConstantsAndFunctions) {
  Chunk A = assembleOk(Fib);
  Chunk B = A;
  B.Ops[0].I64 = 31;
  EXPECT_NE(A.opHash(), B.opHash());
  Chunk Cst = A;
  for (Value &V : Cst.Constants)
    if (V.isStr())
      V = Value::string("three");
  EXPECT_NE(A.opHash(), Cst.opHash());
  Chunk F = A;
  F.Functions[1].Arity = 2;
  EXPECT_NE(A.opHash(), F.opHash());
  Chunk X = A;
  X.ExtOps.push_back({1, 0, 0});
  EXPECT_NE(A.opHash(), X.opHash());
}

TEST(ChunkBuilder, ForwardCallsLabelsAndImplicitReturn) {
  ChunkBuilder B("b.src");
  B.setLine(1);
  B.loadInt(20);
  B.loadInt(22);
  B.emitCall("add", 2);
  B.op(Opcode::PrintLn, 1); // falls off main: Return appended
  B.beginFunction("add", 2);
  ChunkBuilder::Label L = B.makeLabel();
  B.jump(Opcode::Jump, L);
  B.bind(L);
  B.slotOp(Opcode::GetSlot, 0);
  B.slotOp(Opcode::GetSlot, 1);
  B.op(Opcode::Add);
  B.op(Opcode::ReturnValue);
  llvm::Expected<Chunk> C = B.finish();
  ASSERT_TRUE(bool(C)) << errorText(C.takeError());
  EXPECT_EQ(C->Ops[4].Op, Opcode::Return);
  EXPECT_EQ(C->Ops[5].Target, 6u);
  VM Vm;
  Outcome O = runChunk(*C, Vm);
  EXPECT_EQ(O.Out, "42\n");
}

TEST(ChunkBuilder, Errors) {
  {
    ChunkBuilder B;
    B.setLine(3);
    B.jump(Opcode::Jump, B.makeLabel());
    EXPECT_NE(errorText(B.finish().takeError()).find(":3: error: jump to a label"),
              std::string::npos);
  }
  {
    ChunkBuilder B;
    B.emitCall("nowhere", 0);
    EXPECT_NE(errorText(B.finish().takeError()).find("unknown function 'nowhere'"),
              std::string::npos);
  }
  {
    ChunkBuilder B;
    B.beginFunction("f", 0);
    B.beginFunction("f", 0);
    EXPECT_NE(errorText(B.finish().takeError()).find("defined twice"),
              std::string::npos);
  }
  {
    ChunkBuilder B;
    B.constant(Value::emptyArray());
    EXPECT_NE(errorText(B.finish().takeError()).find("constant must be"),
              std::string::npos);
  }
}
