//===- VerifierTest.cpp - Every rejection of isa.md §6 ---------------------===//

#include "TestUtil.h"

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Core/ChunkBuilder.h"
#include "fusevm/Verify/Verifier.h"

#include <gtest/gtest.h>

using namespace fusevm;
using namespace fusevm::test;

static std::string reject(const Chunk &C, const HostEnv &Env = {}) {
  llvm::Expected<VerifyInfo> V = verify(C, Env);
  if (V)
    return "";
  int Code = 0;
  std::string E = errorText(V.takeError(), &Code);
  EXPECT_EQ(Code, 65);
  return E;
}
static std::string rejectText(const char *Src) {
  return reject(assembleOk(Src));
}
#define EXPECT_REJECTS(Text, Phrase)                                           \
  EXPECT_NE(std::string(Text).find(Phrase), std::string::npos) << Text

TEST(Verifier, IndexesOutOfRange) {
  Chunk C = assembleOk("LoadConst 1\nGetVar x\nPop\nPop\n");
  Chunk K = C;
  K.Ops[0].A = 5;
  EXPECT_REJECTS(reject(K), "t.fasm:1: error: 'LoadConst': constant index 5");
  Chunk N = C;
  N.Ops[1].A = 99;
  EXPECT_REJECTS(reject(N), "t.fasm:2: error: 'GetVar': name index 99");
  Chunk F = assembleOk("Call f 0\nPop\nReturn\n.func f 0\nReturn\n");
  F.Ops[0].A = 0; // name 0 is "main"? no: make it a global's name
  F.Names.push_back("g");
  F.Ops[0].A = static_cast<uint16_t>(F.Names.size() - 1);
  EXPECT_REJECTS(reject(F), "is not a function");
}

TEST(Verifier, Builtins) {
  EXPECT_REJECTS(rejectText("CallBuiltin 27 0\nPop\n"), "builtin id 27 is not assigned");
  EXPECT_REJECTS(rejectText("CallBuiltin 255 0\nPop\n"), "not assigned");
  EXPECT_REJECTS(rejectText("LoadInt 1\nCallBuiltin 0 2\nPop\n"),
                 "builtin 0 (sqrt) takes 1 argument, not 2");
  EXPECT_REJECTS(rejectText("CallBuiltin 23 1\nPop\n"), "takes 0 arguments");
  EXPECT_REJECTS(rejectText("CallBuiltin 300 0\nPop\n"),
                 "builtin id 300 is not registered by the host");
  HostEnv Env;
  Env.Builtins[300] = 1;
  Chunk C = assembleOk("LoadInt 1\nCallBuiltin 300 1\nPop\n");
  EXPECT_EQ(reject(C, Env), "");
  Chunk W = assembleOk("CallBuiltin 300 0\nPop\n");
  EXPECT_REJECTS(reject(W, Env), "host builtin 300 takes 1");
  Env.Builtins[300] = -1; // any argc
  EXPECT_EQ(reject(W, Env), "");
}

TEST(Verifier, ExtendedOps) {
  EXPECT_REJECTS(rejectText("Extended 5 0\n"),
                 "extended op 5 is used but not declared");
  EXPECT_EQ(rejectText(".extop 5 0 1\nExtended 5 0\nPop\n"), "");
  EXPECT_REJECTS(rejectText(".extop 5 2 0\nLoadInt 1\nExtended 5 0\n"),
                 "stack underflow: 'Extended' needs 2 operands");
}

TEST(Verifier, JumpsStayInTheirFunction) {
  EXPECT_REJECTS(rejectText("Jump inside\n.func f 0\ninside:\nReturn\n"),
                 "t.fasm:1: error: 'Jump' jumps to op 1, outside function 'main'");
  Chunk C = assembleOk("Jump end\nend:\nReturn\n");
  C.Ops[0].Target = 1000;
  EXPECT_REJECTS(reject(C), "jumps to op 1000");
}

TEST(Verifier, CallArity) {
  EXPECT_REJECTS(rejectText("LoadInt 1\nLoadInt 2\nCall f 2\nPop\n"
                            ".func f 1\nReturn\n"),
                 "'Call f' passes 2 arguments but 'f' takes 1");
}

TEST(Verifier, StackHeights) {
  EXPECT_REJECTS(rejectText("LoadInt 1\nAdd\nPop\n"),
                 "t.fasm:2: error: stack underflow: 'Add' needs 2 operands but "
                 "the stack holds 1");
  EXPECT_REJECTS(rejectText("LoadTrue\nJumpIfTrue skip\nLoadInt 1\nskip:\nReturn\n"),
                 "operand-stack height differs");
  EXPECT_REJECTS(rejectText("LoadInt 1\nLoadInt 2\nMakeArray 3\nPop\n"),
                 "'MakeArray' needs 3 operands");
  EXPECT_REJECTS(rejectText("LoadInt 1\nMakeHash 1\nPop\n"), "needs 2 operands");
  EXPECT_REJECTS(rejectText("PrintLn 1\n"), "needs 1 operand ");
  ChunkBuilder B;
  for (int I = 0; I < 65536; ++I)
    B.loadInt(I);
  llvm::Expected<Chunk> Big = B.finish();
  ASSERT_TRUE(bool(Big));
  EXPECT_REJECTS(reject(*Big), "exceed 65535");
}

TEST(Verifier, Scopes) {
  EXPECT_REJECTS(rejectText("PopFrame\n"), "'PopFrame' without an open scope");
  EXPECT_REJECTS(rejectText("LoadInt 1\nPushFrame\nPop\nPopFrame\n"),
                 "is below its height at the matching PushFrame");
  EXPECT_REJECTS(rejectText("LoadTrue\nJumpIfTrue l\nPushFrame\nl:\nReturn\n"),
                 "scope depth differs");
  EXPECT_REJECTS(rejectText("LoadTrue\nJumpIfTrue a\nLoadInt 1\nPushFrame\n"
                            "Jump j\na:\nPushFrame\nLoadInt 1\n"
                            "j:\nPopFrame\nReturn\n"),
                 "pushed at different stack heights");
  // A return may leave scopes open; PopFrame restores the PushFrame height.
  EXPECT_EQ(rejectText("LoadInt 5\nPushFrame\nLoadInt 6\nLoadInt 7\nPopFrame\n"
                       "PrintLn 1\nPushFrame\nReturn\n"),
            "");
}

TEST(Verifier, ControlRunsPastTheEnd) {
  Chunk C = assembleOk("LoadInt 1\nPop\nReturn\n");
  C.Ops[2] = Instr(Opcode::Nop);
  EXPECT_REJECTS(reject(C), "control can run past the last op of function 'main'");
  Chunk J = assembleOk("LoadTrue\nJumpIfTrue l\nl:\nReturn\n");
  J.Ops[2] = Instr(Opcode::LoadTrue);
  J.Ops.push_back(Instr(Opcode::JumpIfFalse));
  J.Ops.back().Target = 0;
  J.Lines.push_back(5);
  J.Functions[0].End = 4;
  EXPECT_REJECTS(reject(J), "control can run past the last op");
}

TEST(Verifier, FunctionTable) {
  Chunk Base = assembleOk("Return\n.func f 0\nReturn\n.func g 0\nReturn\n");
  EXPECT_EQ(reject(Base), "");
  Chunk Gap = Base;
  Gap.Functions[1].End = 1; // f empty
  EXPECT_REJECTS(reject(Gap), "bad range");
  Chunk Overlap = Base;
  Overlap.Functions[2].Entry = 1;
  EXPECT_REJECTS(reject(Overlap), "starts at op 1, expected 2");
  Chunk Short = Base;
  Short.Functions.pop_back();
  EXPECT_REJECTS(reject(Short), "belong to no function");
  Chunk NoMain = Base;
  std::swap(NoMain.Functions[0].Name, NoMain.Functions[1].Name);
  EXPECT_REJECTS(reject(NoMain), "the function at op 0 must be 'main'");
  Chunk Dup = Base;
  Dup.Functions[2].Name = Dup.Functions[1].Name;
  EXPECT_REJECTS(reject(Dup), "defined twice");
  Chunk Empty = Base;
  Empty.Functions.clear();
  EXPECT_REJECTS(reject(Empty), "function table is empty");
  Chunk NoOps;
  EXPECT_REJECTS(reject(NoOps), "no ops");
  Chunk BadName = Base;
  BadName.Functions[1].Name = 500;
  EXPECT_REJECTS(reject(BadName), "outside the name pool");
}

TEST(Verifier, FactsForTheTiers) {
  Chunk C = assembleOk("LoadInt 3\nCall f 1\nPrintLn 1\nReturn\n"
                       ".func f 1\nGetSlot 0\nJumpIfFalse z\nLoadInt 1\n"
                       "SetSlot 4\nz:\nLoadInt 2\nReturnValue\n");
  llvm::Expected<VerifyInfo> V = verify(C);
  ASSERT_TRUE(bool(V)) << errorText(V.takeError());
  EXPECT_EQ(V->Height[0], 0);
  EXPECT_EQ(V->Height[1], 1);
  EXPECT_EQ(V->Height[2], 1);
  EXPECT_EQ(V->Funcs[1].NumSlots, 5u);
  EXPECT_EQ(V->Funcs[0].NumSlots, 0u);
  EXPECT_EQ(V->Funcs[1].MaxStack, 1u);
  EXPECT_EQ(V->Callee[1], 1u);
  EXPECT_TRUE(V->Leader[4]);  // f's entry
  EXPECT_TRUE(V->Leader[6]);  // after the branch
  EXPECT_TRUE(V->Leader[8]);  // the target
  EXPECT_FALSE(V->Leader[7]);
  EXPECT_EQ(V->FuncOf[5], 1u);
}
