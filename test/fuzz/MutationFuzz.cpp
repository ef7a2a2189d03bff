//===- MutationFuzz.cpp - Seeded mutations of valid programs --------------===//
//
// \file
// Takes every .fasm under the given directories that assembles, plus its
// .fbc form, and feeds N mutations (truncations, byte flips, length-field
// edits with and without a resealed checksum, line edits, token swaps) to
// fuzzOne(). Deterministic for a seed; built with ASan and UBSan so that a
// memory error fails the run. A watchdog turns a hang into a failure.
//
//   fusevm-mutation-fuzz [--iterations N] [--seed S] DIR...
//
//===----------------------------------------------------------------------===//

#include "FuzzOne.h"

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Bytecode/Fbc.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

using namespace fusevm;
namespace fs = std::filesystem;

namespace {

std::mt19937_64 Rng;
uint64_t pick(uint64_t N) { return N ? Rng() % N : 0; }

void putLE(std::string &S, size_t At, uint64_t V, int N) {
  for (int I = 0; I < N && At + I < S.size(); ++I)
    S[At + I] = static_cast<char>(V >> (8 * I));
}

std::string reseal(std::string S) {
  if (S.size() < FbcHeaderSize)
    return S;
  putLE(S, 16, S.size() - FbcHeaderSize, 8);
  putLE(S, 24, xxh64(S.data() + FbcHeaderSize, S.size() - FbcHeaderSize), 8);
  return S;
}

const uint32_t Interesting[] = {0,      1,          2,          255,
                                256,    65535,      65536,      0x7FFFFFFF,
                                0x80000000u, 0xFFFFFFFFu, 0xFFFFFFF0u, 16};

std::string mutateFbc(std::string S) {
  switch (pick(5)) {
  case 0: // truncation
    S.resize(pick(S.size()));
    return pick(2) ? reseal(S) : S;
  case 1: // byte flips in the payload
    for (uint64_t N = 1 + pick(4); N--;)
      if (S.size() > FbcHeaderSize)
        S[FbcHeaderSize + pick(S.size() - FbcHeaderSize)] ^=
            static_cast<char>(1 + pick(255));
    return pick(4) ? reseal(S) : S;
  case 2: // length-field edit: a u32 or u16 set to an interesting value
    if (S.size() > FbcHeaderSize + 4) {
      size_t At = FbcHeaderSize + pick(S.size() - FbcHeaderSize - 3);
      putLE(S, At, Interesting[pick(std::size(Interesting))], pick(2) ? 4 : 2);
    }
    return reseal(S);
  case 3: // header edits
    putLE(S, 8 + 4 * pick(6), Interesting[pick(std::size(Interesting))], 4);
    return S;
  default: // insert or delete bytes
    if (pick(2) && !S.empty())
      S.erase(FbcHeaderSize + pick(S.size() > FbcHeaderSize
                                       ? S.size() - FbcHeaderSize
                                       : 1),
              1 + pick(8));
    else
      S.insert(std::min(S.size(), FbcHeaderSize + pick(64)),
               std::string(1 + pick(8), static_cast<char>(pick(256))));
    return reseal(S);
  }
}

const char *Tokens[] = {"65536", "-1", "0x7FFFFFFFFFFFFFFF", "\"", "nan",
                        "L0", "main", "1e999", "\"\\x\"", ":", ".func",
                        ".end", "PopFrame", "PushFrame", "Return", "Jump",
                        "Call", "255", "-9223372036854775808", ",", ";"};

std::vector<std::string> lines(const std::string &S) {
  std::vector<std::string> L;
  std::stringstream SS(S);
  std::string Line;
  while (std::getline(SS, Line))
    L.push_back(Line);
  return L;
}

std::string mutateFasm(std::string S) {
  std::vector<std::string> L = lines(S);
  if (L.empty())
    L.push_back("");
  auto Join = [&] {
    std::string Out;
    for (auto &X : L)
      Out += X + "\n";
    return Out;
  };
  switch (pick(6)) {
  case 0:
    S.resize(pick(S.size()));
    return S;
  case 1:
    for (uint64_t N = 1 + pick(3); N--;)
      if (!S.empty())
        S[pick(S.size())] = static_cast<char>(pick(256));
    return S;
  case 2:
    L.erase(L.begin() + pick(L.size()));
    return Join();
  case 3:
    L.insert(L.begin() + pick(L.size()), L[pick(L.size())]);
    return Join();
  case 4:
    std::swap(L[pick(L.size())], L[pick(L.size())]);
    return Join();
  default: {
    std::string &Line = L[pick(L.size())];
    size_t Sp = Line.find_last_of(" \t");
    std::string Tok = Tokens[pick(std::size(Tokens))];
    if (Sp == std::string::npos)
      Line = Tok;
    else
      Line = Line.substr(0, Sp + 1) + Tok;
    return Join();
  }
  }
}

void watchdog(int) {
  const char Msg[] = "mutation-fuzz: watchdog: an input hung\n";
  (void)!write(2, Msg, sizeof(Msg) - 1);
  _exit(3);
}

} // namespace

int main(int argc, char **argv) {
  uint64_t Iterations = 10000, Seed = 1;
  unsigned Timeout = 600;
  std::vector<std::string> Dirs;
  for (int I = 1; I < argc; ++I) {
    std::string A = argv[I];
    if (A == "--iterations" && I + 1 < argc)
      Iterations = std::stoull(argv[++I]);
    else if (A == "--seed" && I + 1 < argc)
      Seed = std::stoull(argv[++I]);
    else if (A == "--timeout" && I + 1 < argc)
      Timeout = unsigned(std::stoul(argv[++I]));
    else
      Dirs.push_back(A);
  }
  Rng.seed(Seed);
  std::signal(SIGALRM, watchdog);
  alarm(Timeout);

  std::vector<std::string> Texts, Binaries;
  for (const std::string &D : Dirs)
    for (const auto &E : fs::recursive_directory_iterator(D)) {
      if (E.path().extension() != ".fasm" ||
          E.path().string().find("/results/") != std::string::npos)
        continue; // bench/results holds generated copies
      std::ifstream In(E.path(), std::ios::binary);
      std::stringstream SS;
      SS << In.rdbuf();
      Texts.push_back(SS.str());
      llvm::Expected<Chunk> C = assemble(SS.str(), E.path().string());
      if (C)
        Binaries.push_back(writeFbc(*C));
      else
        llvm::consumeError(C.takeError());
    }
  if (Texts.empty() || Binaries.empty()) {
    std::fprintf(stderr, "mutation-fuzz: no seed programs found\n");
    return 2;
  }
  std::sort(Texts.begin(), Texts.end());
  std::sort(Binaries.begin(), Binaries.end());

  uint64_t Counts[3] = {0, 0, 0};
  for (uint64_t I = 0; I < Iterations; ++I) {
    bool Binary = I % 2 == 0;
    std::string In = Binary ? mutateFbc(Binaries[pick(Binaries.size())])
                            : mutateFasm(Texts[pick(Texts.size())]);
    auto Fate = fusevm::fuzz::fuzzOne(
        reinterpret_cast<const uint8_t *>(In.data()), In.size());
    ++Counts[static_cast<int>(Fate)];
  }
  std::printf("mutation-fuzz: %llu inputs from %zu programs (seed %llu): "
              "%llu rejected, %llu ran, %llu runtime errors\n",
              (unsigned long long)Iterations, Texts.size(),
              (unsigned long long)Seed, (unsigned long long)Counts[0],
              (unsigned long long)Counts[1], (unsigned long long)Counts[2]);
  std::printf("%llu passed, 0 failed\n", (unsigned long long)Iterations);
  return 0;
}
