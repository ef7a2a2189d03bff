//===- FuzzOne.cpp - One hostile input through every reader ---------------===//

#include "FuzzOne.h"

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/VM/VM.h"
#include "fusevm/Verify/Verifier.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fusevm::fuzz {

[[noreturn]] static void broken(const char *What, const std::string &Detail) {
  std::fprintf(stderr, "fuzz: property broken: %s\n%s\n", What, Detail.c_str());
  std::abort();
}

Fate fuzzOne(const uint8_t *Data, size_t Size) {
  std::string_view Bytes(reinterpret_cast<const char *>(Data), Size);
  llvm::Expected<Chunk> C = hasFbcMagic(Bytes) ? readFbc(Bytes, "fuzz.fbc")
                                               : assemble(Bytes, "fuzz.fasm");
  if (!C) {
    llvm::consumeError(C.takeError());
    return Fate::Rejected;
  }
  llvm::Expected<VerifyInfo> V = verify(*C);
  if (!V) {
    llvm::consumeError(V.takeError());
    return Fate::Rejected;
  }
  // Accepted chunks survive both round trips with their op hash.
  std::string Text = disassemble(*C);
  llvm::Expected<Chunk> Back = assemble(Text, "round.fasm");
  if (!Back)
    broken("disassembly does not assemble", Text);
  if (Back->opHash() != C->opHash())
    broken("disassembly changes the op hash", Text);
  llvm::Expected<Chunk> Bin = readFbc(writeFbc(*C), "round.fbc");
  if (!Bin || Bin->opHash() != C->opHash())
    broken(".fbc round trip changes the chunk", Text);

  VM Vm;
  for (const ExtOpDecl &E : C->ExtOps)
    Vm.registerExtOp(E.Id, [Pushes = E.Pushes](HostCall &Call) {
      Call.Results.resize(Pushes);
    });
  RunOptions Opts;
  Opts.InstructionBudget = 20000;
  Opts.MaxCallDepth = 500;
  Opts.MaxStringLen = 1 << 16;
  Opts.MaxArrayLen = 1 << 12;
  Opts.Output = [](std::string_view) {};
  Opts.ReadLine = [](std::string &) { return false; };
  RunResult R;
  if (llvm::Error E = Vm.run(*C, Opts, R)) {
    llvm::consumeError(std::move(E));
    return Fate::RuntimeError;
  }
  return Fate::Ran;
}

} // namespace fusevm::fuzz
