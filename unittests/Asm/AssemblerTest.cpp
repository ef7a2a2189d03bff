//===- AssemblerTest.cpp - .fasm text, diagnostics, round trips ------------===//

#include "TestUtil.h"

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/Core/Diag.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace fusevm;
using namespace fusevm::test;

static std::string asmError(std::string_view Src) {
  llvm::Expected<Chunk> C = assemble(Src, "t.fasm");
  if (C)
    return "";
  return errorText(C.takeError());
}

TEST(Assembler, Diagnostics) {
  struct Case {
    const char *Src, *Want;
  } Cases[] = {
      {"LoadInt 1\nPrintLm 1\n", "t.fasm:2: error: unknown mnemonic 'PrintLm'; did you mean 'PrintLn'?"},
      {"loadint 1\n", "did you mean 'LoadInt'?"},
      {"Frobnicate\n", "unknown mnemonic 'Frobnicate'"},
      {"LoadInt\n", "t.fasm:1: error: 'LoadInt' takes 1 operand, got 0"},
      {"Pop 1\n", "'Pop' takes 0 operands, got 1"},
      {"LoadInt 9223372036854775808\n", "out of range"},
      {"LoadInt -9223372036854775809\n", "out of range"},
      {"LoadInt 0x10000000000000000\n", "expected an integer"},
      {"LoadInt abc\n", "expected an integer, got 'abc'"},
      {"GetSlot 65536\n", "out of range"},
      {"Print 256\n", "out of range"},
      {"LoadFloat 1.5x\n", "expected a float"},
      {"LoadConst [1]\n", "expected a constant"},
      {"LoadConst \"abc\n", "unterminated string literal"},
      {"LoadConst \"a\\qb\"\n", "unknown escape"},
      {"LoadConst \"\\x4\"\n", "two hex digits"},
      {"GetVar 9x\n", "expected a name"},
      {"Jump \"x\"\n", "expected a label"},
      {"\n\nJump nowhere\n", "t.fasm:3: error: undefined label 'nowhere'"},
      {"a:\nNop\na:\nReturn\n", "t.fasm:3: error: duplicate label 'a'"},
      {"9a: Nop\n", "invalid label name"},
      {"Call nobody 0\n", "call of unknown function 'nobody'"},
      {".func f 0\nReturn\n.func f 0\nReturn\n", "t.fasm:3: error: function 'f' is defined twice"},
      {".func f 256\n", "out of range"},
      {".frob\n", "unknown directive '.frob'"},
      {".source foo\n", "'.source' takes a string literal"},
      {".extop 1 0\n", "'.extop' takes 3 operands"},
      {".extop 1 0 0\n.extop 1 0 0\n", "declared twice"},
      {".func f 0\nReturn\n.end\nNop\n", "t.fasm:4: error: instruction outside a function"},
      {"x: .end\n", "directive cannot follow a label"},
  };
  for (const Case &C : Cases)
    EXPECT_NE(asmError(C.Src).find(C.Want), std::string::npos)
        << "source:\n" << C.Src << "got: " << asmError(C.Src);
}

TEST(Assembler, ReportsEveryErrorInLineOrder) {
  llvm::Expected<Chunk> C = assemble("Bad1\nLoadInt\nJump x\n", "t.fasm");
  ASSERT_FALSE(bool(C));
  std::string All;
  llvm::handleAllErrors(C.takeError(), [&](const FvmError &E) {
    All += E.format("fusevmc") + "\n";
  });
  EXPECT_NE(All.find("t.fasm:1: error"), std::string::npos);
  EXPECT_NE(All.find("t.fasm:2: error"), std::string::npos);
  EXPECT_NE(All.find("t.fasm:3: error"), std::string::npos);
  EXPECT_LT(All.find(":1:"), All.find(":3:"));
}

TEST(Assembler, Syntax) {
  Chunk C = assembleOk("#!/usr/bin/env fusevm\n"
                       "start: LoadInt 0x1F ; comment \"with quotes\"\n"
                       "  LoadConst \"a;b\"\n"
                       "\tAddAssignSlotVoid 3,\t4\n"
                       "$x.y_1:\n");
  ASSERT_EQ(C.Ops.size(), 4u); // a label at the end names an appended Return
  EXPECT_EQ(C.Ops[0].I64, 31);
  EXPECT_EQ(C.Lines[0], 2u);
  EXPECT_EQ(C.Constants[0].strView(), "a;b");
  EXPECT_EQ(C.Ops[2].B, 4);
  EXPECT_EQ(C.Ops[3].Op, Opcode::Return);
  // Equal literals share a pool entry; 1, 1.0 and "1" do not.
  Chunk D = assembleOk("LoadConst 1\nLoadConst 1.0\nLoadConst \"1\"\n"
                       "LoadConst 1\nLoadConst 1e0\n");
  EXPECT_EQ(D.Constants.size(), 3u);
  EXPECT_TRUE(D.Constants[1].isFloat());
  // An explicit `.func main 0` before any code is main itself.
  Chunk M = assembleOk(".func main 0\nReturn\n.func f 0\nReturn\n");
  EXPECT_EQ(M.Functions.size(), 2u);
}

TEST(Assembler, NearestMnemonic) {
  EXPECT_EQ(nearestMnemonic("PrintLm"), "PrintLn");
  EXPECT_EQ(nearestMnemonic("JumpIfFalsee"), "JumpIfFalse");
  EXPECT_EQ(nearestMnemonic("getslot"), "GetSlot");
  EXPECT_EQ(nearestMnemonic("Qwertyuiop"), "");
}

TEST(Disassembler, RoundTripsEveryConformanceProgram) {
  namespace fs = std::filesystem;
  int Count = 0;
  for (const auto &E : fs::directory_iterator(FUSEVM_CONFORMANCE_DIR)) {
    if (E.path().extension() != ".fasm")
      continue;
    std::ifstream In(E.path());
    std::stringstream SS;
    SS << In.rdbuf();
    llvm::Expected<Chunk> C = assemble(SS.str(), E.path().string());
    if (!C) {
      llvm::consumeError(C.takeError());
      continue; // the suite's rejected programs
    }
    std::string Text = disassemble(*C);
    llvm::Expected<Chunk> Back = assemble(Text, "round.fasm");
    ASSERT_TRUE(bool(Back)) << E.path() << ": " << errorText(Back.takeError())
                            << "\n" << Text;
    EXPECT_EQ(C->opHash(), Back->opHash()) << E.path() << "\n" << Text;
    EXPECT_EQ(C->SourceName, Back->SourceName);
    // Binary round trip too.
    llvm::Expected<Chunk> Bin = readFbc(writeFbc(*C), "x.fbc");
    ASSERT_TRUE(bool(Bin)) << errorText(Bin.takeError());
    EXPECT_EQ(C->opHash(), Bin->opHash());
    EXPECT_EQ(C->Lines, Bin->Lines);
    ++Count;
  }
  EXPECT_GT(Count, 50);
}

TEST(Disassembler, QuotesOddNamesAndKeepsFloats) {
  Chunk C = assembleOk(".extop 9 1 1\n"
                       "LoadConst -0.0\nLoadConst nan\nLoadConst 1e300\n"
                       "LoadConst \"\\x00\\xff\\\"\"\nSetVar \"odd name\"\n"
                       "Call \"f g\" 0\nExtended 9 3\nExtendedWide 9 0xFFFFFFFFFFFFFFFF\n"
                       "Return\n.func \"f g\" 0\nLoadFloat -inf\nReturnValue\n");
  std::string Text = disassemble(C);
  EXPECT_NE(Text.find("SetVar \"odd name\""), std::string::npos) << Text;
  EXPECT_NE(Text.find(".func \"f g\" 0"), std::string::npos) << Text;
  EXPECT_NE(Text.find("LoadConst -0.0"), std::string::npos) << Text;
  Chunk Back = assembleOk(Text);
  EXPECT_EQ(C.opHash(), Back.opHash()) << Text;
}
