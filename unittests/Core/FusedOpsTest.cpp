//===- FusedOpsTest.cpp - The one table of fused-op expansions ------------===//

#include "TestUtil.h"

#include "fusevm/Bytecode/Fuse.h"
#include "fusevm/Core/FusedOps.h"

#include <gtest/gtest.h>

using namespace fusevm;
using namespace fusevm::test;

// Every fused op's expansion, written out as plain ops, is found again by
// the matcher and gives back the fused op with the same operands.
TEST(FusedOps, ExpansionAndMatchAreInverse) {
  for (const FusedExpansion &X : fusedExpansions()) {
    Instr F(X.Op);
    for (unsigned N = 0; N < numOperands(X.Op); ++N)
      setOperand(F, N, opInfo(X.Op).Operands[N] == OperandKind::Target
                           ? 40
                           : 2 + N); // distinct slots, constants, limits
    std::vector<Instr> Plain;
    expandFused(F, 10, 10 + X.Len, Plain);
    ASSERT_EQ(Plain.size(), X.Len) << mnemonic(X.Op);
    std::vector<Instr> Ops(10, Instr(Opcode::Nop));
    Ops.insert(Ops.end(), Plain.begin(), Plain.end());
    Ops.push_back(Instr(Opcode::Return));
    FusedMatch M;
    ASSERT_TRUE(matchFused(X.Op, Ops, 10, uint32_t(Ops.size()), nullptr, M))
        << mnemonic(X.Op);
    EXPECT_EQ(M.Len, X.Len);
    for (unsigned N = 0; N < numOperands(X.Op); ++N)
      EXPECT_EQ(getOperand(M.Fused, N), getOperand(F, N)) << mnemonic(X.Op);
  }
}

// `LoadInt 1; Add` and `Inc` stand for each other; a jump into the middle
// stops a match only for a rewrite that removes ops.
TEST(FusedOps, MatchRules) {
  Chunk C = assembleOk("GetSlot 0\nLoadInt 1\nAdd\nSetSlot 0\n"
                       "GetSlot 1\nInc\nSetSlot 1\nReturn\n");
  FusedMatch M;
  ASSERT_TRUE(matchFused(Opcode::PreIncSlotVoid, C.Ops, 0, 8, nullptr, M));
  EXPECT_EQ(M.Len, 4u);
  ASSERT_TRUE(matchFused(Opcode::PreIncSlotVoid, C.Ops, 4, 8, nullptr, M));
  EXPECT_EQ(M.Len, 3u);
  EXPECT_EQ(M.Fused.A, 1);
  EXPECT_FALSE(matchFused(Opcode::PreIncSlotVoid, C.Ops, 4, 6, nullptr, M));
  std::vector<bool> T(9, false);
  T[5] = true;
  EXPECT_FALSE(matchFused(Opcode::PreIncSlotVoid, C.Ops, 4, 8, &T, M));
  // Out of the I32 range: no SlotLtIntJumpIfFalse.
  Chunk Big = assembleOk("l:\nGetSlot 0\nLoadInt 4294967296\nNumLt\n"
                         "JumpIfFalse l\nReturn\n");
  EXPECT_FALSE(matchFused(Opcode::SlotLtIntJumpIfFalse, Big.Ops, 0, 5,
                          nullptr, M));
}

// The op index is the identity of an op: quickening rewrites in place, so
// a loop's counters, and errors inside quickened sequences, name the ops
// of the chunk as written.
TEST(FusedOps, QuickeningKeepsOpIndices) {
  const char *Src = "LoadInt 0\nSetSlot 0\nLoadInt 0\nSetSlot 1\n" // 0-3
                    "head:\nGetSlot 1\nLoadInt 5\nNumLt\nJumpIfFalse out\n" // 4-7
                    "GetSlot 0\nGetSlot 1\nAdd\nSetSlot 0\n"              // 8-11
                    "GetSlot 1\nLoadInt 1\nAdd\nSetSlot 1\nJump head\n"   // 12-16
                    "out:\nGetSlot 0\nLoadInt 0\nDiv\nPrintLn 1\n";       // 17-20
  // (ops 8-16 are an AccumSumLoop: quickened, it runs in closed form and
  // still counts its 5 iterations at the header)
  Chunk C = assembleOk(Src);
  for (bool Quicken : {false, true}) {
    VM Vm;
    RunOptions O;
    O.Superinstructions = Quicken;
    Outcome R = runChunk(C, Vm, O);
    EXPECT_EQ(R.Err, "t.fasm:22: error: division by zero") << Quicken;
    ASSERT_EQ(R.Result.LoopCounts.size(), C.Ops.size());
    EXPECT_EQ(R.Result.LoopCounts[4], 5u) << Quicken; // the header, 5 back edges
    uint64_t Elsewhere = 0;
    for (size_t I = 0; I < C.Ops.size(); ++I)
      Elsewhere += I == 4 ? 0 : R.Result.LoopCounts[I];
    EXPECT_EQ(Elsewhere, 0u) << Quicken;
  }
}

// Every shape of counted loop a frontend emits runs as the plain ops do.
TEST(FusedOps, CountedLoopShapes) {
  struct Shape {
    const char *Init, *Limit, *Test, *Step;
  } Shapes[] = {
      {"LoadInt 0", "LoadInt 10", "NumLt", "LoadInt 1\nAdd"},
      {"LoadInt 1", "LoadInt 10", "NumLe", "LoadInt 3\nAdd"},
      {"LoadInt 10", "LoadInt 0", "NumGt", "LoadInt 1\nSub"},
      {"LoadInt 10", "LoadInt -5", "NumGe", "LoadInt -2\nAdd"},
      {"LoadInt 0", "LoadInt 10", "NumNe", "Inc"},
      {"LoadFloat 0.5", "LoadInt 4", "NumLe", "LoadInt 1\nAdd"},
      {"LoadConst \"2\"", "LoadInt 9", "NumLt", "LoadInt 2\nAdd"},
      {"LoadInt 9223372036854775805", "LoadInt 9223372036854775807", "NumLt",
       "LoadInt 1\nAdd"}, // up to the largest int
  };
  for (const Shape &S : Shapes)
    for (bool SlotLimit : {false, true}) {
      std::string Src = std::string(S.Init) + "\nSetSlot 0\nLoadInt 0\nSetSlot 1\n" +
                        S.Limit + "\nSetSlot 2\nhead:\nGetSlot 0\n" +
                        (SlotLimit ? "GetSlot 2" : S.Limit) + "\n" + S.Test +
                        "\nJumpIfFalse out\nGetSlot 1\nGetSlot 0\nAdd\n"
                        "SetSlot 1\nGetSlot 0\n" + S.Step +
                        "\nSetSlot 0\nJump head\nout:\nGetSlot 1\nGetSlot 0\n"
                        "PrintLn 2\n";
      Chunk C = assembleOk(Src);
      VM Vm;
      RunOptions Plain;
      Plain.Superinstructions = false;
      Outcome Want = runChunk(C, Vm, Plain), Got = runChunk(C, Vm);
      EXPECT_EQ(Got.Out, Want.Out) << Src;
      EXPECT_EQ(Got.Err, Want.Err) << Src;
      EXPECT_EQ(Got.Result.LoopCounts, Want.Result.LoopCounts) << Src;
    }
}
