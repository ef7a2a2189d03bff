//===- FbcTest.cpp - The .fbc reader treats every byte as hostile ----------===//

#include "TestUtil.h"

#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/Support/Program.h"
#include "fusevm/Core/Diag.h"

#include <gtest/gtest.h>

using namespace fusevm;
using namespace fusevm::test;

static const char *Prog = ".extop 3 1 0\n"
                          "LoadConst \"hi\"\nLoadConst 2.5\nLoadConst true\n"
                          "LoadConst undef\nLoadInt -7\nPrintLn 4\nPop\n"
                          "Return\n.func f 2\nGetSlot 1\nReturnValue\n";

static std::string rejected(const std::string &Bytes, int *Code = nullptr) {
  llvm::Expected<Chunk> C = readFbc(Bytes, "x.fbc");
  if (C)
    return "";
  return errorText(C.takeError(), Code);
}

static void putLE(std::string &S, size_t At, uint64_t V, int N) {
  for (int I = 0; I < N; ++I)
    S[At + I] = static_cast<char>(V >> (8 * I));
}
/// Rewrites the header's size and checksum to match the payload.
static std::string reseal(std::string S) {
  putLE(S, 16, S.size() - FbcHeaderSize, 8);
  putLE(S, 24, xxh64(S.data() + FbcHeaderSize, S.size() - FbcHeaderSize), 8);
  return S;
}

TEST(Fbc, RoundTrip) {
  Chunk C = assembleOk(Prog);
  std::string Bytes = writeFbc(C);
  EXPECT_TRUE(hasFbcMagic(Bytes));
  llvm::Expected<Chunk> Back = readFbc(Bytes, "x.fbc");
  ASSERT_TRUE(bool(Back)) << errorText(Back.takeError());
  EXPECT_EQ(Back->opHash(), C.opHash());
  EXPECT_EQ(Back->SourceName, "t.fasm");
  EXPECT_EQ(Back->Names, C.Names);
  EXPECT_EQ(Back->Lines, C.Lines);
  ASSERT_EQ(Back->ExtOps.size(), 1u);
  EXPECT_EQ(Back->ExtOps[0].Pushes, 0);
  EXPECT_EQ(writeFbc(*Back), Bytes); // deterministic
}

TEST(Fbc, EveryTruncationIsRejected) {
  std::string Bytes = writeFbc(assembleOk(Prog));
  for (size_t N = 0; N < Bytes.size(); ++N) {
    int Code = 0;
    std::string Err = rejected(Bytes.substr(0, N), &Code);
    EXPECT_FALSE(Err.empty()) << N;
    EXPECT_EQ(Code, 65);
  }
  // Resealed truncations reach the structural checks.
  for (size_t N = FbcHeaderSize; N < Bytes.size(); ++N)
    EXPECT_NE(rejected(reseal(Bytes.substr(0, N))), "") << N;
}

TEST(Fbc, HeaderChecks) {
  std::string Bytes = writeFbc(assembleOk(Prog));
  std::string V = Bytes;
  putLE(V, 8, 2, 4);
  int Code = 0;
  EXPECT_NE(rejected(V, &Code).find("unsupported format version 2"),
            std::string::npos);
  EXPECT_EQ(Code, 65);
  std::string Flip = Bytes;
  Flip[Bytes.size() - 3] ^= 0x10;
  EXPECT_NE(rejected(Flip).find("checksum mismatch"), std::string::npos);
  std::string Flags = Bytes;
  putLE(Flags, 12, 1, 4);
  EXPECT_NE(rejected(Flags).find("unknown flags"), std::string::npos);
  EXPECT_NE(rejected(Bytes + "x").find("payload bytes"), std::string::npos);
  EXPECT_NE(rejected(reseal(Bytes + "x")).find("stray bytes"), std::string::npos);
}

TEST(Fbc, HostileCountsAndKinds) {
  Chunk C = assembleOk(Prog);
  std::string Bytes = writeFbc(C);
  // The payload opens with the endianness byte and the source name length.
  size_t NameLen = FbcHeaderSize + 1;
  std::string Huge = Bytes;
  putLE(Huge, NameLen, 0xFFFFFFF0u, 4);
  EXPECT_NE(rejected(reseal(Huge)).find("exceeds the file"), std::string::npos);
  // Names count right after the source name ("t.fasm", 6 bytes).
  size_t Names = NameLen + 4 + 6;
  std::string ManyNames = Bytes;
  putLE(ManyNames, Names, 0x7FFFFFFFu, 4);
  EXPECT_NE(rejected(reseal(ManyNames)), "");
  // An invalid opcode: find the first op byte (LoadConst = 3) and break it.
  Chunk One = assembleOk("Return\n");
  std::string Op = writeFbc(One);
  // Ops: count (u32) then the opcode byte, then the line table (u32 + u32).
  size_t OpByte = Op.size() - 8 - 1;
  ASSERT_EQ(static_cast<uint8_t>(Op[OpByte]),
            static_cast<uint8_t>(Opcode::Return));
  Op[OpByte] = static_cast<char>(250);
  EXPECT_NE(rejected(reseal(Op)).find("invalid opcode 250"), std::string::npos);
  // A constant of kind array.
  Chunk K = assembleOk("LoadConst 5\nPop\n");
  std::string Kb = writeFbc(K);
  size_t KindAt = Kb.find(std::string("\x01\x00\x00\x00\x02", 5));
  ASSERT_NE(KindAt, std::string::npos);
  Kb[KindAt + 4] = static_cast<char>(ValueKind::Array);
  EXPECT_NE(rejected(reseal(Kb)).find("has kind"), std::string::npos);
}

TEST(Fbc, LoadProgramReportsMissingFiles) {
  llvm::Expected<Chunk> C = loadProgram("/nonexistent/dir/x.fbc");
  int Code = 0;
  std::string Err = errorText(C.takeError(), &Code);
  EXPECT_EQ(Code, 66);
  EXPECT_NE(Err.find("cannot open '/nonexistent/dir/x.fbc'"), std::string::npos);
  llvm::Error W = writeFileAtomic("/nonexistent/dir/x.fbc", "data");
  EXPECT_EQ((errorText(std::move(W), &Code), Code), 74);
}
