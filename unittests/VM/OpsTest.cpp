//===- OpsTest.cpp - Every op and builtin, run by the interpreter ---------===//
//
// Each case is a small program and its exact output. EveryOpIsCovered fails
// when an op of Ops.def (or a standard builtin) has no case here.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "fusevm/Bytecode/Fuse.h"
#include "fusevm/Verify/Verifier.h"

#include <gtest/gtest.h>

#include <regex>

using namespace fusevm;
using namespace fusevm::test;

namespace {
struct OpCase {
  const char *Name;
  const char *Src;
  const char *Out;
};

const OpCase Cases[] = {
    {"stack", "Nop\nLoadInt 1\nLoadInt 2\nLoadInt 3\nRot\nPrint 3\n"
              "LoadInt 1\nLoadInt 2\nSwap\nPrint 2\nLoadInt 7\nLoadInt 8\n"
              "Dup2\nPrint 4\nLoadInt 5\nDup\nMul\nPrint 1\nLoadInt 9\n"
              "LoadInt 10\nPop\nPrintLn 1\n",
     "23121787825""9\n"},
    {"loads", "LoadFloat -2.5\nLoadConst \"s\"\nLoadTrue\nLoadFalse\nLoadUndef\n"
              "LoadConst undef\nLoadConst false\nPrintLn 7\n",
     "-2.5s1\n"},
    {"globals", "LoadInt 4\nSetVar g\nLoadInt 5\nDeclareVar h\nGetVar g\n"
                "GetVar h\nGetVar never\nPrintLn 3\n",
     "45\n"},
    {"slots", "LoadInt 4\nSetSlot 2\nGetSlot 2\nGetSlot 1\nPrintLn 2\n"
              "LoadInt 9\nLoadInt 1\nSlotArraySet 0\nLoadInt 1\nSlotArrayGet 0\n"
              "LoadInt 0\nSlotArrayGet 0\nCallBuiltin 24 1\nPrintLn 2\n",
     "4\n9undef\n"},
    {"arrays", "DeclareArray a\nLoadInt 1\nArrayPush a\nLoadInt 2\nArrayPush a\n"
               "LoadInt 3\nLoadInt 4\nArraySet a\nArrayLen a\nGetArray a\n"
               "PrintLn 2\nArrayPop a\nArrayShift a\nLoadInt 1\nArrayGet a\n"
               "PrintLn 3\nLoadInt 7\nLoadInt 8\nMakeArray 2\nSetArray b\n"
               "GetArray b\nPrintLn 1\n",
     "51 2   3\n31\n7 8\n"},
    {"hashes", "DeclareHash h\nLoadInt 1\nLoadConst \"a\"\nHashSet h\nLoadInt 2\n"
               "LoadConst \"b\"\nHashSet h\nLoadConst \"a\"\nHashGet h\n"
               "LoadConst \"b\"\nHashExists h\nLoadConst \"a\"\nHashDelete h\n"
               "HashKeys h\nHashValues h\nGetHash h\nPrintLn 6\nLoadConst \"k\"\n"
               "LoadInt 3\nMakeHash 1\nSetHash h2\nGetHash h2\nPrintLn 1\n",
     "111b2b=2\nk=3\n"},
    {"arith", "LoadInt 7\nLoadInt 2\nAdd\nLoadInt 7\nLoadInt 2\nSub\n"
              "LoadInt 7\nLoadInt 2\nMul\nLoadInt 7\nLoadInt 2\nDiv\n"
              "LoadInt -7\nLoadInt 2\nMod\nLoadInt 2\nLoadInt 10\nPow\n"
              "LoadInt 5\nNegate\nLoadInt 5\nInc\nLoadInt 5\nDec\n"
              "PrintLn 9\nLoadFloat 1.5\nLoadInt 2\nPow\nLoadFloat 7.5\n"
              "LoadInt 2\nMod\nLoadInt 1\nLoadInt 2\nDiv\nPrintLn 3\n",
     "95143-11024-564\n2.251.50\n"},
    {"strings", "LoadConst \"ab\"\nLoadInt 3\nStringRepeat\nLoadConst \"-\"\n"
                "Concat\nDup\nStringLen\nPrintLn 2\n",
     "ababab-7\n"},
    {"compare", "LoadInt 1\nLoadInt 1\nNumEq\nLoadInt 1\nLoadInt 2\nNumNe\n"
                "LoadInt 1\nLoadInt 2\nNumLt\nLoadInt 1\nLoadInt 2\nNumGt\n"
                "LoadInt 2\nLoadInt 2\nNumLe\nLoadInt 1\nLoadInt 2\nNumGe\n"
                "LoadInt 1\nLoadInt 2\nSpaceship\nPrintLn 7\n",
     "1111-1\n"},
    {"strcompare", "LoadConst \"a\"\nLoadConst \"a\"\nStrEq\nLoadConst \"a\"\n"
                   "LoadConst \"b\"\nStrNe\nLoadConst \"10\"\nLoadConst \"9\"\n"
                   "StrLt\nLoadConst \"b\"\nLoadConst \"a\"\nStrGt\n"
                   "LoadConst \"a\"\nLoadConst \"a\"\nStrLe\nLoadConst \"a\"\n"
                   "LoadConst \"b\"\nStrGe\nLoadConst \"a\"\nLoadConst \"b\"\n"
                   "StrCmp\nPrintLn 7\n",
     "11111-1\n"},
    {"logic", "LoadInt 0\nLogNot\nLoadInt 1\nLoadInt 0\nLogAnd\nLoadInt 0\n"
              "LoadConst \"x\"\nLogOr\nLoadInt 12\nLoadInt 10\nBitAnd\n"
              "LoadInt 12\nLoadInt 10\nBitOr\nLoadInt 12\nLoadInt 10\nBitXor\n"
              "LoadInt 0\nBitNot\nLoadInt 1\nLoadInt 4\nShl\nLoadInt -16\n"
              "LoadInt 2\nShr\nPrintLn 9\n",
     "118146-116-4\n"},
    {"control", "LoadInt 0\nJumpIfTrue bad\nLoadConst \"x\"\nJumpIfTrueKeep k1\n"
                "Pop\nLoadConst \"bad\"\nk1:\nPrintLn 1\nLoadConst \"\"\n"
                "JumpIfFalseKeep k2\nPop\nLoadConst \"bad\"\nk2:\nPrintLn 1\n"
                "LoadInt 1\nJumpIfFalse bad\nJump end\nbad:\n"
                "LoadConst \"wrong\"\nPrintLn 1\nend:\nReturn\n",
     "x\n\n"},
    {"calls", "LoadInt 4\nCall sq 1\nPrintLn 1\nCall none 0\n"
              "CallBuiltin 24 1\nPrintLn 1\nReturn\n.func sq 1\nGetSlot 0\n"
              "GetSlot 0\nMul\nReturnValue\n.func none 0\nReturn\n",
     "16\nundef\n"},
    {"scopes", "LoadInt 1\nSetSlot 0\nLoadInt 5\nPushFrame\nLoadInt 6\n"
               "GetSlot 0\nCallBuiltin 24 1\nPopFrame\nGetSlot 0\nPrintLn 2\n",
     "51\n"},
    {"io", "ReadLine\nReadLine\nCallBuiltin 24 1\nPrint 2\nPrintLn 0\n",
     "line1undef\n"},
    {"ranges", "LoadInt 1\nLoadInt 3\nRange\nLoadInt 10\nLoadInt 1\n"
               "LoadInt -4\nRangeStep\nPrintLn 2\n",
     "1 2 310 6 2\n"},
    {"fused", "LoadInt 1\nSetSlot 0\nPreIncSlot 0\nPreIncSlotVoid 0\n"
              "AddAssignSlotVoid 0 0\nGetSlot 0\nPrintLn 2\nLoadInt 0\nSetSlot 1\n"
              "LoadInt 0\nSetSlot 2\nAccumSumLoop 1 2 5\nGetSlot 1\nPrintLn 1\n"
              "LoadInt 0\nSetSlot 3\nConcatConstLoop \"ab\" 4 3 2\nGetSlot 4\n"
              "PrintLn 1\nLoadInt 0\nSetSlot 5\nPushIntRangeLoop arr 5 3\n"
              "GetArray arr\nPrintLn 1\nLoadInt 0\nSetSlot 6\nloop:\n"
              "SlotLtIntJumpIfFalse 6 3 done\nSlotIncLtIntJumpBack 6 3 loop\n"
              "done:\nGetSlot 6\nPrintLn 1\n",
     "26\n10\nabab\n0 1 2\n3\n"},
    {"status", "LoadInt 300\nSetStatus\nGetStatus\nCallBuiltin 24 1\nGetStatus\n"
               "PrintLn 2\nLoadInt 0\nSetStatus\n",
     "status300\n"},
    {"builtins-math",
     "LoadInt 16\nCallBuiltin 0 1\nLoadInt 0\nCallBuiltin 1 1\nLoadInt 0\n"
     "CallBuiltin 2 1\nLoadInt 0\nCallBuiltin 3 1\nLoadInt 0\nLoadInt 1\n"
     "CallBuiltin 4 2\nLoadInt 0\nCallBuiltin 5 1\nLoadInt 1\nCallBuiltin 6 1\n"
     "PrintLn 7\nLoadFloat 2.5\nCallBuiltin 7 1\nLoadFloat 2.5\nCallBuiltin 8 1\n"
     "LoadFloat 2.5\nCallBuiltin 9 1\nLoadFloat -2.5\nCallBuiltin 10 1\n"
     "LoadInt -3\nCallBuiltin 11 1\nLoadInt 3\nLoadInt 2\nCallBuiltin 12 2\n"
     "LoadInt 3\nLoadInt 2\nCallBuiltin 13 2\nPrintLn 7\n",
     "4010010\n233-2323\n"},
    {"builtins-conv",
     "LoadFloat 3.9\nCallBuiltin 14 1\nLoadInt 3\nCallBuiltin 15 1\n"
     "CallBuiltin 24 1\nLoadFloat 1.5\nCallBuiltin 16 1\nPrintLn 3\n",
     "3float1.5\n"},
    {"builtins-string",
     "LoadConst \"hello\"\nLoadInt 1\nLoadInt 3\nCallBuiltin 17 3\n"
     "LoadConst \"hello\"\nLoadConst \"l\"\nCallBuiltin 18 2\nLoadConst \"A\"\n"
     "CallBuiltin 19 1\nLoadInt 66\nCallBuiltin 20 1\nLoadConst \"a\"\n"
     "CallBuiltin 21 1\nLoadConst \"B\"\nCallBuiltin 22 1\nCallBuiltin 23 0\n"
     "CallBuiltin 24 1\nLoadConst \"a,b\"\nLoadConst \",\"\nCallBuiltin 25 2\n"
     "LoadConst \"+\"\nCallBuiltin 26 2\nPrintLn 8\n",
     "ell265BAbfloata+b\n"},
};

struct ErrCase {
  const char *Src;
  const char *Phrase;
  unsigned Line;
};

const ErrCase Errors[] = {
    {"LoadInt 1\nLoadInt 0\nDiv\n", "division by zero", 3},
    {"LoadInt 1\nLoadInt 0\nMod\n", "modulo by zero", 3},
    {"LoadInt 5\nSetVar x\nLoadInt 1\nArrayPush x\n", "not an array", 4},
    {"LoadInt 5\nSetArray x\n", "not an array", 2},
    {"LoadInt 5\nSetSlot 0\nLoadInt 1\nLoadInt 0\nSlotArraySet 0\n",
     "not an array", 5},
    {"LoadInt 5\nSetVar h\nLoadInt 1\nLoadConst \"k\"\nHashSet h\n",
     "not a hash", 5},
    {"LoadInt 5\nSetHash h\n", "not a hash", 2},
    {"LoadInt 5\nSetVar h\nLoadConst \"k\"\nHashDelete h\n", "not a hash", 4},
    {"LoadInt 1\nLoadInt -1\nArraySet a\n", "index out of range", 3},
    {"LoadInt 1\nLoadInt 2\nLoadInt 0\nRangeStep\n", "range step is zero", 4},
    {"Call f 0\n.func f 0\nCall f 0\nReturnValue\n",
     "call depth limit exceeded", 3},
    {"LoadConst \"ab\"\nLoadInt 600000000\nStringRepeat\n",
     "string length limit exceeded", 3},
    {"LoadInt 0\nLoadInt 300000000\nRange\n", "array length limit exceeded", 3},
    {"LoadInt 1\nLoadInt 268435456\nArraySet a\n",
     "array length limit exceeded", 3},
};
} // namespace

TEST(Ops, EveryCaseRuns) {
  for (const OpCase &C : Cases) {
    Outcome O = runText(C.Src, {}, "line1\n");
    EXPECT_EQ(O.Err, "") << C.Name;
    EXPECT_EQ(O.Out, C.Out) << C.Name;
  }
}

TEST(Ops, EveryOpIsCovered) {
  std::string All;
  for (const OpCase &C : Cases)
    All += std::string(C.Src) + "\n";
  for (unsigned I = 0; I < NumOpcodes; ++I) {
    std::string M(mnemonic(static_cast<Opcode>(I)));
    if (M == "Extended" || M == "ExtendedWide")
      continue; // EmbeddingTest covers these with host handlers
    std::regex Word("(^|\\s)" + M + "(\\s|$)");
    EXPECT_TRUE(std::regex_search(All, Word)) << "no case uses " << M;
  }
  for (unsigned Id = 0; Id < NumStandardBuiltins; ++Id) {
    std::regex Call("CallBuiltin " + std::to_string(Id) + " ");
    EXPECT_TRUE(std::regex_search(All, Call)) << "no case calls builtin " << Id;
  }
}

TEST(Ops, RuntimeErrorsNamePhraseAndLocation) {
  for (const ErrCase &E : Errors) {
    Outcome O = runText(E.Src);
    EXPECT_EQ(O.Code, 70) << E.Src;
    std::string Want = "t.fasm:" + std::to_string(E.Line) + ": error: " + E.Phrase;
    EXPECT_EQ(O.Err.substr(0, Want.size()), Want) << O.Err;
  }
}

TEST(Ops, OutputBeforeAnErrorIsKept) {
  Outcome O = runText("LoadConst \"before\"\nPrintLn 1\nLoadInt 1\nLoadInt 0\n"
                      "Div\nLoadConst \"after\"\nPrintLn 1\n");
  EXPECT_EQ(O.Out, "before\n");
  EXPECT_EQ(O.Code, 70);
}

TEST(Ops, DeepRecursionUpToTheLimit) {
  // sum(99998) .. sum(0) is 99999 activations; with main, exactly the
  // default limit of 100000.
  const char *Sum = "LoadInt 99998\nCall sum 1\nPrintLn 1\nReturn\n"
                    ".func sum 1\nGetSlot 0\nJumpIfTrue rec\nLoadInt 0\n"
                    "ReturnValue\nrec:\nGetSlot 0\nGetSlot 0\nDec\nCall sum 1\n"
                    "Add\nReturnValue\n";
  Outcome O = runText(Sum);
  EXPECT_EQ(O.Err, "");
  EXPECT_EQ(O.Out, "4999850001\n");
  RunOptions Lower;
  Lower.MaxCallDepth = 1000;
  Outcome L = runText(Sum, {}, "", nullptr, Lower);
  EXPECT_NE(L.Err.find("call depth limit exceeded"), std::string::npos);
}

TEST(Ops, FusedLoopsEqualTheirExpansions) {
  // The closed form of AccumSumLoop must wrap exactly like the loop.
  Outcome O = runText("LoadInt 9223372036854775807\nSetSlot 0\nLoadInt -5\n"
                      "SetSlot 1\nAccumSumLoop 0 1 100000\nGetSlot 0\nGetSlot 1\n"
                      "PrintLn 2\n"
                      "LoadInt 9223372036854775807\nSetSlot 2\nLoadInt -5\n"
                      "SetSlot 3\nl:\nGetSlot 3\nLoadInt 100000\nNumLt\n"
                      "JumpIfFalse d\nGetSlot 2\nGetSlot 3\nAdd\nSetSlot 2\n"
                      "GetSlot 3\nLoadInt 1\nAdd\nSetSlot 3\nJump l\nd:\n"
                      "GetSlot 2\nGetSlot 3\nPrintLn 2\n");
  ASSERT_EQ(O.Err, "");
  size_t Nl = O.Out.find('\n');
  EXPECT_EQ(O.Out.substr(0, Nl + 1), O.Out.substr(Nl + 1));
}

TEST(Ops, InstructionBudgetStopsLoops) {
  RunOptions Opts;
  Opts.InstructionBudget = 1000;
  Outcome O = runText("l:\nJump l\n", {}, "", nullptr, Opts);
  EXPECT_EQ(O.Code, 70);
  EXPECT_NE(O.Err.find("instruction budget exhausted"), std::string::npos);
}

TEST(Ops, LoweredLimits) {
  RunOptions Opts;
  Opts.MaxStringLen = 10;
  Opts.MaxArrayLen = 4;
  EXPECT_NE(runText("LoadConst \"abcdef\"\nDup\nConcat\nPop\n", {}, "", nullptr,
                    Opts).Err.find("string length limit"),
            std::string::npos);
  EXPECT_NE(runText("LoadInt 1\nLoadInt 5\nRange\nPop\n", {}, "", nullptr, Opts)
                .Err.find("array length limit"),
            std::string::npos);
}

TEST(Ops, StatsCountOps) {
  Outcome O = runText("LoadInt 0\nSetSlot 0\nl:\nPreIncSlotVoid 0\n"
                      "SlotLtIntJumpIfFalse 0 10 d\nJump l\nd:\nCall f 0\nPop\n"
                      "Return\n.func f 0\nReturn\n");
  ASSERT_EQ(O.Err, "");
  // 2 + 10 x (PreInc, SlotLt) + 9 Jumps + Call, Return, Pop, Return.
  EXPECT_EQ(O.Result.Stats.InterpOps, 2u + 20 + 9 + 4);
  EXPECT_EQ(O.Result.Stats.Calls, 1u);
  EXPECT_EQ(O.Result.Stats.BackEdges, 9u);
  EXPECT_EQ(O.Result.CallCounts[1], 1u);
  EXPECT_EQ(O.Result.LoopCounts[2], 9u);
}

TEST(Ops, InPlaceAppendKeepsValueSemantics) {
  // s = s . x appends in place only when no other name holds the string.
  Outcome O = runText("LoadConst \"ab\"\nSetSlot 0\nGetSlot 0\nSetSlot 1\n"
                      "GetSlot 0\nLoadConst \"c\"\nConcat\nSetSlot 0\n"
                      "GetSlot 0\nLoadConst \"d\"\nConcat\nSetSlot 0\n"
                      "GetSlot 0\nSetVar g\nGetVar g\nLoadConst \"e\"\nConcat\n"
                      "SetVar g\nGetSlot 0\nLoadConst \"!\"\nConcat\nSetSlot 2\n"
                      "GetSlot 0\nGetSlot 1\nGetVar g\nGetSlot 2\nPrintLn 4\n");
  EXPECT_EQ(O.Err, "");
  EXPECT_EQ(O.Out, "abcdababcdeabcd!\n");
}

TEST(Ops, FusedLoopsReportTheLineOfTheFailingOp) {
  // A ConcatConstLoop fused from lines 6-18 fails in its Concat (line 12),
  // with and without superinstructions, and in fusevmc --fuse output.
  const char *Src = "LoadConst \"\"\nSetSlot 0\nLoadInt 0\nSetSlot 1\nl:\n"
                    "GetSlot 1\nLoadInt 100\nNumLt\nJumpIfFalse d\nGetSlot 0\n"
                    "LoadConst \"abcdefgh\"\nConcat\nSetSlot 0\nGetSlot 1\n"
                    "LoadInt 1\nAdd\nSetSlot 1\nJump l\nd:\n";
  Chunk C = assembleOk(Src);
  Chunk F = fuseChunk(C);
  bool HasLoop = false;
  for (const Instr &I : F.Ops)
    HasLoop |= I.Op == Opcode::ConcatConstLoop;
  EXPECT_TRUE(HasLoop);
  for (bool Fused : {false, true}) {
    VM Vm;
    RunOptions Opts;
    Opts.MaxStringLen = 100;
    Opts.Superinstructions = Fused;
    Outcome O = runChunk(C, Vm, Opts);
    EXPECT_EQ(O.Err, "t.fasm:12: error: string length limit exceeded") << Fused;
    Outcome P = runChunk(F, Vm, Opts);
    EXPECT_EQ(P.Err, "t.fasm:12: error: string length limit exceeded") << Fused;
  }
}
